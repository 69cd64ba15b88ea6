package storetest

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// memStore is the smallest honest reading of the contract in events/store.go:
// a reference the suite is checked against, so that a failure against a real
// backend points at the backend rather than at the suite. It is no backend.
type memStore struct {
	dedup bool

	mu      sync.Mutex
	log     []events.Event // Position.Commit == index+1
	streams map[string]*memStream
	ids     map[uuid.UUID]int // index in log
	changed chan struct{}     // closed and replaced on every write
}

type memStream struct {
	revs       []int  // log index of each revision
	visible    uint64 // first revision reads show (a soft delete moves it past the end)
	tombstoned bool
}

func newMemStore(dedup bool) *memStore {
	return &memStore{dedup: dedup, streams: map[string]*memStream{}, ids: map[uuid.UUID]int{}, changed: make(chan struct{})}
}

var (
	_ events.Store    = (*memStore)(nil)
	_ events.Restorer = (*memStore)(nil)
)

func (s *memStore) Capabilities() events.Capabilities {
	return events.Capabilities{DurableDedup: s.dedup}
}
func (s *memStore) Close() error { return nil }

// state is the stream's actual state for the expected-revision checks.
func (st *memStream) state() events.StreamState {
	if st == nil || len(st.revs) == 0 {
		return events.StreamState{}
	}
	return events.StreamState{Exists: true, Revision: uint64(len(st.revs) - 1)}
}

// check applies the expected state to a deletion, which has no ids to replay.
func check(name string, st *memStream, exp events.ExpectedRevision) error {
	if st != nil && st.tombstoned {
		return &events.StreamDeletedError{Stream: name}
	}
	cur := st.state()
	n, exact := exp.Revision()
	switch {
	case exp.IsAny(),
		exp.IsNoStream() && !cur.Exists,
		exp.IsStreamExists() && cur.Exists,
		exact && cur.Exists && n == cur.Revision:
		return nil
	}
	return &events.WrongExpectedRevisionError{Stream: name, Expected: exp, Actual: cur}
}

// matchAt reports whether the proposed ids are the stream's events from
// revision from on; partial tells that the first matched and a later did not.
func (s *memStore) matchAt(st *memStream, from uint64, evs []events.Proposed) (all, partial bool) {
	for i, e := range evs {
		r := from + uint64(i)
		if r >= uint64(len(st.revs)) || s.log[st.revs[r]].ID != e.ID {
			return false, i > 0
		}
	}
	return true, false
}

func (s *memStore) Append(ctx context.Context, name string, exp events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	if _, err := events.ValidateAppend(name, evs); err != nil {
		return events.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if st != nil && st.tombstoned {
		return events.AppendResult{}, &events.StreamDeletedError{Stream: name}
	}
	cur := st.state()
	wrong := &events.WrongExpectedRevisionError{Stream: name, Expected: exp, Actual: cur}
	replayFrom := func(from uint64) (events.AppendResult, bool, error) {
		all, _ := s.matchAt(st, from, evs)
		if !all {
			return events.AppendResult{}, false, wrong
		}
		last := s.log[st.revs[from+uint64(len(evs)-1)]]
		return events.AppendResult{NextExpected: last.Revision, Position: last.Position}, true, nil
	}
	n, exact := exp.Revision()
	switch {
	case exp.IsNoStream() && cur.Exists:
		r, _, err := replayFrom(0)
		return r, err
	case exp.IsStreamExists() && !cur.Exists:
		return events.AppendResult{}, wrong
	case exact && !cur.Exists, exact && n > cur.Revision:
		return events.AppendResult{}, wrong
	case exact && n < cur.Revision:
		r, _, err := replayFrom(n + 1)
		return r, err
	case (exp.IsAny() || exp.IsStreamExists()) && cur.Exists:
		if i, ok := s.ids[evs[0].ID]; ok && s.log[i].Stream == name {
			if r, ok, _ := replayFrom(s.log[i].Revision); ok {
				return r, nil
			}
			return events.AppendResult{}, wrong
		}
	}
	if s.dedup {
		for _, e := range evs {
			if _, used := s.ids[e.ID]; used {
				return events.AppendResult{}, fmt.Errorf("append to %s: event %s: %w", name, e.ID, events.ErrDuplicateEventID)
			}
		}
	}
	if st == nil {
		st = &memStream{}
		s.streams[name] = st
	}
	now := time.Now()
	for i, p := range evs {
		pos := uint64(len(s.log) + 1)
		s.ids[p.ID] = len(s.log)
		st.revs = append(st.revs, len(s.log))
		s.log = append(s.log, events.Event{
			ID: p.ID, Stream: name, Type: p.Type, Revision: uint64(len(st.revs) - 1),
			Position: events.Position{Commit: pos, Prepare: pos}, Recorded: now,
			Data: append([]byte(nil), p.Data...), Metadata: evs[i].Metadata,
		})
	}
	s.notify()
	last := s.log[len(s.log)-1]
	return events.AppendResult{NextExpected: last.Revision, Position: last.Position}, nil
}

func (s *memStore) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *memStore) Restore(ctx context.Context, evs []events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range evs {
		if _, err := events.ValidateAppend(e.Stream, []events.Proposed{{ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata}}); err != nil {
			return err
		}
		st := s.streams[e.Stream]
		if st == nil {
			st = &memStream{}
			s.streams[e.Stream] = st
		}
		if st.tombstoned || e.Revision != uint64(len(st.revs)) {
			return fmt.Errorf("restore %s: revision %d does not follow the stream's %s", e.Stream, e.Revision, st.state())
		}
		if _, used := s.ids[e.ID]; used {
			return fmt.Errorf("restore %s: %w", e.ID, events.ErrDuplicateEventID)
		}
		pos := uint64(len(s.log) + 1)
		e.Position = events.Position{Commit: pos, Prepare: pos}
		s.ids[e.ID] = len(s.log)
		st.revs = append(st.revs, len(s.log))
		s.log = append(s.log, e)
	}
	s.notify()
	return nil
}

