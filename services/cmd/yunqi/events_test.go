package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/logging"
)

func TestExportImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	seeded := seed(t, src, 25)

	first := filepath.Join(dir, "first.jsonl")
	out, err := runCmd(t, "events", "export", "--data", src, "--to", first)
	if err != nil || !strings.Contains(out, "exported 25 events to "+first) {
		t.Fatalf("export: %q, %v", out, err)
	}
	exported, _ := os.ReadFile(first)

	// Standard output carries the same bytes as --to.
	if toStdout, err := runCmd(t, "events", "export", "--data", src); err != nil || toStdout != string(exported) {
		t.Errorf("export to stdout differs from --to (err %v)", err)
	}

	// The format: one object per event, in log order, with every field.
	lines := strings.Split(strings.TrimSuffix(string(exported), "\n"), "\n")
	if len(lines) != 25 {
		t.Fatalf("export has %d lines, want 25", len(lines))
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "stream", "type", "revision", "position", "recorded", "data", "metadata"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("record lacks %q: %s", k, lines[0])
		}
	}
	if want := `"id":"` + seeded[0].ID.String() + `"`; !strings.Contains(lines[0], want) {
		t.Errorf("first line %s lacks %s", lines[0], want)
	}
	if !strings.Contains(lines[0], `"note":"<b>&</b>`) || !strings.Contains(lines[0], "开发者 0") {
		t.Errorf("payload not exported as stored: %s", lines[0])
	}
	var recorded string
	json.Unmarshal(rec["recorded"], &recorded)
	if _, err := time.Parse(time.RFC3339Nano, recorded); err != nil || !strings.HasSuffix(recorded, "Z") {
		t.Errorf("recorded %q is not RFC 3339 in UTC", recorded)
	}

	// Import into a fresh data dir, export again: the same bytes.
	dst := filepath.Join(dir, "dst")
	out, err = runCmd(t, "events", "import", "--data", dst, first)
	if err != nil || !strings.Contains(out, "imported 25 events") || !strings.Contains(out, "(4 streams in the file); 0 were already") {
		t.Fatalf("import: %q, %v", out, err)
	}
	second := filepath.Join(dir, "second.jsonl")
	if _, err := runCmd(t, "events", "export", "--data", dst, "--to", second); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(second)
	if !bytes.Equal(exported, again) {
		t.Errorf("export → import → export changed the log:\nfirst:  %.300s\nsecond: %.300s", exported, again)
	}

	// Importing the same file again adds nothing.
	out, err = runCmd(t, "events", "import", "--data", dst, first)
	if err != nil || !strings.Contains(out, "imported 0 events") || !strings.Contains(out, "25 were already in the log") {
		t.Errorf("re-import: %q, %v", out, err)
	}
}

func TestImportResumesAndRefuses(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	seed(t, src, 10)
	full := filepath.Join(dir, "full.jsonl")
	if _, err := runCmd(t, "events", "export", "--data", src, "--to", full); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(full)
	lines := strings.SplitAfter(string(b), "\n")
	head := filepath.Join(dir, "head.jsonl")
	os.WriteFile(head, []byte(strings.Join(lines[:4], "")), 0o600)

	// An interrupted import (the first 4 events) resumes with the rest.
	dst := filepath.Join(dir, "dst")
	if _, err := runCmd(t, "events", "import", "--data", dst, head); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "events", "import", "--data", dst, full)
	if err != nil || !strings.Contains(out, "imported 6 events") || !strings.Contains(out, "4 were already") {
		t.Errorf("resume: %q, %v", out, err)
	}

	// A log with more events than the file is refused.
	if _, err := runCmd(t, "events", "import", "--data", dst, head); err == nil || !strings.Contains(err.Error(), "more events than") {
		t.Errorf("importing a shorter file into a longer log: %v", err)
	}

	// A log with other events is refused, and stays as it was.
	other := filepath.Join(dir, "other")
	seed(t, other, 3)
	before, _ := runCmd(t, "events", "export", "--data", other)
	_, err = runCmd(t, "events", "import", "--data", other, full)
	if err == nil || !strings.Contains(err.Error(), full+":1: the event log is not empty") {
		t.Errorf("import into a different log: %v", err)
	}
	if after, _ := runCmd(t, "events", "export", "--data", other); after != before {
		t.Error("a refused import changed the log")
	}
}

