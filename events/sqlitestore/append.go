package sqlitestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/yunqi-town/yunqi/events"
)

// Append validates the events here, in the caller's goroutine, so that the
// writer spends its time on nothing but the log.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	if _, err := events.ValidateAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	metas, err := encodeMetas(len(evs), func(i int) *events.Metadata { return &evs[i].Metadata })
	if err != nil {
		return events.AppendResult{}, err
	}
	r := &request{kind: kindAppend, ctx: ctx, stream: stream, expected: expected, events: evs, metas: metas, nevents: len(evs)}
	if err := s.do(ctx, r); err != nil {
		return events.AppendResult{}, err
	}
	return r.result, r.err
}

// encodeMetas encodes every event's metadata into one buffer.
func encodeMetas(n int, meta func(int) *events.Metadata) ([][]byte, error) {
	metas := make([][]byte, n)
	buf := make([]byte, 0, 32*n)
	ends := make([]int, n)
	for i := range n {
		var err error
		if buf, err = appendMeta(buf, meta(i)); err != nil {
			return nil, err
		}
		ends[i] = len(buf)
	}
	start := 0
	for i, end := range ends {
		metas[i] = buf[start:end:end]
		start = end
	}
	return metas, nil
}

// Delete soft-deletes a stream.
func (s *Store) Delete(ctx context.Context, stream string, expected events.ExpectedRevision) error {
	return s.deleteStream(ctx, kindDelete, stream, expected)
}

// Tombstone deletes a stream for ever.
func (s *Store) Tombstone(ctx context.Context, stream string, expected events.ExpectedRevision) error {
	return s.deleteStream(ctx, kindTombstone, stream, expected)
}

func (s *Store) deleteStream(ctx context.Context, kind reqKind, stream string, expected events.ExpectedRevision) error {
	if err := events.ValidateStreamName(stream); err != nil {
		return err
	}
	r := &request{kind: kind, ctx: ctx, stream: stream, expected: expected}
	if err := s.do(ctx, r); err != nil {
		return err
	}
	return r.err
}

// Restore appends already-recorded events in order, keeping their ids,
// revisions and recorded times; each must follow its stream's head. It is
// all or nothing, and events already restored at the same place are
// skipped, so an interrupted import can be run again.
func (s *Store) Restore(ctx context.Context, evs []events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	seen := make(map[[16]byte]struct{}, len(evs))
	for i := range evs {
		e := &evs[i]
		p := []events.Proposed{{ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata}}
		if _, err := events.ValidateAppend(e.Stream, p); err != nil {
			return fmt.Errorf("restore event %d (%s): %w", i, e.ID, err)
		}
		if e.Recorded.IsZero() {
			return fmt.Errorf("restore event %d (%s): %w: no recorded time", i, e.ID, events.ErrInvalidEvent)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("restore event %d: %w: event id %s appears twice", i, events.ErrInvalidEvent, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	metas, err := encodeMetas(len(evs), func(i int) *events.Metadata { return &evs[i].Metadata })
	if err != nil {
		return err
	}
	r := &request{kind: kindRestore, ctx: ctx, restore: evs, metas: metas, nevents: len(evs)}
	if err := s.do(ctx, r); err != nil {
		return err
	}
	return r.err
}

// do hands a request to the writer and waits for its answer. A caller that
// gives up early learns nothing of the outcome: its events may or may not
// be in the log, and retrying with the same ids is how to find out.
func (s *Store) do(ctx context.Context, r *request) error {
	r.done = make(chan struct{})
	if err := s.send(ctx, r); err != nil {
		return err
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) send(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errNegativeCount = errors.New("sqlitestore: a read count cannot be negative")
