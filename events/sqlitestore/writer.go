package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/yunqi-town/yunqi/events"
)

const (
	// A batch takes every waiting request up to these bounds: enough to
	// amortise one fsync over many appends, small enough that a batch
	// never holds the write lock for long.
	maxBatchRequests = 1024
	maxBatchEvents   = 8192
	// rowsPerInsert is the most rows one INSERT statement carries; larger
	// groups are split into statements of this size.
	rowsPerInsert = 64
	// maxCachedStreams bounds the stream-head cache of a long-running server.
	maxCachedStreams = 100_000
)

type reqKind uint8

const (
	kindAppend reqKind = iota
	kindDelete
	kindTombstone
	kindRestore
)

// request is one caller's operation, answered by closing done after the
// batch that carries it has committed (or failed).
type request struct {
	kind     reqKind
	ctx      context.Context
	stream   string
	expected events.ExpectedRevision
	events   []events.Proposed
	tails    [][]byte // the caller's part of each event's envelope
	restore  []events.Event
	nevents  int

	result events.AppendResult
	err    error
	writes bool // rows of this request are in the current transaction
	done   chan struct{}
}

// streamState is what the decision table needs to know about a stream.
type streamState struct {
	head       int64 // revision of the last event; -1 when it has none
	tb         int64 // truncate-before: a soft delete hides revisions below it
	tombstoned bool
}

func (st streamState) exists() bool { return st.head >= 0 }

func (st streamState) actual() events.StreamState {
	if st.head < 0 {
		return events.StreamState{}
	}
	return events.StreamState{Exists: true, Revision: uint64(st.head)}
}

type row struct {
	pos, rev    int64
	id          []byte
	stream, typ string
	env, data   []byte
}

type undoEntry struct {
	st  streamState
	had bool
}

// writer owns the only write connection. Everything it keeps in memory is
// a cache of what it last committed, trusted only while PRAGMA
// data_version shows no other connection has committed since.
type writer struct {
	s    *Store
	ctx  context.Context
	conn *sql.Conn

	stmtBegin, stmtCommit, stmtRollback  *sql.Stmt
	stmtDataVersion, stmtMaxPos          *sql.Stmt
	stmtState, stmtFindID, stmtSetState  *sql.Stmt
	stmtSavepoint, stmtRelease, stmtUndo *sql.Stmt
	stmtInsert                           [rowsPerInsert + 1]*sql.Stmt

	cache       map[string]streamState
	valid       bool
	dataVersion int64
	nextPos     int64

	// State of the batch being built. work holds the streams it changed;
	// pending the rows not yet inserted, written by pendingReqs; undo the
	// states of the streams those rows touch, as they were before them.
	work        map[string]streamState
	pos         int64
	now         int64
	pending     []row
	pendingReqs []*request
	undo        map[string]undoEntry
	undoPos     int64
	alone       bool   // requests are being inserted one at a time
	arena       []byte // the envelopes of the batch
	args        []any
}

func newWriter(s *Store) (*writer, error) {
	w := &writer{
		s:     s,
		ctx:   context.Background(),
		cache: make(map[string]streamState),
		work:  make(map[string]streamState),
		undo:  make(map[string]undoEntry),
	}
	if err := w.connect(); err != nil {
		return nil, err
	}
	// Outside a transaction the head may move between the two reads of
	// refresh; the first batch then sees data_version change and reloads.
	if err := w.refresh(); err != nil {
		w.disconnect()
		return nil, classify(s.path, "read the log head", err)
	}
	return w, nil
}

