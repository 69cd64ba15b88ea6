package conference

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

func openStore(t testing.TB) events.Store {
	t.Helper()
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startLedger(t testing.TB, store events.Store, id string) *ledger {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := newLedger(id, store, nil, time.Now, 0, nil)
	go l.Run(ctx)
	return l
}

func exec(t testing.TB, l *ledger, decide func(ed *Edition, now time.Time, emit emit) (any, error)) (any, error) {
	return l.Do(context.Background(), &request{Decide: decide, Meta: events.Metadata{Actor: "test"}})
}

// TestRushNeverOversells registers many members at once from many
// goroutines against one ledger on the real store: no session is
// oversold, everyone is admitted, and the waitlist is in decision order.
func TestRushNeverOversells(t *testing.T) {
	members, workers, seats := 3000, 100, 200
	if testing.Short() {
		members, workers, seats = 600, 50, 40
	}
	store := openStore(t)
	l := startLedger(t, store, "rush")
	day := time.Date(2015, 10, 15, 9, 0, 0, 0, time.UTC)
	_, err := exec(t, l, func(ed *Edition, now time.Time, emit emit) (any, error) {
		if err := ed.createEdition(CreateEdition{ID: "rush", NameEN: "Rush", Capacity: members}, emit); err != nil {
			return nil, err
		}
		for i := range 5 {
			if err := ed.addSession(AddSession{ID: fmt.Sprintf("s%d", i), Title: fmt.Sprint(i), StartsAt: day.Add(time.Duration(i) * time.Hour),
				EndsAt: day.Add(time.Duration(i)*time.Hour + 50*time.Minute), Capacity: seats}, emit); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan int)
	answers := make([]Placement, members)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				v, err := exec(t, l, func(ed *Edition, _ time.Time, emit emit) (any, error) {
					return ed.register(Register{RegistrationID: fmt.Sprintf("rush.%d", i), Member: fmt.Sprint("m", i), Sessions: []string{fmt.Sprintf("s%d", i%5)}}, emit)
				})
				if err != nil {
					t.Error(err)
					continue
				}
				answers[i] = v.(Placement)
			}
		})
	}
	for i := range members {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d registrations in %s", members, time.Since(start))

	// Recount from the log alone.
	evs, err := store.ReadStream(context.Background(), events.EditionStream("rush"), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[string]int{}
	waiting := map[string]bool{}
	placed := 0
	for _, e := range evs {
		p, _ := events.Types.Decode(e)
		if r, ok := p.(events.RegistrationPlaced); ok {
			placed++
			s := r.Sessions[0]
			if s.Status == events.StatusConfirmed {
				if waiting[s.SessionID] {
					t.Fatalf("%s got a seat in %s after someone was waitlisted there", r.RegistrationID, s.SessionID)
				}
				confirmed[s.SessionID]++
			} else {
				waiting[s.SessionID] = true
			}
		}
	}
	if placed != members {
		t.Errorf("%d registrations in the log, want %d", placed, members)
	}
	for sid, n := range confirmed {
		if n != seats {
			t.Errorf("session %s has %d seats taken, capacity %d", sid, n, seats)
		}
	}
	// A ledger reloaded from the log decides the same.
	fresh := startLedger(t, store, "rush")
	v, _ := exec(t, fresh, func(ed *Edition, _ time.Time, _ emit) (any, error) { return ed.Counts(), nil })
	c := v.(Counts)
	if c.Confirmed != members || c.Sessions[0].Confirmed != seats || c.Sessions[0].Waitlisted != members/5-seats {
		t.Errorf("reloaded counts %+v", c)
	}
}
