package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) events.Store {
		return openTemp(t)
	})
}

// openTemp opens a new log in a directory of its own, closed with the test.
func openTemp(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "events.db"))
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func ev(typ string) events.Proposed {
	return events.Proposed{ID: events.NewID(), Type: typ, Data: json.RawMessage(`{"x":1}`),
		Metadata: events.Metadata{Actor: events.ActorSystem, Visibility: events.System}}
}

func mustAppend(t *testing.T, s events.Store, stream string, exp events.ExpectedRevision, evs ...events.Proposed) events.AppendResult {
	t.Helper()
	r, err := s.Append(ctxT(t), stream, exp, evs...)
	if err != nil {
		t.Fatalf("append to %s expecting %s: %v", stream, exp, err)
	}
	return r
}

func TestEnvelopeCoversEveryMetadataField(t *testing.T) {
	if n := reflect.TypeFor[events.Metadata]().NumField(); n != metaFieldCount {
		t.Fatalf("events.Metadata has %d fields, the codec in envelope.go knows %d: add the new field with a new format byte", n, metaFieldCount)
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	cases := []events.Event{
		{ID: events.NewID(), Stream: "a-1", Type: "t.T", Recorded: time.Unix(0, 1).UTC()},
		{ID: events.NewID(), Stream: "registration-云栖", Type: "conference.RegistrationPlaced", Revision: 1 << 40,
			Recorded: time.Date(2015, 10, 14, 1, 30, 0, 123456789, time.UTC),
			Metadata: events.Metadata{
				Actor: "user-0193", CorrelationID: "corr", CausationID: "cause", RequestID: "req",
				OccurredAt:    time.Date(2015, 10, 14, 9, 30, 0, 123456789, time.FixedZone("CST", 8*3600)),
				SchemaVersion: -3, Visibility: events.Staff, Subject: "杜勇", KeyVersion: 3,
			}},
		{ID: events.NewID(), Stream: "b-2", Type: "t.U", Recorded: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour),
			Metadata: events.Metadata{OccurredAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), SchemaVersion: 1 << 40, RequestID: strings.Repeat("r", 300)}},
	}
	for i, want := range cases {
		tail, err := appendEnvelopeTail(nil, want.ID, want.Stream, want.Type, &want.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		b := appendEnvelope(nil, int64(want.Revision), want.Recorded.UnixNano(), tail)
		var got events.Event
		if err := decodeEnvelope(bytes.Clone(b), &got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !got.Metadata.OccurredAt.Equal(want.Metadata.OccurredAt) || !got.Recorded.Equal(want.Recorded) {
			t.Fatalf("case %d: times %v %v, want %v %v", i, got.Metadata.OccurredAt, got.Recorded, want.Metadata.OccurredAt, want.Recorded)
		}
		_, off1 := got.Metadata.OccurredAt.Zone()
		_, off2 := want.Metadata.OccurredAt.Zone()
		if off1 != off2 {
			t.Fatalf("case %d: zone offset %d, want %d", i, off1, off2)
		}
		got.Metadata.OccurredAt, want.Metadata.OccurredAt = time.Time{}, time.Time{}
		got.Recorded, want.Recorded = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: got %+v, want %+v", i, got, want)
		}
		// Every truncation or extension is refused, never misread.
		for n := range len(b) {
			if err := decodeEnvelope(bytes.Clone(b[:n]), &got); err == nil {
				t.Fatalf("case %d: a record cut to %d of %d bytes decoded", i, n, len(b))
			}
		}
		if err := decodeEnvelope(append(bytes.Clone(b), 0), &got); err == nil {
			t.Fatalf("case %d: a record with a trailing byte decoded", i)
		}
	}
	if err := decodeEnvelope([]byte{3, 0}, new(events.Event)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("a newer format: got %v", err)
	}

	// Logs written before format 2 read on: format 1 is format 2 without
	// the trailing key version.
	want := cases[1]
	want.Metadata.KeyVersion = 0
	tail, _ := appendEnvelopeTail(nil, want.ID, want.Stream, want.Type, &want.Metadata)
	b := appendEnvelope(nil, int64(want.Revision), want.Recorded.UnixNano(), tail)
	b = b[:len(b)-1]
	b[0] = envelopeFormat1
	var got events.Event
	if err := decodeEnvelope(b, &got); err != nil || got.Metadata.Subject != want.Metadata.Subject || got.Metadata.KeyVersion != 0 {
		t.Fatalf("a format 1 envelope: %+v, %v", got.Metadata, err)
	}
}

