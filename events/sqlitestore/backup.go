package sqlitestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the log to dest while the store
// serves: VACUUM INTO copies one read snapshot, so appends carry on. dest
// must not exist; a half-written copy never appears under its name.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if dest == "" {
		return errors.New("backup: no destination file given")
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("backup %s: %w", dest, err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("backup %s: the file already exists; choose a new name (a backup never overwrites)", abs)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("backup %s: %w", abs, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("backup %s: %s is not a directory", abs, dir)
	}
	var suffix [8]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(dir, "."+filepath.Base(abs)+".partial-"+hex.EncodeToString(suffix[:]))
	defer os.Remove(tmp)

	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return s.readErr(ctx, err)
	}
	_, err = conn.ExecContext(ctx, "VACUUM INTO ?", tmp)
	conn.Close()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("backup %s: %w", abs, classify(s.path, "copy", err))
	}
	// A backup holds what the log holds: personal data.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("backup %s: %w", abs, err)
	}
	// A hard link publishes the finished copy without ever replacing a
	// file that appeared meanwhile; rename is the fallback where links
	// are not supported.
	if err := os.Link(tmp, abs); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("backup %s: the file already exists; choose a new name (a backup never overwrites)", abs)
		}
		if _, serr := os.Lstat(abs); serr == nil {
			return fmt.Errorf("backup %s: the file already exists; choose a new name (a backup never overwrites)", abs)
		}
		if err := os.Rename(tmp, abs); err != nil {
			return fmt.Errorf("backup %s: %w", abs, err)
		}
	}
	return syncFile(dir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
