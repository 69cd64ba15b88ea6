// Package sqlitestore is the embedded event store: one SQLite file in WAL
// mode, durable before acknowledging, with a single-writer group-commit loop.
//
// Several processes may open the same file (the server, and CLI commands
// that write while it runs). SQLite's locks serialise their writes; each
// process notices the others' commits through PRAGMA data_version, both to
// distrust its cached stream heads and to wake its live subscriptions.
//
// Where the time goes, so that the next optimisation starts from facts: a
// durable commit costs one fdatasync (0.1–0.5 ms here) plus, per event,
// about 1.4 WAL frames of 4 KiB, each written with two pwrite calls. One of
// those frames is the leaf of events_stream_revision that holds the
// stream's tail; the rows and the id index share pages across a batch. So
// throughput comes from putting many appends into each commit (writer.go),
// and reads from fetching few columns per row (envelope.go).
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/yunqi-town/yunqi/events"
)

// Options tune a store; the zero value is fine.
type Options struct {
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
}

// Store is the SQLite-backed events.Store.
type Store struct {
	path    string
	log     *slog.Logger
	metrics *metrics

	wdb *sql.DB // exactly one connection, owned by the writer goroutine
	rdb *sql.DB // readers; WAL lets them run while the writer commits

	stmtStreamState, stmtStreamForwards, stmtStreamBackwards *sql.Stmt

	// sendMu lets Close wait for Appends that are handing a request over,
	// so that no request is sent after the writer has stopped.
	sendMu     sync.RWMutex
	closed     bool
	reqs       chan *request
	closing    chan struct{} // closed when Close starts: ends subscriptions
	writerDone chan struct{}

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced whenever the log grows

	head atomic.Int64 // the last position known to be committed

	ckptKick chan struct{}
	ckptDone chan struct{}

	pollOnce   sync.Once
	pollerDone chan struct{}
	subs       atomic.Int32

	closeOnce sync.Once
	closeErr  error
}

var (
	_ events.Store    = (*Store)(nil)
	_ events.Restorer = (*Store)(nil)
)

// schemaVersion is the layout this binary writes, kept in PRAGMA
// user_version. A newer file is refused rather than misread. Version 1 was
// a development layout that never shipped (metadata in its own column).
const schemaVersion = 2

// applicationID marks the file as a Yunqi event log ("YQEV") in the SQLite
// header, so that opening some other SQLite database fails clearly.
const applicationID = 0x59514556

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("sqlitestore: event store is closed")

const schemaSQL = `
CREATE TABLE events (
	pos      INTEGER PRIMARY KEY, -- the global position: commit and prepare alike
	id       BLOB    NOT NULL,    -- 16-byte event id, unique in the whole log
	stream   TEXT    NOT NULL,
	revision INTEGER NOT NULL,    -- 0-based, per stream
	type     TEXT    NOT NULL,
	envelope BLOB    NOT NULL,    -- all but the payload, for readers: see envelope.go
	data     BLOB    NOT NULL     -- the payload, JSON
);
CREATE UNIQUE INDEX events_id ON events(id);
CREATE UNIQUE INDEX events_stream_revision ON events(stream, revision);

-- Only streams that were deleted have a row: a stream's head is the last
-- revision in events_stream_revision, so appends write no second table.
CREATE TABLE streams (
	name            TEXT PRIMARY KEY,
	truncate_before INTEGER NOT NULL, -- soft delete hides revisions below it
	tombstoned      INTEGER NOT NULL  -- 1: deleted for ever
) WITHOUT ROWID;
`

// Open opens (creating if needed) the event log at path, e.g. data/events.db.
func Open(path string, opts Options) (*Store, error) {
	s, w, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	go w.run()
	go s.checkpoint()
	s.log.Debug("event log opened", "path", s.path, "head", s.head.Load())
	return s, nil
}

// open prepares a store and its writer without starting them, so that
// tests can drive the writer batch by batch.
func open(path string, opts Options) (*Store, *writer, error) {
	if path == "" {
		return nil, nil, errors.New("sqlitestore: no event log path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("event log %s: %w", path, err)
	}
	if err := checkLocation(abs); err != nil {
		return nil, nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, nil, err
	}

	// fdatasync is what SQLite itself uses on Linux; the transpiled build
	// defaults to fsync, which also journals the file's timestamps. Commits
	// stay exactly as durable. The switch is process-wide and idempotent.
	sqlite.Fdatasync(true)
	wdb, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, nil, fmt.Errorf("event log %s: %w", abs, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)
	if err := initSchema(wdb, abs); err != nil {
		wdb.Close()
		return nil, nil, err
	}

	rdb, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		wdb.Close()
		return nil, nil, fmt.Errorf("event log %s: %w", abs, err)
	}
	// Besides the readers proper, the checkpointer and the poller each
	// hold a connection for as long as they work.
	readers := max(8, 2*runtime.GOMAXPROCS(0)) + 2
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)

	s := &Store{
		path:       abs,
		log:        log,
		metrics:    m,
		wdb:        wdb,
		rdb:        rdb,
		reqs:       make(chan *request, maxBatchRequests),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		notify:     make(chan struct{}),
		pollerDone: make(chan struct{}),
		ckptKick:   make(chan struct{}, 1),
		ckptDone:   make(chan struct{}),
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.stmtStreamState, sqlStreamState},
		{&s.stmtStreamForwards, sqlStreamForwards},
		{&s.stmtStreamBackwards, sqlStreamBackwards},
	} {
		if *p.dst, err = rdb.Prepare(p.sql); err != nil {
			s.closeStmts()
			wdb.Close()
			rdb.Close()
			return nil, nil, classify(abs, "prepare statements", err)
		}
	}
	w, err := newWriter(s)
	if err != nil {
		s.closeStmts()
		wdb.Close()
		rdb.Close()
		return nil, nil, err
	}
	s.head.Store(w.nextPos - 1)
	return s, w, nil
}