// TestDedupAcrossReopen: the id index is durable, so the decision table
// holds the same after a restart as within one run.
func TestDedupAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	orig := []events.Proposed{ev("t.A"), ev("t.B")}
	first := mustAppend(t, s, "dedup-1", events.NoStream, orig...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	ctx := ctxT(t)
	r, err := s.Append(ctx, "dedup-1", events.NoStream, orig...)
	if err != nil || r != first {
		t.Fatalf("replay after reopen: %+v, %v; want %+v", r, err, first)
	}
	r, err = s.Append(ctx, "dedup-1", events.Any, orig...)
	if err != nil || r != first {
		t.Fatalf("replay with Any after reopen: %+v, %v; want %+v", r, err, first)
	}
	if _, err := s.Append(ctx, "dedup-2", events.Any, orig[1]); !errors.Is(err, events.ErrDuplicateEventID) {
		t.Fatalf("reuse in another stream after reopen: %v", err)
	}
	if _, err := s.Append(ctx, "dedup-1", events.Exact(0), orig[1], ev("t.C")); err == nil {
		t.Fatal("a partial replay after reopen succeeded")
	}
	got, err := s.ReadStream(ctx, "dedup-1", events.ReadOptions{})
	if err != nil || len(got) != 2 {
		t.Fatalf("stream after replays: %d events, %v", len(got), err)
	}
}

// TestReplaysInOneBatch: retries racing their original land in the same
// group commit; exactly one writes, the others are answered as replays,
// and an id raced into two streams goes to one of them only.
func TestReplaysInOneBatch(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	const n = 24
	same := []events.Proposed{ev("t.A"), ev("t.B")}
	stolen := ev("t.S")
	results := make([]events.AppendResult, n)
	errs := make([]error, n)
	stealErrs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.Append(ctx, "replay-1", events.NoStream, same...)
		})
		wg.Go(func() {
			<-start
			_, stealErrs[i] = s.Append(ctx, fmt.Sprintf("steal-%d", i), events.NoStream, stolen)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("append %d: %+v, %v; want %+v", i, results[i], errs[i], results[0])
		}
	}
	wins := 0
	for i, err := range stealErrs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, events.ErrDuplicateEventID):
			t.Fatalf("steal %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d streams got the same event id", wins)
	}
	all, err := s.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil || len(all) != 3 {
		t.Fatalf("$all has %d events (%v), want 3", len(all), err)
	}
}

