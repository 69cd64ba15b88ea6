// Package storetest is the conformance suite every events.Store backend runs:
// the executable form of the contract written in events/store.go.
//
// A backend's test calls Run with a constructor that opens a fresh, empty
// store for one subtest and arranges for it to be closed (t.Cleanup):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) events.Store {
//			s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite only uses the events.Store API. It does not assume the log is
// empty: a real EventStoreDB server is shared between runs and writes its own
// system events, so every subtest works on streams and event types carrying a
// random tag and ignores everything else in $all.
package storetest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// timeout bounds each subtest. It is generous because the race detector
// slows the embedded store down about tenfold and a cluster adds round trips;
// the suite never asserts on speed, it only refuses to hang.
const timeout = 2 * time.Minute

// Run runs the whole suite. newStore must return a fresh store for each call
// and close it when the test t ends.
func Run(t *testing.T, newStore func(t *testing.T) events.Store) {
	t.Run("Append", func(t *testing.T) {
		t.Run("DecisionTable", func(t *testing.T) { testDecisionTable(t, newStore) })
		t.Run("MultipleEvents", func(t *testing.T) { testAppendMany(t, newStore) })
		t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, newStore) })
		t.Run("DurableDedup", func(t *testing.T) { testDurableDedup(t, newStore) })
		t.Run("Validation", func(t *testing.T) { testValidation(t, newStore) })
		t.Run("LargeAppendWithinLimit", func(t *testing.T) { testLargeAppend(t, newStore) })
		t.Run("UnknownTypesKept", func(t *testing.T) { testUnknownTypes(t, newStore) })
	})
	t.Run("Concurrency", func(t *testing.T) {
		t.Run("OneStreamExactRevisions", func(t *testing.T) { testRaceOneStream(t, newStore) })
		t.Run("ManyStreams", func(t *testing.T) { testRaceManyStreams(t, newStore) })
		t.Run("ConcurrentRetries", func(t *testing.T) { testConcurrentRetries(t, newStore) })
		t.Run("MixedOutcomes", func(t *testing.T) { testMixedOutcomes(t, newStore) })
		t.Run("FirstBatchClash", func(t *testing.T) { testFirstBatchClash(t, newStore) })
	})
	t.Run("Read", func(t *testing.T) {
		t.Run("Stream", func(t *testing.T) { testReadStream(t, newStore) })
		t.Run("StreamNotFound", func(t *testing.T) { testReadStreamNotFound(t, newStore) })
		t.Run("AllPaging", func(t *testing.T) { testReadAllPaging(t, newStore) })
		t.Run("DefaultPageSize", func(t *testing.T) { testDefaultPageSize(t, newStore) })
		t.Run("Head", func(t *testing.T) { testHead(t, newStore) })
		t.Run("PositionsConsistent", func(t *testing.T) { testPositionsConsistent(t, newStore) })
		t.Run("EnvelopeRoundTrip", func(t *testing.T) { testEnvelope(t, newStore) })
	})
	t.Run("Subscribe", func(t *testing.T) {
		t.Run("FromStart", func(t *testing.T) { testSubscribeFromStart(t, newStore) })
		t.Run("FromMiddleExclusive", func(t *testing.T) { testSubscribeFromMiddle(t, newStore) })
		t.Run("FromHead", func(t *testing.T) { testSubscribeFromHead(t, newStore) })
		t.Run("CatchUpToLive", func(t *testing.T) { testSubscribeCatchUpToLive(t, newStore) })
		t.Run("StreamPrefixFilter", func(t *testing.T) { testSubscribeFilter(t, newStore, false) })
		t.Run("TypePrefixFilter", func(t *testing.T) { testSubscribeFilter(t, newStore, true) })
		t.Run("InvalidFilterRefused", func(t *testing.T) { testSubscribeInvalidFilter(t, newStore) })
		t.Run("CancelEndsWithCtxErr", func(t *testing.T) { testSubscribeCancel(t, newStore) })
		t.Run("ConsumerStopsEarly", func(t *testing.T) { testSubscribeBreak(t, newStore) })
		t.Run("TwoSubscribersAgree", func(t *testing.T) { testSubscribeTwo(t, newStore) })
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("Soft", func(t *testing.T) { testSoftDelete(t, newStore) })
		t.Run("SoftRevive", func(t *testing.T) { testSoftDeleteRevive(t, newStore) })
		t.Run("Tombstone", func(t *testing.T) { testTombstone(t, newStore) })
		t.Run("ExpectedRevision", func(t *testing.T) { testDeleteExpected(t, newStore) })
		t.Run("MissingStream", func(t *testing.T) { testDeleteMissing(t, newStore) })
	})
	t.Run("Restore", func(t *testing.T) { testRestore(t, newStore) })
}

