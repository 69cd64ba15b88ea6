package esdbstore

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// TestSubscriptionSurvivesServerRestart stops the stand-in's gRPC server in
// the middle of a subscription (closing every connection, as a crash does),
// writes more events while it is down, serves again on the same port, and
// checks that the subscription resumes where it was: every event exactly
// once, in order.
func TestSubscriptionSurvivesServerRestart(t *testing.T) {
	s, si := newTestStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	var want []uuid.UUID
	write := func(n int, via events.Store) {
		t.Helper()
		for i := range n {
			p := events.Proposed{ID: events.NewID(), Type: "Noted", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, len(want))),
				Metadata: events.Metadata{Actor: events.ActorSystem, Visibility: events.System}}
			if _, err := via.Append(ctx, fmt.Sprintf("drop-%d", i%3), events.Any, p); err != nil {
				t.Fatal(err)
			}
			want = append(want, p.ID)
		}
	}
	write(20, s)

	got := make(chan events.Message, 1024)
	errc := make(chan error, 1)
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for m, err := range s.Subscribe(subCtx, events.SubscribeOptions{CheckpointInterval: 4}) {
			if err != nil {
				errc <- err
				return
			}
			got <- m
		}
	}()
	var ids []uuid.UUID
	var caughtUp int
	receive := func(n int) {
		t.Helper()
		for len(ids) < n {
			select {
			case m := <-got:
				switch m.Kind {
				case events.KindEvent:
					ids = append(ids, m.Event.ID)
				case events.KindCaughtUp:
					caughtUp++
				}
			case err := <-errc:
				t.Fatalf("subscription ended: %v", err)
			case <-ctx.Done():
				t.Fatalf("got %d of %d events before the deadline", len(ids), n)
			}
		}
	}
	receive(20)

	si.Stop()
	// The adapter cannot write while the server is down, so the events
	// of the outage go straight into the stand-in's log, as other nodes'
	// clients would have written them.
	write(15, si.Store())
	time.Sleep(200 * time.Millisecond)
	if err := si.Restart(); err != nil {
		t.Fatal(err)
	}
	receive(35)
	write(5, s)
	receive(40)

	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("event %d is %s, want %s (order or duplicates broken across the restart)", i, ids[i], want[i])
		}
	}
	select {
	case m := <-got:
		if m.Kind == events.KindEvent {
			t.Fatalf("extra event %s after all %d were received", m.Event.ID, len(want))
		}
	case <-time.After(200 * time.Millisecond):
	}
	if n := si.Subscriptions(); n < 2 {
		t.Fatalf("the stand-in saw %d subscriptions; the restart should have forced a resubscription", n)
	}
	if caughtUp != 1 {
		t.Fatalf("caught up %d times, want once", caughtUp)
	}
}
