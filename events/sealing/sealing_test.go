package sealing_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/keystore/sqlitekeys"
	"github.com/yunqi-town/yunqi/events/sealing"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/events/storetest"
)

type fixture struct {
	raw    *sqlitestore.Store
	sealed *sealing.Store
	keys   *keystore.Keyring
}

func newFixture(t testing.TB) fixture {
	dir := t.TempDir()
	raw, err := sqlitestore.Open(filepath.Join(dir, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	backend, err := sqlitekeys.Open(filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	master := make([]byte, keystore.MasterKeySize)
	rand.Read(master)
	keys, err := keystore.Open(context.Background(), backend, master, keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{raw: raw, sealed: sealing.New(raw, keys, nil), keys: keys}
}

// The sealing store is an events.Store like any other: it passes the
// whole conformance suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) events.Store { return newFixture(t).sealed })
}

func registered(user, email, name string) events.Proposed {
	ev, err := events.Types.New(events.UserRegistered{UserID: user, Lang: "en",
		Personal: events.UserPersonal{Email: email, DisplayName: name, PasswordHash: "$argon2id$v=19$secret"}},
		events.Metadata{Actor: user, Subject: user, Visibility: events.Owner})
	if err != nil {
		panic(err)
	}
	return ev
}

func TestSealedInTheLogOpenedForReaders(t *testing.T) {
	f, ctx := newFixture(t), context.Background()
	p := registered("u-1", "ada@example.com", "Ada Lovelace")
	if _, err := f.sealed.Append(ctx, "user-u-1", events.NoStream, p); err != nil {
		t.Fatal(err)
	}
	raw, err := f.raw.ReadStream(ctx, "user-u-1", events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw[0].Data, []byte("ada@example.com")) || bytes.Contains(raw[0].Data, []byte("Ada Lovelace")) || bytes.Contains(raw[0].Data, []byte("argon2id")) {
		t.Fatalf("the log holds personal data in clear: %s", raw[0].Data)
	}
	if !bytes.Contains(raw[0].Data, []byte(`"user_id":"u-1"`)) || raw[0].Metadata.KeyVersion != 1 || raw[0].Metadata.Subject != "u-1" {
		t.Errorf("sealing must keep the rest readable and name the key: %s %+v", raw[0].Data, raw[0].Metadata)
	}
	if sealing.IsSealed(raw[0]) != true {
		t.Error("IsSealed says a sealed event is clear text")
	}

	check := func(evs []events.Event) {
		t.Helper()
		v, err := events.Types.Decode(evs[0])
		if err != nil {
			t.Fatal(err)
		}
		if u := v.(events.UserRegistered); u.Personal.Email != "ada@example.com" || u.Personal.DisplayName != "Ada Lovelace" || u.Lang != "en" {
			t.Errorf("opened event = %+v", u)
		}
	}
	evs, _ := f.sealed.ReadStream(ctx, "user-u-1", events.ReadOptions{})
	check(evs)
	evs, _ = f.sealed.ReadAll(ctx, events.ReadAllOptions{})
	check(evs)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for m, err := range f.sealed.Subscribe(sctx, events.SubscribeOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind == events.KindEvent {
			check([]events.Event{m.Event})
			break
		}
	}
}

func TestErasedReadsAsNull(t *testing.T) {
	f, ctx := newFixture(t), context.Background()
	for _, u := range []string{"gone", "kept"} {
		if _, err := f.sealed.Append(ctx, "user-"+u, events.NoStream, registered(u, u+"@example.com", "Name of "+u)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.keys.Erase(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	evs, err := f.sealed.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		v, err := events.Types.Decode(e)
		if err != nil {
			t.Fatalf("an erased person's event must still decode: %v", err)
		}
		u := v.(events.UserRegistered)
		switch u.UserID {
		case "gone":
			if u.Personal != (events.UserPersonal{}) || !strings.Contains(string(e.Data), `"personal":null`) {
				t.Errorf("erased person's personal data = %+v (%s), want null", u.Personal, e.Data)
			}
		case "kept":
			if u.Personal.Email != "kept@example.com" {
				t.Errorf("another person's data went with the erasure: %+v", u.Personal)
			}
		}
	}
	if f.sealed.Unreadable() != 0 {
		t.Errorf("an erasure is not an unreadable event, counted %d", f.sealed.Unreadable())
	}
	if _, err := f.sealed.Append(ctx, "user-gone", events.Any, registered("gone", "new@example.com", "New")); err == nil {
		t.Error("personal data was appended for an erased subject")
	}
}

func TestTamperedCiphertextReadsAsNullAndTheRestReadsOn(t *testing.T) {
	f, ctx := newFixture(t), context.Background()
	p := registered("u-1", "ada@example.com", "Ada")
	sealed, _, err := sealing.Seal(ctx, f.keys, p)
	if err != nil {
		t.Fatal(err)
	}
	// Flip one character of the ciphertext.
	i := bytes.Index(sealed.Data, []byte("yq1.")) + 10
	data := bytes.Clone(sealed.Data)
	data[i] ^= 1
	if data[i] == '"' || data[i] == '\\' {
		data[i] = 'A'
	}
	sealed.Data = data
	if _, err := f.raw.Append(ctx, "user-u-1", events.NoStream, sealed); err != nil {
		t.Fatal(err)
	}
	// Ciphertext moved to another event does not open either.
	moved := registered("u-1", "x", "y")
	moved.Data = bytes.Clone(data)
	moved.Metadata.KeyVersion = 1
	if _, err := f.raw.Append(ctx, "user-u-1", events.Any, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sealed.Append(ctx, "user-u-2", events.NoStream, registered("u-2", "bob@example.com", "Bob")); err != nil {
		t.Fatal(err)
	}
	evs, err := f.sealed.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil || len(evs) != 3 {
		t.Fatalf("read %d events, %v; want all 3", len(evs), err)
	}
	for _, e := range evs[:2] {
		if !strings.Contains(string(e.Data), `"personal":null`) {
			t.Errorf("a tampered event reads %s", e.Data)
		}
	}
	if !strings.Contains(string(evs[2].Data), "bob@example.com") {
		t.Errorf("the event after the tampered ones: %s", evs[2].Data)
	}
	if f.sealed.Unreadable() != 2 {
		t.Errorf("unreadable = %d, want 2", f.sealed.Unreadable())
	}
}

func TestRefusals(t *testing.T) {
	f, ctx := newFixture(t), context.Background()
	p := registered("u-1", "ada@example.com", "Ada")
	p.Metadata.Subject = ""
	if _, err := f.sealed.Append(ctx, "user-u-1", events.NoStream, p); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Errorf("personal data without a subject: %v, want a refusal naming the subject", err)
	}
	bad := events.Proposed{ID: events.NewID(), Type: "x.Y", Data: json.RawMessage(`{"personal":"ada@example.com"}`), Metadata: events.Metadata{Subject: "u-1"}}
	if _, err := f.sealed.Append(ctx, "x-1", events.Any, bad); err == nil {
		t.Error("a personal member that is a clear string was accepted")
	}
	none := events.Proposed{ID: events.NewID(), Type: "x.Y", Data: json.RawMessage(`{"personal":null,"note":"a \"personal\" word"}`)}
	if _, err := f.sealed.Append(ctx, "x-2", events.Any, none); err != nil {
		t.Errorf("null personal data: %v", err)
	}
	if got, _ := f.raw.ReadStream(ctx, "x-2", events.ReadOptions{}); len(got) != 1 || !bytes.Equal(got[0].Data, none.Data) {
		t.Errorf("an event without personal data must be stored as it is")
	}
}

// A retried append proposes the same ids; sealing again makes new
// ciphertext, and the store still recognises the replay by id.
func TestRetryIsIdempotent(t *testing.T) {
	f, ctx := newFixture(t), context.Background()
	p := registered("u-1", "ada@example.com", "Ada")
	for range 2 {
		if _, err := f.sealed.Append(ctx, "user-u-1", events.NoStream, p); err != nil {
			t.Fatal(err)
		}
	}
	if evs, _ := f.raw.ReadStream(ctx, "user-u-1", events.ReadOptions{}); len(evs) != 1 {
		t.Errorf("a retried append wrote %d events", len(evs))
	}
}

func BenchmarkSealOpen(b *testing.B) {
	f, ctx := newFixture(b), context.Background()
	ps := make([]events.Proposed, 1000)
	for i := range ps {
		ps[i] = registered(fmt.Sprintf("u-%d", i), fmt.Sprintf("p%d@example.com", i), "Some Name")
	}
	// Keys made beforehand: the figure is sealing, not making keys.
	var subjects []string
	for _, p := range ps {
		subjects = append(subjects, p.Metadata.Subject)
	}
	if err := f.keys.Prepare(ctx, subjects); err != nil {
		b.Fatal(err)
	}
	b.Run("seal", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, _, err := sealing.Seal(ctx, f.keys, ps[i%len(ps)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	sealed := make([]events.Event, len(ps))
	for i, p := range ps {
		s, _, _ := sealing.Seal(ctx, f.keys, p)
		sealed[i] = events.Event{ID: s.ID, Type: s.Type, Data: s.Data, Metadata: s.Metadata}
	}
	b.Run("open", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := sealing.Open(ctx, f.keys, sealed[i%len(sealed)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
