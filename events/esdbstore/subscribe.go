package esdbstore

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/yunqi-town/yunqi/events"
)

// Subscribe follows $all with a server-side filter. The client does not
// resubscribe after a dropped connection, so the adapter does: it remembers
// the last position it delivered or was told to checkpoint, subscribes again
// from there, and drops anything at or before it, so a consumer sees neither
// a gap nor a duplicate.
func (s *Store) Subscribe(ctx context.Context, opts events.SubscribeOptions) iter.Seq2[events.Message, error] {
	return func(yield func(events.Message, error) bool) {
		if err := opts.Filter.Validate(); err != nil {
			yield(events.Message{}, err)
			return
		}
		interval := opts.CheckpointInterval
		if interval <= 0 {
			interval = events.DefaultCheckpointInterval
		}
		// Older servers never say they caught up, so the adapter also
		// derives it: whatever was in the log before the subscription
		// started is caught up once the subscription has passed it.
		head, err := s.Head(ctx)
		if err != nil {
			yield(events.Message{}, endErr(ctx, err))
			return
		}
		last := opts.After
		caught := false
		if head.Compare(last) <= 0 {
			caught = true
			if !yield(events.Message{Kind: events.KindCaughtUp, Position: last}, nil) {
				return
			}
		}
		caughtUp := func(at events.Position) bool {
			caught = true
			return yield(events.Message{Kind: events.KindCaughtUp, Position: at}, nil)
		}

		var failingSince time.Time
		backoff := 20 * time.Millisecond
		for {
			sub, err := s.subscribeFrom(ctx, last, opts.Filter, interval)
			if err == nil {
				failingSince, backoff = time.Time{}, 20*time.Millisecond
				var stop bool
				stop, err = s.pump(ctx, sub, &last, head, &caught, opts.Filter, caughtUp, yield)
				sub.Close()
				if stop {
					return
				}
			}
			if ctx.Err() != nil {
				yield(events.Message{}, ctx.Err())
				return
			}
			if permanent(err) {
				yield(events.Message{}, err)
				return
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			} else if time.Since(failingSince) > s.opts.ReconnectFor {
				yield(events.Message{}, err)
				return
			}
			s.log.Warn("esdbstore: subscription dropped; resubscribing", "after", last, "err", err)
			select {
			case <-ctx.Done():
				yield(events.Message{}, ctx.Err())
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
		}
	}
}

func endErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (s *Store) subscribeFrom(ctx context.Context, after events.Position, f events.Filter, interval int) (*esdb.Subscription, error) {
	var from esdb.AllPosition = esdb.Start{}
	if !after.IsStart() {
		from = esdb.Position{Commit: after.Commit, Prepare: after.Prepare}
	}
	// Without a filter the server sends no checkpoints and includes system
	// events; a filter on "any type not starting with $" fixes both.
	filter := &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Regex: `^[^$]`}
	switch {
	case len(f.StreamPrefixes) > 0:
		filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: f.StreamPrefixes}
	case len(f.TypePrefixes) > 0:
		filter = &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Prefixes: f.TypePrefixes}
	}
	return do(s, func(c *esdb.Client) (*esdb.Subscription, error) {
		// The server checkpoints every window × multiplier scanned events.
		return c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: filter, MaxSearchWindow: interval, CheckpointInterval: 1})
	})
}

// pump forwards one server subscription until it drops. stop reports that
// the sequence must end (the consumer left).
func (s *Store) pump(ctx context.Context, sub *esdb.Subscription, last *events.Position, head events.Position, caught *bool,
	f events.Filter, caughtUp func(events.Position) bool, yield func(events.Message, error) bool) (stop bool, err error) {
	for {
		m := sub.Recv()
		switch {
		case m.SubscriptionDropped != nil:
			return false, m.SubscriptionDropped.Error
		case m.EventAppeared != nil:
			r := m.EventAppeared.Event
			if r == nil {
				continue
			}
			p := events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			if p.Compare(*last) <= 0 {
				continue // already delivered before a resubscription
			}
			if !*caught && p.Compare(head) > 0 && !caughtUp(head) {
				return true, nil
			}
			*last = p
			if !system(r) && f.Match(r.StreamID, r.EventType) {
				e, _ := toEvent(r)
				if !yield(events.Message{Kind: events.KindEvent, Event: e, Position: p}, nil) {
					return true, nil
				}
			}
			if !*caught && p == head && !caughtUp(head) {
				return true, nil
			}
		case m.CheckPointReached != nil:
			p := events.Position{Commit: m.CheckPointReached.Commit, Prepare: m.CheckPointReached.Prepare}
			if p.Compare(*last) <= 0 {
				continue
			}
			*last = p
			if !yield(events.Message{Kind: events.KindCheckpoint, Position: p}, nil) {
				return true, nil
			}
			if !*caught && p.Compare(head) >= 0 && !caughtUp(head) {
				return true, nil
			}
		case m.CaughtUp != nil:
			// The server had sent everything in the log when it said so,
			// which includes head, read before subscribing.
			if !*caught && !caughtUp(maxPos(head, *last)) {
				return true, nil
			}
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
}

func maxPos(a, b events.Position) events.Position {
	if a.Compare(b) >= 0 {
		return a
	}
	return b
}

func permanent(err error) bool {
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnsupportedFeature:
			return true
		}
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument, codes.Unimplemented:
		return true
	}
	return false
}
