// Package lockfile claims a resource in the data directory for one process
// with an exclusive advisory lock (flock), and records who holds it so that a
// second process is told exactly which process to stop.
//
// flock is released by the kernel when the holder exits, however it exits,
// so a crashed process never leaves a stale lock behind; the recorded holder
// is only read while the lock is actually held.
package lockfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Holder identifies the process holding a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// HeldError reports that another process (or another open in this process)
// holds the lock.
type HeldError struct {
	Resource string // what the lock protects, as the user knows it: "search index data/index"
	Path     string // the lock file
	Holder   Holder // zero when the holder has not recorded itself yet
}

func (e *HeldError) Error() string {
	h := e.Holder
	if h.PID == 0 {
		return fmt.Sprintf("%s is held by another process (lock file %s)", e.Resource, e.Path)
	}
	who := fmt.Sprintf("pid %d", h.PID)
	if host, err := os.Hostname(); err == nil && h.Host != "" && h.Host != host {
		// The same pid on another host (a shared volume) is another process.
		who += " on " + h.Host
	}
	return fmt.Sprintf("%s is held by %s (%s, started %s)", e.Resource, who, h.Command, h.Started.UTC().Format(time.RFC3339))
}

// ErrHeld matches every *HeldError with errors.Is.
var ErrHeld = errors.New("lock is held")

func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Lock is a held lock. Release it, or exit.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the lock at path without waiting. resource names what it
// protects in error messages. The lock file and its directory are created
// when missing; the file is left in place on release, since removing it
// would let two processes lock two different files of the same name.
func Acquire(path, resource string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("lock %s: %w", resource, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", resource, err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{Resource: resource, Path: path, Holder: readHolder(path)}
		}
		return nil, fmt.Errorf("lock %s (%s): %w", resource, path, err)
	}
	if err := writeHolder(f, currentHolder()); err != nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		return nil, fmt.Errorf("lock %s: record holder in %s: %w", resource, path, err)
	}
	return &Lock{f: f, path: path}, nil
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Release clears the holder record and gives the lock up. Calling it twice
// is harmless.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Clear before unlocking so that a later contender never reads a holder
	// that is gone.
	truncErr := l.f.Truncate(0)
	unlockErr := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	closeErr := l.f.Close()
	l.f = nil
	return errors.Join(truncErr, unlockErr, closeErr)
}

func currentHolder() Holder {
	host, _ := os.Hostname()
	return Holder{PID: os.Getpid(), Host: host, Command: command(os.Args), Started: time.Now().UTC()}
}

// command is the program name and its subcommand ("yunqi serve"): enough to
// recognise the process, and never the flags, which may carry secrets.
func command(args []string) string {
	if len(args) == 0 {
		return "unknown command"
	}
	cmd := filepath.Base(args[0])
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		cmd += " " + args[1]
	}
	return cmd
}

func writeHolder(f *os.File, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder is best effort: the holder may be between taking the lock and
// writing its record, and then the error just says less.
func readHolder(path string) Holder {
	var h Holder
	for range 3 {
		b, err := os.ReadFile(path)
		if err == nil && json.Unmarshal(b, &h) == nil {
			return h
		}
		time.Sleep(10 * time.Millisecond)
	}
	return Holder{}
}
