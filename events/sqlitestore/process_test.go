package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// appendChildEnv switches the test binary into a process that appends a few
// events to the log at its path and exits, as `yunqi events import` or
// `yunqi users grant` would while the server runs.
const appendChildEnv = "YUNQI_SQLITESTORE_APPEND_CHILD"

// TestOtherProcessWakesSubscription: a live subscription in this process
// receives what another process appends, in order, without any append here.
func TestOtherProcessWakesSubscription(t *testing.T) {
	if path := os.Getenv(appendChildEnv); path != "" {
		s, err := Open(path, Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for i := range 5 {
			if _, err := s.Append(context.Background(), "cli-1", events.Any, ev(fmt.Sprintf("cli.Appended%d", i))); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	mustAppend(t, s, "server-1", events.NoStream, ev("server.Started"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	msgs := make(chan events.Message, 16)
	go func() {
		defer close(msgs)
		for m, err := range s.Subscribe(ctx, events.SubscribeOptions{Filter: events.Filter{StreamPrefixes: []string{"cli-"}}}) {
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	if m := <-msgs; m.Kind != events.KindCaughtUp {
		t.Fatalf("first message %s, want caught up", m.Kind)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOtherProcessWakesSubscription$")
	cmd.Env = append(os.Environ(), appendChildEnv+"="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the other process failed: %v\n%s", err, out)
	}
	for i := range 5 {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("the subscription ended")
			}
			if m.Kind != events.KindEvent || m.Event.Type != fmt.Sprintf("cli.Appended%d", i) || m.Event.Revision != uint64(i) {
				t.Fatalf("message %d: %s %s rev %d", i, m.Kind, m.Event.Type, m.Event.Revision)
			}
		case <-ctx.Done():
			t.Fatalf("the subscription saw %d of the other process's 5 events", i)
		}
	}
	// This process's writer sees the other's events too.
	mustAppend(t, s, "cli-1", events.Exact(4), ev("server.Noted"))
}
