package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// These tests drive the writer one batch at a time, so that what shares a
// group commit is decided by the test and not by the scheduler.

func newTestWriter(t *testing.T) (*Store, *writer) {
	t.Helper()
	s, w, err := open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.disconnect()
		s.rdb.Close()
		s.wdb.Close()
	})
	return s, w
}

func appendReq(t *testing.T, stream string, exp events.ExpectedRevision, evs ...events.Proposed) *request {
	t.Helper()
	if _, err := events.ValidateAppend(stream, evs); err != nil {
		t.Fatal(err)
	}
	tails, err := encodeTails(len(evs), func(i int) (uuid.UUID, string, string, *events.Metadata) {
		return evs[i].ID, stream, evs[i].Type, &evs[i].Metadata
	})
	if err != nil {
		t.Fatal(err)
	}
	return &request{kind: kindAppend, ctx: context.Background(), stream: stream, expected: exp, events: evs, tails: tails, nevents: len(evs), done: make(chan struct{})}
}

func deleteReq(kind reqKind, stream string, exp events.ExpectedRevision) *request {
	return &request{kind: kind, ctx: context.Background(), stream: stream, expected: exp, done: make(chan struct{})}
}

func evs(n int) []events.Proposed {
	out := make([]events.Proposed, n)
	for i := range out {
		out[i] = ev("t.W")
	}
	return out
}

// checkLog reads the whole log and checks its positions are 1, 2, 3, …
func checkLog(t *testing.T, s *Store) []events.Event {
	t.Helper()
	all, err := s.ReadAll(context.Background(), events.ReadAllOptions{Count: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if e.Position.Commit != uint64(i+1) {
			t.Fatalf("event %d (%s rev %d) is at %s, want %d", i, e.Stream, e.Revision, e.Position, i+1)
		}
	}
	return all
}

func wantOK(t *testing.T, name string, r *request, rev, pos uint64) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", name, r.err)
	}
	if r.result.NextExpected != rev || r.result.Position.Commit != pos {
		t.Fatalf("%s: landed at revision %d, position %s; want %d, %d", name, r.result.NextExpected, r.result.Position, rev, pos)
	}
}

func TestWriterClashInFirstBatch(t *testing.T) {
	s, w := newTestWriter(t)
	same := evs(2)
	claimed := ev("t.C")
	a := appendReq(t, "s-1", events.NoStream, same...)
	b := appendReq(t, "s-1", events.NoStream, same...)
	c := appendReq(t, "s-2", events.NoStream, claimed)
	d := appendReq(t, "s-3", events.NoStream, claimed)
	e := appendReq(t, "s-4", events.NoStream, evs(1)...)
	w.commit([]*request{a, b, c, d, e})
	wantOK(t, "first append", a, 1, 2)
	wantOK(t, "its replay in the same batch", b, 1, 2)
	wantOK(t, "first claim", c, 0, 3)
	if !errors.Is(d.err, events.ErrDuplicateEventID) {
		t.Fatalf("second claim: %v", d.err)
	}
	wantOK(t, "bystander", e, 0, 4)
	if n := len(checkLog(t, s)); n != 4 {
		t.Fatalf("log has %d events, want 4", n)
	}
}

func TestWriterDependentRequestsInOneBatch(t *testing.T) {
	s, w := newTestWriter(t)
	taken := ev("t.T")
	w.commit([]*request{appendReq(t, "owner-1", events.NoStream, taken)})

	x := evs(2)
	reqs := []*request{
		appendReq(t, "d-1", events.Any, evs(1)...),             // rev 0
		appendReq(t, "d-1", events.Exact(0), x...),             // revs 1-2, relies on the first
		appendReq(t, "d-1", events.Exact(0), x...),             // a retry of the second: a replay
		appendReq(t, "d-1", events.Exact(0), evs(1)...),        // stale: wrong revision, actual 2
		appendReq(t, "d-2", events.NoStream, ev("t.F"), taken), // clash: undone
		appendReq(t, "d-2", events.NoStream, evs(1)...),        // so this one finds no stream
		deleteReq(kindDelete, "d-1", events.Exact(2)),          // hides revs 0-2
		appendReq(t, "d-1", events.NoStream, evs(1)...),        // a soft-deleted stream still exists
		appendReq(t, "d-1", events.Exact(2), evs(1)...),        // revives it at rev 3
		deleteReq(kindTombstone, "d-3", events.NoStream),       // a missing stream may be tombstoned
		appendReq(t, "d-3", events.Any, evs(1)...),             // and then refuses appends
	}
	w.commit(reqs)
	wantOK(t, "first", reqs[0], 0, 2)
	wantOK(t, "dependent", reqs[1], 2, 4)
	wantOK(t, "replay of the dependent", reqs[2], 2, 4)
	var wer *events.WrongExpectedRevisionError
	if !errors.As(reqs[3].err, &wer) || wer.Actual != (events.StreamState{Exists: true, Revision: 2}) {
		t.Fatalf("stale append: %v", reqs[3].err)
	}
	if !errors.Is(reqs[4].err, events.ErrDuplicateEventID) {
		t.Fatalf("clash: %v", reqs[4].err)
	}
	wantOK(t, "after the clash", reqs[5], 0, 5)
	if reqs[6].err != nil {
		t.Fatalf("delete: %v", reqs[6].err)
	}
	if !errors.As(reqs[7].err, &wer) || wer.Actual.Revision != 2 {
		t.Fatalf("NoStream on a soft-deleted stream: %v", reqs[7].err)
	}
	wantOK(t, "revival", reqs[8], 3, 6)
	if reqs[9].err != nil {
		t.Fatalf("tombstone: %v", reqs[9].err)
	}
	if !errors.As(reqs[10].err, new(*events.StreamDeletedError)) {
		t.Fatalf("append to a tombstoned stream: %v", reqs[10].err)
	}
	checkLog(t, s)
	got, err := s.ReadStream(context.Background(), "d-1", events.ReadOptions{})
	if err != nil || len(got) != 1 || got[0].Revision != 3 {
		t.Fatalf("revived stream: %v, %v", got, err)
	}
	// The writer's cached heads agree with the file.
	next := appendReq(t, "d-1", events.Exact(3), evs(1)...)
	w.commit([]*request{next})
	wantOK(t, "after the batch", next, 4, 7)
}

