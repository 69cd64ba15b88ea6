package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters for new password hashes.
// Every hash records its own parameters (PHC string format), so raising them
// later leaves existing hashes verifiable.
type Argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32 // bytes
	KeyLength   uint32 // bytes
}

// DefaultArgon2 is OWASP's first recommended argon2id configuration: 46 MiB,
// one pass, one lane, with the 16-byte salt and 32-byte key RFC 9106
// recommends. It costs about 0.1 s of one core here: slow enough to make
// offline guessing expensive, cheap enough on a two-core machine that the
// rate limits, not the hashing, bound log-in load. RFC 9106's 64 MiB × 3
// passes measured six times slower on such a machine.
var DefaultArgon2 = Argon2Params{Memory: 46 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Bounds on parameters read back from a stored hash: a corrupted or planted
// hash must not make one log-in allocate gigabytes or spin for minutes.
const (
	maxArgonMemory     = 1 << 20 // KiB, 1 GiB
	maxArgonIterations = 64
)

func (p Argon2Params) validate() error {
	switch {
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxArgonMemory:
		return fmt.Errorf("argon2 memory %d KiB out of range", p.Memory)
	case p.Iterations < 1 || p.Iterations > maxArgonIterations:
		return fmt.Errorf("argon2 iterations %d out of range", p.Iterations)
	case p.Parallelism < 1:
		return errors.New("argon2 parallelism must be at least 1")
	case p.SaltLength < 8 || p.SaltLength > 64:
		return fmt.Errorf("argon2 salt length %d out of range 8-64", p.SaltLength)
	case p.KeyLength < 16 || p.KeyLength > 128:
		return fmt.Errorf("argon2 key length %d out of range 16-128", p.KeyLength)
	}
	return nil
}

// hasher runs argon2id with a bound on concurrent hashes, because each one
// holds Memory KiB: a burst of log-ins must queue rather than exhaust RAM.
type hasher struct {
	params Argon2Params
	slots  chan struct{}
	// dummy is a hash of a random password with the current parameters.
	// Log-ins for unknown addresses verify against it so that they cost what
	// a real log-in costs and timing does not reveal who has an account.
	dummy string
}

func newHasher(p Argon2Params) (*hasher, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	h := &hasher{params: p, slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
	dummy, err := h.hash(context.Background(), rand.Text())
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.slots }

// hash returns the PHC string
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key> (unpadded
// standard base64, as the reference implementation writes it).
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verify reports whether password matches encoded. An error means the hash
// itself is unusable, never that the password is wrong.
func (h *hasher) verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parsePHC(encoded string) (Argon2Params, []byte, []byte, error) {
	bad := func(why string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("password hash: %s", why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return bad("unsupported argon2 version")
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return bad("unreadable parameters")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return bad("unreadable salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return bad("unreadable key")
	}
	p.SaltLength, p.KeyLength = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return bad(err.Error())
	}
	return p, salt, key, nil
}