// TestGroupCommit: concurrent appends share commits, and each one is
// answered with where it landed.
func TestGroupCommit(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := ctxT(t)
	writers, each := 32, 20
	if testing.Short() {
		writers, each = 16, 5
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	byID := map[uuid.UUID]events.AppendResult{}
	for w := range writers {
		wg.Go(func() {
			exp := events.NoStream
			for range each {
				e := ev("t.G")
				r, err := s.Append(ctx, fmt.Sprintf("group-%d", w), exp, e)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				byID[e.ID] = r
				mu.Unlock()
				exp = events.Exact(r.NextExpected)
			}
		})
	}
	wg.Wait()
	all, err := s.ReadAll(ctx, events.ReadAllOptions{Count: writers * each})
	if err != nil || len(all) != writers*each {
		t.Fatalf("$all: %d events, %v", len(all), err)
	}
	for i, e := range all {
		r := byID[e.ID]
		if r.Position != e.Position || r.NextExpected != e.Revision {
			t.Fatalf("event %s at %s rev %d; its append said %s rev %d", e.ID, e.Position, e.Revision, r.Position, r.NextExpected)
		}
		if e.Position.Commit != uint64(i+1) {
			t.Fatalf("event %d at %s: positions have a gap", i, e.Position)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var batches uint64
	seen := map[string]bool{}
	for _, mf := range mfs {
		seen[mf.GetName()] = true
		if mf.GetName() == "yunqi_eventstore_batch_requests" {
			batches = mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	for _, name := range []string{"yunqi_eventstore_appends_total", "yunqi_eventstore_events_appended_total", "yunqi_eventstore_batch_requests", "yunqi_eventstore_commit_seconds"} {
		if !seen[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
	if batches == 0 || batches >= uint64(writers*each) {
		t.Errorf("%d appends took %d commits: no group commit happened", writers*each, batches)
	}
	t.Logf("%d appends in %d commits", writers*each, batches)

	// A second store may share the registry.
	s2, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{Registerer: reg})
	if err != nil {
		t.Fatalf("second store on one registry: %v", err)
	}
	s2.Close()
}

// TestTwoProcesses: two stores on one file stand in for two processes (the
// server and a CLI command). Each must notice the other's commits: the
// writer's cached stream heads, and live subscriptions.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	a, b := openAt(t, path), openAt(t, path)
	ctx := ctxT(t)

	mustAppend(t, a, "shared-1", events.NoStream, ev("t.A"))
	if r := mustAppend(t, b, "shared-1", events.Exact(0), ev("t.B")); r.NextExpected != 1 || r.Position.Commit != 2 {
		t.Fatalf("second store appended at %+v", r)
	}
	_, err := a.Append(ctx, "shared-1", events.Exact(0), ev("t.A"))
	var wer *events.WrongExpectedRevisionError
	if !errors.As(err, &wer) || wer.Actual.Revision != 1 {
		t.Fatalf("first store with a stale head: %v", err)
	}
	mustAppend(t, a, "shared-1", events.Exact(1), ev("t.A"))
	if err := b.Tombstone(ctx, "shared-1", events.Exact(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, "shared-1", events.Any, ev("t.A")); !errors.As(err, new(*events.StreamDeletedError)) {
		t.Fatalf("append after another store's tombstone: %v", err)
	}

	// A live subscription on b wakes up for an append on a.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan events.Message, 16)
	go func() {
		for m, err := range b.Subscribe(sctx, events.SubscribeOptions{Filter: events.Filter{StreamPrefixes: []string{"live-"}}}) {
			if err != nil {
				close(got)
				return
			}
			got <- m
		}
	}()
	if m := <-got; m.Kind != events.KindCaughtUp {
		t.Fatalf("first message %s, want caught up", m.Kind)
	}
	for i := range 3 {
		e := ev("t.Live")
		start := time.Now()
		mustAppend(t, a, "live-1", events.Any, e)
		select {
		case m := <-got:
			if m.Kind != events.KindEvent || m.Event.ID != e.ID {
				t.Fatalf("got %s %s, want event %s", m.Kind, m.Event.ID, e.ID)
			}
			t.Logf("append %d noticed by the other store after %s", i, time.Since(start).Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Fatal("the other store's subscription did not notice the append")
		}
	}
}

func TestSubscribeSkipsLongFilteredRuns(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	n := subscriptionWindow*2 + 100
	if testing.Short() {
		n = subscriptionWindow + 50
	}
	batch := make([]events.Proposed, 0, 500)
	for i := 0; i < n; i += len(batch) {
		batch = batch[:0]
		for range min(500, n-i) {
			batch = append(batch, ev("other.Thing"))
		}
		mustAppend(t, s, "noise-1", events.Any, batch...)
	}
	want := ev("wanted.Thing")
	mustAppend(t, s, "signal-1", events.NoStream, want)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var checkpoints int
	var last events.Position
	for m, err := range s.Subscribe(sctx, events.SubscribeOptions{Filter: events.Filter{TypePrefixes: []string{"wanted."}}, CheckpointInterval: 1000}) {
		if err != nil {
			if sctx.Err() != nil {
				break
			}
			t.Fatal(err)
		}
		if m.Position.Compare(last) <= 0 && m.Kind != events.KindCaughtUp {
			t.Fatalf("%s at %s after %s", m.Kind, m.Position, last)
		}
		last = m.Position
		switch m.Kind {
		case events.KindCheckpoint:
			checkpoints++
		case events.KindEvent:
			if m.Event.ID != want.ID {
				t.Fatalf("delivered %s", m.Event.Type)
			}
		case events.KindCaughtUp:
			if m.Position.Commit != uint64(n+1) {
				t.Fatalf("caught up at %s, want %d", m.Position, n+1)
			}
			cancel()
		}
	}
	if checkpoints != n/1000 {
		t.Fatalf("%d checkpoints over %d skipped events at interval 1000", checkpoints, n)
	}
}

// TestFilterMatchesGo: the SQL filter selects exactly what Filter.Match
// does, bytes and all.
func TestFilterMatchesGo(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	streams := []string{"a-1", "ab-1", "A-1", "云栖-1", "云-1", "b%_-1", "b-%"}
	types := []string{"conf.Placed", "conf.placed", "confx.P", "云.T", "b%.x"}
	for i, st := range streams {
		for _, ty := range types {
			mustAppend(t, s, fmt.Sprintf("%s%d", st, i), events.Any, ev(ty))
		}
	}
	all, err := s.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	filters := []events.Filter{
		{StreamPrefixes: []string{"a-"}},
		{StreamPrefixes: []string{"a", "云"}},
		{StreamPrefixes: []string{"云栖"}},
		{StreamPrefixes: []string{"\xe4\xba"}}, // a byte prefix of 云
		{StreamPrefixes: []string{"b%"}},
		{TypePrefixes: []string{"conf."}},
		{TypePrefixes: []string{"云", "b%"}},
		{},
	}
	for _, f := range filters {
		var want []uuid.UUID
		for _, e := range all {
			if f.Match(e.Stream, e.Type) {
				want = append(want, e.ID)
			}
		}
		sctx, cancel := context.WithCancel(ctx)
		var got []uuid.UUID
		for m, err := range s.Subscribe(sctx, events.SubscribeOptions{Filter: f}) {
			if err != nil {
				break
			}
			if m.Kind == events.KindEvent {
				got = append(got, m.Event.ID)
			}
			if m.Kind == events.KindCaughtUp {
				cancel()
			}
		}
		cancel()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("filter %+v: %d events, Filter.Match selects %d", f, len(got), len(want))
		}
	}
}

func TestBackupWhileWriting(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	for i := range 50 {
		mustAppend(t, s, fmt.Sprintf("pre-%d", i%5), events.Any, ev("t.Pre"))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Append(ctx, fmt.Sprintf("during-%d", i%3), events.Any, ev("t.During")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dest := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(ctx, dest)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dest); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if err := s.Backup(ctx, filepath.Join(t.TempDir(), "missing", "backup.db")); err == nil {
		t.Fatal("backup into a missing directory succeeded")
	}
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("backup file has mode %v; it must be private to its owner", fi.Mode().Perm())
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".*partial*"))
	if len(matches) > 0 {
		t.Fatalf("backup left %v behind", matches)
	}

	b := openAt(t, dest)
	copied, err := b.ReadAll(ctx, events.ReadAllOptions{Count: 100000})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := s.ReadAll(ctx, events.ReadAllOptions{Count: len(copied)})
	if err != nil {
		t.Fatal(err)
	}
	if len(copied) < 50 || !reflect.DeepEqual(copied, orig) {
		t.Fatalf("the backup (%d events) is not a prefix of the log", len(copied))
	}
	// The copy is a working log.
	mustAppend(t, b, "after-backup", events.NoStream, ev("t.After"))
}

func TestRestore(t *testing.T) {
	src := openTemp(t)
	ctx := ctxT(t)
	for i := range 30 {
		e := ev(fmt.Sprintf("t.E%d", i%4))
		e.Metadata.OccurredAt = time.Date(2015, 10, 14, 9, 30, i, 0, time.UTC)
		mustAppend(t, src, fmt.Sprintf("s-%d", i%7), events.Any, e)
	}
	exported, err := src.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}

	dst := openTemp(t)
	if err := dst.Restore(ctx, exported[:20]); err != nil {
		t.Fatal(err)
	}
	// An interrupted import run again from the start skips what is there.
	if err := dst.Restore(ctx, exported); err != nil {
		t.Fatalf("restore again: %v", err)
	}
	got, err := dst.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exported) {
		t.Fatal("restored log differs from the exported one")
	}
	// All or nothing: a bad event anywhere leaves the log as it was.
	bad := []events.Event{
		{ID: events.NewID(), Stream: "s-new", Type: "t.X", Revision: 0, Recorded: time.Now(), Data: []byte(`{}`)},
		{ID: events.NewID(), Stream: "s-0", Type: "t.X", Revision: 99, Recorded: time.Now(), Data: []byte(`{}`)},
	}
	if err := dst.Restore(ctx, bad); err == nil || !strings.Contains(err.Error(), "revision") {
		t.Fatalf("restore with a gap: %v", err)
	}
	if _, err := dst.ReadStream(ctx, "s-new", events.ReadOptions{}); !errors.Is(err, events.ErrStreamNotFound) {
		t.Fatalf("a refused restore left a stream behind: %v", err)
	}
	reused := []events.Event{{ID: exported[0].ID, Stream: "s-other", Type: "t.X", Recorded: time.Now(), Data: []byte(`{}`)}}
	if err := dst.Restore(ctx, reused); !errors.Is(err, events.ErrDuplicateEventID) {
		t.Fatalf("restore of a used id: %v", err)
	}
	if err := dst.Restore(ctx, []events.Event{{ID: events.NewID(), Stream: "s-z", Type: "t.X", Data: []byte(`{}`)}}); !errors.Is(err, events.ErrInvalidEvent) {
		t.Fatalf("restore without a recorded time: %v", err)
	}
	// The writer's state is right after the refusals.
	mustAppend(t, dst, "s-new", events.NoStream, ev("t.Y"))
	mustAppend(t, dst, "s-0", events.Exact(uint64(countStream(got, "s-0"))-1), ev("t.Y"))
}

func countStream(evs []events.Event, stream string) int {
	n := 0
	for _, e := range evs {
		if e.Stream == stream {
			n++
		}
	}
	return n
}

func TestClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	mustAppend(t, s, "c-1", events.NoStream, ev("t.A"))
	ended := make(chan error, 1)
	caught := make(chan struct{})
	go func() {
		for m, err := range s.Subscribe(ctx, events.SubscribeOptions{}) {
			if m.Kind == events.KindCaughtUp {
				close(caught)
			}
			if err != nil {
				ended <- err
				return
			}
		}
		ended <- nil
	}()
	<-caught
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := <-ended; !errors.Is(err, ErrClosed) {
		t.Fatalf("subscription ended with %v, want ErrClosed", err)
	}
	if _, err := s.Append(ctx, "c-1", events.Any, ev("t.A")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := s.ReadAll(ctx, events.ReadAllOptions{}); err == nil {
		t.Fatal("read after close succeeded")
	}
}

func TestCancelledAppend(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, "x-1", events.Any, ev("t.A")); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with a cancelled context: %v", err)
	}
	if _, err := s.ReadStream(context.Background(), "x-1", events.ReadOptions{}); !errors.Is(err, events.ErrStreamNotFound) {
		t.Fatalf("a cancelled append was written: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sqliteDB := func(name string, stmts ...string) string {
		p := filepath.Join(dir, name)
		db, err := sql.Open("sqlite", p)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	newer := filepath.Join(dir, "newer.db")
	s, err := Open(newer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version=%d", schemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	file := write("plain.txt", []byte("not a directory"))
	cases := []struct {
		name, path, want string
	}{
		{"empty path", "", "no event log path"},
		{"parent is a file", filepath.Join(file, "events.db"), "is not a directory"},
		{"path is a directory", dir, "is a directory"},
		{"text file", write("notes.db", []byte("hello, this is not a database at all")), "not a Yunqi event log"},
		{"other application", sqliteDB("other.db", "CREATE TABLE t(x)"), "not a Yunqi event log"},
		{"newer schema", newer, "newer Yunqi"},
		{"development layout", sqliteDB("dev.db", fmt.Sprintf("PRAGMA application_id=%d", applicationID), "PRAGMA user_version=1", "CREATE TABLE events(pos INTEGER PRIMARY KEY, meta BLOB)"), "development build"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(c.path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			t.Log(err)
		})
	}
	t.Run("corrupt", func(t *testing.T) {
		p := filepath.Join(dir, "corrupt.db")
		s, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			if _, err := s.Append(context.Background(), fmt.Sprintf("c-%d", i), events.NoStream, ev("t.A")); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 4096; i < len(data); i++ {
			data[i] ^= 0x5a // every page but the header
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err = Open(p, Options{})
		if err == nil {
			_, err = s.ReadAll(context.Background(), events.ReadAllOptions{})
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("corrupt log: %v", err)
		}
		t.Log(err)
	})
	t.Run("directory not writable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root may write anywhere; permissions cannot be tested")
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		_, err := Open(filepath.Join(ro, "events.db"), Options{})
		if err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Fatalf("read-only directory: %v", err)
		}
	})
	t.Run("creates its directory", func(t *testing.T) {
		s, err := Open(filepath.Join(dir, "new", "sub", "events.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
}

func TestNewLogIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := openAt(t, path)
	mustAppend(t, s, "p-1", events.NoStream, ev("t.A"))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; the log must be private to its owner", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// TestSubscribeEdges: an unfiltered subscription has nothing to skip and
// so no checkpoints; one that starts past the head waits for the log to
// get there.
func TestSubscribeEdges(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	for i := range 100 {
		mustAppend(t, s, fmt.Sprintf("e-%d", i%3), events.Any, ev("t.E"))
	}
	sctx, cancel := context.WithCancel(ctx)
	n := 0
	for m, err := range s.Subscribe(sctx, events.SubscribeOptions{CheckpointInterval: 1}) {
		if err != nil {
			break
		}
		switch m.Kind {
		case events.KindCheckpoint:
			t.Fatalf("checkpoint at %s in an unfiltered subscription", m.Position)
		case events.KindEvent:
			n++
		case events.KindCaughtUp:
			cancel()
		}
	}
	cancel()
	if n != 100 {
		t.Fatalf("%d events, want 100", n)
	}

	sctx, cancel = context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan events.Message, 8)
	go func() {
		defer close(msgs)
		for m, err := range s.Subscribe(sctx, events.SubscribeOptions{After: events.Position{Commit: 102, Prepare: 102}}) {
			if err != nil {
				return
			}
			msgs <- m
		}
	}()
	if m := <-msgs; m.Kind != events.KindCaughtUp || m.Position.Commit != 100 {
		t.Fatalf("first message %s at %s, want caught up at the head, 100", m.Kind, m.Position)
	}
	var last events.AppendResult
	for range 3 {
		last = mustAppend(t, s, "e-late", events.Any, ev("t.Late"))
	}
	if m := <-msgs; m.Kind != events.KindEvent || m.Position != last.Position {
		t.Fatalf("got %s at %s, want the event at %s (the first after 102)", m.Kind, m.Position, last.Position)
	}
}

// A catch-up longer than one page must go on from the end of the page, not
// start the log again.
func TestSubscribeBeyondOnePage(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	n := subscriptionPage + 10
	for i := 0; i < n; i += 100 {
		batch := make([]events.Proposed, min(100, n-i))
		for j := range batch {
			batch[j] = events.Proposed{ID: events.NewID(), Type: "Noted", Data: []byte(`{}`)}
		}
		if _, err := s.Append(ctx, "page-1", events.Any, batch...); err != nil {
			t.Fatal(err)
		}
	}
	var last events.Position
	got := 0
	for m, err := range s.Subscribe(ctx, events.SubscribeOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind == events.KindCaughtUp {
			break
		}
		if m.Kind == events.KindEvent {
			if m.Position.Compare(last) <= 0 {
				t.Fatalf("event at %s after one at %s", m.Position, last)
			}
			last = m.Position
			got++
		}
	}
	if got != n {
		t.Fatalf("caught up after %d events, want %d", got, n)
	}
}
