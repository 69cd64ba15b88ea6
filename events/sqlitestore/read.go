package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

const eventColumns = "pos, id, stream, revision, type, recorded, data, meta"

// ReadStream reads one stream; see events.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, opts events.ReadOptions) ([]events.Event, error) {
	if err := events.ValidateStreamName(stream); err != nil {
		return nil, err
	}
	if opts.Count < 0 {
		return nil, errNegativeCount
	}
	limit := int64(opts.Count)
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	// One read transaction, so that the stream's state and its events
	// come from the same snapshot.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	defer tx.Rollback()
	var head, tb, tomb sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT (SELECT max(revision) FROM events WHERE stream = ?1),
		(SELECT truncate_before FROM streams WHERE name = ?1),
		(SELECT tombstoned FROM streams WHERE name = ?1)`, stream).Scan(&head, &tb, &tomb)
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	switch {
	case tomb.Int64 != 0:
		return nil, &events.StreamDeletedError{Stream: stream}
	case !head.Valid || head.Int64 < tb.Int64:
		return nil, fmt.Errorf("read stream %q: %w", stream, events.ErrStreamNotFound)
	}
	from := int64(min(opts.From, math.MaxInt64))
	if opts.FromEnd {
		from = head.Int64
	}
	var rows *sql.Rows
	if opts.Direction == events.Backwards {
		rows, err = tx.QueryContext(ctx, "SELECT "+eventColumns+` FROM events
			WHERE stream = ? AND revision <= ? AND revision >= ? ORDER BY revision DESC LIMIT ?`,
			stream, from, tb.Int64, limit)
	} else {
		rows, err = tx.QueryContext(ctx, "SELECT "+eventColumns+` FROM events
			WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`,
			stream, max(from, tb.Int64), limit)
	}
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	evs, err := scanEvents(rows, nil)
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	return evs, nil
}

// ReadAll reads the global log forwards, strictly after opts.After.
func (s *Store) ReadAll(ctx context.Context, opts events.ReadAllOptions) ([]events.Event, error) {
	if opts.Count < 0 {
		return nil, errNegativeCount
	}
	n := opts.Count
	if n == 0 {
		n = events.DefaultPageSize
	}
	if opts.After.Commit >= math.MaxInt64 {
		return []events.Event{}, nil
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+eventColumns+" FROM events WHERE pos > ? ORDER BY pos LIMIT ?",
		int64(opts.After.Commit), n)
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	evs, err := scanEvents(rows, make([]events.Event, 0, min(n, 4096)))
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	return evs, nil
}

// Head is the position of the last event in the global log.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	head, err := s.readHead(ctx)
	if err != nil {
		return events.Start, err
	}
	return position(head), nil
}

func (s *Store) readHead(ctx context.Context) (int64, error) {
	var head sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, "SELECT max(pos) FROM events").Scan(&head); err != nil {
		return 0, s.readErr(ctx, err)
	}
	return head.Int64, nil
}

func (s *Store) readErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.isClosed() {
		return ErrClosed
	}
	return classify(s.path, "read", err)
}

func (s *Store) isClosed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

func position(p int64) events.Position {
	return events.Position{Commit: uint64(p), Prepare: uint64(p)}
}

var errBadID = errors.New("event id is not 16 bytes")

// scanEvents appends the rows (in eventColumns order) to dst and closes
// them. The payload stays raw JSON; the metadata is decoded.
func scanEvents(rows *sql.Rows, dst []events.Event) ([]events.Event, error) {
	defer rows.Close()
	var (
		pos, rev, rec int64
		id, meta      sql.RawBytes
		stream, typ   string
		data          []byte
	)
	for rows.Next() {
		if err := rows.Scan(&pos, &id, &stream, &rev, &typ, &rec, &data, &meta); err != nil {
			return nil, err
		}
		dst = append(dst, events.Event{})
		e := &dst[len(dst)-1]
		if len(id) != 16 {
			return nil, fmt.Errorf("event at position %d: %w", pos, errBadID)
		}
		copy(e.ID[:], id)
		e.Stream, e.Type = stream, typ
		e.Revision = uint64(rev)
		e.Position = position(pos)
		e.Recorded = time.Unix(0, rec).UTC()
		e.Data = data
		if err := decodeMeta(meta, &e.Metadata); err != nil {
			return nil, fmt.Errorf("event at position %d: %w", pos, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if dst == nil {
		dst = []events.Event{}
	}
	return dst, nil
}
