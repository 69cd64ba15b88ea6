package sqlitestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// Append validates and encodes the events here, in the caller's goroutine,
// so that the writer spends its time on nothing but the log.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	if _, err := events.ValidateAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	tails, err := encodeTails(len(evs), func(i int) (uuid.UUID, string, string, *events.Metadata) {
		return evs[i].ID, stream, evs[i].Type, &evs[i].Metadata
	})
	if err != nil {
		return events.AppendResult{}, err
	}
	// A caller whose context ends stops waiting while the writer may still
	// be reading its events: it must be free to reuse them at once.
	evs = ownCopy(evs)
	r := &request{kind: kindAppend, ctx: ctx, stream: stream, expected: expected, events: evs, tails: tails, nevents: len(evs)}
	if err := s.do(ctx, r); err != nil {
		return events.AppendResult{}, err
	}
	return r.result, r.err
}

// encodeTails encodes the caller's part of every event's envelope into one
// buffer.
func encodeTails(n int, ev func(int) (uuid.UUID, string, string, *events.Metadata)) ([][]byte, error) {
	tails := make([][]byte, n)
	buf := make([]byte, 0, 128*n)
	ends := make([]int, n)
	for i := range n {
		var err error
		id, stream, typ, m := ev(i)
		if buf, err = appendEnvelopeTail(buf, id, stream, typ, m); err != nil {
			return nil, err
		}
		ends[i] = len(buf)
	}
	start := 0
	for i, end := range ends {
		tails[i] = buf[start:end:end]
		start = end
	}
	return tails, nil
}

// ownCopy copies the events and their payloads, the payloads into one
// allocation.
func ownCopy(evs []events.Proposed) []events.Proposed {
	n := 0
	for i := range evs {
		n += len(evs[i].Data)
	}
	buf := make([]byte, 0, n)
	out := make([]events.Proposed, len(evs))
	for i, e := range evs {
		start := len(buf)
		buf = append(buf, e.Data...)
		e.Data = buf[start:len(buf):len(buf)]
		out[i] = e
	}
	return out
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
		if y := e.Recorded.Year(); e.Recorded.IsZero() || y < 1678 || y > 2261 {
			return fmt.Errorf("restore event %d (%s): %w: recorded time %v is missing or out of range", i, e.ID, events.ErrInvalidEvent, e.Recorded)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("restore event %d: %w: event id %s appears twice", i, events.ErrInvalidEvent, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	tails, err := encodeTails(len(evs), func(i int) (uuid.UUID, string, string, *events.Metadata) {
		return evs[i].ID, evs[i].Stream, evs[i].Type, &evs[i].Metadata
	})
	if err != nil {
		return err
	}
	own := make([]events.Event, len(evs))
	for i, e := range evs {
		e.Data = bytes.Clone(e.Data)
		own[i] = e
	}
	r := &request{kind: kindRestore, ctx: ctx, restore: own, tails: tails, nevents: len(evs)}
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