func (s *memStore) ReadStream(ctx context.Context, name string, opts events.ReadOptions) ([]events.Event, error) {
	if err := events.ValidateStreamName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if st != nil && st.tombstoned {
		return nil, &events.StreamDeletedError{Stream: name}
	}
	if st == nil || st.visible >= uint64(len(st.revs)) {
		return nil, events.ErrStreamNotFound
	}
	last := uint64(len(st.revs) - 1)
	from := opts.From
	if opts.FromEnd {
		from = last
	}
	out := []events.Event{}
	add := func(r uint64) bool {
		out = append(out, s.log[st.revs[r]])
		return opts.Count == 0 || len(out) < opts.Count
	}
	if opts.Direction == events.Backwards {
		for r := min(from, last); r >= st.visible; r-- {
			if !add(r) || r == 0 { // uint64: never step below zero
				break
			}
		}
	} else {
		for r := max(from, st.visible); r <= last; r++ {
			if !add(r) {
				break
			}
		}
	}
	return out, nil
}

func (s *memStore) ReadAll(ctx context.Context, opts events.ReadAllOptions) ([]events.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts.Backwards {
		n := opts.Count
		if n <= 0 {
			n = events.DefaultPageSize
		}
		end := len(s.log) // events are at index Commit-1
		if !opts.Before.IsStart() {
			end = min(end, int(opts.Before.Commit)-1)
		}
		var out []events.Event
		for i := end - 1; i >= 0 && len(out) < n; i-- {
			out = append(out, s.log[i])
		}
		return out, nil
	}
	return s.after(opts.After, opts.Count), nil
}

// after copies up to n events after p; zero means DefaultPageSize.
func (s *memStore) after(p events.Position, n int) []events.Event {
	if n <= 0 {
		n = events.DefaultPageSize
	}
	i := int(p.Commit) // events are at index Commit-1
	if i > len(s.log) {
		i = len(s.log)
	}
	return append([]events.Event(nil), s.log[i:min(i+n, len(s.log))]...)
}

func (s *memStore) Head(ctx context.Context) (events.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) == 0 {
		return events.Start, nil
	}
	return s.log[len(s.log)-1].Position, nil
}

func (s *memStore) Subscribe(ctx context.Context, opts events.SubscribeOptions) iter.Seq2[events.Message, error] {
	return func(yield func(events.Message, error) bool) {
		if err := opts.Filter.Validate(); err != nil {
			yield(events.Message{}, err)
			return
		}
		interval := opts.CheckpointInterval
		if interval <= 0 {
			interval = events.DefaultCheckpointInterval
		}
		pos, scanned, caughtUp := opts.After, 0, false
		for {
			if ctx.Err() != nil {
				yield(events.Message{}, ctx.Err())
				return
			}
			s.mu.Lock()
			batch, changed := s.after(pos, 100), s.changed
			s.mu.Unlock()
			for _, e := range batch {
				pos = e.Position
				scanned++
				var m events.Message
				switch {
				case opts.Filter.Match(e.Stream, e.Type):
					m = events.Message{Kind: events.KindEvent, Event: e, Position: e.Position}
				case scanned >= interval:
					m = events.Message{Kind: events.KindCheckpoint, Position: e.Position}
				default:
					continue
				}
				scanned = 0
				if !yield(m, nil) {
					return
				}
			}
			if len(batch) > 0 {
				continue
			}
			if !caughtUp {
				caughtUp = true
				if !yield(events.Message{Kind: events.KindCaughtUp, Position: pos}, nil) {
					return
				}
			}
			select {
			case <-changed:
			case <-ctx.Done():
			}
		}
	}
}

func (s *memStore) Delete(ctx context.Context, name string, exp events.ExpectedRevision) error {
	return s.deleteStream(name, exp, false)
}

func (s *memStore) Tombstone(ctx context.Context, name string, exp events.ExpectedRevision) error {
	return s.deleteStream(name, exp, true)
}

func (s *memStore) deleteStream(name string, exp events.ExpectedRevision, forever bool) error {
	if err := events.ValidateStreamName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if err := check(name, st, exp); err != nil {
		return err
	}
	if st == nil {
		st = &memStream{}
		s.streams[name] = st
	}
	st.visible = uint64(len(st.revs))
	st.tombstoned = forever
	return nil
}