func (w *writer) connect() error {
	conn, err := w.s.wdb.Conn(w.ctx)
	if err != nil {
		return classify(w.s.path, "open", err)
	}
	w.conn = conn
	prep := func(dst **sql.Stmt, q string) {
		if err != nil {
			return
		}
		*dst, err = conn.PrepareContext(w.ctx, q)
	}
	// BEGIN IMMEDIATE takes the write lock at once: a batch never has to
	// upgrade a read lock, which could fail with SQLITE_BUSY halfway.
	prep(&w.stmtBegin, "BEGIN IMMEDIATE")
	prep(&w.stmtCommit, "COMMIT")
	prep(&w.stmtRollback, "ROLLBACK")
	prep(&w.stmtDataVersion, "PRAGMA data_version")
	prep(&w.stmtMaxPos, "SELECT max(pos) FROM events")
	prep(&w.stmtState, `SELECT (SELECT max(revision) FROM events WHERE stream = ?1),
		(SELECT truncate_before FROM streams WHERE name = ?1),
		(SELECT tombstoned FROM streams WHERE name = ?1)`)
	prep(&w.stmtFindID, "SELECT stream, revision, pos FROM events WHERE id = ?")
	prep(&w.stmtSetState, `INSERT INTO streams(name, truncate_before, tombstoned) VALUES (?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET truncate_before = excluded.truncate_before, tombstoned = excluded.tombstoned`)
	prep(&w.stmtSavepoint, "SAVEPOINT grp")
	prep(&w.stmtRelease, "RELEASE grp")
	prep(&w.stmtUndo, "ROLLBACK TO grp")
	if err != nil {
		w.disconnect()
		return classify(w.s.path, "prepare statements", err)
	}
	return nil
}

// disconnect finalises every statement before closing the connection:
// SQLite keeps a connection with live statements open (and its WAL
// unmerged) even after it is closed.
func (w *writer) disconnect() {
	stmts := []**sql.Stmt{
		&w.stmtBegin, &w.stmtCommit, &w.stmtRollback, &w.stmtDataVersion, &w.stmtMaxPos,
		&w.stmtState, &w.stmtFindID, &w.stmtSetState, &w.stmtSavepoint, &w.stmtRelease, &w.stmtUndo,
	}
	for i := range w.stmtInsert {
		stmts = append(stmts, &w.stmtInsert[i])
	}
	for _, st := range stmts {
		if *st != nil {
			(*st).Close()
			*st = nil
		}
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
	w.valid = false
}

func (w *writer) insertStmt(n int) (*sql.Stmt, error) {
	if st := w.stmtInsert[n]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO events(pos, id, stream, revision, type, envelope, data) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	st, err := w.conn.PrepareContext(w.ctx, b.String())
	if err != nil {
		return nil, err
	}
	w.stmtInsert[n] = st
	return st, nil
}

// run is the group-commit loop: it takes every waiting request (up to the
// batch bounds), carries them in one transaction and answers them after
// the commit. While one batch syncs, the next one queues up.
func (w *writer) run() {
	defer close(w.s.writerDone)
	defer w.disconnect()
	batch := make([]*request, 0, maxBatchRequests)
	for {
		r, ok := <-w.s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		n := r.nevents
	drain:
		for len(batch) < maxBatchRequests && n < maxBatchEvents {
			select {
			case r, ok := <-w.s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
				n += r.nevents
			default:
				break drain
			}
		}
		w.commit(batch)
		clear(batch)
	}
}

var errRetryBatch = errors.New("stream heads changed underneath the writer")

func (w *writer) commit(batch []*request) {
	start := time.Now()
	err := w.runBatch(batch)
	if errors.Is(err, errRetryBatch) {
		// Our cache disagreed with the file (a commit we did not see);
		// with a fresh read of every state the batch must go through.
		w.s.log.Warn("event log: stream head cache was stale; retrying the batch", "path", w.s.path)
		err = w.runBatch(batch)
		if errors.Is(err, errRetryBatch) {
			err = fmt.Errorf("event log %s: concurrent writers disagree about stream revisions; try again", w.s.path)
		}
	}
	if err != nil {
		w.abort()
		err = classify(w.s.path, "append", err)
		w.s.log.Error("event log: batch failed", "path", w.s.path, "requests", len(batch), "err", err)
		for _, r := range batch {
			r.err, r.result = err, events.AppendResult{}
		}
	} else {
		for k, st := range w.work {
			w.cache[k] = st
		}
		if len(w.cache) > maxCachedStreams {
			// Forget a random part; any stream reloads in one query.
			n := 0
			for k := range w.cache {
				delete(w.cache, k)
				if n++; n >= maxCachedStreams/4 {
					break
				}
			}
		}
		if w.pos > w.nextPos {
			w.nextPos = w.pos
			w.s.grew(w.nextPos - 1)
			select {
			case w.s.ckptKick <- struct{}{}:
			default:
			}
		}
	}
	w.s.metrics.observeBatch(batch, time.Since(start))
	for _, r := range batch {
		close(r.done)
	}
}

func (w *writer) abort() {
	if w.conn != nil {
		// Some failures (disk full, I/O errors) roll back by themselves;
		// then ROLLBACK reports that no transaction is active.
		w.stmtRollback.ExecContext(w.ctx)
	}
	w.valid = false
}

func (w *writer) runBatch(batch []*request) error {
	if w.conn == nil {
		if err := w.connect(); err != nil {
			return err
		}
	}
	clear(w.work)
	if _, err := w.stmtBegin.ExecContext(w.ctx); err != nil {
		if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
			w.disconnect()
		}
		return err
	}
	if err := w.refresh(); err != nil {
		return err
	}
	w.pos = w.nextPos
	w.resetPending() // after w.pos: an undo goes back to where the batch starts
	w.now = time.Now().UnixNano()
	w.arena = w.arena[:0]
	for _, r := range batch {
		r.result, r.err, r.writes = events.AppendResult{}, nil, false
		if err := r.ctx.Err(); err != nil {
			r.err = err // the caller has gone; don't write what nobody awaits
			continue
		}
		var err error
		switch r.kind {
		case kindAppend:
			err = w.append(r)
		case kindDelete, kindTombstone:
			err = w.delete(r)
		case kindRestore:
			err = w.restore(r)
		}
		if err != nil {
			w.abort()
			return err
		}
	}
	if err := w.flush(); err != nil {
		w.abort()
		return err
	}
	if _, err := w.stmtCommit.ExecContext(w.ctx); err != nil {
		w.abort()
		return err
	}
	return nil
}

