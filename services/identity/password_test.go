package identity

import (
	"context"
	"strings"
	"testing"
)

// fastArgon2 keeps tests quick; the production cost is measured by
// BenchmarkDefaultArgon2 instead.
var fastArgon2 = Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func TestPasswordHash(t *testing.T) {
	h, err := newHasher(fastArgon2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	encoded, err := h.hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", encoded)
	}
	if again, _ := h.hash(ctx, "correct horse battery staple"); again == encoded {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		ok, err := h.verify(ctx, encoded, pw)
		if err != nil || ok != want {
			t.Fatalf("verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// A hash made with other parameters stays verifiable: they are in it.
	strong, _ := newHasher(Argon2Params{Memory: 256, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32})
	other, _ := strong.hash(ctx, "pw")
	if ok, err := h.verify(ctx, other, "pw"); !ok || err != nil {
		t.Fatalf("verify across parameters = %v, %v", ok, err)
	}
}

func TestPasswordHashRefusesBadHashes(t *testing.T) {
	h, _ := newHasher(fastArgon2)
	for _, bad := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		if _, err := h.verify(context.Background(), bad, "pw"); err == nil {
			t.Errorf("hash %q accepted", bad)
		}
	}
}

func BenchmarkDefaultArgon2(b *testing.B) {
	h, err := newHasher(DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	encoded, _ := h.hash(context.Background(), "correct horse battery staple")
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.verify(context.Background(), encoded, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
