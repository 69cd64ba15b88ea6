package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

type item struct {
	msg events.Message
	err error
}

// subscription drains a Subscribe sequence in its own goroutine so that the
// test can wait for messages with a deadline, and checks on the way what
// must hold for every message whatever the test is about.
type subscription struct {
	f      *fixture
	opts   events.SubscribeOptions
	ch     chan item
	cancel context.CancelFunc
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	// What has been received so far.
	mine        []events.Event // this subtest's events, in order
	caughtUp    int            // KindCaughtUp notices
	caughtUpAt  int            // len(mine) when the first one arrived
	caughtUpPos events.Position
	checkpoints []int // len(mine) when each checkpoint arrived
	lastEvent   events.Position
	lastCheck   events.Position
	seen        map[uuid.UUID]bool
}

func (f *fixture) subscribe(opts events.SubscribeOptions) *subscription {
	ctx, cancel := context.WithCancel(f.ctx)
	s := &subscription{
		f: f, opts: opts, ch: make(chan item, 256), cancel: cancel,
		quit: make(chan struct{}), done: make(chan struct{}), seen: map[uuid.UUID]bool{},
	}
	go func() {
		defer close(s.done)
		defer close(s.ch)
		for m, err := range f.store.Subscribe(ctx, opts) {
			select {
			case s.ch <- item{m, err}:
			case <-s.quit:
				return
			}
		}
	}()
	f.t.Cleanup(s.stop)
	return s
}

// stop ends the subscription as a consumer would, by cancelling its context
// and leaving the loop, and checks that the sequence really returns.
func (s *subscription) stop() {
	s.cancel()
	s.once.Do(func() { close(s.quit) })
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.f.t.Errorf("the subscription did not return %s after its context was cancelled", timeout)
	}
}

// next returns the next message or error, checking the invariants of the
// sequence. It fails the test when the sequence ends or the deadline passes.
func (s *subscription) next() item {
	t := s.f.t
	t.Helper()
	var it item
	select {
	case got, ok := <-s.ch:
		if !ok {
			t.Fatal("the subscription ended without yielding an error")
		}
		it = got
	case <-s.f.ctx.Done():
		t.Fatalf("timed out waiting for a subscription message (%d events of this test received, caught up %d times)", len(s.mine), s.caughtUp)
	}
	if it.err != nil {
		return it
	}
	m := it.msg
	switch m.Kind {
	case events.KindEvent:
		e := m.Event
		if m.Position != e.Position {
			t.Fatalf("event message at %s carries an event at %s", m.Position, e.Position)
		}
		if e.Position.Compare(s.lastEvent) <= 0 || e.Position.Compare(s.lastCheck) <= 0 || e.Position.Compare(s.opts.After) <= 0 {
			t.Fatalf("event %s at %s delivered after the subscription had passed %s (last event %s, last checkpoint %s)",
				e.ID, e.Position, s.opts.After, s.lastEvent, s.lastCheck)
		}
		if !s.opts.Filter.Match(e.Stream, e.Type) {
			t.Fatalf("event %s of type %q in %s does not pass the filter %+v", e.ID, e.Type, e.Stream, s.opts.Filter)
		}
		if s.caughtUp > 0 && e.Position.Compare(s.caughtUpPos) <= 0 {
			t.Fatalf("event %s at %s delivered after caught up at %s", e.ID, e.Position, s.caughtUpPos)
		}
		s.lastEvent = e.Position
		if s.f.mine(e) {
			if s.seen[e.ID] {
				t.Fatalf("event %s delivered twice", e.ID)
			}
			s.seen[e.ID] = true
			s.mine = append(s.mine, e)
		}
	case events.KindCheckpoint:
		if m.Position.Compare(s.lastCheck) <= 0 || m.Position.Compare(s.lastEvent) < 0 {
			t.Fatalf("checkpoint at %s after checkpoint %s and event %s: checkpoints must move forwards and cover what was delivered",
				m.Position, s.lastCheck, s.lastEvent)
		}
		s.lastCheck = m.Position
		s.checkpoints = append(s.checkpoints, len(s.mine))
	case events.KindCaughtUp:
		if s.caughtUp == 0 {
			if m.Position.Compare(s.lastEvent) < 0 {
				t.Fatalf("caught up at %s after delivering an event at %s", m.Position, s.lastEvent)
			}
			s.caughtUpAt, s.caughtUpPos = len(s.mine), m.Position
		}
		s.caughtUp++
		if s.caughtUp > 1 {
			t.Fatalf("caught up %d times; the notice comes once, when the head is first reached", s.caughtUp)
		}
	default:
		t.Fatalf("message of unknown kind %d", m.Kind)
	}
	return it
}

