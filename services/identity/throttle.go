package identity

import (
	"crypto/sha256"
	"math"
	"slices"
	"sync"
	"time"
)

// Failed log-ins are slowed down, never counted towards a lock-out that
// someone else could trigger. Three brakes watch them:
//
//   - one account from one client address (the pair): a person mistyping
//     their own password, or someone guessing it from one place;
//   - one client address whatever the account: someone trying one
//     password on many accounts;
//   - one account from everywhere, a slow backstop against guessing from
//     many addresses, with a much higher threshold, which a browser that
//     has logged in to the account before (its device cookie) passes.
//
// Each brake lets a few failures through at once; every further failure
// makes the next attempt under that key wait, twice as long each time, up
// to a cap. The count drains as time passes, so a quiet key is free again.
// A stranger's failures for an account therefore only ever slow the
// stranger's own address down, and the backstop never refuses the owner on
// a device they have used.
//
// The brakes are in this process's memory: they are a brake, not a record.
// A restart forgets them, and each process of a service run several times
// brakes on its own. They hold a bounded number of keys and forget the
// least telling ones first.

// brakeBase is the first wait once a key's free failures are used up.
const brakeBase = time.Second

// maxBrakeKeys bounds each brake's memory: an entry is a 16-byte key and
// three numbers, so a full brake holds a few MiB.
const maxBrakeKeys = 100_000

// brake slows down failures under one kind of key.
type brake struct {
	free  float64       // failures that cost no wait
	drain time.Duration // how long one failure takes to be forgiven
	cap   time.Duration // the longest wait
	// maxKeys bounds the keys held (maxBrakeKeys but in tests).
	maxKeys int

	mu      sync.Mutex
	m       map[brakeKey]brakeEntry
	sweptAt int64 // unix nanoseconds of the last sweep for drained keys
}

type brakeKey [16]byte

type brakeEntry struct {
	score float64 // failures, less what has drained
	at    int64   // unix nanoseconds score was brought up to date at
	until int64   // unix nanoseconds before which no attempt goes through
}

// newBrake reads l as l.Requests failures that pass at once and drain at
// that many per l.Window, with waits capped at l.Window; nil (no brake)
// when l is off.
func newBrake(l RateLimit) *brake {
	if l.Off() {
		return nil
	}
	return &brake{
		free:    float64(l.Requests),
		drain:   max(time.Nanosecond, l.Window/time.Duration(l.Requests)),
		cap:     l.Window,
		maxKeys: maxBrakeKeys,
		m:       map[brakeKey]brakeEntry{},
	}
}

func keyOf(parts ...string) brakeKey {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var k brakeKey
	copy(k[:], h.Sum(nil))
	return k
}

// drained is e's score at now. Only quiet time drains it: time spent
// waiting as told does not, or waits would stop growing once they came
// near the drain interval, and a patient guesser would get N tries per
// window for ever instead of one per cap.
func (b *brake) drained(e brakeEntry, now int64) float64 {
	from := max(e.at, e.until)
	if now <= from {
		return e.score
	}
	return max(0, e.score-float64(now-from)/float64(b.drain))
}

// wait is how long an attempt under k must still wait (0: it may go).
func (b *brake) wait(k brakeKey, now time.Time) time.Duration {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	e, ok := b.m[k]
	b.mu.Unlock()
	if !ok {
		return 0
	}
	return max(0, time.Duration(e.until-now.UnixNano()))
}

// fail records a failed attempt under k.
func (b *brake) fail(k brakeKey, now time.Time) {
	if b == nil {
		return
	}
	t := now.UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	if t-b.sweptAt > int64(b.cap) {
		b.sweep(t)
	}
	e, ok := b.m[k]
	if !ok && len(b.m) >= b.maxKeys {
		b.shrink(t)
	}
	e.score = b.drained(e, t) + 1
	e.at = t
	// The attempt after the last free failure waits brakeBase, and each
	// after it twice as long as the one before (2^20 s is past any cap).
	// A failure half drained away counts half, hence the rounding.
	if n := int(math.Round(e.score-b.free)) + 1; n >= 1 {
		d := b.cap
		if n <= 20 {
			d = min(b.cap, brakeBase<<(n-1))
		}
		e.until = t + int64(d)
	}
	b.m[k] = e
}

// forget drops k: a successful log-in shows the pair is the owner's.
func (b *brake) forget(k brakeKey) {
	if b == nil {
		return
	}
	b.mu.Lock()
	delete(b.m, k)
	b.mu.Unlock()
}

