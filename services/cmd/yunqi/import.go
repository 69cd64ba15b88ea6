package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/config"
)

const importAbout = `
Loads an export written by 'yunqi events export' into the event log in
<data> (created if missing), keeping each event's id, stream, revision,
type, data, metadata and recorded time. Positions are assigned anew.

The log must be empty, or hold exactly the first events of FILE (same ids,
streams, revisions and types, in the same order): then only the rest is
added. Importing the same file twice therefore adds nothing, and an
interrupted import can be run again. Anything else is refused before a
single event is written.

FILE is checked completely first; a malformed line is reported with its
number and nothing is imported.`

func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("events import")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	if help, err := parseFlags(fs, set.Parse, args, stdout, "events import [flags] FILE", importAbout); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("events import: name one export FILE to import")
	}
	file := fs.Arg(0)
	logger := c.logger()

	// Check the whole file before opening (and maybe creating) the log, so
	// that a bad file writes nothing and leaves no empty log behind.
	streams, err := scanExport(file, func(int, events.Event) error { return nil })
	if err != nil {
		return err
	}
	store, err := openLog(&c, true, logger, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := importEvents(ctx, store, file, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d events into %s (%d streams in the file); %d were already in the log\n",
		res.imported, c.eventLogPath(), streams, res.present)
	return nil
}

type importResult struct {
	imported int // events written
	present  int // events of the file the log already had
}

// importBatch is how many events go into one Restore: large enough to
// amortise the commit, small enough to keep the transaction short for a
// server writing beside us.
const importBatch = 500

// importEvents loads a checked export into store under the prefix rule
// described in importAbout.
func importEvents(ctx context.Context, store events.Store, file string, logger *slog.Logger) (importResult, error) {
	var res importResult
	// Walk the file and the log side by side: while the log has events,
	// each must be the file's next one; after that, the file's events are
	// new. Nothing is written until the log runs out, so a log with other
	// events is refused untouched.
	existing := &logCursor{store: store}
	var batch []events.Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := writeBatch(ctx, store, batch); err != nil {
			return fmt.Errorf("import %s: %w (%d events imported before this batch; run the same import again to resume)", file, err, res.imported)
		}
		res.imported += len(batch)
		batch = batch[:0]
		return nil
	}
	logDone := false
	_, err := scanExport(file, func(line int, e events.Event) error {
		if !logDone {
			have, ok, err := existing.next(ctx)
			if err != nil {
				return err
			}
			if ok {
				if have.ID != e.ID || have.Stream != e.Stream || have.Revision != e.Revision || have.Type != e.Type {
					return fmt.Errorf("%s:%d: the event log is not empty and differs from this file here: "+
						"the log has %s %s@%d, the file %s %s@%d; import into an empty data dir instead",
						file, line, have.ID, have.Stream, have.Revision, e.ID, e.Stream, e.Revision)
				}
				res.present++
				return nil
			}
			logDone = true
		}
		batch = append(batch, e)
		if len(batch) == importBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if !logDone {
		if _, more, err := existing.next(ctx); err != nil {
			return res, err
		} else if more {
			return res, fmt.Errorf("the event log has more events than %s (%d match its start); "+
				"import into an empty data dir instead", file, res.present)
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if _, ok := store.(events.Restorer); !ok && res.imported > 0 {
		logger.Warn("this event store cannot restore recorded times: imported events carry the time of the import")
	}
	return res, nil
}

// writeBatch restores events with their recorded times when the store can,
// and otherwise appends them stream by stream at their original revisions.
func writeBatch(ctx context.Context, store events.Store, batch []events.Event) error {
	if r, ok := store.(events.Restorer); ok {
		return r.Restore(ctx, batch)
	}
	for start := 0; start < len(batch); {
		// One append per run of consecutive events of one stream, within
		// the store's size limit for an append.
		first := batch[start]
		end, size := start, 0
		for end < len(batch) && batch[end].Stream == first.Stream {
			s := len(batch[end].Data) + 512 // metadata is small; stay clear of the limit
			if end > start && size+s > events.MaxAppendSize {
				break
			}
			size += s
			end++
		}
		proposed := make([]events.Proposed, 0, end-start)
		for _, e := range batch[start:end] {
			proposed = append(proposed, events.Proposed{ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata})
		}
		expected := events.NoStream
		if first.Revision > 0 {
			expected = events.Exact(first.Revision - 1)
		}
		if _, err := store.Append(ctx, first.Stream, expected, proposed...); err != nil {
			return fmt.Errorf("append to %s at revision %d: %w", first.Stream, first.Revision, err)
		}
		start = end
	}
	return nil
}

// logCursor reads the global log forwards one event at a time.
type logCursor struct {
	store events.Store
	after events.Position
	page  []events.Event
	done  bool
}

func (c *logCursor) next(ctx context.Context) (events.Event, bool, error) {
	for len(c.page) == 0 {
		if c.done {
			return events.Event{}, false, nil
		}
		page, err := c.store.ReadAll(ctx, events.ReadAllOptions{After: c.after})
		if err != nil {
			return events.Event{}, false, fmt.Errorf("read the event log: %w", err)
		}
		if len(page) == 0 {
			c.done = true
			continue
		}
		c.after = page[len(page)-1].Position
		for _, e := range page {
			if len(e.Type) == 0 || e.Type[0] != '$' { // as export skips them
				c.page = append(c.page, e)
			}
		}
	}
	e := c.page[0]
	c.page = c.page[1:]
	return e, true, nil
}

// scanExport reads an export and calls fn with each event and its line
// number. It checks every line (valid JSON of the export's shape, a usable
// stream name, type and id, data present, ids unique, each stream's
// revisions counting up from 0) and returns the number of streams.
func scanExport(file string, fn func(line int, e events.Event) error) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	next := map[string]uint64{} // stream → the revision its next event must have
	seen := map[uuid.UUID]int{} // id → line
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			e, verr := parseRecord(b)
			if verr == nil {
				verr = checkOrder(e, next, seen, line)
			}
			if verr != nil {
				return 0, fmt.Errorf("%s:%d: %w", file, line, verr)
			}
			if err := fn(line, e); err != nil {
				return 0, err
			}
		}
		if errors.Is(err, io.EOF) {
			return len(next), nil
		}
	}
}