// fixture is one subtest's store, deadline and names.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store events.Store
	tag   string
	start time.Time
	seq   int
	// origin is the head of the log when the subtest began: reading $all
	// from there finds all of the subtest's events without scanning what a
	// shared server holds from earlier runs.
	origin events.Position
}

func setup(t *testing.T, newStore func(t *testing.T) events.Store) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	s := newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	id := events.NewID()
	// The tail of a UUIDv7 is random; its head is a timestamp shared by
	// every subtest started in the same millisecond.
	f := &fixture{t: t, ctx: ctx, store: s, tag: hex.EncodeToString(id[10:]), start: time.Now()}
	f.origin = f.head()
	return f
}

// prefix is a stream-name prefix (a category followed by '-') no other run
// uses, so that filters and $all reads select this subtest's streams only.
func (f *fixture) prefix(category string) string { return category + f.tag + "-" }

// stream returns a new stream name in the category.
func (f *fixture) stream(category string) string {
	f.seq++
	return fmt.Sprintf("%s%d", f.prefix(category), f.seq)
}

// typ returns an event type name no other run uses.
func (f *fixture) typ(name string) string { return "st" + f.tag + "." + name }

func (f *fixture) mine(e events.Event) bool { return strings.Contains(e.Stream, f.tag) }

// ev builds a proposed event of type typ with a fresh id.
func (f *fixture) ev(typ string, data string) events.Proposed {
	return events.Proposed{
		ID:       events.NewID(),
		Type:     f.typ(typ),
		Data:     json.RawMessage(data),
		Metadata: events.Metadata{Actor: events.ActorSystem, Visibility: events.System},
	}
}

// evs builds n proposed events of type "Noted".
func (f *fixture) evs(n int) []events.Proposed {
	out := make([]events.Proposed, n)
	for i := range out {
		out[i] = f.ev("Noted", fmt.Sprintf(`{"n":%d}`, i))
	}
	return out
}

func (f *fixture) append(stream string, exp events.ExpectedRevision, evs ...events.Proposed) events.AppendResult {
	f.t.Helper()
	r, err := f.store.Append(f.ctx, stream, exp, evs...)
	if err != nil {
		f.t.Fatalf("append %d events to %s expecting %s: %v", len(evs), stream, exp, err)
	}
	return r
}

func (f *fixture) read(stream string, opts events.ReadOptions) []events.Event {
	f.t.Helper()
	evs, err := f.store.ReadStream(f.ctx, stream, opts)
	if err != nil {
		f.t.Fatalf("read %s %+v: %v", stream, opts, err)
	}
	for _, e := range evs {
		if e.Position.IsStart() {
			// Start is before every event: one recorded there is invisible
			// to $all readers and subscribers.
			f.t.Fatalf("event %s (revision %d of %s) is at the start position", e.ID, e.Revision, stream)
		}
	}
	return evs
}

// readAll reads the log after pos to its end, page by page, keeping this
// subtest's events only.
func (f *fixture) readAll(after events.Position) []events.Event {
	f.t.Helper()
	var out []events.Event
	for {
		page, err := f.store.ReadAll(f.ctx, events.ReadAllOptions{After: after, Count: 500})
		if err != nil {
			f.t.Fatalf("read $all after %s: %v", after, err)
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			if e.Position.Compare(after) <= 0 {
				f.t.Fatalf("read $all after %s returned event at %s: not strictly after", after, e.Position)
			}
			after = e.Position
			if f.mine(e) {
				out = append(out, e)
			}
		}
	}
}

