package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

// streamState is a starting point of the decision table.
type streamState int

const (
	missing     streamState = iota // never written
	atZero                         // one event
	atTwo                          // three events
	softDeleted                    // three events, then soft-deleted
	tombstoned                     // one event, then tombstoned
)

func (s streamState) String() string {
	return [...]string{"missing", "at0", "at2", "soft-deleted", "tombstoned"}[s]
}

// prepare brings a new stream to the state and returns the events it wrote.
func (f *fixture) prepare(stream string, st streamState) []events.Proposed {
	f.t.Helper()
	var evs []events.Proposed
	switch st {
	case atZero, tombstoned:
		evs = f.evs(1)
	case atTwo, softDeleted:
		evs = f.evs(3)
	}
	if len(evs) > 0 {
		f.append(stream, events.NoStream, evs...)
	}
	switch st {
	case softDeleted:
		if err := f.store.Delete(f.ctx, stream, events.Exact(2)); err != nil {
			f.t.Fatalf("soft-delete %s: %v", stream, err)
		}
	case tombstoned:
		if err := f.store.Tombstone(f.ctx, stream, events.Exact(0)); err != nil {
			f.t.Fatalf("tombstone %s: %v", stream, err)
		}
	}
	return evs
}

type outcome int

const (
	written        outcome = iota // the events land at revision first, first+1
	wrong                         // *WrongExpectedRevisionError carrying actual
	deleted                       // *StreamDeletedError
	writtenOrWrong                // the contract leaves the choice to the backend
)

func testDecisionTable(t *testing.T, newStore func(*testing.T) events.Store) {
	noStream := events.StreamState{}
	at := func(r uint64) events.StreamState { return events.StreamState{Exists: true, Revision: r} }
	cases := []struct {
		state  streamState
		exp    events.ExpectedRevision
		want   outcome
		first  uint64             // revision of the first new event when written
		actual events.StreamState // when wrong
	}{
		{state: missing, exp: events.Any, want: written, first: 0},
		{state: missing, exp: events.NoStream, want: written, first: 0},
		{state: missing, exp: events.StreamExists, want: wrong, actual: noStream},
		{state: missing, exp: events.Exact(0), want: wrong, actual: noStream},
		{state: missing, exp: events.Exact(3), want: wrong, actual: noStream},

		{state: atZero, exp: events.Any, want: written, first: 1},
		{state: atZero, exp: events.NoStream, want: wrong, actual: at(0)},
		{state: atZero, exp: events.StreamExists, want: written, first: 1},
		{state: atZero, exp: events.Exact(0), want: written, first: 1},
		{state: atZero, exp: events.Exact(1), want: wrong, actual: at(0)},

		{state: atTwo, exp: events.Any, want: written, first: 3},
		{state: atTwo, exp: events.NoStream, want: wrong, actual: at(2)},
		{state: atTwo, exp: events.StreamExists, want: written, first: 3},
		{state: atTwo, exp: events.Exact(2), want: written, first: 3},
		{state: atTwo, exp: events.Exact(0), want: wrong, actual: at(2)},
		{state: atTwo, exp: events.Exact(1), want: wrong, actual: at(2)},
		{state: atTwo, exp: events.Exact(3), want: wrong, actual: at(2)},
		{state: atTwo, exp: events.Exact(100), want: wrong, actual: at(2)},

		// A soft-deleted stream keeps its last revision (2) for the checks.
		{state: softDeleted, exp: events.Any, want: written, first: 3},
		{state: softDeleted, exp: events.Exact(2), want: written, first: 3},
		{state: softDeleted, exp: events.Exact(1), want: wrong, actual: at(2)},
		{state: softDeleted, exp: events.Exact(3), want: wrong, actual: at(2)},
		{state: softDeleted, exp: events.NoStream, want: wrong, actual: at(2)},
		// store.go is silent here (EventStoreDB itself answers
		// StreamDeleted), so either reading of "keeps its last revision" is
		// accepted: revive after it, or refuse with the last revision.
		{state: softDeleted, exp: events.StreamExists, want: writtenOrWrong, first: 3, actual: at(2)},

		{state: tombstoned, exp: events.Any, want: deleted},
		{state: tombstoned, exp: events.NoStream, want: deleted},
		{state: tombstoned, exp: events.StreamExists, want: deleted},
		{state: tombstoned, exp: events.Exact(0), want: deleted},
		{state: tombstoned, exp: events.Exact(1), want: deleted},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.state, expName(c.exp)), func(t *testing.T) {
			f := setup(t, newStore)
			s := f.stream("table")
			before := f.prepare(s, c.state)
			proposed := f.evs(2)
			r, err := f.store.Append(f.ctx, s, c.exp, proposed...)
			want := c.want
			if want == writtenOrWrong {
				want = written
				if err != nil {
					want = wrong
				}
			}
			switch want {
			case written:
				if err != nil {
					t.Fatalf("append expecting %s to a %s stream: %v", c.exp, c.state, err)
				}
				got := f.read(s, events.ReadOptions{})
				var visible []events.Proposed
				if c.state != softDeleted {
					visible = before
				}
				wantIDs(t, "stream after the append", got, ids(concat(visible, proposed)))
				wantRevisions(t, "stream after the append", got, span(c.first-uint64(len(visible)), c.first+1))
				wantResultAt(t, "append", r, got[len(got)-1])
			case wrong:
				wantWrongRevision(t, err, s, c.exp, c.actual)
				switch c.state {
				case missing, softDeleted:
					wantNotFound(t, f, s)
				default:
					wantIDs(t, "stream after the refused append", f.read(s, events.ReadOptions{}), ids(before))
				}
			case deleted:
				wantDeleted(t, err, s)
				_, err := f.store.ReadStream(f.ctx, s, events.ReadOptions{})
				wantDeleted(t, err, s)
			}
		})
	}
}

