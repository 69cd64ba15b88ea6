package events

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Follower keeps an in-memory read model current: it subscribes to the
// global log, hands each matching event to Apply, resubscribes after the
// last position seen when a subscription fails, and tracks how far it has
// read so that a request can wait for the event it has just written
// (read-your-writes) and /readyz can wait for the catch-up.
type Follower struct {
	Name   string // for logs
	Store  Store
	Filter Filter
	// Apply folds one event into the read model. It runs on the follower's
	// goroutine only, in log order; it must not block on the follower.
	Apply  func(Event)
	Logger *slog.Logger

	caughtUp atomic.Bool
	mu       sync.Mutex
	seen     Position
	moved    chan struct{} // closed and replaced whenever seen advances
}

// Run follows the log until ctx ends; it always returns nil then, because
// a failing subscription is retried rather than allowed to stop the server.
func (f *Follower) Run(ctx context.Context) error {
	log := f.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		after := f.Position()
		for msg, err := range f.Store.Subscribe(ctx, SubscribeOptions{After: after, Filter: f.Filter}) {
			if err != nil {
				if ctx.Err() == nil {
					log.Error("projection subscription failed; resubscribing", "projection", f.Name, "after", f.Position(), "err", err)
				}
				break
			}
			backoff = 100 * time.Millisecond
			switch msg.Kind {
			case KindEvent:
				f.Apply(msg.Event)
				f.advance(msg.Event.Position)
			case KindCheckpoint:
				f.advance(msg.Position)
			case KindCaughtUp:
				f.advance(msg.Position)
				f.caughtUp.Store(true)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, 10*time.Second)
		}
	}
	return nil
}

// Ready reports whether the follower has caught up with the log once.
func (f *Follower) Ready() bool { return f.caughtUp.Load() }

// Position is how far into the log the read model reflects.
func (f *Follower) Position() Position {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen
}

func (f *Follower) advance(p Position) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Compare(f.seen) > 0 {
		f.seen = p
		if f.moved != nil {
			close(f.moved)
			f.moved = nil
		}
	}
}

// WaitFor waits until the read model reflects the log up to p, or ctx
// ends; it reports whether p was reached.
func (f *Follower) WaitFor(ctx context.Context, p Position) bool {
	for {
		f.mu.Lock()
		if p.Compare(f.seen) <= 0 {
			f.mu.Unlock()
			return true
		}
		if f.moved == nil {
			f.moved = make(chan struct{})
		}
		moved := f.moved
		f.mu.Unlock()
		select {
		case <-moved:
		case <-ctx.Done():
			return false
		}
	}
}
