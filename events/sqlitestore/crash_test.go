package sqlitestore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// crashChildEnv switches the test binary into the child of TestCrash: it
// appends until it is killed, printing every acknowledged event.
const crashChildEnv = "YUNQI_SQLITESTORE_CRASH_CHILD"

// TestCrash kills a process that appends from several goroutines at random
// moments with SIGKILL, then checks that every append it acknowledged is in
// the log, and that the log is whole: nothing torn or duplicated, revisions
// gap-free per stream, positions strictly ordered.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	rounds := 20
	if testing.Short() {
		rounds = 3
	}
	path := filepath.Join(t.TempDir(), "events.db")
	acked := map[uuid.UUID]ack{}
	for round := range rounds {
		n := crashRound(t, path, round, acked)
		t.Logf("round %d: %d events acknowledged before the kill", round, n)
		checkAfterCrash(t, path, acked)
	}
}

type ack struct {
	stream   string
	revision uint64
	position uint64
}

func crashRound(t *testing.T, path string, round int, acked map[uuid.UUID]ack) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, "YUNQI_CRASH_ROUND="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	ready := make(chan struct{})
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		once := sync.OnceFunc(func() { close(ready) })
		for lines.Scan() {
			line := lines.Text()
			if line == "ready" {
				once()
				continue
			}
			mu.Lock()
			got = append(got, line)
			mu.Unlock()
		}
		once()
	}()
	select {
	case <-ready:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("the child did not open the log")
	}
	// Kill at a random moment while appends are in flight.
	time.Sleep(time.Duration(20+rand.IntN(400)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child ended by itself before it was killed: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, line := range got {
		// Only whole lines count: a line cut by the kill has no trailing
		// field and fails to parse.
		f := strings.Fields(line)
		if len(f) != 5 || f[0] != "ack" {
			continue
		}
		id, err := uuid.Parse(f[1])
		if err != nil {
			continue
		}
		rev, err1 := strconv.ParseUint(f[3], 10, 64)
		pos, err2 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		acked[id] = ack{stream: f[2], revision: rev, position: pos}
	}
	return len(got)
}

func checkAfterCrash(t *testing.T, path string, acked map[uuid.UUID]ack) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	seen := map[uuid.UUID]events.Event{}
	next := map[string]uint64{}
	var last uint64
	after := events.Start
	for {
		page, err := s.ReadAll(ctx, events.ReadAllOptions{After: after, Count: 5000})
		if err != nil {
			t.Fatalf("read the log after the kill: %v", err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Position.Commit != last+1 || e.Position.Prepare != e.Position.Commit {
				t.Fatalf("event %s at %s follows position %d", e.ID, e.Position, last)
			}
			last = e.Position.Commit
			if _, dup := seen[e.ID]; dup {
				t.Fatalf("event %s is in the log twice", e.ID)
			}
			seen[e.ID] = e
			if e.Revision != next[e.Stream] {
				t.Fatalf("stream %s: revision %d follows %d", e.Stream, e.Revision, next[e.Stream])
			}
			next[e.Stream]++
			var body struct {
				ID     string `json:"id"`
				Stream string `json:"stream"`
				Pad    string `json:"pad"`
			}
			if err := json.Unmarshal(e.Data, &body); err != nil || body.ID != e.ID.String() || body.Stream != e.Stream || body.Pad != crashPad {
				t.Fatalf("event %s is torn: data %q (%v)", e.ID, e.Data, err)
			}
			if e.Metadata.Actor != "crash-test" || e.Metadata.Visibility != events.System {
				t.Fatalf("event %s: metadata %+v", e.ID, e.Metadata)
			}
		}
		after = page[len(page)-1].Position
	}
	for id, a := range acked {
		e, ok := seen[id]
		if !ok {
			t.Fatalf("acknowledged event %s (%s rev %d) is missing after the kill", id, a.stream, a.revision)
		}
		if e.Stream != a.stream || e.Revision != a.revision || e.Position.Commit != a.position {
			t.Fatalf("event %s is %s rev %d at %s; it was acknowledged as %s rev %d at %d", id, e.Stream, e.Revision, e.Position, a.stream, a.revision, a.position)
		}
	}
	// The recovered log takes appends at once, with the right heads.
	for stream, n := range next {
		if _, err := s.Append(ctx, stream, events.Exact(n-1), crashEvent(stream)); err != nil {
			t.Fatalf("append to %s after the kill: %v", stream, err)
		}
		break
	}
}

const crashPad = "云栖 yunqi: padding so that events span pages and commits span many frames"

func crashEvent(stream string) events.Proposed {
	id := events.NewID()
	data, _ := json.Marshal(map[string]string{"id": id.String(), "stream": stream, "pad": crashPad})
	return events.Proposed{ID: id, Type: "crash.Appended", Data: data,
		Metadata: events.Metadata{Actor: "crash-test", Visibility: events.System}}
}

// crashChild appends from several goroutines until it is killed.
func crashChild(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	ctx := context.Background()
	fmt.Println("ready")
	round := os.Getenv("YUNQI_CRASH_ROUND")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			// Half the writers keep one stream each with exact revisions;
			// the others spread events over new streams with Any.
			stream := fmt.Sprintf("crash-%d", g)
			exp := events.Any
			if g%2 == 0 {
				evs, err := s.ReadStream(ctx, stream, events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
				switch {
				case err == nil:
					exp = events.Exact(evs[0].Revision)
				default:
					exp = events.NoStream
				}
			}
			for i := 0; ; i++ {
				st := stream
				if g%2 == 1 {
					st = fmt.Sprintf("crash-%d-r%s-%d", g, round, i/3)
				}
				batch := make([]events.Proposed, 1+i%3)
				for j := range batch {
					batch[j] = crashEvent(st)
				}
				r, err := s.Append(ctx, st, exp, batch...)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child: append:", err)
					os.Exit(2)
				}
				var b strings.Builder
				for j, e := range batch {
					rev := r.NextExpected - uint64(len(batch)-1-j)
					pos := r.Position.Commit - uint64(len(batch)-1-j)
					fmt.Fprintf(&b, "ack %s %s %d %d\n", e.ID, st, rev, pos)
				}
				out.Lock()
				os.Stdout.WriteString(b.String())
				out.Unlock()
				if g%2 == 0 {
					exp = events.Exact(r.NextExpected)
				}
			}
		})
	}
	wg.Wait()
}