// testAppendMany checks that successive appends continue each other and that
// the result of each points at its last event.
func testAppendMany(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	s := f.stream("many")
	var all []events.Proposed
	var results []events.AppendResult
	exp := events.NoStream
	for _, n := range []int{1, 3, 1, 5} {
		batch := f.evs(n)
		r := f.append(s, exp, batch...)
		all = append(all, batch...)
		results = append(results, r)
		if r.NextExpected != uint64(len(all)-1) {
			t.Fatalf("after %d events the append reports revision %d", len(all), r.NextExpected)
		}
		exp = events.Exact(r.NextExpected)
	}
	got := f.read(s, events.ReadOptions{})
	wantIDs(t, "stream", got, ids(all))
	wantRevisions(t, "stream", got, span(0, uint64(len(all)-1)))
	end := 0
	for i, n := range []int{1, 3, 1, 5} {
		end += n
		wantResultAt(t, fmt.Sprintf("append %d", i), results[i], got[end-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i].Position.Compare(got[i-1].Position) <= 0 {
			t.Fatalf("revision %d is at %s, not after revision %d at %s", i, got[i].Position, i-1, got[i-1].Position)
		}
	}
}

// testIdempotency replays appends: a full replay at the original expected
// state is acknowledged with the original result and writes nothing; a replay
// that matches only in part is a concurrency failure.
func testIdempotency(t *testing.T, newStore func(*testing.T) events.Store) {
	type replay struct {
		// ids picks what is re-sent from the original batch and extra new events.
		ids func(orig, extra []events.Proposed) []events.Proposed
		// last is the index in the original batch of the event the result
		// must point at; -1 means the replay must be refused.
		last int
	}
	whole := func(orig, _ []events.Proposed) []events.Proposed { return orig }
	first := func(orig, _ []events.Proposed) []events.Proposed { return orig[:1] }
	tail := func(orig, _ []events.Proposed) []events.Proposed { return orig[1:] }
	longer := func(orig, extra []events.Proposed) []events.Proposed { return concat(orig, extra[:1]) }
	diverging := func(orig, extra []events.Proposed) []events.Proposed { return concat(orig[:1], extra[:1]) }

	cases := []struct {
		name   string
		pre    int // events in the stream before the original append
		exp    events.ExpectedRevision
		later  int // events appended after the original one
		replay replay
	}{
		{"NoStream/same", 0, events.NoStream, 0, replay{whole, 2}},
		{"NoStream/after_later_events", 0, events.NoStream, 2, replay{whole, 2}},
		{"NoStream/first_event_only", 0, events.NoStream, 1, replay{first, 0}},
		{"NoStream/with_an_extra_event", 0, events.NoStream, 0, replay{longer, -1}},
		{"NoStream/diverging", 0, events.NoStream, 0, replay{diverging, -1}},

		{"Exact/same", 2, events.Exact(1), 0, replay{whole, 2}},
		{"Exact/after_later_events", 2, events.Exact(1), 2, replay{whole, 2}},
		{"Exact/first_event_only", 2, events.Exact(1), 1, replay{first, 0}},
		{"Exact/with_an_extra_event", 2, events.Exact(1), 0, replay{longer, -1}},
		{"Exact/with_an_extra_event_after_later_events", 2, events.Exact(1), 2, replay{longer, -1}},
		{"Exact/diverging", 2, events.Exact(1), 1, replay{diverging, -1}},

		{"Any/same", 1, events.Any, 0, replay{whole, 2}},
		{"Any/after_later_events", 1, events.Any, 2, replay{whole, 2}},
		{"Any/middle_of_the_batch", 1, events.Any, 1, replay{tail, 2}},
		{"Any/new_stream", 0, events.Any, 0, replay{whole, 2}},
		{"Any/with_an_extra_event", 1, events.Any, 0, replay{longer, -1}},
		{"Any/diverging", 1, events.Any, 1, replay{diverging, -1}},

		{"StreamExists/same", 1, events.StreamExists, 0, replay{whole, 2}},
		{"StreamExists/after_later_events", 1, events.StreamExists, 2, replay{whole, 2}},
		{"StreamExists/with_an_extra_event", 1, events.StreamExists, 0, replay{longer, -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, newStore)
			s := f.stream("idem")
			var all []events.Proposed
			if c.pre > 0 {
				pre := f.evs(c.pre)
				f.append(s, events.NoStream, pre...)
				all = append(all, pre...)
			}
			orig := f.evs(3)
			f.append(s, c.exp, orig...)
			all = append(all, orig...)
			if c.later > 0 {
				later := f.evs(c.later)
				f.append(s, events.Any, later...)
				all = append(all, later...)
			}
			before := f.read(s, events.ReadOptions{})
			wantIDs(t, "stream before the replay", before, ids(all))
			inLog := len(f.readAll(f.origin))

			r, err := f.store.Append(f.ctx, s, c.exp, c.replay.ids(orig, f.evs(1))...)
			if c.replay.last < 0 {
				wantWrongRevision(t, err, s, c.exp, events.StreamState{Exists: true, Revision: uint64(len(all) - 1)})
			} else {
				if err != nil {
					t.Fatalf("replay expecting %s: %v", c.exp, err)
				}
				wantResultAt(t, "replay", r, before[c.pre+c.replay.last])
			}
			wantIDs(t, "stream after the replay", f.read(s, events.ReadOptions{}), ids(all))
			if n := len(f.readAll(f.origin)); n != inLog {
				t.Fatalf("the replay changed $all from %d to %d events of this test", inLog, n)
			}
		})
	}
}