// dsn builds the connection string. The file: URI form keeps any character
// of the path literal (a plain name would lose everything after a '?').
func dsn(abs string, writer bool) string {
	u := url.URL{Scheme: "file", Path: abs}
	q := url.Values{}
	// Each connection waits for SQLite's locks rather than failing at once:
	// another process may be committing or checkpointing.
	q.Add("_pragma", "busy_timeout(10000)")
	// FULL: a commit's WAL frames are synced before it returns, so every
	// acknowledged append survives a power cut, not just a crash.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(0)")
	// A multi-row INSERT inside a transaction keeps a statement journal;
	// in memory it costs a copy instead of writes to a temporary file.
	q.Add("_pragma", "temp_store(MEMORY)")
	if writer {
		// The checkpointer goroutine copies committed pages into the
		// database in the background. Under a steady stream of commits it
		// never finds the quiet moment that lets the WAL start over from
		// its beginning; the writer's own checkpoint at this size does,
		// with little left to copy, and the WAL file is cut back to it.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walBackstopPages))
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walBackstopPages*4096))
		q.Add("_pragma", "cache_size(-32000)")
	} else {
		q.Add("_pragma", "cache_size(-16000)")
	}
	return u.String() + "?" + q.Encode()
}

// checkLocation turns the usual set-up mistakes into messages that name
// them, before SQLite reports a bare "unable to open database file".
func checkLocation(abs string) error {
	dir := filepath.Dir(abs)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("event log %s: cannot create its directory: %w", abs, err)
		}
	case err != nil:
		return fmt.Errorf("event log %s: cannot use its directory: %w", abs, err)
	case !fi.IsDir():
		return fmt.Errorf("event log %s: %s is not a directory", abs, dir)
	}
	// WAL mode creates the -wal and -shm files beside the log, so the
	// directory must be writable even when the log file already exists.
	probe, err := os.CreateTemp(dir, ".yunqi-write-probe-*")
	if err != nil {
		return fmt.Errorf("event log %s: directory %s is not writable: %w", abs, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())

	fi, err = os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The log holds personal data: create it readable by its owner
		// only. SQLite gives the -wal and -shm files the same mode.
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("event log %s: cannot create it: %w", abs, err)
		}
		if f != nil {
			f.Close()
		}
		return nil
	case err != nil:
		return fmt.Errorf("event log %s: %w", abs, err)
	case fi.IsDir():
		return fmt.Errorf("event log %s is a directory, not a file", abs)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("event log %s is not a regular file", abs)
	case fi.Size() == 0:
		return nil // SQLite treats an empty file as a new database
	}
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("event log %s: %w", abs, err)
	}
	defer f.Close()
	header := make([]byte, 16)
	if _, err := io.ReadFull(f, header); err != nil || string(header) != "SQLite format 3\x00" {
		return fmt.Errorf("event log %s is not a Yunqi event log (not an SQLite database)", abs)
	}
	return nil
}

