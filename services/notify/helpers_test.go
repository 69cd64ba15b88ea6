package notify

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

func openStore(t testing.TB) *sqlitestore.Store {
	t.Helper()
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "log.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// put appends payloads to stream as one append.
func put(t testing.TB, store events.Store, stream string, payloads ...any) events.Position {
	t.Helper()
	var ps []events.Proposed
	for _, p := range payloads {
		e, err := events.Types.New(p, events.Metadata{Actor: events.ActorSystem, Visibility: events.Owner})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, e)
	}
	res, err := store.Append(t.Context(), stream, events.Any, ps...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

// fakeMailer stands in for an SMTP server in the unit tests; the SMTP
// path itself is tested against mailpit.
type fakeMailer struct {
	mu   sync.Mutex
	got  []Message
	fail func(Message) error
}

func (f *fakeMailer) Send(_ context.Context, msgs []Message, done func(int, error)) {
	for i, m := range msgs {
		var err error
		if f.fail != nil {
			err = f.fail(m)
		}
		if err == nil {
			f.mu.Lock()
			f.got = append(f.got, m)
			f.mu.Unlock()
		}
		done(i, err)
	}
}
func (f *fakeMailer) Check(context.Context) error { return nil }
func (f *fakeMailer) String() string              { return "fake" }

func (f *fakeMailer) sent() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.got...)
}

// start runs a notifier on store until the test ends and waits until it
// has caught up.
func start(t testing.TB, store events.Store, cfg Config) *Service {
	t.Helper()
	if cfg.Mailer != nil && cfg.BaseURL == "" {
		cfg.BaseURL = "https://yunqi.example"
	}
	if cfg.CursorEvery == 0 {
		cfg.CursorEvery = 50 * time.Millisecond
	}
	s, err := New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the notifier catches up", func() bool { return s.follower.Ready() })
	return s
}

func eventually(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	ada = "0193a5d0-0000-7000-8000-00000000000a"
	bo  = "0193a5d0-0000-7000-8000-00000000000b"
)

// member registers an account, verified when verified is set.
func member(t testing.TB, store events.Store, id, name, email, lang string, verified bool) {
	t.Helper()
	evs := []any{events.UserRegistered{UserID: id, Personal: events.UserPersonal{Email: email, DisplayName: name}, Lang: lang}}
	if verified {
		evs = append(evs, events.EmailVerified{UserID: id, Personal: events.EmailPersonal{Email: email}})
	}
	put(t, store, events.UserStream(id), evs...)
}
