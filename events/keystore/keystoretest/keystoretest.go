// Package keystoretest is the conformance suite of keystore.Backend: the
// executable form of the contract written on the interface. A backend's
// test calls Run with a harness that opens a fresh, empty store.
package keystoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events/keystore"
)

// Harness opens backends for the suite.
type Harness struct {
	// New returns a fresh, empty backend and closes it when t ends.
	New func(t *testing.T) keystore.Backend
	// Raw returns every byte the backend b keeps in its files, so the
	// suite can check that an erased key is really gone. Nil for a backend
	// whose storage cannot be inspected from here (the suite then skips
	// that test, saying so).
	Raw func(t *testing.T, b keystore.Backend) []byte
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, h) })
	t.Run("PutTwice", func(t *testing.T) { testPutTwice(t, h) })
	t.Run("ConcurrentFirstKey", func(t *testing.T) { testConcurrentPut(t, h) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, h) })
	t.Run("Erase", func(t *testing.T) { testErase(t, h) })
	t.Run("EraseReallyForgets", func(t *testing.T) { testReallyForgets(t, h) })
	t.Run("DumpLoad", func(t *testing.T) { testDumpLoad(t, h) })
	t.Run("LoadKeepsErasures", func(t *testing.T) { testLoadKeepsErasures(t, h) })
	t.Run("Check", func(t *testing.T) { testCheck(t, h) })
	t.Run("Keyring", func(t *testing.T) { testKeyring(t, h) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func record(subject string, version int) keystore.Record {
	w := make([]byte, 60)
	rand.Read(w)
	return keystore.Record{Subject: subject, Version: version, Wrapped: w, Created: time.Now().UTC().Truncate(time.Microsecond)}
}

func same(a, b keystore.Record) bool {
	return a.Subject == b.Subject && a.Version == b.Version && bytes.Equal(a.Wrapped, b.Wrapped) && a.Created.Equal(b.Created)
}

func testPutGet(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	r := record("person-1", 1)
	if err := b.Put(c, r); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got, err := b.Latest(c, "person-1"); err != nil || !same(got, r) {
		t.Errorf("Latest = %+v, %v; want %+v", got, err, r)
	}
	if got, err := b.Get(c, "person-1", 1); err != nil || !same(got, r) {
		t.Errorf("Get(1) = %+v, %v; want %+v", got, err, r)
	}
	if _, err := b.Get(c, "person-1", 2); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Get of a version never stored: %v, want ErrNotFound", err)
	}
	if _, err := b.Latest(c, "person-2"); !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("Latest of an unknown subject: %v, want ErrNotFound", err)
	}
}

func testPutTwice(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	first := record("p", 1)
	if err := b.Put(c, first); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(c, record("p", 1)); !errors.Is(err, keystore.ErrExists) {
		t.Errorf("a second Put of version 1: %v, want ErrExists", err)
	}
	if got, _ := b.Latest(c, "p"); !same(got, first) {
		t.Errorf("after a refused Put the key is %+v, want the first %+v", got, first)
	}
}

