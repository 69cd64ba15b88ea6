package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"math"

	"github.com/yunqi-town/yunqi/events"
)

const eventColumns = "pos, envelope, data"

// The statements of stream reads, prepared once per store (and by
// database/sql once per connection).
const (
	sqlStreamState = `SELECT (SELECT max(revision) FROM events WHERE stream = ?1),
		(SELECT truncate_before FROM streams WHERE name = ?1),
		(SELECT tombstoned FROM streams WHERE name = ?1)`
	sqlStreamForwards = "SELECT " + eventColumns + ` FROM events
		WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`
	sqlStreamBackwards = "SELECT " + eventColumns + ` FROM events
		WHERE stream = ? AND revision <= ? AND revision >= ? ORDER BY revision DESC LIMIT ?`
)

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
	// One read transaction, so that the stream's state and its events come
	// from the same snapshot. Unlike $all pages, stream reads are short and
	// many (every command loads its aggregate): prepared statements matter
	// more here than the cost of database/sql's Scan.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	defer tx.Rollback()
	var head, tb, tomb sql.NullInt64
	if err := tx.StmtContext(ctx, s.stmtStreamState).QueryRowContext(ctx, stream).Scan(&head, &tb, &tomb); err != nil {
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
		rows, err = tx.StmtContext(ctx, s.stmtStreamBackwards).QueryContext(ctx, stream, from, tb.Int64, limit)
	} else {
		rows, err = tx.StmtContext(ctx, s.stmtStreamForwards).QueryContext(ctx, stream, max(from, tb.Int64), limit)
	}
	if err != nil {
		return nil, s.readErr(ctx, err)
	}
	defer rows.Close()
	evs := []events.Event{}
	for rows.Next() {
		var pos int64
		var env, data []byte // Scan copies both: the event may keep them
		if err := rows.Scan(&pos, &env, &data); err != nil {
			return nil, s.readErr(ctx, err)
		}
		evs = append(evs, events.Event{Position: position(pos), Data: data})
		if err := decodeEnvelope(env, &evs[len(evs)-1]); err != nil {
			return nil, fmt.Errorf("event at position %d: %w", pos, err)
		}
	}
	if err := rows.Err(); err != nil {
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
	query, bound := "SELECT "+eventColumns+" FROM events WHERE pos > ? ORDER BY pos LIMIT ?", opts.After.Commit
	if opts.Backwards {
		query, bound = "SELECT "+eventColumns+" FROM events WHERE pos < ? ORDER BY pos DESC LIMIT ?", opts.Before.Commit
		if opts.Before.IsStart() || bound > math.MaxInt64 {
			bound = math.MaxInt64
		}
	} else if bound >= math.MaxInt64 {
		return []events.Event{}, nil
	}
	var evs []events.Event
	err := s.withConn(ctx, func(c conn) error {
		var err error
		evs, err = queryEvents(ctx, c, query, make([]events.Event, 0, min(n, 4096)), int64(bound), int64(n))
		return err
	})
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

// conn is a reader connection as the driver gives it. Pages of $all go to
// the driver directly: database/sql would copy every payload once more and
// convert every column through reflection, a third of the cost of $all.
type conn interface {
	driver.QueryerContext
	driver.ExecerContext
}

// withConn lends fn a pooled reader connection; fn must not keep it.
func (s *Store) withConn(ctx context.Context, fn func(conn) error) error {
	c, err := s.rdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		dconn, ok := dc.(conn)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T cannot query", dc)
		}
		return fn(dconn)
	})
}

func namedArgs(args []any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// queryEvents appends the rows of query (selecting eventColumns) to dst.
// The payload stays raw JSON; the metadata is decoded. The driver gives
// each row freshly allocated values, so the event keeps them as they are.
func queryEvents(ctx context.Context, c conn, query string, dst []events.Event, args ...any) ([]events.Event, error) {
	rows, err := c.QueryContext(ctx, query, namedArgs(args))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var v [3]driver.Value
	for {
		if err := rows.Next(v[:]); err != nil {
			if err == io.EOF {
				break
			}
			return nil, err
		}
		pos, _ := v[0].(int64)
		env, _ := v[1].([]byte)
		data, _ := v[2].([]byte)
		dst = append(dst, events.Event{Position: position(pos), Data: data})
		if err := decodeEnvelope(env, &dst[len(dst)-1]); err != nil {
			return nil, fmt.Errorf("event at position %d: %w", pos, err)
		}
	}
	if dst == nil {
		dst = []events.Event{}
	}
	return dst, nil
}
