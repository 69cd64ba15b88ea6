package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// testRaceOneStream: writers race for each revision of one stream the way
// services do (optimistic concurrency, retry with the revision the error
// carries). Exactly one append may win each revision.
func testRaceOneStream(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	st := f.stream("race")
	writers, each := short(16, 4), short(8, 3)
	total := writers * each

	type win struct {
		id uuid.UUID
		r  events.AppendResult
	}
	wins := make([][]win, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			exp := events.NoStream
			var known uint64 // highest revision this writer has seen
			for i := 0; i < each; i++ {
				e := f.ev("Raced", fmt.Sprintf(`{"writer":%d,"i":%d}`, w, i))
				for attempt := 0; ; attempt++ {
					if attempt > 10*total {
						t.Errorf("writer %d: no progress after %d attempts", w, attempt)
						return
					}
					r, err := f.store.Append(f.ctx, st, exp, e)
					if err == nil {
						wins[w] = append(wins[w], win{e.ID, r})
						exp, known = events.Exact(r.NextExpected), r.NextExpected
						break
					}
					var wer *events.WrongExpectedRevisionError
					if !errors.As(err, &wer) {
						t.Errorf("writer %d: append expecting %s: %v", w, exp, err)
						return
					}
					if !wer.Actual.Exists || wer.Actual.Revision < known {
						t.Errorf("writer %d: expecting %s, told the stream is at %s after having seen revision %d", w, exp, wer.Actual, known)
						return
					}
					exp, known = events.Exact(wer.Actual.Revision), wer.Actual.Revision
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	byRevision := make([]uuid.UUID, total)
	positions := make([]events.Position, total)
	for w, ws := range wins {
		for _, win := range ws {
			rev := win.r.NextExpected
			if rev >= uint64(total) {
				t.Fatalf("writer %d won revision %d of a stream that should end at %d", w, rev, total-1)
			}
			if byRevision[rev] != (uuid.UUID{}) {
				t.Fatalf("revision %d won twice: by %s and %s", rev, byRevision[rev], win.id)
			}
			byRevision[rev], positions[rev] = win.id, win.r.Position
		}
	}
	got := f.read(st, events.ReadOptions{})
	wantIDs(t, "raced stream", got, byRevision)
	wantRevisions(t, "raced stream", got, span(0, uint64(total-1)))
	for i, e := range got {
		if e.Position != positions[i] {
			t.Fatalf("revision %d is at %s, its append reported %s", i, e.Position, positions[i])
		}
	}
}

// testRaceManyStreams: concurrent appends to different streams never wait for
// each other in the contract, but a group-committing backend batches them;
// each append must still land whole, in order, at the position it reported.
func testRaceManyStreams(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	writers, each := short(16, 4), short(10, 4)
	streams := make([]string, writers)
	for i := range streams {
		streams[i] = f.stream("crowd")
	}
	type done struct {
		evs []events.Proposed
		r   events.AppendResult
	}
	appends := make([][]done, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			exp := events.NoStream
			for range each {
				evs := f.evs(2)
				r, err := f.store.Append(f.ctx, streams[w], exp, evs...)
				if err != nil {
					t.Errorf("writer %d: append expecting %s: %v", w, exp, err)
					return
				}
				appends[w] = append(appends[w], done{evs, r})
				exp = events.Exact(r.NextExpected)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	all := f.readAll(f.origin)
	if len(all) != writers*each*2 {
		t.Fatalf("$all has %d events of this test, want %d", len(all), writers*each*2)
	}
	index := map[uuid.UUID]int{}
	for i, e := range all {
		index[e.ID] = i
	}
	for w, ds := range appends {
		var want []events.Proposed
		for j, d := range ds {
			want = append(want, d.evs...)
			i0, ok0 := index[d.evs[0].ID]
			i1, ok1 := index[d.evs[1].ID]
			if !ok0 || !ok1 || i1 != i0+1 {
				t.Fatalf("writer %d append %d: its two events are not next to each other in $all (%d, %d)", w, j, i0, i1)
			}
			if all[i1].Position != d.r.Position || d.r.NextExpected != uint64(2*j+1) {
				t.Fatalf("writer %d append %d reported revision %d at %s; its last event is revision %d at %s",
					w, j, d.r.NextExpected, d.r.Position, all[i1].Revision, all[i1].Position)
			}
		}
		got := f.read(streams[w], events.ReadOptions{})
		wantIDs(t, streams[w], got, ids(want))
		wantRevisions(t, streams[w], got, span(0, uint64(len(want)-1)))
	}
	if !slices.IsSortedFunc(all, func(a, b events.Event) int { return a.Position.Compare(b.Position) }) {
		t.Fatal("$all is not in position order")
	}
}

// testConcurrentRetries: a client that retries while its first attempt is
// still in flight sends the same ids twice at once. One attempt writes, the
// others are replays of it, even when a group commit puts them in one batch.
func testConcurrentRetries(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	attempts := short(16, 4)
	for _, exact := range []bool{false, true} {
		st := f.stream("retry")
		exp := events.NoStream
		var pre []events.Proposed
		if exact {
			pre = f.evs(1)
			f.append(st, events.NoStream, pre...)
			exp = events.Exact(0)
		}
		evs := f.evs(3)
		results := make([]events.AppendResult, attempts)
		errs := make([]error, attempts)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range attempts {
			wg.Go(func() {
				<-start
				results[i], errs[i] = f.store.Append(f.ctx, st, exp, evs...)
			})
		}
		close(start)
		wg.Wait()
		for i := range attempts {
			if errs[i] != nil {
				t.Fatalf("expecting %s: attempt %d of the same append failed: %v", exp, i, errs[i])
			}
			if results[i] != results[0] {
				t.Fatalf("expecting %s: attempts report %+v and %+v", exp, results[0], results[i])
			}
		}
		got := f.read(st, events.ReadOptions{})
		wantIDs(t, "stream after concurrent retries", got, ids(concat(pre, evs)))
		wantResultAt(t, "retried append", results[0], got[len(got)-1])
	}
}

// testMixedOutcomes: appends that fail for different reasons run at the same
// time as appends that succeed; a backend that commits them together must
// still decide each one as if it ran alone.
func testMixedOutcomes(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	dedup := f.store.Capabilities().DurableDedup
	tomb, busy, owner := f.stream("mixed"), f.stream("mixed"), f.stream("mixed")
	f.prepare(tomb, tombstoned)
	f.append(busy, events.NoStream, f.evs(1)...)
	taken := f.evs(1)
	f.append(owner, events.NoStream, taken...)

	for round := range short(10, 3) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		run := func(name string, check func(err error) string, stream string, exp events.ExpectedRevision, evs ...events.Proposed) {
			wg.Go(func() {
				<-start
				_, err := f.store.Append(f.ctx, stream, exp, evs...)
				if msg := check(err); msg != "" {
					t.Errorf("round %d, %s: %s (error %v)", round, name, msg, err)
				}
			})
		}
		ok := func(err error) string {
			if err != nil {
				return "failed"
			}
			return ""
		}
		fresh := make([]string, 4)
		for i := range fresh {
			fresh[i] = f.stream("mixedok")
			run("new stream", ok, fresh[i], events.NoStream, f.evs(2)...)
		}
		last := uint64(round)
		run("wrong revision", func(err error) string {
			var wer *events.WrongExpectedRevisionError
			// It races the "right revision" append below, so it may see the
			// stream before or after it.
			if !errors.As(err, &wer) || !wer.Actual.Exists || wer.Actual.Revision != last && wer.Actual.Revision != last+1 {
				return fmt.Sprintf("want a wrong expected revision error with actual %d or %d", last, last+1)
			}
			return ""
		}, busy, events.Exact(last+5), f.evs(1)...)
		run("tombstoned", func(err error) string {
			var del *events.StreamDeletedError
			if !errors.As(err, &del) {
				return "want *StreamDeletedError"
			}
			return ""
		}, tomb, events.Any, f.evs(1)...)
		run("invalid", func(err error) string {
			if !errors.Is(err, events.ErrInvalidEvent) {
				return "want ErrInvalidEvent"
			}
			return ""
		}, f.stream("mixed"), events.Any, f.ev("Bad", `{`))
		if dedup {
			run("duplicate id", func(err error) string {
				if !errors.Is(err, events.ErrDuplicateEventID) {
					return "want ErrDuplicateEventID"
				}
				return ""
			}, f.stream("mixed"), events.NoStream, f.ev("Fresh", `{}`), taken[0])
		}
		run("right revision", ok, busy, events.Exact(last), f.evs(1)...)
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		for _, st := range fresh {
			if n := len(f.read(st, events.ReadOptions{})); n != 2 {
				t.Fatalf("round %d: stream %s has %d events, want 2", round, st, n)
			}
		}
		if r := f.lastRevision(busy); r != last+1 {
			t.Fatalf("round %d: contended stream at revision %d, want %d", round, r, last+1)
		}
	}
	for _, e := range f.readAll(f.origin) {
		if e.Type == f.typ("Fresh") || e.Type == f.typ("Bad") || e.Stream == tomb && e.Revision > 0 {
			t.Fatalf("a refused append wrote %s (%s) to %s", e.ID, e.Type, e.Stream)
		}
	}
}

// testFirstBatchClash: the very first writes to a fresh store race retries
// of one append against appends that all claim one event id for different
// streams. A group-committing backend meets an id clash inside its first
// batch, the case where it has the least state to fall back on. Whether the
// requests meet in one batch is up to the scheduler, so it tries a few
// fresh stores.
func testFirstBatchClash(t *testing.T, newStore func(*testing.T) events.Store) {
	for round := range short(6, 4) {
		t.Run(fmt.Sprint(round), func(t *testing.T) { firstBatchClash(t, newStore) })
	}
}

func firstBatchClash(t *testing.T, newStore func(*testing.T) events.Store) {
	f := setup(t, newStore)
	dedup := f.store.Capabilities().DurableDedup
	n := short(24, 8)
	retried := f.stream("first")
	same := f.evs(2)
	claimed := f.ev("Claimed", `{}`)
	results := make([]events.AppendResult, n)
	errs, claimErrs := make([]error, n), make([]error, n)
	claimStreams := make([]string, n)
	for i := range claimStreams {
		claimStreams[i] = f.stream("claim")
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f.store.Append(f.ctx, retried, events.NoStream, same...)
		})
		if dedup {
			wg.Go(func() {
				<-start
				_, claimErrs[i] = f.store.Append(f.ctx, claimStreams[i], events.NoStream, claimed)
			})
		}
	}
	close(start)
	wg.Wait()

	for i := range n {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("attempt %d of the same append: %+v, %v; attempt 0: %+v", i, results[i], errs[i], results[0])
		}
	}
	want := ids(same)
	if dedup {
		winner := -1
		for i, err := range claimErrs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("one event id was written to %s and %s", claimStreams[winner], claimStreams[i])
			case err == nil:
				winner = i
			case !errors.Is(err, events.ErrDuplicateEventID):
				t.Fatalf("claim %d: %v, want events.ErrDuplicateEventID", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no stream got the claimed event id")
		}
		want = append(want, claimed.ID)
		wantIDs(t, "the claiming stream", f.read(claimStreams[winner], events.ReadOptions{}), []uuid.UUID{claimed.ID})
	}
	all := f.readAll(f.origin)
	got := ids(all)
	slices.SortFunc(got, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	slices.SortFunc(want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(got, want) {
		t.Fatalf("$all holds %v, want %v", got, want)
	}
	stream := f.read(retried, events.ReadOptions{})
	wantIDs(t, "retried stream", stream, ids(same))
	wantResultAt(t, "retried append", results[0], stream[1])
	for _, e := range stream {
		if i := slices.IndexFunc(all, func(a events.Event) bool { return a.ID == e.ID }); i < 0 || all[i].Position != e.Position {
			t.Fatalf("event %s is at %s in its stream but not there in $all", e.ID, e.Position)
		}
	}
}
