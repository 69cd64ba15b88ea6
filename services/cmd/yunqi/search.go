package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/infra/lockfile"
	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/bleveindex"
)

// searchDir is where the search index lives: flag, or <data>/index.
func searchDir(data, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(data, "index")
}

// openSearchIndex opens the embedded (Bleve) index of one generation.
func openSearchIndex(logger *slog.Logger) search.OpenIndex {
	return func(dir string) (search.Index, error) {
		return bleveindex.Open(dir, bleveindex.Options{Logger: logger})
	}
}

func searchCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runGroup(ctx, "search", []command{
		{"rebuild", "build the search index again from the event log", searchRebuildCmd},
	}, args, getenv, stdout)
}

const searchRebuildAbout = `
Builds the search index again from the start of the event log, beside the
one in use, and swaps it in when it has caught up: searches go on
answering throughout.

The index directory belongs to one process. When 'yunqi serve' holds it,
this command asks that server to rebuild, over a Unix socket in the index
directory that only the server's operating-system user (and root) can
open, and shows its progress; there is no HTTP endpoint for it. When no
server runs, it rebuilds directly.`

func searchRebuildCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("search rebuild")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	var indexDir string
	set.String(&indexDir, "search-index", "", "directory of the search index (default <data>/index)")
	var eng engineFlags
	eng.register(set)
	if help, err := parseFlags(fs, set.Parse, args, stdout, "search rebuild [flags]", searchRebuildAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("search rebuild takes no arguments, got %q", fs.Args())
	}
	dir := searchDir(c.Data, indexDir)
	logger := c.logger()
	start := time.Now()
	progress := func(msg string) { fmt.Fprintln(stdout, msg) }

	lock, err := search.LockDir(dir)
	var held *lockfile.HeldError
	switch {
	case errors.As(err, &held):
		fmt.Fprintf(stdout, "%s; asking it to rebuild\n", held.Error())
		if err := search.RequestRebuild(ctx, dir, progress); err != nil {
			return fmt.Errorf("search rebuild: %w", err)
		}
	case err != nil:
		return err
	default:
		// Nobody holds the index: rebuild it here. The lock is taken
		// again by the rebuild itself.
		lock.Release()
		if eng.EventStore == "" {
			// A mistyped --data must not rebuild from a new, empty log.
			if _, err := os.Stat(c.eventLogPath()); err != nil {
				return fmt.Errorf("no event log at %s (check --data)", c.eventLogPath())
			}
		}
		e, err := openEngines(ctx, &c, eng, true, logger, nil)
		if err != nil {
			return err
		}
		defer e.Close()
		cfg := search.Config{Dir: dir, Open: e.openIndex}
		if err := search.RebuildOffline(ctx, cfg, e.store, logger, progress); err != nil {
			return fmt.Errorf("search rebuild: %w", err)
		}
	}
	fmt.Fprintf(stdout, "search index rebuilt in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