// refresh checks, inside the write transaction, whether another connection
// has committed since our last commit; if so nothing cached can be trusted.
func (w *writer) refresh() error {
	var v int64
	if err := w.stmtDataVersion.QueryRowContext(w.ctx).Scan(&v); err != nil {
		return err
	}
	if w.valid && v == w.dataVersion {
		return nil
	}
	var head sql.NullInt64
	if err := w.stmtMaxPos.QueryRowContext(w.ctx).Scan(&head); err != nil {
		return err
	}
	clear(w.cache)
	w.nextPos = head.Int64 + 1
	w.dataVersion = v
	w.valid = true
	if head.Int64 > w.s.head.Load() {
		w.s.grew(head.Int64)
	}
	return nil
}

// state is a stream's state as of everything planned so far in this batch.
func (w *writer) state(stream string) (streamState, error) {
	if st, ok := w.work[stream]; ok {
		return st, nil
	}
	if st, ok := w.cache[stream]; ok {
		return st, nil
	}
	var head, tb, tomb sql.NullInt64
	if err := w.stmtState.QueryRowContext(w.ctx, stream).Scan(&head, &tb, &tomb); err != nil {
		return streamState{}, err
	}
	st := streamState{head: -1, tb: tb.Int64, tombstoned: tomb.Int64 != 0}
	if head.Valid {
		st.head = head.Int64
	}
	w.cache[stream] = st
	return st, nil
}

func (w *writer) setWork(stream string, st streamState) {
	if _, ok := w.undo[stream]; !ok {
		prev, had := w.work[stream]
		w.undo[stream] = undoEntry{prev, had}
	}
	w.work[stream] = st
}

