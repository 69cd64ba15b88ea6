package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

func testReadStream(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st, other := f.stream("read"), f.stream("read")
	evs := f.evs(5)
	f.append(st, events.NoStream, evs[:2]...)
	f.append(other, events.NoStream, f.evs(2)...) // interleaved: reads must not see it
	f.append(st, events.Exact(1), evs[2:]...)
	f.append(other, events.Any, f.evs(1)...)

	fw, bw := events.Forwards, events.Backwards
	cases := []struct {
		name string
		opts events.ReadOptions
		want []uint64
	}{
		{"forwards_all", events.ReadOptions{}, span(0, 4)},
		{"forwards_from_2", events.ReadOptions{From: 2}, span(2, 4)},
		{"forwards_from_1_count_2", events.ReadOptions{From: 1, Count: 2}, span(1, 2)},
		{"forwards_from_last", events.ReadOptions{From: 4}, span(4, 4)},
		{"forwards_count_1", events.ReadOptions{Count: 1}, span(0, 0)},
		{"forwards_count_above_length", events.ReadOptions{Count: 10}, span(0, 4)},
		{"forwards_from_past_the_end", events.ReadOptions{From: 5}, nil},
		{"forwards_from_far_past_the_end", events.ReadOptions{From: 1000}, nil},
		{"forwards_from_end", events.ReadOptions{Direction: fw, FromEnd: true}, span(4, 4)},
		{"backwards_from_end", events.ReadOptions{Direction: bw, FromEnd: true}, span(4, 0)},
		{"backwards_from_end_count_2", events.ReadOptions{Direction: bw, FromEnd: true, Count: 2}, span(4, 3)},
		{"backwards_from_2", events.ReadOptions{Direction: bw, From: 2}, span(2, 0)},
		{"backwards_from_2_count_2", events.ReadOptions{Direction: bw, From: 2, Count: 2}, span(2, 1)},
		{"backwards_from_0", events.ReadOptions{Direction: bw, From: 0}, span(0, 0)},
		{"backwards_from_last", events.ReadOptions{Direction: bw, From: 4, Count: 10}, span(4, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.store.ReadStream(f.ctx, st, c.opts)
			if err != nil {
				t.Fatalf("read %+v: %v", c.opts, err)
			}
			wantRevisions(t, "read", got, c.want)
			for i, e := range got {
				if e.Stream != st || e.ID != evs[e.Revision].ID {
					t.Fatalf("revision %d is event %s of %s, want %s of %s", e.Revision, e.ID, e.Stream, evs[e.Revision].ID, st)
				}
				if i > 0 {
					forwards := c.opts.Direction == fw
					if cmp := e.Position.Compare(got[i-1].Position); forwards && cmp <= 0 || !forwards && cmp >= 0 {
						t.Fatalf("positions out of order: revision %d at %s follows revision %d at %s", e.Revision, e.Position, got[i-1].Revision, got[i-1].Position)
					}
				}
			}
		})
	}
}

func testReadStreamNotFound(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("found")
	f.append(st, events.NoStream, f.evs(2)...)
	for _, name := range []string{f.stream("found"), st + "0", st[:len(st)-1], strings.ToUpper(st), f.stream("never")} {
		wantNotFound(t, f, name)
		if _, err := f.store.ReadStream(f.ctx, name, events.ReadOptions{From: 1, Count: 1}); !errors.Is(err, events.ErrStreamNotFound) {
			t.Fatalf("read %s from revision 1: got %v, want events.ErrStreamNotFound", name, err)
		}
	}
}