// testDurableDedup: with DurableDedup an id names one event for ever, so
// reusing it anywhere but in a replay is refused whatever the expected state.
func testDurableDedup(t *testing.T, newStore func(*testing.T) events.Store) {
	cases := []struct {
		name string
		// reuse tries to append an event with the id of taken (the first
		// event of stream a) and returns the stream it tried.
		reuse func(f *fixture, a string, taken events.Proposed) (string, error)
	}{
		{"other_stream_NoStream", func(f *fixture, a string, taken events.Proposed) (string, error) {
			b := f.stream("dedup")
			_, err := f.store.Append(f.ctx, b, events.NoStream, taken)
			return b, err
		}},
		{"other_stream_StreamExists", func(f *fixture, a string, taken events.Proposed) (string, error) {
			b := f.stream("dedup")
			f.append(b, events.NoStream, f.evs(1)...)
			_, err := f.store.Append(f.ctx, b, events.StreamExists, taken)
			return b, err
		}},
		{"other_stream_Any_after_a_fresh_id", func(f *fixture, a string, taken events.Proposed) (string, error) {
			b := f.stream("dedup")
			_, err := f.store.Append(f.ctx, b, events.Any, f.ev("Fresh", `{}`), taken)
			return b, err
		}},
		{"same_stream_at_its_head", func(f *fixture, a string, taken events.Proposed) (string, error) {
			_, err := f.store.Append(f.ctx, a, events.Exact(1), taken)
			return a, err
		}},
		{"same_stream_Any_after_a_fresh_id", func(f *fixture, a string, taken events.Proposed) (string, error) {
			_, err := f.store.Append(f.ctx, a, events.Any, f.ev("Fresh", `{}`), taken)
			return a, err
		}},
		{"after_soft_delete", func(f *fixture, a string, taken events.Proposed) (string, error) {
			if err := f.store.Delete(f.ctx, a, events.Any); err != nil {
				f.t.Fatalf("delete: %v", err)
			}
			b := f.stream("dedup")
			_, err := f.store.Append(f.ctx, b, events.NoStream, taken)
			return b, err
		}},
		{"after_tombstone", func(f *fixture, a string, taken events.Proposed) (string, error) {
			if err := f.store.Tombstone(f.ctx, a, events.Any); err != nil {
				f.t.Fatalf("tombstone: %v", err)
			}
			b := f.stream("dedup")
			_, err := f.store.Append(f.ctx, b, events.Any, taken)
			return b, err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, newStore)
			if !f.store.Capabilities().DurableDedup {
				t.Skip("the backend does not declare DurableDedup (EventStoreDB only deduplicates recent ids)")
			}
			a := f.stream("dedup")
			orig := f.evs(2)
			f.append(a, events.NoStream, orig...)
			before := f.readAll(f.origin)

			// A different payload under the same id: the id alone decides.
			taken := orig[0]
			taken.Data = []byte(`{"second":"attempt"}`)
			target, err := c.reuse(f, a, taken)
			if !errors.Is(err, events.ErrDuplicateEventID) {
				t.Fatalf("append of a used id to %s: got %v, want events.ErrDuplicateEventID", target, err)
			}
			after := f.readAll(f.origin)
			// The setup of a case may write events of its own (the first
			// event of the other stream); the refused append adds nothing.
			for _, e := range after[len(before):] {
				if e.ID == taken.ID || e.Type == f.typ("Fresh") {
					t.Fatalf("the refused append wrote event %s (%s) to %s", e.ID, e.Type, e.Stream)
				}
			}
		})
	}
}