func (w *writer) resetPending() {
	clear(w.pending)
	w.pending = w.pending[:0]
	clear(w.pendingReqs)
	w.pendingReqs = w.pendingReqs[:0]
	clear(w.undo)
	w.undoPos = w.pos
}

// rollbackPending forgets the planned rows and the stream states they led to.
func (w *writer) rollbackPending() []*request {
	for k, u := range w.undo {
		if u.had {
			w.work[k] = u.st
		} else {
			delete(w.work, k)
		}
	}
	w.pos = w.undoPos
	reqs := append([]*request(nil), w.pendingReqs...)
	for _, r := range reqs {
		r.writes, r.result, r.err = false, events.AppendResult{}, nil
	}
	w.resetPending()
	return reqs
}

type decision uint8

const (
	decideWrite decision = iota
	decideConflict
	decideReplayAt // an idempotent replay is possible at wantFirst
)

// decide applies the decision table of events.Store.Append to a stream's
// state. Tombstones are handled by the caller.
func decide(st streamState, expected events.ExpectedRevision) (d decision, wantFirst int64) {
	switch {
	case expected.IsAny():
		return decideWrite, 0
	case expected.IsNoStream():
		if !st.exists() {
			return decideWrite, 0
		}
		return decideReplayAt, 0
	case expected.IsStreamExists():
		if st.exists() {
			return decideWrite, 0
		}
		return decideConflict, 0
	}
	n, _ := expected.Revision()
	switch {
	case st.exists() && uint64(st.head) == n:
		return decideWrite, 0
	case st.exists() && n < uint64(st.head):
		return decideReplayAt, int64(n) + 1
	}
	return decideConflict, 0
}

func (w *writer) append(r *request) error {
	for {
		st, err := w.state(r.stream)
		if err != nil {
			return err
		}
		if st.tombstoned {
			r.err = &events.StreamDeletedError{Stream: r.stream}
			return nil
		}
		d, wantFirst := decide(st, r.expected)
		if d == decideWrite {
			w.plan(r, st)
			if !w.alone && len(w.pending) >= rowsPerInsert {
				return w.flush()
			}
			return nil
		}
		if _, touched := w.undo[r.stream]; touched {
			// The decision rests on rows not inserted yet: make them
			// certain (or not) first, then decide again.
			if err := w.flush(); err != nil {
				return err
			}
			continue
		}
		if d == decideReplayAt {
			m, err := w.matchExisting(r)
			if err != nil {
				return err
			}
			if m.n == len(r.events) && m.firstRev == wantFirst {
				r.result = m.result()
				return nil
			}
		}
		r.err = &events.WrongExpectedRevisionError{Stream: r.stream, Expected: r.expected, Actual: st.actual()}
		return nil
	}
}

// envelope builds an event's envelope in the batch's arena. Growing the
// arena leaves earlier envelopes where they were, still valid.
func (w *writer) envelope(rev, recorded int64, tail []byte) []byte {
	start := len(w.arena)
	w.arena = appendEnvelope(w.arena, rev, recorded, tail)
	return w.arena[start:len(w.arena):len(w.arena)]
}

// plan assigns revisions and positions to the events of r and queues them.
func (w *writer) plan(r *request, st streamState) {
	for i := range r.events {
		e := &r.events[i]
		st.head++
		w.pending = append(w.pending, row{
			pos: w.pos, rev: st.head,
			id: e.ID[:], stream: r.stream, typ: e.Type,
			env: w.envelope(st.head, w.now, r.tails[i]), data: e.Data,
		})
		w.pos++
	}
	w.setWork(r.stream, st)
	w.pendingReqs = append(w.pendingReqs, r)
	r.writes = true
	last := uint64(w.pos - 1)
	r.result = events.AppendResult{NextExpected: uint64(st.head), Position: events.Position{Commit: last, Prepare: last}}
}

