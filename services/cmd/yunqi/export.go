package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/config"
)

const exportAbout = `
Writes the event log as JSON Lines, one object per event in log order:
  {"id", "stream", "type", "revision", "position", "recorded", "data", "metadata"}
"recorded" is RFC 3339 with nanoseconds in UTC, "data" the payload as stored.
The export is a snapshot of the log as it was when the command started, so
it may run beside 'yunqi serve'. With --to the file appears complete or not
at all (written to a temporary file, then renamed).

Personal data stays sealed, as in the log. --open writes it opened, for the
operator on this machine only (it needs the key store and the master key);
an erased person's data reads as null either way.`

func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("events export")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	to := fs.String("to", "", "write to `FILE` instead of standard output")
	opened := fs.Bool("open", false, "write personal data opened (clear text), for the operator only")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "events export [flags]", exportAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("events export takes no arguments, got %q (use --to FILE)", fs.Args())
	}
	logger := c.logger()
	var store events.Store
	if *opened {
		p, err := openPersonalLog(ctx, &c, "", false, logger, nil)
		if err != nil {
			return err
		}
		defer p.Close()
		store = p
		logger.Warn("this export holds opened personal data: keep it on this machine and delete it after use")
	} else {
		raw, err := openLog(&c, false, logger, nil)
		if err != nil {
			return err
		}
		defer raw.Close()
		store = raw
	}

	if *to == "" {
		n, err := export(ctx, store, stdout)
		if err != nil {
			return err
		}
		logger.Info("exported", "events", n)
		return nil
	}
	var n int
	err := writeAtomically(*to, func(w io.Writer) error {
		var err error
		n, err = export(ctx, store, w)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d events to %s\n", n, *to)
	return nil
}

// export writes every event up to the head as it was on entry, so that a
// busy log cannot keep the export running for ever.
func export(ctx context.Context, store events.Store, w io.Writer) (int, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the head of the log: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	// Payloads go out as stored: no \u003c for "<" in someone's blog post.
	enc.SetEscapeHTML(false)
	n := 0
	after := events.Start
	for after.Compare(head) < 0 {
		page, err := store.ReadAll(ctx, events.ReadAllOptions{After: after})
		if err != nil {
			return n, fmt.Errorf("read the log after %s: %w", after, err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Position.Compare(head) > 0 {
				break
			}
			// Store-internal events (EventStoreDB's $-types) are not
			// part of the application's log, and no store accepts them back.
			if strings.HasPrefix(e.Type, "$") {
				continue
			}
			if err := enc.Encode(toRecord(e)); err != nil {
				return n, fmt.Errorf("write event %s: %w", e.ID, err)
			}
			n++
		}
		after = page[len(page)-1].Position
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write export: %w", err)
	}
	return n, nil
}

// writeAtomically writes a file through a temporary file in the same
// directory and renames it into place, so a reader never sees half a file
// and a failed write leaves no debris.
func writeAtomically(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
