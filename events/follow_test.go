package events_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// flakyStore fails the first subscription after it has delivered two
// events, as a dropped connection would.
type flakyStore struct {
	events.Store
	mu     sync.Mutex
	failed bool
}

func (s *flakyStore) Subscribe(ctx context.Context, opts events.SubscribeOptions) iter.Seq2[events.Message, error] {
	s.mu.Lock()
	fail := !s.failed
	s.failed = true
	s.mu.Unlock()
	inner := s.Store.Subscribe(ctx, opts)
	if !fail {
		return inner
	}
	return func(yield func(events.Message, error) bool) {
		n := 0
		for msg, err := range inner {
			if msg.Kind == events.KindEvent {
				if n == 2 {
					yield(events.Message{}, errors.New("connection reset"))
					return
				}
				n++
			}
			if !yield(msg, err) {
				return
			}
		}
	}
}

func TestFollowerAppliesEveryEventOnceAcrossResubscribe(t *testing.T) {
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := t.Context()
	appendN := func(stream string, n int) events.AppendResult {
		var r events.AppendResult
		for i := range n {
			r, err = store.Append(ctx, stream, events.Any, events.Proposed{ID: events.NewID(), Type: "test.Happened", Data: fmt.Appendf(nil, `{"i":%d}`, i)})
			if err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	appendN("other-1", 3) // filtered out
	appendN("thing-1", 5)

	var mu sync.Mutex
	var seen []string
	f := &events.Follower{
		Name:   "test",
		Store:  &flakyStore{Store: store},
		Filter: events.Filter{StreamPrefixes: []string{"thing-"}},
		Apply: func(e events.Event) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprintf("%s@%d", e.Stream, e.Revision))
		},
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()

	last := appendN("thing-2", 2)
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !f.WaitFor(wait, last.Position) {
		t.Fatal("the follower never reached the last event")
	}
	for !f.Ready() {
		if wait.Err() != nil {
			t.Fatal("the follower never caught up")
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"thing-1@0", "thing-1@1", "thing-1@2", "thing-1@3", "thing-1@4", "thing-2@0", "thing-2@1"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("applied %v, want %v", seen, want)
	}
}

func TestFollowerWaitForGivesUpWithContext(t *testing.T) {
	var f events.Follower
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if f.WaitFor(ctx, events.Position{Commit: 1, Prepare: 1}) {
		t.Fatal("WaitFor reported a position nothing has reached")
	}
	if !f.WaitFor(t.Context(), events.Start) {
		t.Fatal("WaitFor(Start) must hold at once")
	}
}