// flush inserts the pending rows. When an id is already in the log the
// whole group is undone and its requests go through one by one, each in
// its own statement (or savepoint), so the one that clashes fails alone.
func (w *writer) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	err := w.insert(w.pending)
	if err == nil {
		w.resetPending()
		return nil
	}
	if !isConstraint(err) {
		return err
	}
	if !isIDConstraint(err) {
		w.valid = false
		return errRetryBatch
	}
	w.alone = true
	defer func() { w.alone = false }()
	for _, r := range w.rollbackPending() {
		if err := w.appendAlone(r); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) appendAlone(r *request) error {
	if err := w.append(r); err != nil || !r.writes {
		return err
	}
	err := w.insert(w.pending)
	if err == nil {
		w.resetPending()
		return nil
	}
	if !isConstraint(err) {
		return err
	}
	if !isIDConstraint(err) {
		w.valid = false
		return errRetryBatch
	}
	w.rollbackPending()
	st, err := w.state(r.stream)
	if err != nil {
		return err
	}
	m, err := w.matchExisting(r)
	if err != nil {
		return err
	}
	switch {
	case m.n == len(r.events) && (r.expected.IsAny() || r.expected.IsStreamExists()):
		r.result = m.result()
	case m.n > 0 && m.n < len(r.events):
		r.err = &events.WrongExpectedRevisionError{Stream: r.stream, Expected: r.expected, Actual: st.actual()}
	default:
		r.err = fmt.Errorf("append to stream %q: event %s: %w", r.stream, m.clash, events.ErrDuplicateEventID)
	}
	return nil
}

// insert writes rows in statements of at most rowsPerInsert rows. A failed
// statement leaves nothing behind (SQLite undoes the statement); with more
// than one statement a savepoint keeps the group all or nothing.
func (w *writer) insert(rows []row) error {
	multi := len(rows) > rowsPerInsert
	if multi {
		if _, err := w.stmtSavepoint.ExecContext(w.ctx); err != nil {
			return err
		}
	}
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		st, err := w.insertStmt(n)
		if err == nil {
			args := w.args[:0]
			for i := range rows[:n] {
				rw := &rows[i]
				args = append(args, rw.pos, rw.id, rw.stream, rw.rev, rw.typ, rw.env, rw.data)
			}
			w.args = args
			_, err = st.ExecContext(w.ctx, args...)
			clear(args)
		}
		if err != nil {
			if multi {
				w.stmtUndo.ExecContext(w.ctx)
				w.stmtRelease.ExecContext(w.ctx)
			}
			return err
		}
		rows = rows[n:]
	}
	if multi {
		if _, err := w.stmtRelease.ExecContext(w.ctx); err != nil {
			return err
		}
	}
	return nil
}

// match describes how the proposed ids of a request relate to the log:
// the first n of them are this stream's events at firstRev, firstRev+1, …
type match struct {
	n        int
	firstRev int64
	lastPos  int64
	clash    string // an id that is in the log but not part of the match
}

func (m match) result() events.AppendResult {
	p := uint64(m.lastPos)
	return events.AppendResult{NextExpected: uint64(m.firstRev + int64(m.n) - 1), Position: events.Position{Commit: p, Prepare: p}}
}

func (w *writer) matchExisting(r *request) (match, error) {
	var m match
	for i := range r.events {
		id := r.events[i].ID
		var stream string
		var rev, pos int64
		err := w.stmtFindID.QueryRowContext(w.ctx, id[:]).Scan(&stream, &rev, &pos)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return match{}, err
		}
		if found && m.n == i && stream == r.stream && (i == 0 || rev == m.firstRev+int64(i)) {
			if i == 0 {
				m.firstRev = rev
			}
			m.n, m.lastPos = i+1, pos
			continue
		}
		if found {
			// The run of matches has ended; this id is what makes the
			// append neither new nor a replay.
			m.clash = id.String()
			break
		}
	}
	if m.clash == "" && m.n < len(r.events) {
		m.clash = r.events[m.n].ID.String()
	}
	return m, nil
}

