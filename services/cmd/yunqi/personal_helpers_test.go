package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/services/identity"
)

// openSealedLog opens the log in data as the services see it: personal
// data sealed on the way in and opened on the way out, with the data dir's
// key store.
func openSealedLog(t testing.TB, data string) events.Store {
	t.Helper()
	c := commonConfig{Data: data}
	p, err := openPersonalLog(context.Background(), &c, "", true, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// claims is the address claim key of the app's log, which role grants
// need to find an account by its address.
func (a *testApp) claims(t testing.TB) identity.ClaimKey {
	t.Helper()
	p, ok := a.store.(*personalLog)
	if !ok {
		t.Fatal("the test app's store is not the sealed log")
	}
	return p.claims
}

// seedClearText writes a log as it was before sealing: a registration with
// its personal data in clear, straight into SQLite.
func seedClearText(t testing.TB, data string) {
	t.Helper()
	store, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	id := "0193a5d0-0000-7000-8000-0000000000c1"
	ev, err := events.Types.New(events.UserRegistered{UserID: id, Lang: "en",
		Personal: events.UserPersonal{Email: "clear@example.com", DisplayName: "Clear Text", PasswordHash: "$argon2id$v=19$x"}},
		events.Metadata{Actor: id, Subject: id, Visibility: events.Owner})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), events.UserStream(id), events.NoStream, ev); err != nil {
		t.Fatal(err)
	}
}