func testConcurrentPut(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	const n = 8
	recs := make([]keystore.Record, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		recs[i] = record("racer", 1)
		wg.Go(func() { errs[i] = b.Put(c, recs[i]) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("two Puts of the same first key both succeeded (%d and %d)", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, keystore.ErrExists):
			t.Fatalf("Put %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no Put of the first key succeeded")
	}
	if got, _ := b.Latest(c, "racer"); !same(got, recs[winner]) {
		t.Errorf("the stored key is not the one whose Put succeeded")
	}
}

func testVersions(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	v1, v2 := record("p", 1), record("p", 2)
	for _, r := range []keystore.Record{v1, v2} {
		if err := b.Put(c, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := b.Latest(c, "p"); !same(got, v2) {
		t.Errorf("Latest = version %d, want 2", got.Version)
	}
	if got, _ := b.Get(c, "p", 1); !same(got, v1) {
		t.Errorf("Get(1) does not return version 1")
	}
}

func testErase(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	for _, r := range []keystore.Record{record("gone", 1), record("gone", 2), record("kept", 1)} {
		if err := b.Put(c, r); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := b.Erase(c, "gone", at); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if _, err := b.Latest(c, "gone"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("Latest after Erase: %v, want ErrErased", err)
	}
	for v := 1; v <= 2; v++ {
		if _, err := b.Get(c, "gone", v); !errors.Is(err, keystore.ErrErased) {
			t.Errorf("Get(%d) after Erase: %v, want ErrErased", v, err)
		}
	}
	if err := b.Put(c, record("gone", 3)); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("Put after Erase: %v, want ErrErased (an erased person gets no new key)", err)
	}
	if _, err := b.Latest(c, "kept"); err != nil {
		t.Errorf("erasing one subject touched another: %v", err)
	}
	if err := b.Erase(c, "gone", at.Add(time.Hour)); err != nil {
		t.Errorf("a second Erase: %v, want nil (idempotent)", err)
	}
	if err := b.Erase(c, "never-had-a-key", at); err != nil {
		t.Errorf("Erase of a subject without keys: %v", err)
	}
	if _, err := b.Latest(c, "never-had-a-key"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("Latest of an erased subject that had no key: %v, want ErrErased", err)
	}
	list, err := b.Erasures(c)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, e := range list {
		subjects = append(subjects, e.Subject)
		if e.Subject == "gone" && !e.At.Equal(at) {
			t.Errorf("the erasure of gone is listed at %v, want the first erasure's %v", e.At, at)
		}
	}
	slices.Sort(subjects)
	if !slices.Equal(subjects, []string{"gone", "never-had-a-key"}) {
		t.Errorf("erasure list = %v, want each erased subject once", subjects)
	}
}

func testReallyForgets(t *testing.T, h Harness) {
	if h.Raw == nil {
		t.Skip("this backend's storage cannot be inspected from the test")
	}
	b, c := h.New(t), ctx(t)
	secret := record("shred-me", 1)
	// A recognisable pattern, so a match cannot be chance.
	secret.Wrapped = []byte(fmt.Sprintf("wrapped-key-of-shred-me-%x", secret.Wrapped[:16]))
	if err := b.Put(c, secret); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := b.Put(c, record(fmt.Sprintf("other-%d", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(h.Raw(t, b), secret.Wrapped) {
		t.Fatal("before the erasure the key's bytes are not in the files: the inspection sees nothing")
	}
	if err := b.Erase(c, "shred-me", time.Now()); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(h.Raw(t, b), secret.Wrapped) {
		t.Error("after the erasure the key's bytes are still in the backend's files")
	}
}

func testDumpLoad(t *testing.T, h Harness) {
	src, c := h.New(t), ctx(t)
	var want []keystore.Record
	for i := range 5 {
		r := record(fmt.Sprintf("p%d", i), 1)
		if err := src.Put(c, r); err != nil {
			t.Fatal(err)
		}
		if i != 2 {
			want = append(want, r)
		}
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if err := src.Erase(c, "p2", at); err != nil {
		t.Fatal(err)
	}
	recs, gone, err := src.Dump(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want) || len(gone) != 1 || gone[0].Subject != "p2" {
		t.Fatalf("Dump = %d records, erasures %v; want %d records and p2 erased", len(recs), gone, len(want))
	}
	dst := h.New(t)
	if err := dst.Load(c, recs, gone); err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, r := range want {
		if got, err := dst.Latest(c, r.Subject); err != nil || !same(got, r) {
			t.Errorf("after Load, %s = %+v, %v", r.Subject, got, err)
		}
	}
	if _, err := dst.Latest(c, "p2"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("after Load, the erased p2: %v, want ErrErased", err)
	}
}

// testLoadKeepsErasures is the restore case: an old backup holds keys of
// people erased since; loading it must not bring them back.
func testLoadKeepsErasures(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	old := []keystore.Record{record("erased-since", 1), record("still-here", 1), record("listed-in-backup", 1)}
	if err := b.Erase(c, "erased-since", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(c, old, []keystore.Erasure{{Subject: "listed-in-backup", At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Latest(c, "erased-since"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("a key restored from a backup came back for a subject erased since: %v", err)
	}
	if _, err := b.Latest(c, "listed-in-backup"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("a subject the loaded erasure list names is not erased: %v", err)
	}
	if _, err := b.Latest(c, "still-here"); err != nil {
		t.Errorf("a restored key of a subject never erased: %v", err)
	}
}

func testCheck(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	first, err := b.Check(c, []byte("first value"))
	if err != nil || string(first) != "first value" {
		t.Fatalf("first Check = %q, %v", first, err)
	}
	if again, err := b.Check(c, []byte("another value")); err != nil || string(again) != "first value" {
		t.Errorf("second Check = %q, %v; want the stored first value", again, err)
	}
}

// testKeyring runs the keyring over the backend: keys made on first use,
// shared between keyrings (processes), refused under a wrong master key.
func testKeyring(t *testing.T, h Harness) {
	b, c := h.New(t), ctx(t)
	master := make([]byte, keystore.MasterKeySize)
	rand.Read(master)
	k1, err := keystore.Open(c, b, master, keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := keystore.Open(c, b, master, keystore.Options{CacheTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	key, err := k1.Current(c, "ada")
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, key.AEAD.NonceSize())
	sealed := key.AEAD.Seal(nil, nonce, []byte("ada@example.com"), nil)
	other, err := k2.Get(c, "ada", key.Version)
	if err != nil {
		t.Fatalf("a second keyring on the same store: %v", err)
	}
	if pt, err := other.AEAD.Open(nil, nonce, sealed, nil); err != nil || string(pt) != "ada@example.com" {
		t.Errorf("the second keyring's key does not open what the first sealed: %v", err)
	}
	if err := k1.Erase(c, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Get(c, "ada", key.Version); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("after an erasure through another keyring: %v, want ErrErased", err)
	}
	if _, err := k1.Current(c, "ada"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("Current of an erased subject: %v, want ErrErased", err)
	}
	// Prepare makes missing first keys in one go and keeps erasures.
	existing, _ := k1.Current(c, "bob")
	if err := k1.Prepare(c, []string{"bob", "carol", "dave", "ada", "carol"}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if again, _ := k2.Current(c, "bob"); again.Version != existing.Version {
		t.Error("Prepare replaced an existing key")
	}
	for _, who := range []string{"carol", "dave"} {
		if _, err := b.Latest(c, who); err != nil {
			t.Errorf("Prepare made no key for %s: %v", who, err)
		}
	}
	if _, err := b.Latest(c, "ada"); !errors.Is(err, keystore.ErrErased) {
		t.Errorf("Prepare brought an erased subject back: %v", err)
	}

	wrong := make([]byte, keystore.MasterKeySize)
	rand.Read(wrong)
	if _, err := keystore.Open(c, b, wrong, keystore.Options{}); !errors.Is(err, keystore.ErrWrongMasterKey) {
		t.Errorf("a wrong master key: %v, want ErrWrongMasterKey", err)
	}
}