func (w *writer) delete(r *request) error {
	if _, touched := w.undo[r.stream]; touched {
		if err := w.flush(); err != nil {
			return err
		}
	}
	st, err := w.state(r.stream)
	if err != nil {
		return err
	}
	if st.tombstoned {
		r.err = &events.StreamDeletedError{Stream: r.stream}
		return nil
	}
	ok := false
	switch {
	case r.expected.IsAny():
		ok = true
	case r.expected.IsNoStream():
		ok = !st.exists()
	case r.expected.IsStreamExists():
		ok = st.exists()
	default:
		n, _ := r.expected.Revision()
		ok = st.exists() && uint64(st.head) == n
	}
	if !ok {
		r.err = &events.WrongExpectedRevisionError{Stream: r.stream, Expected: r.expected, Actual: st.actual()}
		return nil
	}
	if r.kind == kindDelete && !st.exists() {
		return nil // nothing to hide
	}
	next := st
	next.tb = st.head + 1
	next.tombstoned = r.kind == kindTombstone
	tomb := 0
	if next.tombstoned {
		tomb = 1
	}
	if _, err := w.stmtSetState.ExecContext(w.ctx, r.stream, next.tb, tomb); err != nil {
		return err
	}
	w.work[r.stream] = next
	r.writes = true
	return nil
}

// restore inserts already-recorded events, all or nothing. Events that are
// already in the log exactly where the import puts them are skipped, so an
// interrupted import can simply be run again.
func (w *writer) restore(r *request) error {
	if err := w.flush(); err != nil {
		return err
	}
	before := make(map[string]undoEntry)
	startPos := w.pos
	fail := func(err error) error {
		for k, u := range before {
			if u.had {
				w.work[k] = u.st
			} else {
				delete(w.work, k)
			}
		}
		w.pos = startPos
		w.resetPending()
		r.err = err
		return nil
	}
	for i := range r.restore {
		e := &r.restore[i]
		st, err := w.state(e.Stream)
		if err != nil {
			return err
		}
		if _, ok := before[e.Stream]; !ok {
			prev, had := w.work[e.Stream]
			before[e.Stream] = undoEntry{prev, had}
		}
		if st.tombstoned {
			return fail(fmt.Errorf("restore event %s: %w", e.ID, &events.StreamDeletedError{Stream: e.Stream}))
		}
		if int64(e.Revision) != st.head+1 {
			var stream string
			var rev, pos int64
			err := w.stmtFindID.QueryRowContext(w.ctx, e.ID[:]).Scan(&stream, &rev, &pos)
			if err == nil && stream == e.Stream && uint64(rev) == e.Revision {
				continue // already restored by an earlier run
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return fail(fmt.Errorf("restore event %s: stream %q is at revision %s, so the next event must have revision %d, not %d",
				e.ID, e.Stream, st.actual(), st.head+1, e.Revision))
		}
		st.head++
		w.work[e.Stream] = st
		w.pending = append(w.pending, row{
			pos: w.pos, rev: st.head,
			id: e.ID[:], stream: e.Stream, typ: e.Type,
			env: w.envelope(st.head, e.Recorded.UnixNano(), r.tails[i]), data: e.Data,
		})
		w.pos++
	}
	err := w.insert(w.pending)
	switch {
	case err == nil:
		w.resetPending()
		r.writes = true
		last := uint64(w.pos - 1)
		r.result.Position = events.Position{Commit: last, Prepare: last}
		return nil
	case isIDConstraint(err):
		return fail(fmt.Errorf("restore: %w (an event of the import is already in the log elsewhere)", events.ErrDuplicateEventID))
	case isConstraint(err):
		w.valid = false
		return errRetryBatch
	}
	return err
}

func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// isIDConstraint tells a duplicate event id (a caller's problem) from a
// clash on position or revision (a stale cache: ours to fix).
func isIDConstraint(err error) bool {
	return isConstraint(err) && strings.Contains(err.Error(), "events.id")
}