func parseRecord(b []byte) (events.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	// An unknown field is data this binary would drop without a word.
	dec.DisallowUnknownFields()
	var rec record
	if err := dec.Decode(&rec); err != nil {
		return events.Event{}, fmt.Errorf("not an export record: %w", err)
	}
	if dec.More() {
		return events.Event{}, errors.New("more than one JSON value on the line")
	}
	switch {
	case rec.ID == uuid.Nil:
		return events.Event{}, errors.New(`"id" is missing`)
	case rec.Type == "":
		return events.Event{}, errors.New(`"type" is missing`)
	case len(rec.Data) == 0:
		return events.Event{}, errors.New(`"data" is missing`)
	case rec.Recorded.IsZero():
		return events.Event{}, errors.New(`"recorded" is missing`)
	}
	if err := events.ValidateStreamName(rec.Stream); err != nil {
		return events.Event{}, err
	}
	return events.Event{
		ID:       rec.ID,
		Stream:   rec.Stream,
		Type:     rec.Type,
		Revision: rec.Revision,
		Recorded: rec.Recorded,
		Data:     rec.Data,
		Metadata: rec.Metadata,
	}, nil
}

func checkOrder(e events.Event, next map[string]uint64, seen map[uuid.UUID]int, line int) error {
	if first, dup := seen[e.ID]; dup {
		return fmt.Errorf("event id %s already appeared on line %d", e.ID, first)
	}
	seen[e.ID] = line
	if want := next[e.Stream]; e.Revision != want {
		return fmt.Errorf("%s@%d: the stream's next revision should be %d (events must come in log order)", e.Stream, e.Revision, want)
	}
	next[e.Stream] = e.Revision + 1
	return nil
}
