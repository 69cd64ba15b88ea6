package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

func testSoftDelete(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st, other := f.stream("soft"), f.stream("soft")
	evs := f.evs(3)
	f.append(st, events.NoStream, evs[:2]...)
	kept := f.evs(1)
	f.append(other, events.NoStream, kept...)
	f.append(st, events.Exact(1), evs[2:]...)
	if err := f.store.Delete(f.ctx, st, events.Exact(2)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	wantNotFound(t, f, st)
	wantIDs(t, "the other stream", f.read(other, events.ReadOptions{}), ids(kept))
	// The global log is history: a soft delete hides the stream from stream
	// reads only.
	want := ids(concat(evs[:2], kept, evs[2:]))
	wantIDs(t, "$all after a soft delete", f.readAll(f.origin), want)
	s := f.subscribe(events.SubscribeOptions{After: f.origin})
	wantIDs(t, "subscription after a soft delete", s.upTo(len(want)), want)
}

func testSoftDeleteRevive(t *testing.T, newStore func(*testing.T) events.Store) {
	for _, exp := range []events.ExpectedRevision{events.Any, events.Exact(2)} {
		t.Run(expName(exp), func(t *testing.T) {
			f := setup(t, newStore)
			st := f.stream("revive")
			old := f.prepare(st, softDeleted)
			revived := f.evs(2)
			r := f.append(st, exp, revived...)
			if r.NextExpected != 4 {
				t.Fatalf("revived stream reports revision %d, want 4 (revisions continue after the deleted ones)", r.NextExpected)
			}
			got := f.read(st, events.ReadOptions{})
			wantIDs(t, "revived stream", got, ids(revived))
			wantRevisions(t, "revived stream", got, span(3, 4))
			wantResultAt(t, "revival", r, got[1])
			for _, c := range []struct {
				opts events.ReadOptions
				want []uint64
			}{
				{events.ReadOptions{From: 4}, span(4, 4)},
				{events.ReadOptions{From: 1, Count: 1}, span(3, 3)},
				{events.ReadOptions{Direction: events.Backwards, FromEnd: true}, span(4, 3)},
				{events.ReadOptions{Direction: events.Backwards, From: 3}, span(3, 3)},
				{events.ReadOptions{Direction: events.Backwards, From: 2}, nil},
			} {
				wantRevisions(t, fmt.Sprintf("revived stream read %+v", c.opts), f.read(st, c.opts), c.want)
			}
			wantIDs(t, "$all", f.readAll(f.origin), ids(concat(old, revived)))

			_, err := f.store.Append(f.ctx, st, events.NoStream, f.evs(1)...)
			wantWrongRevision(t, err, st, events.NoStream, events.StreamState{Exists: true, Revision: 4})
			f.append(st, events.Exact(4), f.evs(1)...)

			// Deleted and revived again: the second deletion hides the
			// revived events too.
			if err := f.store.Delete(f.ctx, st, events.Exact(5)); err != nil {
				t.Fatalf("second delete: %v", err)
			}
			wantNotFound(t, f, st)
			again := f.evs(1)
			f.append(st, events.Any, again...)
			got = f.read(st, events.ReadOptions{})
			wantIDs(t, "stream revived twice", got, ids(again))
			wantRevisions(t, "stream revived twice", got, span(6, 6))
		})
	}
}

func testTombstone(t *testing.T, newStore func(*testing.T) events.Store) {
	for _, soft := range []bool{false, true} {
		t.Run(map[bool]string{false: "live_stream", true: "after_soft_delete"}[soft], func(t *testing.T) {
			f := setup(t, newStore)
			st, other := f.stream("tomb"), f.stream("tomb")
			f.append(st, events.NoStream, f.evs(2)...)
			kept := f.evs(1)
			f.append(other, events.NoStream, kept...)
			exp := events.Exact(1)
			if soft {
				if err := f.store.Delete(f.ctx, st, events.Exact(1)); err != nil {
					t.Fatalf("delete: %v", err)
				}
				exp = events.Any
			}
			if err := f.store.Tombstone(f.ctx, st, exp); err != nil {
				t.Fatalf("tombstone expecting %s: %v", exp, err)
			}
			for _, opts := range []events.ReadOptions{{}, {From: 1}, {Direction: events.Backwards, FromEnd: true}} {
				_, err := f.store.ReadStream(f.ctx, st, opts)
				wantDeleted(t, err, st)
			}
			_, err := f.store.Append(f.ctx, st, events.Any, f.evs(1)...)
			wantDeleted(t, err, st)
			wantDeleted(t, f.store.Delete(f.ctx, st, events.Any), st)
			wantDeleted(t, f.store.Tombstone(f.ctx, st, events.Any), st)
			wantIDs(t, "the other stream", f.read(other, events.ReadOptions{}), ids(kept))
		})
	}
}

// testDeleteExpected: both deletions check the expected state as an append
// does, and a refused deletion leaves the stream as it was.
func testDeleteExpected(t *testing.T, newStore func(*testing.T) events.Store) {
	at2 := events.StreamState{Exists: true, Revision: 2}
	ops := map[string]func(events.Store, context.Context, string, events.ExpectedRevision) error{
		"soft":      events.Store.Delete,
		"tombstone": events.Store.Tombstone,
	}
	cases := []struct {
		exp events.ExpectedRevision
		ok  bool
	}{
		{events.Exact(2), true},
		{events.Any, true},
		{events.StreamExists, true},
		{events.Exact(1), false},
		{events.Exact(3), false},
		{events.NoStream, false},
	}
	for op, del := range ops {
		for _, c := range cases {
			t.Run(op+"/"+expName(c.exp), func(t *testing.T) {
				f := setup(t, newStore)
				st := f.stream("delexp")
				evs := f.prepare(st, atTwo)
				err := del(f.store, f.ctx, st, c.exp)
				if !c.ok {
					wantWrongRevision(t, err, st, c.exp, at2)
					wantIDs(t, "stream after a refused deletion", f.read(st, events.ReadOptions{}), ids(evs))
					f.append(st, events.Exact(2), f.evs(1)...)
					return
				}
				if err != nil {
					t.Fatalf("%s delete expecting %s: %v", op, c.exp, err)
				}
				if op == "soft" {
					wantNotFound(t, f, st)
				} else {
					_, err := f.store.ReadStream(f.ctx, st, events.ReadOptions{})
					wantDeleted(t, err, st)
				}
			})
		}
	}
}

// testDeleteMissing follows EventStoreDB: deleting a stream that never had
// events succeeds unless an exact revision or StreamExists is expected, and a
// tombstone on it reserves the name for ever.
func testDeleteMissing(t *testing.T, newStore func(*testing.T) events.Store) {
	noStream := events.StreamState{}
	t.Run("soft", func(t *testing.T) {
		f := setup(t, newStore)
		for _, exp := range []events.ExpectedRevision{events.Any, events.NoStream} {
			st := f.stream("nothing")
			if err := f.store.Delete(f.ctx, st, exp); err != nil {
				t.Fatalf("soft-delete a missing stream expecting %s: %v", exp, err)
			}
			wantNotFound(t, f, st)
			evs := f.evs(1)
			r := f.append(st, events.NoStream, evs...)
			if r.NextExpected != 0 {
				t.Fatalf("first event after deleting a missing stream is at revision %d, want 0", r.NextExpected)
			}
			wantIDs(t, "stream", f.read(st, events.ReadOptions{}), ids(evs))
		}
		for _, exp := range []events.ExpectedRevision{events.Exact(0), events.StreamExists} {
			st := f.stream("nothing")
			wantWrongRevision(t, f.store.Delete(f.ctx, st, exp), st, exp, noStream)
		}
	})
	t.Run("tombstone", func(t *testing.T) {
		f := setup(t, newStore)
		st := f.stream("nothing")
		if err := f.store.Tombstone(f.ctx, st, events.NoStream); err != nil {
			t.Fatalf("tombstone a missing stream: %v", err)
		}
		_, err := f.store.Append(f.ctx, st, events.NoStream, f.evs(1)...)
		wantDeleted(t, err, st)
		_, err = f.store.ReadStream(f.ctx, st, events.ReadOptions{})
		wantDeleted(t, err, st)

		st = f.stream("nothing")
		wantWrongRevision(t, f.store.Tombstone(f.ctx, st, events.Exact(0)), st, events.Exact(0), noStream)
		f.append(st, events.NoStream, f.evs(1)...)
	})
	t.Run("invalid_name", func(t *testing.T) {
		f := setup(t, newStore)
		for _, name := range []string{"", "$" + f.stream("nothing"), f.stream("nothing") + " x"} {
			if err := f.store.Delete(f.ctx, name, events.Any); err == nil {
				t.Fatalf("soft-deleting stream %q succeeded", name)
			}
			if err := f.store.Tombstone(f.ctx, name, events.Any); err == nil {
				t.Fatalf("tombstoning stream %q succeeded", name)
			}
		}
	})
}
