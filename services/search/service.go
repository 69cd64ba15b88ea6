// Package search is the search service: a projector that keeps a search
// index current with the event log, and the query API and page that read
// it, in Meilisearch's shapes. The index is a port (Index) with an
// embedded backend (bleveindex) and, later, Meilisearch; searchtest is the
// suite every backend passes.
package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/lockfile"
)

// OpenIndex opens (creating when missing) an index in a directory of its
// own.
type OpenIndex func(dir string) (Index, error)

// Config is the service's configuration.
type Config struct {
	// Dir holds the index generations and the lock that makes the
	// directory this process's alone (required).
	Dir string
	// Open opens one generation's index (required).
	Open OpenIndex
}

// Service is the search service.
type Service struct {
	cfg   Config
	store events.Store
	log   *slog.Logger
	lock  *lockfile.Lock

	cur atomic.Pointer[projection]
	// swapped is closed and replaced whenever a rebuild swaps the index,
	// so that Run starts the new projector.
	mu       sync.Mutex
	swapped  chan struct{}
	closed   bool
	rebuilds sync.Mutex // one rebuild at a time
	running  atomic.Bool
}

// currentFile names the generation in use, so that a restart after a
// rebuild opens the new one.
const currentFile = "current"

// New opens the index in cfg.Dir. It takes the directory's lock, so a
// second process (or a rebuild run from the command line while the server
// runs) is refused with the name of the process that holds it.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	if cfg.Dir == "" || cfg.Open == nil {
		return nil, errors.New("search: the index directory and backend are required")
	}
	if store == nil {
		return nil, errors.New("search: no event store")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "search")
	lock, err := LockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	gen, err := currentGeneration(cfg.Dir)
	if err != nil {
		lock.Release()
		return nil, err
	}
	removeOtherGenerations(cfg.Dir, gen, logger)
	dir := filepath.Join(cfg.Dir, gen)
	ix, err := cfg.Open(dir)
	if err != nil {
		lock.Release()
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	s := &Service{cfg: cfg, store: store, log: logger, lock: lock, swapped: make(chan struct{})}
	s.cur.Store(newProjection(ix, dir, store, logger))
	return s, nil
}

// LockDir takes the lock of an index directory, creating it when missing.
func LockDir(dir string) (*lockfile.Lock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("search: index directory %s: %w", dir, err)
	}
	return lockfile.Acquire(filepath.Join(dir, "lock"), "search index "+dir)
}

// currentGeneration reads which generation directory is in use ("g1" on
// a fresh directory).
func currentGeneration(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, os.ErrNotExist) {
		return "g1", nil
	}
	if err != nil {
		return "", fmt.Errorf("search: %w", err)
	}
	gen := strings.TrimSpace(string(b))
	if !validGeneration(gen) {
		return "", fmt.Errorf("search: %s names %q, which is not an index generation; remove the file to start with g1", filepath.Join(dir, currentFile), gen)
	}
	return gen, nil
}

func validGeneration(g string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(g, "g"))
	return strings.HasPrefix(g, "g") && err == nil && n > 0
}

// removeOtherGenerations deletes generation directories other than the
// one in use: a rebuild that died half-way, or an old index whose removal
// a crash interrupted.
func removeOtherGenerations(dir, keep string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != keep && validGeneration(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				log.Warn("search: remove a stale index generation", "dir", e.Name(), "err", err)
			}
		}
	}
}

// nextGeneration is the generation after gen.
func nextGeneration(gen string) string {
	n, _ := strconv.Atoi(strings.TrimPrefix(gen, "g"))
	return "g" + strconv.Itoa(n+1)
}

// setCurrent records gen as the generation in use, atomically: a crash
// leaves either the old name or the new one.
func setCurrent(dir, gen string) error {
	tmp := filepath.Join(dir, currentFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(gen + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, currentFile))
}

// Index is the index in use.
func (s *Service) Index() Index { return s.cur.Load().ix }

// Run keeps the index current until ctx ends, and serves rebuild requests
// from the command line on a socket in the index directory. It closes the
// index when it returns.
func (s *Service) Run(ctx context.Context) error {
	s.running.Store(true)
	defer s.running.Store(false)
	ctl, err := s.listenControl(ctx)
	if err != nil {
		s.log.Warn("search: `yunqi search rebuild` cannot reach this server; rebuild with the server stopped", "err", err)
	}
	defer func() {
		if ctl != nil {
			ctl.Close()
		}
		s.close()
	}()
	for {
		p := s.cur.Load()
		s.mu.Lock()
		swapped := s.swapped
		s.mu.Unlock()
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.run(pctx) }()
		select {
		case err := <-done:
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			if s.cur.Load() != p {
				continue // swapped while failing: follow the new index
			}
			return err
		case <-swapped:
			cancel()
			<-done
			// The rebuild closes the old index once its projector is done.
			continue
		case <-ctx.Done():
			cancel()
			<-done
			return nil
		}
	}
}

func (s *Service) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if err := s.cur.Load().ix.Close(); err != nil {
		s.log.Error("search: close index", "err", err)
	}
	s.lock.Release()
}

// Ready reports, as /readyz wants it, whether the index has caught up with
// the log.
func (s *Service) Ready(context.Context) error {
	if !s.cur.Load().caughtUp.Load() {
		return errors.New("the search index is catching up with the event log")
	}
	return nil
}

// WaitFor waits until the index reflects the log up to pos: a test, or a
// page that has just written, can then search for what it wrote.
func (s *Service) WaitFor(ctx context.Context, pos events.Position) error {
	return s.cur.Load().waitFor(ctx, pos)
}