// testValidation: what every backend refuses before touching storage.
func testValidation(t *testing.T, newStore func(*testing.T) events.Store) {
	ok := func(f *fixture) events.Proposed { return f.ev("Valid", `{"ok":true}`) }
	with := func(change func(*events.Proposed)) func(f *fixture) []events.Proposed {
		return func(f *fixture) []events.Proposed {
			e := ok(f)
			change(&e)
			return []events.Proposed{e}
		}
	}
	huge := `"` + strings.Repeat("x", events.MaxAppendSize) + `"`
	third := `"` + strings.Repeat("y", events.MaxAppendSize/3) + `"`
	cases := []struct {
		name     string
		stream   func(f *fixture) string // nil: a fresh valid stream
		evs      func(f *fixture) []events.Proposed
		tooLarge bool
	}{
		{name: "malformed_json", evs: with(func(e *events.Proposed) { e.Data = []byte(`{"a":`) })},
		{name: "not_json", evs: with(func(e *events.Proposed) { e.Data = []byte(`hello`) })},
		{name: "empty_data", evs: with(func(e *events.Proposed) { e.Data = nil })},
		{name: "empty_type", evs: with(func(e *events.Proposed) { e.Type = "" })},
		{name: "dollar_type", evs: with(func(e *events.Proposed) { e.Type = "$metadata" })},
		{name: "type_with_spaces_around", evs: with(func(e *events.Proposed) { e.Type = " " + e.Type })},
		{name: "type_not_utf8", evs: with(func(e *events.Proposed) { e.Type += "\xff" })},
		{name: "type_too_long", evs: with(func(e *events.Proposed) { e.Type = strings.Repeat("t", events.MaxTypeLength+1) })},
		{name: "zero_id", evs: with(func(e *events.Proposed) { e.ID = [16]byte{} })},
		{name: "unknown_visibility", evs: with(func(e *events.Proposed) { e.Metadata.Visibility = "everyone" })},
		{name: "no_events", evs: func(*fixture) []events.Proposed { return nil }},
		{name: "duplicate_id_in_one_append", evs: func(f *fixture) []events.Proposed {
			a, b := ok(f), ok(f)
			b.ID = a.ID
			return []events.Proposed{a, b}
		}},
		{name: "second_event_invalid", evs: func(f *fixture) []events.Proposed {
			b := ok(f)
			b.Data = []byte(`{`)
			return []events.Proposed{ok(f), b}
		}},
		{name: "empty_stream", stream: func(*fixture) string { return "" }},
		{name: "dollar_stream", stream: func(f *fixture) string { return "$" + f.stream("val") }},
		{name: "stream_with_space", stream: func(f *fixture) string { return f.stream("val") + " x" }},
		{name: "stream_with_control_character", stream: func(f *fixture) string { return f.stream("val") + "\n" }},
		{name: "stream_not_utf8", stream: func(f *fixture) string { return f.stream("val") + "\xff" }},
		{name: "stream_too_long", stream: func(f *fixture) string {
			return f.stream("val") + strings.Repeat("s", events.MaxStreamNameLength)
		}},
		{name: "oversized_event", tooLarge: true, evs: with(func(e *events.Proposed) { e.Data = []byte(huge) })},
		{name: "oversized_across_events", tooLarge: true, evs: func(f *fixture) []events.Proposed {
			evs := make([]events.Proposed, 4)
			for i := range evs {
				evs[i] = ok(f)
				evs[i].Data = []byte(third)
			}
			return evs
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, newStore)
			s := f.stream("val")
			if c.stream != nil {
				s = c.stream(f)
			}
			evs := []events.Proposed{ok(f)}
			if c.evs != nil {
				evs = c.evs(f)
			}
			before := len(f.readAll(f.origin))
			for _, exp := range []events.ExpectedRevision{events.Any, events.NoStream} {
				_, err := f.store.Append(f.ctx, s, exp, evs...)
				if c.tooLarge {
					var tl *events.TooLargeError
					if !errors.As(err, &tl) {
						t.Fatalf("expecting %s: got %v, want *events.TooLargeError", exp, err)
					}
					if tl.Stream != s || tl.Limit != events.MaxAppendSize || tl.Size <= tl.Limit {
						t.Fatalf("TooLargeError %+v: want stream %q, limit %d and a size above it", tl, s, events.MaxAppendSize)
					}
				} else if !errors.Is(err, events.ErrInvalidEvent) {
					t.Fatalf("expecting %s: got %v, want an error wrapping events.ErrInvalidEvent", exp, err)
				}
			}
			if c.stream == nil {
				wantNotFound(t, f, s)
			}
			if after := len(f.readAll(f.origin)); after != before {
				t.Fatalf("a refused append wrote %d events", after-before)
			}
		})
	}
}