// initSchema creates the tables of a new log, or checks that an existing
// file is a Yunqi log this binary can read. It runs in an IMMEDIATE
// transaction so that two processes creating the same file do not race.
func initSchema(db *sql.DB, abs string) error {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return classify(abs, "open", err)
	}
	defer conn.Close()
	// Switching to WAL needs no transaction to be open, and is recorded in
	// the file: every later connection, in any process, uses WAL too.
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return classify(abs, "switch to WAL mode", err)
	}
	if mode != "wal" {
		return fmt.Errorf("event log %s: cannot switch to WAL mode (journal mode is %q)", abs, mode)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return classify(abs, "open", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	var appID, version, tables int64
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return classify(abs, "read the header", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return classify(abs, "read the header", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return classify(abs, "read the schema", err)
	}
	switch {
	case appID == 0 && version == 0 && tables == 0:
		if _, err := conn.ExecContext(ctx, schemaSQL); err != nil {
			return classify(abs, "create the schema", err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id=%d; PRAGMA user_version=%d", applicationID, schemaVersion)); err != nil {
			return classify(abs, "create the schema", err)
		}
	case appID != applicationID:
		return fmt.Errorf("event log %s is not a Yunqi event log (an SQLite database of another application)", abs)
	case version > schemaVersion:
		return fmt.Errorf("event log %s was written by a newer Yunqi (log schema version %d, this binary reads up to %d): upgrade yunqi", abs, version, schemaVersion)
	case version < schemaVersion:
		return fmt.Errorf("event log %s was written by a development build of Yunqi (log schema version %d, this binary reads %d): move it aside and start a new log", abs, version, schemaVersion)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return classify(abs, "create the schema", err)
	}
	committed = true
	return nil
}

// classify adds what the user can do about the SQLite failures that have a
// remedy, and names the file in every case.
func classify(abs, doing string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("event log %s is corrupt (%s: %w); restore it from a backup", abs, doing, err)
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("event log %s is not a Yunqi event log (%s: %w)", abs, doing, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("event log %s: disk full (%s: %w)", abs, doing, err)
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("event log %s: cannot write the file or its directory (%s: %w)", abs, doing, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("event log %s is locked by another process for too long (%s: %w)", abs, doing, err)
		case sqlite3.SQLITE_IOERR:
			return fmt.Errorf("event log %s: I/O error (%s: %w)", abs, doing, err)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("event log %s: %s: %w", abs, doing, err)
}

// Close stops the writer after it has answered every request already
// handed over, ends live subscriptions and closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.sendMu.Lock()
		s.closed = true
		close(s.reqs)
		s.sendMu.Unlock()
		close(s.closing)
		<-s.writerDone
		<-s.ckptDone
		s.pollOnce.Do(func() { close(s.pollerDone) }) // no poller was started
		<-s.pollerDone
		// Statements keep SQLite connections (and the WAL) open after
		// the connections themselves are closed.
		s.closeStmts()
		s.closeErr = errors.Join(s.rdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}

func (s *Store) closeStmts() {
	for _, st := range []*sql.Stmt{s.stmtStreamState, s.stmtStreamForwards, s.stmtStreamBackwards} {
		if st != nil {
			st.Close()
		}
	}
}

// Capabilities: ids are deduplicated by a unique index, for ever.
func (s *Store) Capabilities() events.Capabilities { return events.Capabilities{DurableDedup: true} }

// waitChan returns a channel closed at the next growth of the log. Take it
// before reading, so that a commit between the read and the wait is not
// missed.
func (s *Store) waitChan() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

// grew records a new head and wakes every waiting subscription.
func (s *Store) grew(head int64) {
	for {
		old := s.head.Load()
		if head <= old || s.head.CompareAndSwap(old, head) {
			break
		}
	}
	s.notifyMu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.notifyMu.Unlock()
}

// closingContext is cancelled when Close starts, so that the store's own
// goroutines never wait for a connection that Close is about to take away.
func (s *Store) closingContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.closing:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}

// startPoller watches the file for commits by other processes (and other
// Store values in this one) while anyone subscribes. Local commits wake
// subscriptions directly; this is the only way to learn of foreign ones.
func (s *Store) startPoller() {
	s.pollOnce.Do(func() { go s.poll() })
}

const pollInterval = 50 * time.Millisecond

func (s *Store) poll() {
	defer close(s.pollerDone)
	ctx, cancel := s.closingContext()
	defer cancel()
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var version int64 = -1
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.subs.Load() == 0 {
			if conn != nil {
				conn.Close()
				conn = nil
			}
			continue
		}
		if conn == nil {
			c, err := s.rdb.Conn(ctx)
			if err != nil {
				continue
			}
			conn = c
			version = -1
		}
		// data_version changes only when another connection commits, so
		// a quiet file costs one cheap pragma per tick.
		var v int64
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("event log: cannot poll for commits by other processes", "path", s.path, "err", err)
			}
			conn.Close()
			conn = nil
			continue
		}
		if v == version {
			continue
		}
		var head sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT max(pos) FROM events").Scan(&head); err != nil {
			continue
		}
		version = v
		if head.Int64 > s.head.Load() {
			s.grew(head.Int64)
		}
	}
}

const (
	// checkpointInterval spaces background checkpoints: each copies the
	// latest version of every page committed since the last one, so hot
	// pages (index leaves, the table's tail) are written once per interval
	// instead of once per commit.
	checkpointInterval = 100 * time.Millisecond
	// walBackstopPages is where the writer checkpoints by itself.
	walBackstopPages = 16384
)

// checkpoint copies committed pages from the WAL into the database file on a
// connection of its own, so that the writer rarely pays for it on a commit.
func (s *Store) checkpoint() {
	defer close(s.ckptDone)
	ctx, cancel := s.closingContext()
	defer cancel()
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var last time.Time
	for {
		select {
		case <-s.closing:
			return
		case <-s.ckptKick:
		}
		if wait := time.Until(last.Add(checkpointInterval)); wait > 0 {
			select {
			case <-s.closing:
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if conn == nil {
			c, err := s.rdb.Conn(ctx)
			if err != nil {
				continue
			}
			conn = c
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			s.log.Warn("event log: checkpoint failed", "path", s.path, "err", err)
			conn.Close()
			conn = nil
		}
	}
}