func (f *fixture) head() events.Position {
	f.t.Helper()
	p, err := f.store.Head(f.ctx)
	if err != nil {
		f.t.Fatalf("head: %v", err)
	}
	return p
}

// --- assertions ---

func ids[E events.Event | events.Proposed](evs []E) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		switch e := any(e).(type) {
		case events.Event:
			out[i] = e.ID
		case events.Proposed:
			out[i] = e.ID
		}
	}
	return out
}

func revisions(evs []events.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Revision
	}
	return out
}

// span returns the revisions from..to inclusive, counting down when to < from.
func span(from, to uint64) []uint64 {
	var out []uint64
	for r := from; ; {
		out = append(out, r)
		if r == to {
			return out
		}
		if to > from {
			r++
		} else {
			r--
		}
	}
}

func concat(parts ...[]events.Proposed) []events.Proposed {
	var out []events.Proposed
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func wantIDs(t *testing.T, what string, got []events.Event, want []uuid.UUID) {
	t.Helper()
	if g := ids(got); !slices.Equal(g, want) {
		t.Fatalf("%s: got event ids\n  %v\nwant\n  %v", what, g, want)
	}
}

func wantRevisions(t *testing.T, what string, got []events.Event, want []uint64) {
	t.Helper()
	if g := revisions(got); !slices.Equal(g, want) {
		t.Fatalf("%s: got revisions %v, want %v", what, g, want)
	}
}

func wantWrongRevision(t *testing.T, err error, stream string, exp events.ExpectedRevision, actual events.StreamState) {
	t.Helper()
	var wer *events.WrongExpectedRevisionError
	if !errors.As(err, &wer) {
		t.Fatalf("stream %s expecting %s: got error %v, want *events.WrongExpectedRevisionError (actual %s)", stream, exp, err, actual)
	}
	if wer.Stream != stream || wer.Expected != exp || wer.Actual != actual {
		t.Fatalf("wrong expected revision error carries stream %q, expected %s, actual %s; want %q, %s, %s",
			wer.Stream, wer.Expected, wer.Actual, stream, exp, actual)
	}
}

func wantDeleted(t *testing.T, err error, stream string) {
	t.Helper()
	var del *events.StreamDeletedError
	if !errors.As(err, &del) {
		t.Fatalf("stream %s: got error %v, want *events.StreamDeletedError", stream, err)
	}
	if del.Stream != stream {
		t.Fatalf("StreamDeletedError names stream %q, want %q", del.Stream, stream)
	}
}

func wantNotFound(t *testing.T, f *fixture, stream string) {
	t.Helper()
	for _, dir := range []events.Direction{events.Forwards, events.Backwards} {
		evs, err := f.store.ReadStream(f.ctx, stream, events.ReadOptions{Direction: dir, FromEnd: dir == events.Backwards})
		if !errors.Is(err, events.ErrStreamNotFound) {
			t.Fatalf("read %s (direction %d): got %d events and error %v, want events.ErrStreamNotFound", stream, dir, len(evs), err)
		}
	}
}

// lastRevision reads the revision of a stream's last event.
func (f *fixture) lastRevision(stream string) uint64 {
	f.t.Helper()
	evs := f.read(stream, events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
	if len(evs) != 1 {
		f.t.Fatalf("read last event of %s: got %d events", stream, len(evs))
	}
	return evs[0].Revision
}

// wantResultAt checks that an append result points at the given event.
func wantResultAt(t *testing.T, what string, r events.AppendResult, e events.Event) {
	t.Helper()
	if r.NextExpected != e.Revision || r.Position != e.Position {
		t.Fatalf("%s: append result says revision %d at %s; the event %s is at revision %d, %s",
			what, r.NextExpected, r.Position, e.ID, e.Revision, e.Position)
	}
}

// expName names an expectation in a subtest name.
func expName(e events.ExpectedRevision) string {
	if n, ok := e.Revision(); ok {
		return fmt.Sprintf("exact_%d", n)
	}
	return strings.ReplaceAll(e.String(), " ", "_")
}

// short scales a count down under -short, where the race detector runs.
func short(normal, reduced int) int {
	if testing.Short() {
		return reduced
	}
	return normal
}
