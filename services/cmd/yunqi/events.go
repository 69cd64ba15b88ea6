package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/config"
)

func eventsCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runGroup(ctx, "events", []command{
		{"tail", "follow the log, one line per event", tailCmd},
		{"export", "write the log as JSON Lines", exportCmd},
		{"import", "load a JSON Lines export into the log", importCmd},
		{"migrate-personal", "seal the clear-text personal data of a log written before sealing", migratePersonalCmd},
	}, args, getenv, stdout)
}

const tailAbout = `
Prints events as they are appended, one line each:
time, position, stream@revision, type, actor and the start of the data.
By default it first shows the last -n events; --from-start shows the whole
log first. It runs until Ctrl-C, also beside a running 'yunqi serve'.`

func tailCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("events tail")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	var eventstore string
	eventStoreFlag(set, &eventstore)
	n := fs.Int("n", 10, "show the last `N` events before following (0: only new ones)")
	fromStart := fs.Bool("from-start", false, "show the whole log before following")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "events tail [flags]", tailAbout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("events tail takes no arguments, got %q", fs.Args())
	}
	if *n < 0 {
		return fmt.Errorf("events tail: -n %d: want 0 or more", *n)
	}
	logger := c.logger()
	store, err := openEventLog(ctx, &c, eventstore, false, logger, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	return tail(ctx, store, stdout, *fromStart, *n)
}

// tail prints the last n events (or the whole log), then follows it until
// ctx ends. The last n are read backwards from the end, so a long log costs
// no more to tail than a short one.
func tail(ctx context.Context, store events.Store, w io.Writer, fromStart bool, n int) error {
	after := events.Start
	if !fromStart {
		last, err := store.ReadAll(ctx, events.ReadAllOptions{Backwards: true, Count: max(n, 1)})
		if err != nil {
			return fmt.Errorf("read the end of the log: %w", err)
		}
		if len(last) > 0 {
			after = last[0].Position
		}
		for i := min(n, len(last)) - 1; i >= 0; i-- {
			if _, err := io.WriteString(w, formatEvent(last[i])); err != nil {
				return err
			}
		}
	}
	for msg, err := range store.Subscribe(ctx, events.SubscribeOptions{After: after}) {
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C is how tail ends
			}
			return fmt.Errorf("follow the log: %w", err)
		}
		if msg.Kind != events.KindEvent {
			continue
		}
		if _, err := io.WriteString(w, formatEvent(msg.Event)); err != nil {
			return err
		}
	}
	return nil
}

// shortData is how many characters of the payload a tail line shows.
const shortData = 80

// formatEvent renders one tail line.
func formatEvent(e events.Event) string {
	actor := e.Metadata.Actor
	if actor == "" {
		actor = "-"
	}
	data := strings.Join(strings.Fields(string(e.Data)), " ")
	if utf8.RuneCountInString(data) > shortData {
		data = string([]rune(data)[:shortData-1]) + "…"
	}
	return fmt.Sprintf("%s  %s  %s@%d  %s  %s  %s\n",
		e.Recorded.UTC().Format("2006-01-02T15:04:05.000Z"), e.Position, e.Stream, e.Revision, e.Type, actor, data)
}

// record is one line of an export. Its field names are a file format that
// older exports keep using, so they only ever gain optional fields.
type record struct {
	ID       uuid.UUID       `json:"id"`
	Stream   string          `json:"stream"`
	Type     string          `json:"type"`
	Revision uint64          `json:"revision"`
	Position events.Position `json:"position"` // where it was in the source log; import assigns new ones
	Recorded time.Time       `json:"recorded"` // RFC 3339 with nanoseconds, UTC
	Data     json.RawMessage `json:"data"`
	Metadata events.Metadata `json:"metadata"`
}

func toRecord(e events.Event) record {
	return record{
		ID:       e.ID,
		Stream:   e.Stream,
		Type:     e.Type,
		Revision: e.Revision,
		Position: e.Position,
		Recorded: e.Recorded.UTC(),
		Data:     e.Data,
		Metadata: e.Metadata,
	}
}