// until reads messages until done is true, failing on any error.
func (s *subscription) until(what string, done func() bool) {
	s.f.t.Helper()
	for !done() {
		if it := s.next(); it.err != nil {
			s.f.t.Fatalf("waiting for %s: subscription failed: %v", what, it.err)
		}
	}
}

// nextEvent returns the next event of this subtest.
func (s *subscription) nextEvent() events.Event {
	s.f.t.Helper()
	n := len(s.mine)
	s.until("an event", func() bool { return len(s.mine) > n })
	return s.mine[n]
}

// upTo reads until n events of this subtest have arrived in total.
func (s *subscription) upTo(n int) []events.Event {
	s.f.t.Helper()
	s.until(fmt.Sprintf("%d events", n), func() bool { return len(s.mine) >= n })
	return s.mine
}

func (s *subscription) waitCaughtUp() {
	s.f.t.Helper()
	s.until("caught up", func() bool { return s.caughtUp > 0 })
}

// wantEnd reads what is left and checks that the sequence ends with exactly
// one error satisfying match.
func (s *subscription) wantEnd(what string, match func(error) bool) {
	t := s.f.t
	t.Helper()
	var errs []error
	for {
		select {
		case it, ok := <-s.ch:
			if !ok {
				if len(errs) != 1 || !match(errs[0]) {
					t.Fatalf("the sequence ended after errors %v; want exactly one, %s", errs, what)
				}
				return
			}
			if it.err != nil {
				errs = append(errs, it.err)
			} else if len(errs) > 0 {
				t.Fatalf("message %s after the error %v: the error must come last", it.msg.Kind, errs[0])
			}
		case <-time.After(timeout):
			t.Fatalf("the subscription did not end (errors so far: %v)", errs)
		}
	}
}

