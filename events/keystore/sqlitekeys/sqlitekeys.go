// Package sqlitekeys is the embedded key store: a SQLite file beside the
// event log (data/keys.db), shared by every process on the machine.
//
// It can really forget: secure_delete makes SQLite overwrite a deleted
// row's bytes in the page, and after an erasure the write-ahead log, which
// may still hold the page as it was, is checkpointed and truncated, so no
// file of the store keeps the destroyed key.
package sqlitekeys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/yunqi-town/yunqi/events/keystore"
)

// applicationID marks the file as a Yunqi key store ("YQKS").
const applicationID = 0x59514b53

const schemaSQL = `
CREATE TABLE IF NOT EXISTS keys (
	subject TEXT    NOT NULL,
	version INTEGER NOT NULL,
	wrapped BLOB    NOT NULL,
	created INTEGER NOT NULL, -- unix nanoseconds
	PRIMARY KEY (subject, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS erased (
	subject TEXT    PRIMARY KEY,
	at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
`

// Store is the SQLite key store.
type Store struct {
	path string
	db   *sql.DB
	// Prepared once: a key is read on a subject's first event after every
	// start, thousands a second in a registration rush.
	latest, version, erasedQ *sql.Stmt
}

var _ keystore.Backend = (*Store)(nil)

// Open opens (creating if needed) the key store at path.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("key store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("key store %s: %w", abs, err)
	}
	// The file holds wrapped keys only, but nobody else needs to read it.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("key store %s: %w", abs, err)
	} else {
		f.Close()
	}
	u := url.URL{Scheme: "file", Path: abs}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "secure_delete(ON)")
	// Writes read first (is the subject erased?): taking the write lock at
	// BEGIN makes a concurrent writer wait instead of failing to upgrade.
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", u.String()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("key store %s: %w", abs, err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{path: abs, db: db}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.latest, "SELECT version, wrapped, created FROM keys WHERE subject = ? ORDER BY version DESC LIMIT 1"},
		{&s.version, "SELECT version, wrapped, created FROM keys WHERE subject = ? AND version = ?"},
		{&s.erasedQ, "SELECT 1 FROM erased WHERE subject = ?"},
	} {
		if *p.dst, err = db.Prepare(p.sql); err != nil {
			db.Close()
			return nil, fmt.Errorf("key store %s: %w", abs, err)
		}
	}
	return s, nil
}

func (s *Store) init() error {
	var app int64
	if err := s.db.QueryRow("PRAGMA application_id").Scan(&app); err != nil {
		return fmt.Errorf("key store %s: %w", s.path, err)
	}
	var tables int
	if err := s.db.QueryRow("SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return fmt.Errorf("key store %s: %w", s.path, err)
	}
	if app != applicationID && (app != 0 || tables > 0) {
		return fmt.Errorf("key store %s: the file is not a Yunqi key store", s.path)
	}
	if _, err := s.db.Exec(schemaSQL); err != nil {
		return fmt.Errorf("key store %s: %w", s.path, err)
	}
	if _, err := s.db.Exec(fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return fmt.Errorf("key store %s: %w", s.path, err)
	}
	return nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

func (s *Store) erased(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, subject string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM erased WHERE subject = ?", subject).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) Put(ctx context.Context, r keystore.Record) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err)
	}
	defer tx.Rollback()
	if gone, err := s.erased(ctx, tx, r.Subject); err != nil {
		return s.fail(err)
	} else if gone {
		return keystore.ErrErased
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO keys (subject, version, wrapped, created) VALUES (?, ?, ?, ?)",
		r.Subject, r.Version, r.Wrapped, r.Created.UnixNano())
	if isConstraint(err) {
		return keystore.ErrExists
	}
	if err != nil {
		return s.fail(err)
	}
	return s.fail(tx.Commit())
}

func (s *Store) Latest(ctx context.Context, subject string) (keystore.Record, error) {
	return s.get(ctx, subject, s.latest, subject)
}

func (s *Store) Get(ctx context.Context, subject string, version int) (keystore.Record, error) {
	return s.get(ctx, subject, s.version, subject, version)
}

func (s *Store) get(ctx context.Context, subject string, q *sql.Stmt, args ...any) (keystore.Record, error) {
	r := keystore.Record{Subject: subject}
	var created int64
	err := q.QueryRowContext(ctx, args...).Scan(&r.Version, &r.Wrapped, &created)
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		switch err := s.erasedQ.QueryRowContext(ctx, subject).Scan(&one); {
		case err == nil:
			return keystore.Record{}, keystore.ErrErased
		case errors.Is(err, sql.ErrNoRows):
			return keystore.Record{}, keystore.ErrNotFound
		default:
			return keystore.Record{}, s.fail(err)
		}
	}
	if err != nil {
		return keystore.Record{}, s.fail(err)
	}
	r.Created = time.Unix(0, created).UTC()
	return r, nil
}

