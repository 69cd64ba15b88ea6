package conference

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// An offer made at t0 for an hour (scheduled's policy) is reminded of at
// the half hour, once, and not at all once it is answered.
func TestOfferReminderDecisions(t *testing.T) {
	offered := with(scheduled(10), placed("r1", "m1", ok, seat("bigdata", ok)), placed("r2", "m2", ok, seat("bigdata", wl)),
		events.RegistrationCancelled{EditionID: "y", RegistrationID: "r1"},
		events.SeatOffered{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: t0.Add(time.Hour)})
	due := events.OfferReminderDue{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: t0.Add(time.Hour)}
	remindAt := func(ed *Edition, at time.Time, fraction float64) []any {
		var got []any
		ed.remind(at, fraction, func(p any) { got = append(got, p); ed.Apply(p, at) })
		return got
	}
	tests := []struct {
		name     string
		given    []any
		at       time.Time
		fraction float64
		want     int
	}{
		{"before the half hour", offered, t0.Add(29 * time.Minute), defaultReminder, 0},
		{"at the half hour", offered, t0.Add(30 * time.Minute), defaultReminder, 1},
		{"already reminded", with(offered, due), t0.Add(40 * time.Minute), defaultReminder, 0},
		{"past expiry: lapsed, not reminded", offered, t0.Add(time.Hour), defaultReminder, 0},
		{"accepted before its moment", with(offered, events.OfferAccepted{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata"}), t0.Add(40 * time.Minute), defaultReminder, 0},
		{"cancelled before its moment", with(offered, events.RegistrationCancelled{EditionID: "y", RegistrationID: "r2"}), t0.Add(40 * time.Minute), defaultReminder, 0},
		{"expired before its moment", with(offered, events.OfferExpired{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata"}), t0.Add(40 * time.Minute), defaultReminder, 0},
		{"a later fraction waits", offered, t0.Add(40 * time.Minute), 0.9, 0},
		{"a later fraction comes", offered, t0.Add(54 * time.Minute), 0.9, 1},
		{"reminders off", offered, t0.Add(50 * time.Minute), -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := remindAt(given(tt.given...), tt.at, tt.fraction)
			if len(got) != tt.want {
				t.Fatalf("reminders %+v, want %d", got, tt.want)
			}
			if tt.want == 1 && got[0] != any(due) {
				t.Errorf("reminder %+v, want %+v", got[0], due)
			}
		})
	}

	ed := given(offered...)
	if w := ed.nextWake(defaultReminder); !w.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("next wake %v, want the reminder at the half hour", w)
	}
	if w := ed.nextWake(-1); !w.Equal(t0.Add(time.Hour)) {
		t.Errorf("next wake without reminders %v, want the expiry", w)
	}
	ed.Apply(due, t0.Add(30*time.Minute))
	if w := ed.nextWake(defaultReminder); !w.Equal(t0.Add(time.Hour)) {
		t.Errorf("next wake after the reminder %v, want the expiry", w)
	}
	// A new offer for the same seat, after the first lapsed, is reminded anew.
	ed.Apply(events.OfferExpired{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata"}, t0.Add(time.Hour))
	ed.Apply(events.SeatOffered{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: t0.Add(3 * time.Hour)}, t0.Add(time.Hour))
	if got := remindAt(ed, t0.Add(2*time.Hour), defaultReminder); len(got) != 1 {
		t.Errorf("a second offer got reminders %+v", got)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// countTypes counts the events of each type in the edition's stream.
func countTypes(t *testing.T, store events.Store, edition string) (map[string]int, []events.Event) {
	t.Helper()
	evs, err := store.ReadStream(context.Background(), events.EditionStream(edition), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evs {
		n[e.Type]++
	}
	return n, evs
}

// waitType waits until the stream holds want events of typ.
func waitType(t *testing.T, store events.Store, edition, typ string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := countTypes(t, store, edition)
		if n[typ] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s in the stream, want %d", n[typ], typ, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOfferReminderOnTheLedgerClock: the ledger, driven by its own clock,
// reminds an open offer halfway through its window, once, even when a
// fresh ledger replays the edition, and lets it lapse at the end.
func TestOfferReminderOnTheLedgerClock(t *testing.T) {
	store := openStore(t)
	clock := &fakeClock{t: t0}
	ctx, stop := context.WithCancel(context.Background())
	l := newLedger("rem", store, nil, clock.Now, 0, nil)
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	_, err := exec(t, l, func(ed *Edition, now time.Time, emit emit) (any, error) {
		if err := ed.createEdition(CreateEdition{ID: "rem", NameEN: "Reminders", Capacity: 1, OfferWindow: time.Hour, WaitlistLimit: 5}, emit); err != nil {
			return nil, err
		}
		for _, r := range []Register{{RegistrationID: "rem.1", Member: "m1"}, {RegistrationID: "rem.2", Member: "m2"}} {
			if _, err := ed.register(r, emit); err != nil {
				return nil, err
			}
		}
		_, err := ed.cancel("rem.1", "m1", now, emit)
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	const due = "conference.OfferReminderDue"
	clock.Set(t0.Add(29 * time.Minute))
	time.Sleep(150 * time.Millisecond)
	if n, evs := countTypes(t, store, "rem"); n[due] != 0 {
		for _, e := range evs {
			t.Logf("%s %s %s", e.Type, e.Metadata.OccurredAt, e.Data)
		}
		t.Fatalf("reminded before the half hour: %v", n)
	}
	clock.Set(t0.Add(31 * time.Minute))
	waitType(t, store, "rem", due, 1)
	_, evs := countTypes(t, store, "rem")
	for _, e := range evs {
		if e.Type != due {
			continue
		}
		p, _ := events.Types.Decode(e)
		if r := p.(events.OfferReminderDue); r.RegistrationID != "rem.2" || r.SessionID != "" || !r.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("reminder %+v", r)
		}
		if e.Metadata.Actor != events.ActorSystem || e.Metadata.Visibility != events.Owner {
			t.Errorf("reminder metadata %+v, want the system's, for the owner", e.Metadata)
		}
	}
	clock.Set(t0.Add(45 * time.Minute))
	time.Sleep(150 * time.Millisecond)
	stop()
	<-done

	// A fresh ledger knows from the log that the offer was reminded.
	fresh := startLedger(t, store, "rem")
	fresh.Now = clock.Now
	v, _ := exec(t, fresh, func(ed *Edition, _ time.Time, _ emit) (any, error) { return ed.Regs["rem.2"].Reminded[""], nil })
	if v != true {
		t.Error("a replayed edition forgot the reminder")
	}
	time.Sleep(150 * time.Millisecond)
	if n, _ := countTypes(t, store, "rem"); n[due] != 1 {
		t.Fatalf("%d reminders after a replay, want 1", n[due])
	}
	var history []Step
	exec(t, fresh, func(ed *Edition, _ time.Time, _ emit) (any, error) {
		history = ed.Regs["rem.2"].History
		return nil, nil
	})
	found := false
	for _, st := range history {
		found = found || st.Kind == "offer_reminder"
	}
	if !found {
		t.Errorf("the owner's timeline lacks the reminder: %+v", history)
	}
	clock.Set(t0.Add(61 * time.Minute))
	waitType(t, store, "rem", "conference.OfferExpired", 1)
}

// An offer taken before its moment is never reminded of.
func TestAcceptedOfferGetsNoReminder(t *testing.T) {
	store := openStore(t)
	clock := &fakeClock{t: t0}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	l := newLedger("acc", store, nil, clock.Now, 0, nil)
	go l.Run(ctx)
	_, err := exec(t, l, func(ed *Edition, now time.Time, emit emit) (any, error) {
		if err := ed.createEdition(CreateEdition{ID: "acc", NameEN: "Accept", Capacity: 1, OfferWindow: time.Hour, WaitlistLimit: 5}, emit); err != nil {
			return nil, err
		}
		ed.register(Register{RegistrationID: "acc.1", Member: "m1"}, emit)
		ed.register(Register{RegistrationID: "acc.2", Member: "m2"}, emit)
		_, err := ed.cancel("acc.1", "m1", now, emit)
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(10 * time.Minute))
	if _, err := exec(t, l, func(ed *Edition, now time.Time, emit emit) (any, error) { return ed.accept("acc.2", "m2", now, emit) }); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(40 * time.Minute))
	time.Sleep(150 * time.Millisecond)
	if n, _ := countTypes(t, store, "acc"); n["conference.OfferReminderDue"] != 0 || n["conference.OfferAccepted"] != 1 {
		t.Errorf("events %v: an accepted offer was reminded", n)
	}
}