// writer appends the given batches one after the other from its own
// goroutine, and tells what it wrote.
func (f *fixture) appendInOrder(streams []string, evs []events.Proposed, wait <-chan struct{}, waitAt int) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for i, e := range evs {
			if i == waitAt {
				select {
				case <-wait:
				case <-f.ctx.Done():
					errc <- fmt.Errorf("writer gave up waiting: %w", f.ctx.Err())
					return
				}
			}
			if _, err := f.store.Append(f.ctx, streams[i%len(streams)], events.Any, e); err != nil {
				errc <- fmt.Errorf("append %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	return errc
}

func wantWriter(t *testing.T, errc <-chan error) {
	t.Helper()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func testSubscribeFromStart(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	a, b := f.stream("start"), f.stream("start")
	pre := f.evs(6)
	f.append(a, events.NoStream, pre[:2]...)
	f.append(b, events.NoStream, pre[2:3]...)
	f.append(a, events.Exact(1), pre[3:]...)

	s := f.subscribe(events.SubscribeOptions{After: events.Start})
	wantIDs(t, "caught-up part", s.upTo(len(pre)), ids(pre))
	s.waitCaughtUp()

	live := f.evs(3)
	f.append(b, events.Exact(0), live[:1]...)
	f.append(a, events.Any, live[1:]...)
	got := s.upTo(len(pre) + len(live))
	wantIDs(t, "whole subscription", got, ids(concat(pre, live)))
	all := f.readAll(f.origin)
	for i := range got {
		if d := eventDiff(got[i], all[i]); d != "" {
			t.Fatalf("event %d differs between Subscribe and ReadAll: %s", i, d)
		}
	}
}

func testSubscribeFromMiddle(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("middle")
	evs := f.evs(10)
	f.append(st, events.NoStream, evs[:5]...)
	f.append(st, events.Exact(4), evs[5:]...)
	read := f.read(st, events.ReadOptions{})

	for _, from := range []int{0, 3, 4, 8} {
		t.Run(fmt.Sprintf("after_revision_%d", from), func(t *testing.T) {
			f := *f
			f.t = t
			s := f.subscribe(events.SubscribeOptions{After: read[from].Position})
			s.waitCaughtUp()
			wantIDs(t, "subscription", s.mine, ids(evs[from+1:]))
		})
	}
}

func testSubscribeFromHead(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("head")
	r := f.append(st, events.NoStream, f.evs(3)...)
	s := f.subscribe(events.SubscribeOptions{After: r.Position})
	s.waitCaughtUp()
	if len(s.mine) != 0 {
		t.Fatalf("subscribing after the last event delivered %d old events", len(s.mine))
	}
	live := f.evs(3)
	f.append(st, events.Exact(2), live[:2]...)
	s.upTo(2)
	f.append(st, events.Exact(4), live[2:]...)
	wantIDs(t, "live events", s.upTo(3), ids(live))
}

// testSubscribeCatchUpToLive keeps appending while the subscription catches
// up, so that some events land exactly while it switches to live.
func testSubscribeCatchUpToLive(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	streams := []string{f.stream("live"), f.stream("live"), f.stream("live")}
	pre := f.evs(short(300, 60))
	for i := 0; i < len(pre); i += 10 {
		f.append(streams[i/10%3], events.Any, pre[i:i+10]...)
	}
	racing, after := short(60, 15), short(60, 15)
	more := f.evs(racing + after)

	caught := make(chan struct{})
	s := f.subscribe(events.SubscribeOptions{After: f.origin})
	errc := f.appendInOrder(streams, more, caught, racing)
	s.until("caught up", func() bool { return s.caughtUp > 0 })
	close(caught)
	s.upTo(len(pre) + len(more))
	wantWriter(t, errc)
	// One more event once the writer is done: a caught-up notice repeated
	// when the subscription goes idle again would arrive before it.
	last := f.evs(1)
	f.append(streams[0], events.Any, last...)
	got := s.upTo(len(pre) + len(more) + 1)

	wantIDs(t, "subscription", got, ids(concat(pre, more, last)))
	if s.caughtUp != 1 {
		t.Fatalf("caught up %d times", s.caughtUp)
	}
	if s.caughtUpAt > len(pre)+racing {
		t.Fatalf("caught up after %d events although only %d had been written before the notice was seen", s.caughtUpAt, len(pre)+racing)
	}
}

func testSubscribeFilter(t *testing.T, newStore func(*testing.T) events.Store, byType bool) {
	f := setup(t, newStore)
	const interval = 4
	var filter events.Filter
	var keepStreams, skipStreams []string
	var keepTypes [2]string
	if byType {
		filter.TypePrefixes = []string{f.typ("Kept"), f.typ("Also")}
		one := f.stream("mixed")
		keepStreams, skipStreams = []string{one, one}, []string{one}
		keepTypes = [2]string{"Kept", "AlsoKept"}
	} else {
		filter.StreamPrefixes = []string{f.prefix("keep"), f.prefix("also")}
		keepStreams = []string{f.stream("keep"), f.stream("also")}
		skipStreams = []string{f.stream("skip"), f.stream("keepnot")}
		keepTypes = [2]string{"Noted", "Noted"}
	}
	var want []events.Proposed
	keep := func(i int) {
		e := f.ev(keepTypes[i], `{}`)
		f.append(keepStreams[i], events.Any, e)
		want = append(want, e)
	}
	skip := func(n int) {
		for i := range n {
			typ := "Skipped"
			if !byType {
				typ = "Kept" // the type would pass a type filter; the stream does not pass this one
			}
			f.append(skipStreams[i%len(skipStreams)], events.Any, f.ev(typ, `{}`))
		}
	}

	keep(0)
	skip(6 * interval)
	keep(1)
	keep(0)
	s := f.subscribe(events.SubscribeOptions{After: f.origin, Filter: filter, CheckpointInterval: interval})
	s.waitCaughtUp()
	wantIDs(t, "caught-up part", s.mine, ids(want))
	between := 0
	for _, at := range s.checkpoints {
		if at == 1 {
			between++
		}
	}
	if between == 0 {
		t.Fatalf("no checkpoint while %d filtered events were skipped (checkpoint interval %d)", 6*interval, interval)
	}

	skip(3 * interval)
	keep(1)
	skip(2)
	keep(0)
	got := s.upTo(len(want))
	wantIDs(t, "whole subscription", got, ids(want))
}

func testSubscribeInvalidFilter(t *testing.T, newStore func(*testing.T) events.Store) {
	for name, filter := range map[string]events.Filter{
		"both_kinds":          {StreamPrefixes: []string{"a-"}, TypePrefixes: []string{"a."}},
		"empty_stream_prefix": {StreamPrefixes: []string{"a-", ""}},
		"empty_type_prefix":   {TypePrefixes: []string{""}},
	} {
		t.Run(name, func(t *testing.T) {
			f := setup(t, newStore)
			s := f.subscribe(events.SubscribeOptions{Filter: filter})
			s.wantEnd("the filter refused", func(err error) bool {
				return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
			})
		})
	}
}

func testSubscribeCancel(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("cancel")
	f.append(st, events.NoStream, f.evs(3)...)
	t.Run("while_live", func(t *testing.T) {
		f := *f
		f.t = t
		s := f.subscribe(events.SubscribeOptions{After: f.origin})
		s.upTo(3)
		s.waitCaughtUp()
		s.cancel()
		s.wantEnd("ctx.Err()", func(err error) bool { return errors.Is(err, context.Canceled) })
	})
	t.Run("before_the_first_message", func(t *testing.T) {
		f := *f
		f.t = t
		ctx, cancel := context.WithCancel(f.ctx)
		cancel()
		f.ctx = ctx
		s := f.subscribe(events.SubscribeOptions{After: f.origin})
		s.wantEnd("ctx.Err()", func(err error) bool { return errors.Is(err, context.Canceled) })
	})
}

// testSubscribeBreak: a consumer that leaves the loop ends the sequence; the
// iterator must return (and never yield again) rather than wait for events.
func testSubscribeBreak(t *testing.T, newStore func(*testing.T) events.Store) {
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "during_catch_up", true: "while_live"}[live], func(t *testing.T) {
			f := setup(t, newStore)
			st := f.stream("break")
			f.append(st, events.NoStream, f.evs(3)...)
			caught := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				var once sync.Once
				for m, err := range f.store.Subscribe(f.ctx, events.SubscribeOptions{After: f.origin}) {
					if err != nil {
						done <- err
						return
					}
					if m.Kind == events.KindCaughtUp {
						once.Do(func() { close(caught) })
					}
					if m.Kind == events.KindEvent && f.mine(m.Event) && (!live || m.Event.Revision >= 3) {
						break
					}
				}
				done <- nil
			}()
			if live {
				select {
				case <-caught:
				case err := <-done:
					t.Fatalf("subscription ended before catching up: %v", err)
				case <-f.ctx.Done():
					t.Fatal("timed out waiting to catch up")
				}
				f.append(st, events.Exact(2), f.evs(1)...)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("subscription failed: %v", err)
				}
			case <-f.ctx.Done():
				t.Fatal("the iterator did not return after the loop was left")
			}
			// The store still serves, and a stale iterator yielding into the
			// finished loop would panic here.
			f.append(st, events.Any, f.evs(2)...)
			if n := len(f.read(st, events.ReadOptions{})); n < 5 {
				t.Fatalf("stream has %d events after the subscription ended", n)
			}
		})
	}
}

func testSubscribeTwo(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	streams := []string{f.stream("two"), f.stream("two"), f.stream("two")}
	pre := f.evs(10)
	f.append(streams[0], events.NoStream, pre...)
	opts := events.SubscribeOptions{After: f.origin, Filter: events.Filter{StreamPrefixes: []string{f.prefix("two")}}}
	a, b := f.subscribe(opts), f.subscribe(opts)
	more := f.evs(short(80, 20))
	errc := f.appendInOrder(streams, more, nil, -1)
	want := ids(concat(pre, more))
	gotA := ids(a.upTo(len(want)))
	gotB := ids(b.upTo(len(want)))
	wantWriter(t, errc)
	if !slices.Equal(gotA, gotB) {
		t.Fatalf("two subscribers saw different sequences:\n  %v\n  %v", gotA, gotB)
	}
	if !slices.Equal(gotA, want) {
		t.Fatalf("subscribers saw\n  %v\nwant\n  %v", gotA, want)
	}
}
