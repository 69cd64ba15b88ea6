package events_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// countingStore counts appends and can let another writer in just before
// the ledger's append.
type countingStore struct {
	events.Store
	appends atomic.Int32
	before  func(n int32)
}

func (s *countingStore) Append(ctx context.Context, stream string, exp events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	n := s.appends.Add(1)
	if s.before != nil {
		s.before(n)
	}
	return s.Store.Append(ctx, stream, exp, evs...)
}

type tracks struct{ ids []string }

func newTestLedger(t *testing.T) (*events.Ledger[*tracks], *countingStore) {
	t.Helper()
	db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &countingStore{Store: db}
	l := events.NewLedger(events.LedgerConfig[*tracks]{
		Name: "test", Stream: "edition-test", Store: store, Now: time.Now,
		New:        func() *tracks { return &tracks{} },
		Apply:      func(s *tracks, p any, _ time.Time) { s.ids = append(s.ids, p.(events.TrackAdded).TrackID) },
		Visibility: func(any) events.Visibility { return events.Public },
		Subject:    func(p any) string { return "who-" + p.(events.TrackAdded).TrackID },
	})
	return l, store
}

func run(t *testing.T, l *events.Ledger[*tracks]) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go l.Run(ctx)
}

// add emits one track and answers how many tracks the state then holds.
func add(id string) func(*tracks, time.Time, func(any)) (any, error) {
	return func(s *tracks, _ time.Time, emit func(any)) (any, error) {
		emit(events.TrackAdded{EditionID: "test", TrackID: id})
		return len(s.ids), nil
	}
}

