package storetest

import (
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// testRestore runs only for backends that implement events.Restorer (the
// import side of an export).
func testRestore(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	rs, ok := f.store.(events.Restorer)
	if !ok {
		t.Skip("the backend does not implement events.Restorer")
	}
	a, b := f.stream("restored"), f.stream("restored")
	// Millisecond precision: an export keeps at least that much, and a
	// backend need not keep more.
	then := time.Date(2019, 9, 25, 10, 0, 0, 0, time.UTC).Add(123 * time.Millisecond)
	old := []events.Event{
		{ID: events.NewID(), Stream: a, Type: f.typ("Placed"), Revision: 0, Recorded: then, Data: []byte(`{"n": 0}`),
			Metadata: events.Metadata{Actor: "user-1", SchemaVersion: 1, Visibility: events.Owner, OccurredAt: then.Add(-time.Second)}},
		{ID: events.NewID(), Stream: b, Type: f.typ("Placed"), Revision: 0, Recorded: then.Add(time.Minute), Data: []byte(`{"n": 1}`)},
		{ID: events.NewID(), Stream: a, Type: f.typ("Confirmed"), Revision: 1, Recorded: then.Add(time.Hour), Data: []byte(`{}`),
			Metadata: events.Metadata{Actor: events.ActorSystem, Visibility: events.Public}},
	}
	if err := rs.Restore(f.ctx, old); err != nil {
		t.Fatalf("restore: %v", err)
	}
	all := f.readAll(f.origin)
	wantIDs(t, "$all after restore", all, ids(old))
	for i, e := range all {
		want := old[i]
		want.Position = e.Position // positions are the new log's
		if d := eventDiff(e, want); d != "" {
			t.Fatalf("restored event %d: %s", i, d)
		}
		if i > 0 && e.Position.Compare(all[i-1].Position) <= 0 {
			t.Fatalf("restored events out of order in $all")
		}
	}
	// Restored streams go on like any other.
	r := f.append(a, events.Exact(1), f.evs(1)...)
	if r.NextExpected != 2 {
		t.Fatalf("append after restore landed at revision %d, want 2", r.NextExpected)
	}

	c := f.stream("restored")
	for name, bad := range map[string]events.Event{
		"revision_gap":       {ID: events.NewID(), Stream: c, Type: f.typ("Placed"), Revision: 1, Recorded: then, Data: []byte(`{}`)},
		"revision_taken":     {ID: events.NewID(), Stream: b, Type: f.typ("Placed"), Revision: 0, Recorded: then, Data: []byte(`{}`)},
		"invalid_data":       {ID: events.NewID(), Stream: c, Type: f.typ("Placed"), Revision: 0, Recorded: then, Data: []byte(`{`)},
		"dollar_stream_name": {ID: events.NewID(), Stream: "$" + c, Type: f.typ("Placed"), Revision: 0, Recorded: then, Data: []byte(`{}`)},
	} {
		if err := rs.Restore(f.ctx, []events.Event{bad}); err == nil {
			t.Fatalf("restore of an event with %s succeeded", name)
		}
	}
	wantNotFound(t, f, c)
}
