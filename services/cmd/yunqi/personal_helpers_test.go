package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/yunqi-town/yunqi/events"
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