func read(t *testing.T, store events.Store) []events.Event {
	t.Helper()
	evs, err := store.ReadStream(context.Background(), "edition-test", events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestLedgerBatchesIntoOneAppendAndAnswersEach(t *testing.T) {
	l, store := newTestLedger(t)
	const n = 20
	refused := errors.New("refused")
	answers := make([]any, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			decide := add(string(rune('a' + i)))
			if i == 7 {
				decide = func(*tracks, time.Time, func(any)) (any, error) { return nil, refused }
			}
			answers[i], errs[i] = l.Do(context.Background(), &events.Command[*tracks]{Decide: decide, Meta: events.Metadata{Actor: "tester"}})
		})
		// One at a time, so that arrival order is i's order.
		for events.LedgerQueued(l) < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	run(t, l)
	wg.Wait()

	if got := store.appends.Load(); got != 1 {
		t.Fatalf("%d appends for one batch, want 1", got)
	}
	for i := range n {
		switch {
		case i == 7:
			if !errors.Is(errs[i], refused) {
				t.Errorf("command %d answered %v, want its own refusal", i, errs[i])
			}
		case errs[i] != nil:
			t.Errorf("command %d: %v", i, errs[i])
		default:
			want := i + 1
			if i > 7 {
				want = i
			}
			if answers[i] != want {
				t.Errorf("command %d saw %v tracks, want %d (decided in arrival order)", i, answers[i], want)
			}
		}
	}
	evs := read(t, store)
	if len(evs) != n-1 {
		t.Fatalf("%d events written, want %d", len(evs), n-1)
	}
	if m := evs[0].Metadata; m.Actor != "tester" || m.Visibility != events.Public || m.Subject != "who-a" || m.OccurredAt.IsZero() {
		t.Errorf("metadata %+v", m)
	}
}

func TestLedgerDecidesAgainAfterAnotherWriter(t *testing.T) {
	l, store := newTestLedger(t)
	run(t, l)
	ctx := context.Background()
	if _, err := l.Do(ctx, &events.Command[*tracks]{Decide: add("first")}); err != nil {
		t.Fatal(err)
	}
	store.before = func(n int32) {
		if n != 2 {
			return
		}
		other, err := events.Types.New(events.TrackAdded{EditionID: "test", TrackID: "other"}, events.Metadata{})
		if err != nil {
			t.Error(err)
		}
		if _, err := store.Store.Append(ctx, "edition-test", events.Exact(0), other); err != nil {
			t.Error(err)
		}
	}
	var decided int
	got, err := l.Do(ctx, &events.Command[*tracks]{Decide: func(s *tracks, now time.Time, emit func(any)) (any, error) {
		decided++
		return add("mine")(s, now, emit)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if decided != 2 || got != 3 {
		t.Errorf("decided %d times, answered %v tracks; want 2 and 3 (the other writer's event seen)", decided, got)
	}
	var ids []string
	for _, e := range read(t, store) {
		p, err := events.Types.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.(events.TrackAdded).TrackID)
	}
	if len(ids) != 3 || ids[0] != "first" || ids[1] != "other" || ids[2] != "mine" {
		t.Errorf("stream holds %v", ids)
	}
}

func TestLedgerIdempotencyKeyDerivesIDs(t *testing.T) {
	l, store := newTestLedger(t)
	run(t, l)
	ctx := context.Background()
	if _, err := l.Do(ctx, &events.Command[*tracks]{Decide: add("zero")}); err != nil {
		t.Fatal(err)
	}
	two := func(s *tracks, _ time.Time, emit func(any)) (any, error) {
		emit(events.TrackAdded{EditionID: "test", TrackID: "x"})
		emit(events.TrackAdded{EditionID: "test", TrackID: "y"})
		return nil, nil
	}
	if _, err := l.Do(ctx, &events.Command[*tracks]{Decide: two, IDKey: "key-1"}); err != nil {
		t.Fatal(err)
	}
	evs := read(t, store)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	// Ids count from the command's own first event, not the batch's.
	for i, e := range evs[1:] {
		if want := events.IDFromKey("key-1", i); e.ID != want {
			t.Errorf("event %d has id %s, want %s", i, e.ID, want)
		}
	}
	if evs[0].ID == events.IDFromKey("key-1", 0) {
		t.Error("a command without a key got a derived id")
	}
}

// Ledgers start a ledger only for an aggregate that exists or is being
// created, and hand out the same running ledger after that.
func TestLedgersStartOnlyWhatExists(t *testing.T) {
	l, store := newTestLedger(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ls := events.NewLedgers(ctx, func(id string) *events.Ledger[*tracks] {
		return events.NewLedger(events.LedgerConfig[*tracks]{
			Name: id, Stream: "edition-" + id, Store: store, Now: time.Now,
			New:        l.New,
			Apply:      l.Apply,
			Visibility: l.Visibility,
		})
	})
	if _, err := ls.Get(ctx, "absent", false); !errors.Is(err, events.ErrStreamNotFound) {
		t.Fatalf("Get of an aggregate without events: %v, want ErrStreamNotFound", err)
	}
	if ids := ls.IDs(); len(ids) != 0 {
		t.Fatalf("probing started ledgers %v", ids)
	}
	first, err := ls.Get(ctx, "test", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Do(ctx, &events.Command[*tracks]{Decide: add("t1")}); err != nil {
		t.Fatal(err)
	}
	again, err := ls.Get(ctx, "test", false)
	if err != nil || again != first {
		t.Fatalf("second Get: %v (same ledger: %v)", err, again == first)
	}
	if ids := ls.IDs(); len(ids) != 1 || ids[0] != "test" {
		t.Fatalf("running ledgers %v, want [test]", ids)
	}
}

// TestLedgerCommitsNothingOfAFailedCommand: a command that emitted events
// and then failed leaves no trace, neither in the log nor in what the
// commands after it in the same batch decide against.
func TestLedgerCommitsNothingOfAFailedCommand(t *testing.T) {
	l, store := newTestLedger(t)
	half := errors.New("half a decision")
	var wg sync.WaitGroup
	var seen any
	var failErr error
	cmds := []func(*tracks, time.Time, func(any)) (any, error){
		add("a"),
		func(_ *tracks, _ time.Time, emit func(any)) (any, error) {
			emit(events.TrackAdded{EditionID: "test", TrackID: "half-1"})
			emit(events.TrackAdded{EditionID: "test", TrackID: "half-2"})
			return nil, half
		},
		add("b"),
	}
	for i, decide := range cmds {
		wg.Go(func() {
			v, err := l.Do(context.Background(), &events.Command[*tracks]{Decide: decide, Meta: events.Metadata{Actor: "t"}})
			switch i {
			case 1:
				failErr = err
			case 2:
				seen = v
			}
		})
		for events.LedgerQueued(l) < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	run(t, l)
	wg.Wait()
	if !errors.Is(failErr, half) {
		t.Errorf("the failed command answered %v", failErr)
	}
	if seen != 2 {
		t.Errorf("the command after the failed one saw %v tracks, want 2 (a and itself)", seen)
	}
	var ids []string
	for _, e := range read(t, store) {
		p, _ := events.Types.Decode(e)
		ids = append(ids, p.(events.TrackAdded).TrackID)
	}
	if len(ids) != 2 || ids[0] != "a" || ids[1] != "b" {
		t.Errorf("the log holds %v, want [a b]", ids)
	}
}