func testReadAllPaging(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	a, b, c := f.stream("page"), f.stream("page"), f.stream("page")
	var want []events.Proposed
	for _, batch := range []struct {
		stream string
		n      int
	}{{a, 1}, {b, 2}, {a, 1}, {c, 3}, {b, 1}} {
		evs := f.evs(batch.n)
		f.append(batch.stream, events.Any, evs...)
		want = append(want, evs...)
	}
	full := f.readAll(f.origin)
	wantIDs(t, "$all", full, ids(want))

	t.Run("pages_of_3", func(t *testing.T) {
		var got []events.Event
		after := f.origin
		for {
			page, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{After: after, Count: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 3 {
				t.Fatalf("a page of Count 3 has %d events", len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.Position.Compare(after) <= 0 {
					t.Fatalf("event at %s in a page after %s", e.Position, after)
				}
				after = e.Position
				if f.mine(e) {
					got = append(got, e)
				}
			}
		}
		wantIDs(t, "paged $all", got, ids(want))
	})
	t.Run("after_is_exclusive", func(t *testing.T) {
		for i := range full {
			page, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{After: full[i].Position, Count: 2})
			if err != nil {
				t.Fatal(err)
			}
			rest := full[i+1:]
			if len(page) > 2 || len(page) == 0 && len(rest) > 0 {
				t.Fatalf("after event %d: page of Count 2 has %d events, %d remain", i, len(page), len(rest))
			}
			for j, e := range page {
				if !f.mine(e) {
					break // a shared server's own events; nothing to compare past them
				}
				if e.ID != rest[j].ID {
					t.Fatalf("after event %d: page event %d is %s, want %s", i, j, e.ID, rest[j].ID)
				}
			}
		}
	})
	t.Run("backwards_pages_of_2", func(t *testing.T) {
		var got []events.Event
		before := events.Start // from the end
		for {
			page, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{Backwards: true, Before: before, Count: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Fatalf("a backwards page of Count 2 has %d events", len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if !before.IsStart() && e.Position.Compare(before) >= 0 {
					t.Fatalf("event at %s in a backwards page before %s", e.Position, before)
				}
				before = e.Position
				if f.mine(e) {
					got = append(got, e)
				}
			}
			if before.Compare(full[0].Position) <= 0 {
				break // older events belong to others on a shared server
			}
		}
		slices.Reverse(got)
		wantIDs(t, "$all read backwards", got, ids(want))
	})
	t.Run("from_start", func(t *testing.T) {
		page, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{After: events.Start, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 1 || page[0].Position.Compare(events.Start) <= 0 {
			t.Fatalf("reading from the start gave %d events", len(page))
		}
		if f.origin.IsStart() && page[0].ID != want[0].ID {
			t.Fatalf("the first event of a fresh log is %s, want %s", page[0].ID, want[0].ID)
		}
	})
}

// testDefaultPageSize: a zero Count means DefaultPageSize, neither nothing
// nor everything.
func testDefaultPageSize(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("bulk")
	evs := make([]events.Proposed, events.DefaultPageSize+5)
	for i := range evs {
		evs[i] = f.ev("Bulk", `{}`)
	}
	f.append(st, events.NoStream, evs...)
	page, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{After: f.origin})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != events.DefaultPageSize {
		t.Fatalf("ReadAll without Count returned %d events with %d available, want DefaultPageSize (%d)", len(page), len(evs), events.DefaultPageSize)
	}
	if got := f.read(st, events.ReadOptions{}); len(got) != len(evs) {
		t.Fatalf("ReadStream without Count returned %d of %d events; zero Count reads to the end", len(got), len(evs))
	}
}

func testHead(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	first, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 && !f.origin.IsStart() {
		t.Fatalf("the log is empty but Head is %s, want Start", f.origin)
	}
	st := f.stream("head")
	prev := f.origin
	for i := range 3 {
		r := f.append(st, events.Any, f.evs(i+1)...)
		h := f.head()
		if h.Compare(r.Position) < 0 || h.Compare(prev) < 0 {
			t.Fatalf("Head %s is before the event just appended at %s or the previous head %s", h, r.Position, prev)
		}
		// Nothing after the event (read after Head was taken) means nothing
		// was after it when Head was taken either.
		rest, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{After: r.Position, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) == 0 && h != r.Position {
			t.Fatalf("Head is %s but the last event in the log is at %s", h, r.Position)
		}
		prev = h
	}
	if err := f.store.Delete(f.ctx, st, events.Any); err != nil {
		t.Fatal(err)
	}
	if h := f.head(); h.Compare(prev) < 0 {
		t.Fatalf("Head went back from %s to %s after a soft delete", prev, h)
	}
}

func testPositionsConsistent(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	streams := []string{f.stream("pos"), f.stream("pos"), f.stream("pos")}
	for i := range 9 {
		f.append(streams[i%3], events.Any, f.evs(1+i%2)...)
	}
	all := f.readAll(f.origin)
	byID := map[string]events.Event{}
	for _, e := range all {
		byID[e.ID.String()] = e
	}
	for _, st := range streams {
		for _, dir := range []events.Direction{events.Forwards, events.Backwards} {
			for _, e := range f.read(st, events.ReadOptions{Direction: dir, FromEnd: dir == events.Backwards}) {
				if d := eventDiff(e, byID[e.ID.String()]); d != "" {
					t.Fatalf("event %s differs between ReadStream and ReadAll: %s", e.ID, d)
				}
			}
		}
	}
}

func testEnvelope(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("envelope")
	full := events.Proposed{
		ID:   events.NewID(),
		Type: f.typ("RegistrationPlaced"),
		// Whitespace, key order, escapes and number spelling are kept: the
		// store holds bytes, it does not re-encode JSON.
		Data: []byte(`{ "z" : 1.50,  "a":"云栖\u00e9\n", "list": [ ],"nested":{"t":true} }`),
		Metadata: events.Metadata{
			Actor:         "user-0193a",
			CorrelationID: "corr-1",
			CausationID:   "cmd-1",
			RequestID:     "req-1",
			OccurredAt:    time.Date(2015, 10, 14, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600)),
			SchemaVersion: 3,
			Visibility:    events.Owner,
			Subject:       "person-42",
		},
	}
	bare := events.Proposed{ID: events.IDFromKey(f.tag, 0), Type: f.typ("Bare"), Data: []byte(`null`)}
	r := f.append(st, events.NoStream, full, bare)
	after := time.Now()

	check := func(where string, got []events.Event) {
		t.Helper()
		if len(got) != 2 {
			t.Fatalf("%s: %d events, want 2", where, len(got))
		}
		for i, p := range []events.Proposed{full, bare} {
			e := got[i]
			switch {
			case e.ID != p.ID, e.Stream != st, e.Type != p.Type, e.Revision != uint64(i):
				t.Fatalf("%s: event %d is %s %s %q rev %d, want %s %s %q rev %d", where, i, e.ID, e.Stream, e.Type, e.Revision, p.ID, st, p.Type, i)
			case string(e.Data) != string(p.Data):
				t.Fatalf("%s: data %q, want %q", where, e.Data, p.Data)
			case !sameMetadata(e.Metadata, p.Metadata):
				t.Fatalf("%s: metadata %+v, want %+v", where, e.Metadata, p.Metadata)
			case e.Recorded.IsZero() || e.Recorded.Before(f.start.Add(-time.Hour)) || e.Recorded.After(after.Add(time.Hour)):
				// An hour of slack for a server's clock; this catches unset
				// times and unit mix-ups, not speed.
				t.Fatalf("%s: recorded at %s, appended between %s and %s", where, e.Recorded, f.start, after)
			}
		}
		if got[1].Position != r.Position {
			t.Fatalf("%s: last event at %s, the append reported %s", where, got[1].Position, r.Position)
		}
	}
	check("ReadStream", f.read(st, events.ReadOptions{}))
	check("ReadAll", f.readAll(f.origin))
	s := f.subscribe(events.SubscribeOptions{After: f.origin})
	check("Subscribe", s.upTo(2))
}

func sameMetadata(a, b events.Metadata) bool {
	if !a.OccurredAt.Equal(b.OccurredAt) {
		return false
	}
	a.OccurredAt, b.OccurredAt = time.Time{}, time.Time{}
	return a == b
}

// eventDiff describes how two reads of the same event differ.
func eventDiff(a, b events.Event) string {
	var d []string
	add := func(field string, x, y any) { d = append(d, fmt.Sprintf("%s %v vs %v", field, x, y)) }
	if a.ID != b.ID {
		add("id", a.ID, b.ID)
	}
	if a.Stream != b.Stream {
		add("stream", a.Stream, b.Stream)
	}
	if a.Type != b.Type {
		add("type", a.Type, b.Type)
	}
	if a.Revision != b.Revision {
		add("revision", a.Revision, b.Revision)
	}
	if a.Position != b.Position {
		add("position", a.Position, b.Position)
	}
	if !a.Recorded.Equal(b.Recorded) {
		add("recorded", a.Recorded, b.Recorded)
	}
	if string(a.Data) != string(b.Data) {
		add("data", string(a.Data), string(b.Data))
	}
	if !sameMetadata(a.Metadata, b.Metadata) {
		add("metadata", a.Metadata, b.Metadata)
	}
	return strings.Join(d, "; ")
}
