package search

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Rebuilding. The index is a projection, so it can always be built again
// from the log: into a new generation directory beside the live one, from
// position 0, while the live one keeps answering. When the new one has
// caught up it takes over (the "current" file names it, so a restart
// opens it too) and the old one is closed and removed. Searches never see
// a half-built index.
//
// Who may ask: the server owns the index directory, so `yunqi search
// rebuild` asks it over a Unix socket in that directory, created with
// mode 0600. Only the operating-system user that runs the server (and
// root) can connect: the same people who could read the event log and the
// signing keys in the data directory anyway. There is no HTTP endpoint, so
// nothing on the network can make the server spend minutes rebuilding.
// With no server running, the command takes the directory's lock and
// rebuilds directly.

const controlSocket = "control.sock"

// Rebuild builds a fresh index from the start of the log beside the live
// one and swaps it in once it has caught up. progress, when set, receives
// lines for a person to read. One rebuild runs at a time.
func (s *Service) Rebuild(ctx context.Context, progress func(string)) error {
	if progress == nil {
		progress = func(string) {}
	}
	s.rebuilds.Lock()
	defer s.rebuilds.Unlock()
	old := s.cur.Load()
	next := nextGeneration(filepath.Base(old.dir))
	p, err := buildGeneration(ctx, s.cfg, next, s.store, s, progress)
	if err != nil {
		return err
	}
	if err := setCurrent(s.cfg.Dir, next); err != nil {
		p.ix.Close()
		return fmt.Errorf("search: record the new index: %w", err)
	}
	s.mu.Lock()
	s.cur.Store(p)
	close(s.swapped)
	s.swapped = make(chan struct{})
	s.mu.Unlock()
	retire := func() {
		if err := old.ix.Close(); err != nil {
			s.log.Warn("search: close the old index", "err", err)
		}
		if d, ok := old.ix.(Dropper); ok {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := d.Drop(dctx); err != nil {
				s.log.Warn("search: drop the old index", "dir", old.dir, "err", err)
			}
			cancel()
		}
		if err := os.RemoveAll(old.dir); err != nil {
			s.log.Warn("search: remove the old index", "dir", old.dir, "err", err)
		}
	}
	if s.running.Load() {
		// Run stops the old projector on the swap; then nothing writes
		// to the old index, and searches that started on it finish
		// before Close returns.
		go func() {
			time.Sleep(100 * time.Millisecond)
			retire()
		}()
	} else {
		retire()
	}
	n, _ := p.ix.Count(ctx)
	progress(fmt.Sprintf("swapped in the new index %s: %d documents", next, n))
	s.log.Info("search index rebuilt", "generation", next, "documents", n)
	return nil
}

// buildGeneration projects the whole log into a new index in generation
// gen, returning once it has caught up. The projector is stopped then:
// the caller starts it again where the index stands.
func buildGeneration(ctx context.Context, cfg Config, gen string, store events.Store, s *Service, progress func(string)) (*projection, error) {
	dir := filepath.Join(cfg.Dir, gen)
	// A rebuild that died half-way left its directory: start it again.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("search: clear %s: %w", dir, err)
	}
	ix, err := cfg.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("search: open new index %s: %w", dir, err)
	}
	p := newProjection(ix, dir, store, s.log)
	head, err := store.Head(ctx)
	if err != nil {
		ix.Close()
		return nil, err
	}
	progress(fmt.Sprintf("building %s from the start of the log (head at %s)", dir, head))
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.run(bctx) }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	start := time.Now()
	for !p.caughtUp.Load() {
		select {
		case err := <-done:
			cancel()
			ix.Close()
			if err == nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("search: rebuild: %w", err)
		case <-tick.C:
			p.mu.Lock()
			seen := p.seen
			p.mu.Unlock()
			n, _ := ix.Count(ctx)
			progress(fmt.Sprintf("indexed %d documents, at position %s of %s (%s)", n, seen, head, time.Since(start).Round(time.Second)))
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	<-done
	// A rebuild writes the documents of people erased later in the log
	// before it reads their erasure, in batches of their own when the log
	// is long: the new index starts without their bytes.
	if c, ok := ix.(Compactor); ok {
		cctx, stop := context.WithTimeout(ctx, compactWithin)
		err := c.Compact(cctx)
		stop()
		if err != nil && ctx.Err() == nil {
			s.log.Error("search: compacting the rebuilt index failed", "err", err)
		}
	}
	return p, nil
}

// RebuildOffline rebuilds the index in dir when no server holds it: it
// takes the directory's lock for the duration (a *lockfile.HeldError
// when a server runs: ask it instead, see RequestRebuild).
func RebuildOffline(ctx context.Context, cfg Config, store events.Store, logger *slog.Logger, progress func(string)) error {
	if progress == nil {
		progress = func(string) {}
	}
	s, err := New(cfg, store, logger)
	if err != nil {
		return err
	}
	defer s.close()
	return s.Rebuild(ctx, progress)
}

// listenControl serves rebuild requests on the control socket.
func (s *Service) listenControl(ctx context.Context) (net.Listener, error) {
	path := filepath.Join(s.cfg.Dir, controlSocket)
	// We hold the directory's lock, so a socket file left here belongs to
	// a server that is gone.
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveControl(ctx, c)
		}
	}()
	return ln, nil
}

func (s *Service) serveControl(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil {
		return
	}
	c.SetReadDeadline(time.Time{})
	if strings.TrimSpace(line) != "rebuild" {
		fmt.Fprintf(c, "error: unknown request %q\n", strings.TrimSpace(line))
		return
	}
	err = s.Rebuild(ctx, func(msg string) { fmt.Fprintf(c, "progress: %s\n", msg) })
	if err != nil {
		s.log.Error("search: rebuild failed", "err", err)
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	fmt.Fprintln(c, "ok")
}

// RequestRebuild asks the server that holds dir to rebuild, relaying its
// progress lines, and returns when the new index is in use.
func RequestRebuild(ctx context.Context, dir string, progress func(string)) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", filepath.Join(dir, controlSocket))
	if err != nil {
		return fmt.Errorf("cannot reach the server that holds %s: %w", dir, err)
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	if _, err := fmt.Fprintln(c, "rebuild"); err != nil {
		return err
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ok":
			return nil
		case strings.HasPrefix(line, "error: "):
			return errors.New(strings.TrimPrefix(line, "error: "))
		case strings.HasPrefix(line, "progress: "):
			if progress != nil {
				progress(strings.TrimPrefix(line, "progress: "))
			}
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("the server closed the connection before the rebuild finished")
}