// sweep drops the keys that have drained and wait for nothing: they
// brake nothing. It runs at most once per cap, so it costs little per
// failure, and a brake shrinks again after a storm.
func (b *brake) sweep(now int64) {
	b.sweptAt = now
	for k, e := range b.m {
		if e.until <= now && b.drained(e, now) == 0 {
			delete(b.m, k)
		}
	}
}

// shrink makes room in a full brake. Drained keys go first; if that is not
// enough, the quarter with the lowest scores goes, keeping the keys that
// failed most, which are the ones worth braking. It runs once per quarter
// of the brake's size, so its sort costs little per failure.
func (b *brake) shrink(now int64) {
	b.sweep(now)
	if len(b.m) < b.maxKeys*3/4 {
		return
	}
	type scored struct {
		k     brakeKey
		score float64
	}
	all := make([]scored, 0, len(b.m))
	for k, e := range b.m {
		all = append(all, scored{k, b.drained(e, now)})
	}
	slices.SortFunc(all, func(a, c scored) int {
		switch {
		case a.score < c.score:
			return -1
		case a.score > c.score:
			return 1
		}
		return 0
	})
	for _, s := range all[:len(all)-b.maxKeys*3/4] {
		delete(b.m, s.k)
	}
}

// size is the number of keys the brake holds.
func (b *brake) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// Which brake holds an attempt back; each has its own message.
type brakeScope int

const (
	brakePair    brakeScope = iota + 1 // this account from this address
	brakeAddress                       // this address, any account
	brakeAccount                       // this account from everywhere
)

// throttledError holds a password attempt back for a while.
type throttledError struct {
	scope brakeScope
	wait  time.Duration
}

func (e *throttledError) Error() string {
	return "password attempt held back for " + e.wait.Round(time.Second).String()
}

// retryAfter is the wait in whole seconds, rounded up, as Retry-After
// says it.
func (e *throttledError) retryAfter() int { return max(1, int(math.Ceil(e.wait.Seconds()))) }

// message says, in the API's English, why the attempt was held back.
func (e *throttledError) message() string {
	switch e.scope {
	case brakePair:
		return "Too many failed log-ins for this account from your network address."
	case brakeAddress:
		return "Too many failed log-ins from your network address."
	}
	return "Too many failed log-ins for this account from many places. A device that has logged in to the account before is not held back."
}

// catalogueKey is the page message of the brake.
func (e *throttledError) catalogueKey() string {
	switch e.scope {
	case brakePair:
		return "identity.limit.pair"
	case brakeAddress:
		return "identity.limit.failures"
	}
	return "identity.limit.account"
}

// brakes are the three brakes on failed password attempts.
type brakes struct {
	pair, address, account *brake
}

func newBrakes(cfg Config) brakes {
	return brakes{
		pair:    newBrake(cfg.LogInFailuresPerPair),
		address: newBrake(cfg.LogInFailuresPerAddress),
		account: newBrake(cfg.LogInPerAccount),
	}
}

// attemptKeys are the keys one attempt is braked under. account is the
// hash of the normalised address (emailHash), so no address is held in
// memory and unknown addresses brake exactly like known ones.
type attemptKeys struct{ pair, address, account brakeKey }

func keysFor(account, addr string) attemptKeys {
	return attemptKeys{
		pair:    keyOf("pair", account, addr),
		address: keyOf("address", addr),
		account: keyOf("account", account),
	}
}

// check reports the brake holding an attempt back, if any: the longest
// wait, so that a client retrying after Retry-After is not held back again
// at once by another brake. knownDevice is asked only when the backstop is
// on, which is rare, because answering it reads the account.
func (b brakes) check(k attemptKeys, now time.Time, knownDevice func() bool) error {
	var held *throttledError
	for _, c := range []struct {
		scope brakeScope
		br    *brake
		key   brakeKey
	}{{brakePair, b.pair, k.pair}, {brakeAddress, b.address, k.address}, {brakeAccount, b.account, k.account}} {
		w := c.br.wait(c.key, now)
		if w <= 0 || held != nil && w <= held.wait {
			continue
		}
		if c.scope == brakeAccount && knownDevice() {
			continue
		}
		held = &throttledError{scope: c.scope, wait: w}
	}
	if held == nil {
		return nil
	}
	return held
}

func (b brakes) failed(k attemptKeys, now time.Time) {
	b.pair.fail(k.pair, now)
	b.address.fail(k.address, now)
	b.account.fail(k.account, now)
}

// succeeded clears the pair's failures. The address's and the account's
// stay: one right password says nothing about the other attempts made
// from that address or for that account.
func (b brakes) succeeded(k attemptKeys) { b.pair.forget(k.pair) }