func TestImportMalformed(t *testing.T) {
	dir := t.TempDir()
	seed(t, filepath.Join(dir, "src"), 3)
	good, err := runCmd(t, "events", "export", "--data", filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(good, "\n")
	line2 := lines[1]
	for _, tc := range []struct {
		name, third, want string
	}{
		{"not json", "{oops\n", ":4: not an export record"},
		{"unknown field", strings.Replace(line2, `"stream"`, `"extra":1,"stream"`, 1), `:4: not an export record: json: unknown field "extra"`},
		{"duplicate id", line2, ":4: event id"},
		{"bad stream", strings.Replace(lines[2], `"stream":"registration-002"`, `"stream":"$all"`, 1), ":4: invalid event"},
		{"revision gap", strings.Replace(lines[2], `"revision":0`, `"revision":5`, 1), ":4: registration-002@5: the stream's next revision should be 0"},
		{"no data", strings.Replace(lines[2], `"data":`, `"dat":`, 1), ":4: not an export record"},
		{"two values", strings.TrimSuffix(lines[2], "\n") + " {}\n", ":4: more than one JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The blank second line is allowed, and still counted.
			file := filepath.Join(t.TempDir(), "bad.jsonl")
			os.WriteFile(file, []byte(lines[0]+"\n"+line2+tc.third), 0o600)
			data := filepath.Join(t.TempDir(), "data")
			_, err := runCmd(t, "events", "import", "--data", data, file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(data, "events.db")); err == nil {
				t.Error("a rejected import created an event log")
			}
		})
	}
	if _, err := runCmd(t, "events", "import", "--data", t.TempDir(), filepath.Join(dir, "missing.jsonl")); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

// appendOnly hides the store's Restore, like a backend that cannot set
// recorded times.
type appendOnly struct{ events.Store }

func TestImportWithoutRestorer(t *testing.T) {
	dir := t.TempDir()
	seeded := seed(t, filepath.Join(dir, "src"), 12)
	file := filepath.Join(dir, "x.jsonl")
	if _, err := runCmd(t, "events", "export", "--data", filepath.Join(dir, "src"), "--to", file); err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(filepath.Join(dir, "dst.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	res, err := importEvents(t.Context(), appendOnly{store}, file, logging.Discard())
	if err != nil || res.imported != 12 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	got, err := store.ReadAll(t.Context(), events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		w := seeded[i]
		if e.ID != w.ID || e.Stream != w.Stream || e.Revision != w.Revision || string(e.Data) != string(w.Data) || e.Metadata != w.Metadata {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
	}
}

func TestExportIsAtomic(t *testing.T) {
	dir := t.TempDir()
	seed(t, filepath.Join(dir, "src"), 2)
	target := filepath.Join(dir, "missing-dir", "x.jsonl")
	if _, err := runCmd(t, "events", "export", "--data", filepath.Join(dir, "src"), "--to", target); err == nil {
		t.Error("export into a missing directory succeeded")
	}
	err := writeAtomically(filepath.Join(dir, "y.jsonl"), func(w io.Writer) error {
		w.Write([]byte("half"))
		return fmt.Errorf("disk full")
	})
	if err == nil {
		t.Fatal("failed write reported success")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "src" {
			t.Errorf("failed export left %s behind", e.Name())
		}
	}
}

func TestTail(t *testing.T) {
	data := t.TempDir()
	seed(t, data, 15)
	ctx, cancel := context.WithCancel(t.Context())
	var out output
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"events", "tail", "--data", data, "-n", "3"}, quietEnv(), &out) }()

	line := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  \S+  registration-\d{3}@\d+  conference\.RegistrationPlaced  user-%d  \{"edition":"yunqi2013","name":"开发者 %d".*\n`
	out.waitFor(t, regexp.MustCompile(fmt.Sprintf(line, 14, 14)))
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Errorf("tail -n 3 printed %d lines:\n%s", n, out.String())
	}
	if !regexp.MustCompile("^" + fmt.Sprintf(line, 12, 12)).MatchString(out.String()) {
		t.Errorf("first line is not event 12:\n%s", out.String())
	}

	// A write from another process (here another store handle) shows up.
	seed(t, data, 1)
	out.waitFor(t, regexp.MustCompile(fmt.Sprintf(line, 0, 0)+`$`))

	cancel()
	if err := <-done; err != nil {
		t.Errorf("tail after Ctrl-C: %v", err)
	}

	out = output{}
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	go func() { done <- run(ctx, []string{"events", "tail", "--data", data, "--from-start"}, quietEnv(), &out) }()
	out.waitFor(t, regexp.MustCompile(`(?s)(registration.*){16}`))
	cancel()
	<-done
}

func TestFormatEventShortensData(t *testing.T) {
	e := events.Event{
		Stream: "post-1", Type: "blog.PostImported", Revision: 2,
		Position: events.Position{Commit: 7, Prepare: 7},
		Recorded: time.Date(2014, 5, 1, 8, 0, 0, 0, time.UTC),
		Data:     json.RawMessage(`{"title":"` + strings.Repeat("进步", 100) + `"}`),
	}
	got := formatEvent(e)
	want := `2014-05-01T08:00:00.000Z  7/7  post-1@2  blog.PostImported  -  {"title":"进步`
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "…\n") {
		t.Errorf("line = %q", got)
	}
	if n := len([]rune(got[strings.Index(got, "{"):])); n != shortData+1 {
		t.Errorf("data part has %d runes, want %d and a newline", n, shortData)
	}
}

func TestBackupWhileServing(t *testing.T) {
	data := t.TempDir()
	seed(t, data, 5)
	base, stop := serve(t, data)
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatal("server not up")
	}
	// Another writer keeps appending during the backup.
	writer, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	writing, stopWriting := context.WithCancel(t.Context())
	wrote := make(chan error, 1)
	go func() {
		for n := 0; writing.Err() == nil && n < 200; n++ {
			_, err := writer.Append(writing, "contest-1", events.Any, events.Proposed{ID: events.NewID(), Type: "contest.Tick", Data: json.RawMessage(`{}`)})
			if err != nil && writing.Err() == nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()

	dest := filepath.Join(t.TempDir(), "events-backup.db")
	out, err := runCmd(t, "backup", "--data", data, "--to", dest)
	stopWriting()
	if werr := <-wrote; werr != nil {
		t.Errorf("append beside the backup: %v", werr)
	}
	if err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %q, %v", out, err)
	}
	copy, err := sqlitestore.Open(dest, sqlitestore.Options{})
	if err != nil {
		t.Fatalf("the backup does not open as an event log: %v", err)
	}
	evs, err := copy.ReadAll(t.Context(), events.ReadAllOptions{Count: 1000})
	copy.Close()
	if err != nil || len(evs) < 5 {
		t.Errorf("backup holds %d events (%v), want at least the 5 seeded", len(evs), err)
	}

	if _, err := runCmd(t, "backup", "--data", data, "--to", dest); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second backup to the same file: %v", err)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}