// testLargeAppend: an append just inside the limit is accepted whole.
func testLargeAppend(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	s := f.stream("large")
	// Well under MaxAppendSize so that a cluster's per-event overhead never
	// matters, yet far above any page or buffer size a backend might assume.
	data := []byte(`{"text":"` + strings.Repeat("云栖", events.MaxAppendSize/16) + `"}`)
	e := f.ev("Large", string(data))
	f.append(s, events.NoStream, e, f.ev("Small", `{}`))
	got := f.read(s, events.ReadOptions{})
	if len(got) != 2 || string(got[0].Data) != string(data) {
		t.Fatalf("large event did not round-trip (%d events read)", len(got))
	}
}

// testUnknownTypes: the store knows nothing of the registry; an event type no
// binary has registered yet is kept and returned byte for byte, and decoding
// it is what fails.
func testUnknownTypes(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	s := f.stream("future")
	e := f.ev("FromTheFuture", `{"field":"新字段","nested":{"v":[1,2,3]}}`)
	e.Metadata.SchemaVersion = 7
	f.append(s, events.NoStream, e)

	check := func(where string, got events.Event) {
		t.Helper()
		if got.ID != e.ID || got.Type != e.Type || string(got.Data) != string(e.Data) || got.Metadata.SchemaVersion != 7 {
			t.Fatalf("%s: got %s %q %s v%d, want %s %q %s v7", where, got.ID, got.Type, got.Data, got.Metadata.SchemaVersion, e.ID, e.Type, e.Data)
		}
		if _, err := events.NewRegistry().Decode(got); !errors.Is(err, events.ErrUnknownType) {
			t.Fatalf("decoding an unregistered type: got %v, want events.ErrUnknownType", err)
		}
	}
	got := f.read(s, events.ReadOptions{})
	if len(got) != 1 {
		t.Fatalf("read %d events, want 1", len(got))
	}
	check("ReadStream", got[0])
	all := f.readAll(f.origin)
	if len(all) != 1 {
		t.Fatalf("$all has %d events of this test, want 1", len(all))
	}
	check("ReadAll", all[0])
	sub := f.subscribe(events.SubscribeOptions{Filter: events.Filter{StreamPrefixes: []string{f.prefix("future")}}})
	check("Subscribe", sub.nextEvent())
}