// LatestMany reads the newest key of each subject that has one, in
// queries of up to 500 subjects.
func (s *Store) LatestMany(ctx context.Context, subjects []string) (map[string]keystore.Record, error) {
	out := make(map[string]keystore.Record, len(subjects))
	for len(subjects) > 0 {
		n := min(len(subjects), 500)
		chunk := subjects[:n]
		subjects = subjects[n:]
		args := make([]any, len(chunk))
		for i, sub := range chunk {
			args[i] = sub
		}
		q := "SELECT subject, version, wrapped, created FROM keys WHERE subject IN (?" + strings.Repeat(",?", len(chunk)-1) + ") ORDER BY subject, version"
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, s.fail(err)
		}
		for rows.Next() {
			var r keystore.Record
			var created int64
			if err := rows.Scan(&r.Subject, &r.Version, &r.Wrapped, &created); err != nil {
				rows.Close()
				return nil, s.fail(err)
			}
			r.Created = time.Unix(0, created).UTC()
			out[r.Subject] = r // ordered by version: the last is the newest
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.fail(err)
		}
	}
	return out, nil
}

func (s *Store) Erase(ctx context.Context, subject string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM keys WHERE subject = ?", subject); err != nil {
		return s.fail(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO erased (subject, at) VALUES (?, ?) ON CONFLICT (subject) DO NOTHING",
		subject, at.UnixNano()); err != nil {
		return s.fail(err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err)
	}
	return s.purgeWAL(ctx)
}

// purgeWAL copies every committed page into the database file and cuts
// the write-ahead log to nothing: the log may hold the pages as they were
// before the erasure, keys included. A reader that keeps an old snapshot
// open makes the checkpoint incomplete; it is retried briefly, and what
// is left goes with the next erasure or checkpoint.
func (s *Store) purgeWAL(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		var busy, frames, done int
		if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil {
			return s.fail(err)
		}
		if busy == 0 || attempt == 20 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (s *Store) Erasures(ctx context.Context) ([]keystore.Erasure, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT subject, at FROM erased ORDER BY at, subject")
	if err != nil {
		return nil, s.fail(err)
	}
	defer rows.Close()
	var out []keystore.Erasure
	for rows.Next() {
		var e keystore.Erasure
		var at int64
		if err := rows.Scan(&e.Subject, &at); err != nil {
			return nil, s.fail(err)
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, s.fail(rows.Err())
}

func (s *Store) Dump(ctx context.Context) ([]keystore.Record, []keystore.Erasure, error) {
	// One read transaction, so records and erasures are of one moment.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, s.fail(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT subject, version, wrapped, created FROM keys ORDER BY subject, version")
	if err != nil {
		return nil, nil, s.fail(err)
	}
	var recs []keystore.Record
	for rows.Next() {
		var r keystore.Record
		var created int64
		if err := rows.Scan(&r.Subject, &r.Version, &r.Wrapped, &created); err != nil {
			rows.Close()
			return nil, nil, s.fail(err)
		}
		r.Created = time.Unix(0, created).UTC()
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, s.fail(err)
	}
	rows, err = tx.QueryContext(ctx, "SELECT subject, at FROM erased ORDER BY at, subject")
	if err != nil {
		return nil, nil, s.fail(err)
	}
	defer rows.Close()
	var gone []keystore.Erasure
	for rows.Next() {
		var e keystore.Erasure
		var at int64
		if err := rows.Scan(&e.Subject, &at); err != nil {
			return nil, nil, s.fail(err)
		}
		e.At = time.Unix(0, at).UTC()
		gone = append(gone, e)
	}
	return recs, gone, s.fail(rows.Err())
}

func (s *Store) Load(ctx context.Context, records []keystore.Record, erasures []keystore.Erasure) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err)
	}
	defer tx.Rollback()
	for _, r := range records {
		if _, err := tx.ExecContext(ctx, "INSERT INTO keys (subject, version, wrapped, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			r.Subject, r.Version, r.Wrapped, r.Created.UnixNano()); err != nil {
			return s.fail(err)
		}
	}
	for _, e := range erasures {
		if _, err := tx.ExecContext(ctx, "INSERT INTO erased (subject, at) VALUES (?, ?) ON CONFLICT (subject) DO NOTHING",
			e.Subject, e.At.UnixNano()); err != nil {
			return s.fail(err)
		}
	}
	// Whatever was erased here before, or arrived erased, stays erased.
	if _, err := tx.ExecContext(ctx, "DELETE FROM keys WHERE subject IN (SELECT subject FROM erased)"); err != nil {
		return s.fail(err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err)
	}
	return s.purgeWAL(ctx)
}

func (s *Store) Check(ctx context.Context, value []byte) ([]byte, error) {
	if _, err := s.db.ExecContext(ctx, "INSERT INTO meta (name, value) VALUES ('master_check', ?) ON CONFLICT (name) DO NOTHING", value); err != nil {
		return nil, s.fail(err)
	}
	var stored []byte
	if err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'master_check'").Scan(&stored); err != nil {
		return nil, s.fail(err)
	}
	return stored, nil
}

// Backup writes a consistent copy of the key store to dest (which must not
// exist): what `yunqi backup --keys` keeps. The copy holds wrapped keys
// and the erasure list; it is useless without the master key.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("backup %s: the file already exists; choose a new name (a backup never overwrites)", dest)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("backup %s: %w", dest, s.fail(err))
	}
	return os.Chmod(dest, 0o600)
}

func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.latest, s.version, s.erasedQ} {
		st.Close()
	}
	return s.db.Close()
}

func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("key store %s: %w", s.path, err)
}

func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