func TestWriterClashInsideALargeAppend(t *testing.T) {
	s, w := newTestWriter(t)
	taken := ev("t.T")
	w.commit([]*request{appendReq(t, "owner-1", events.NoStream, taken)})
	big := evs(3*rowsPerInsert + 5) // several statements: a savepoint holds them together
	big[2*rowsPerInsert+1] = taken
	a := appendReq(t, "big-1", events.NoStream, evs(2)...)
	b := appendReq(t, "big-2", events.NoStream, big...)
	c := appendReq(t, "big-3", events.NoStream, evs(rowsPerInsert+1)...)
	w.commit([]*request{a, b, c})
	wantOK(t, "before", a, 1, 3)
	if !errors.Is(b.err, events.ErrDuplicateEventID) {
		t.Fatalf("large append with a used id: %v", b.err)
	}
	wantOK(t, "after", c, rowsPerInsert, 3+rowsPerInsert+1)
	if n := len(checkLog(t, s)); n != 3+rowsPerInsert+1 {
		t.Fatalf("log has %d events", n)
	}
	if _, err := s.ReadStream(context.Background(), "big-2", events.ReadOptions{}); !errors.Is(err, events.ErrStreamNotFound) {
		t.Fatalf("the refused large append left events: %v", err)
	}
}

// TestWriterRetriesAfterForeignWrite: a commit by another connection that
// the cache did not see is caught by the unique index, and the batch is
// decided again on fresh state.
func TestWriterRetriesAfterForeignWrite(t *testing.T) {
	s, w := newTestWriter(t)
	w.commit([]*request{appendReq(t, "f-1", events.NoStream, evs(1)...)})
	// Make the cache lie, as a missed foreign commit would.
	w.cache["f-1"] = streamState{head: -1}
	r := appendReq(t, "f-1", events.Any, evs(1)...)
	w.commit([]*request{r})
	wantOK(t, "append on a stale cache", r, 1, 2)
	checkLog(t, s)
}

func TestWriterSkipsCancelledRequests(t *testing.T) {
	s, w := newTestWriter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := appendReq(t, "c-1", events.NoStream, evs(1)...)
	gone.ctx = ctx
	kept := appendReq(t, "c-2", events.NoStream, evs(1)...)
	w.commit([]*request{gone, kept})
	if !errors.Is(gone.err, context.Canceled) {
		t.Fatalf("cancelled request: %v", gone.err)
	}
	wantOK(t, "kept", kept, 0, 1)
	if n := len(checkLog(t, s)); n != 1 {
		t.Fatalf("log has %d events", n)
	}
}

func TestWriterBatchOfManyStreams(t *testing.T) {
	s, w := newTestWriter(t)
	var reqs []*request
	for i := range 300 {
		reqs = append(reqs, appendReq(t, fmt.Sprintf("m-%d", i%40), events.Any, evs(1+i%3)...))
	}
	w.commit(reqs)
	pos := uint64(0)
	revs := map[string]uint64{}
	for i, r := range reqs {
		n := uint64(1 + i%3)
		pos += n
		revs[r.stream] += n
		wantOK(t, fmt.Sprint("request ", i), r, revs[r.stream]-1, pos)
	}
	checkLog(t, s)
}

// TestWriterClashInFirstFlush: the first rows a fresh writer inserts clash;
// undoing them must go back to the batch's first position, not to zero.
func TestWriterClashInFirstFlush(t *testing.T) {
	for _, prior := range []bool{false, true} {
		s, w := newTestWriter(t)
		if prior {
			// A failed batch must not leave a stale start behind either.
			w.commit([]*request{appendReq(t, "p-1", events.NoStream, evs(1)...)})
			bad := appendReq(t, "p-1", events.NoStream, evs(1)...)
			w.commit([]*request{bad})
		}
		claimed := ev("t.C")
		c := appendReq(t, "s-2", events.NoStream, claimed)
		d := appendReq(t, "s-3", events.NoStream, claimed)
		w.commit([]*request{c, d})
		first := uint64(1)
		if prior {
			first = 2
		}
		wantOK(t, "first claim", c, 0, first)
		if !errors.Is(d.err, events.ErrDuplicateEventID) {
			t.Fatalf("second claim: %v", d.err)
		}
		checkLog(t, s)
	}
}
