package sqlitestore

import (
	"context"
	"iter"
	"math"
	"strings"

	"github.com/yunqi-town/yunqi/events"
)

const (
	// subscriptionPage is how many matching events one query returns.
	subscriptionPage = 1000
	// subscriptionWindow bounds the positions one filtered query scans, so
	// that a filter matching little neither holds a read snapshot for long
	// nor keeps the subscriber waiting for its checkpoints.
	subscriptionWindow = 8192
)

// Subscribe reads the global log after opts.After, then follows it live.
//
// Catch-up and live delivery are one loop over "events after the cursor",
// so nothing is lost or repeated at the boundary: going live only means
// waiting for the log to grow before the next query. A local commit wakes
// the loop at once; a commit by another process is noticed by the poller
// within pollInterval.
func (s *Store) Subscribe(ctx context.Context, opts events.SubscribeOptions) iter.Seq2[events.Message, error] {
	return func(yield func(events.Message, error) bool) {
		if err := opts.Filter.Validate(); err != nil {
			yield(events.Message{}, err)
			return
		}
		interval := int64(opts.CheckpointInterval)
		if interval <= 0 {
			interval = events.DefaultCheckpointInterval
		}
		s.subs.Add(1)
		defer s.subs.Add(-1)
		s.startPoller()

		query, filterArgs := subscriptionQuery(opts.Filter)
		filtered := len(filterArgs) > 0
		cursor := int64(min(opts.After.Commit, math.MaxInt64))
		// mark is the position of the last message delivered: a checkpoint
		// is due once interval events after it were scanned and skipped.
		mark := cursor
		caughtUp := false
		args := make([]any, 0, 3+len(filterArgs))
		page := make([]events.Event, 0, 64)

		fail := func(err error) {
			switch {
			case ctx.Err() != nil:
				yield(events.Message{}, ctx.Err())
			case s.isClosed():
				yield(events.Message{}, ErrClosed)
			default:
				yield(events.Message{}, err)
			}
		}
		checkpoints := func(through int64) bool {
			for through-mark >= interval {
				mark += interval
				if !yield(events.Message{Kind: events.KindCheckpoint, Position: position(mark)}, nil) {
					return false
				}
			}
			return true
		}

		// The catch-up runs to the head as the file has it; afterwards the
		// head known in memory (every local commit, and foreign ones as the
		// poller finds them) bounds each read, so a wake-up that brings
		// nothing new costs no query.
		wake := s.waitChan()
		head, err := s.readHead(ctx)
		if err != nil {
			fail(err)
			return
		}
		for {
			head = max(head, s.head.Load())
			for cursor < head {
				end := head
				if filtered {
					end = min(head, cursor+subscriptionWindow)
				}
				args = append(args[:0], cursor, end)
				args = append(args, filterArgs...)
				args = append(args, int64(subscriptionPage))
				err := s.withConn(ctx, func(c conn) error {
					var err error
					page, err = queryEvents(ctx, c, query, page[:0], args...)
					return err
				})
				if err != nil {
					fail(s.readErr(ctx, err))
					return
				}
				// The last position is taken before the loop hands the
				// events over and clears them from the page.
				var lastInPage int64
				if len(page) > 0 {
					lastInPage = int64(page[len(page)-1].Position.Commit)
				}
				for i := range page {
					e := page[i]
					page[i] = events.Event{} // let the consumer own it alone
					p := int64(e.Position.Commit)
					if !checkpoints(p - 1) {
						return
					}
					if !yield(events.Message{Kind: events.KindEvent, Event: e, Position: e.Position}, nil) {
						return
					}
					mark = p
				}
				if len(page) == subscriptionPage {
					cursor = lastInPage
				} else {
					cursor = end
				}
				if !checkpoints(cursor) {
					return
				}
				if ctx.Err() != nil {
					yield(events.Message{}, ctx.Err())
					return
				}
			}
			if !caughtUp {
				caughtUp = true
				if !yield(events.Message{Kind: events.KindCaughtUp, Position: position(head)}, nil) {
					return
				}
			}
			select {
			case <-wake:
				wake = s.waitChan()
			case <-ctx.Done():
				yield(events.Message{}, ctx.Err())
				return
			case <-s.closing:
				yield(events.Message{}, ErrClosed)
				return
			}
		}
	}
}

// subscriptionQuery builds the page query of a filter: arguments are the
// cursor (exclusive), the window end (inclusive), the prefixes, the limit.
// Prefixes compare as bytes, like strings.HasPrefix.
func subscriptionQuery(f events.Filter) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT " + eventColumns + " FROM events WHERE pos > ? AND pos <= ? AND substr(type, 1, 1) <> '$'")
	column, prefixes := "stream", f.StreamPrefixes
	if len(f.TypePrefixes) > 0 {
		column, prefixes = "type", f.TypePrefixes
	}
	var args []any
	if len(prefixes) > 0 {
		b.WriteString(" AND (")
		for i, p := range prefixes {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("substr(CAST(" + column + " AS BLOB), 1, ?) = ?")
			args = append(args, int64(len(p)), []byte(p))
		}
		b.WriteString(")")
	}
	b.WriteString(" ORDER BY pos LIMIT ?")
	return b.String(), args
}
