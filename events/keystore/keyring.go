package keystore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// MasterKeySize is the size of the master key and of every data key:
// AES-256.
const MasterKeySize = 32

// ErrWrongMasterKey: the master key does not open what the key store was
// set up with. Nothing is written under a wrong master key.
var ErrWrongMasterKey = errors.New("keystore: the master key does not open this key store")

// LoadMasterKey reads a master key file: 64 hex digits (and optionally a
// newline). With create, a missing file is made with a fresh random key,
// readable by the owner only.
func LoadMasterKey(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, MasterKeySize)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("master key %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			// Another process made it first; use that one.
			return LoadMasterKey(path, false)
		}
		if err != nil {
			return nil, fmt.Errorf("master key %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		serr := f.Sync()
		if cerr := f.Close(); werr == nil {
			werr = errors.Join(serr, cerr)
		}
		if werr != nil {
			os.Remove(path)
			return nil, fmt.Errorf("master key %s: %w", path, werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != MasterKeySize {
		return nil, fmt.Errorf("master key %s: want %d hex digits (a %d-byte key), the file holds something else", path, 2*MasterKeySize, MasterKeySize)
	}
	return key, nil
}

// checkPlaintext is what the check value seals: opening it proves the
// master key is the one the store was set up with.
const checkPlaintext = "yunqi master key check v1"

// Keyring hands out data keys. Every data key reaches the backend wrapped
// (AES-256-GCM under the master key, bound to its subject and version), so
// a copy of the key store is useless without the master key.
type Keyring struct {
	backend Backend
	master  cipher.AEAD
	derive  []byte // the base of Derive, itself derived from the master key
	ttl     time.Duration
	now     func() time.Time

	mu     sync.Mutex
	keys   map[keyID]cachedKey
	latest map[string]int
	erased map[string]bool
}

type keyID struct {
	subject string
	version int
}

type cachedKey struct {
	aead    cipher.AEAD
	fetched time.Time
}

// Key is a subject's data key, ready to seal or open.
type Key struct {
	Subject string
	Version int
	AEAD    cipher.AEAD
}

// Options tune a keyring.
type Options struct {
	// CacheTTL bounds how long an opened key is used from memory before
	// the backend is asked again, and so how long a process keeps
	// reading a subject that another process erased (when it has not
	// seen the erasure itself). Default 30 s.
	CacheTTL time.Duration
	Now      func() time.Time
}

// maxCached bounds the cache; past it, expired entries are dropped.
const maxCached = 200_000

// Open checks master against the backend's check value (setting it on a
// new store) and returns the keyring.
func Open(ctx context.Context, backend Backend, master []byte, opts Options) (*Keyring, error) {
	aead, err := newAEAD(master)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	value := aead.Seal(nonce, nonce, []byte(checkPlaintext), []byte("check"))
	stored, err := backend.Check(ctx, value)
	if err != nil {
		return nil, err
	}
	if pt, err := openWith(aead, stored, []byte("check")); err != nil || string(pt) != checkPlaintext {
		return nil, ErrWrongMasterKey
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	base := hmac.New(sha256.New, master)
	base.Write([]byte("yunqi derived keys v1"))
	return &Keyring{backend: backend, master: aead, derive: base.Sum(nil), ttl: opts.CacheTTL, now: opts.Now,
		keys: map[keyID]cachedKey{}, latest: map[string]int{}, erased: map[string]bool{}}, nil
}

// Derive returns a 32-byte secret for one purpose, derived from the master
// key: processes that share the master key share it, and it is never
// stored anywhere.
func (k *Keyring) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.derive)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Backend is the store under the keyring (for backups and exports).
func (k *Keyring) Backend() Backend { return k.backend }

// Current returns the subject's newest key, creating the first one on
// first use. ErrErased once the subject was erased.
func (k *Keyring) Current(ctx context.Context, subject string) (Key, error) {
	if subject == "" {
		return Key{}, errors.New("keystore: no subject")
	}
	k.mu.Lock()
	if k.erased[subject] {
		k.mu.Unlock()
		return Key{}, ErrErased
	}
	if v, ok := k.latest[subject]; ok {
		if c, ok := k.keys[keyID{subject, v}]; ok && k.now().Sub(c.fetched) < k.ttl {
			k.mu.Unlock()
			return Key{Subject: subject, Version: v, AEAD: c.aead}, nil
		}
	}
	k.mu.Unlock()

	rec, err := k.backend.Latest(ctx, subject)
	if errors.Is(err, ErrNotFound) {
		rec, err = k.create(ctx, subject)
	}
	if err != nil {
		k.noteErased(subject, err)
		return Key{}, err
	}
	aead, err := k.unwrap(rec)
	if err != nil {
		return Key{}, err
	}
	k.remember(subject, rec.Version, aead, true)
	return Key{Subject: subject, Version: rec.Version, AEAD: aead}, nil
}

func (k *Keyring) create(ctx context.Context, subject string) (Record, error) {
	secret := make([]byte, MasterKeySize)
	rand.Read(secret)
	rec := Record{Subject: subject, Version: 1, Created: k.now().UTC()}
	nonce := make([]byte, k.master.NonceSize())
	rand.Read(nonce)
	rec.Wrapped = k.master.Seal(nonce, nonce, secret, wrapAAD(subject, 1))
	clear(secret)
	err := k.backend.Put(ctx, rec)
	if errors.Is(err, ErrExists) {
		// Two processes raced to make the first key: both use the winner's.
		return k.backend.Latest(ctx, subject)
	}
	return rec, err
}

// Get returns one version of the subject's key: ErrErased when the
// subject was erased, ErrNotFound when this store never had it.
func (k *Keyring) Get(ctx context.Context, subject string, version int) (Key, error) {
	k.mu.Lock()
	if k.erased[subject] {
		k.mu.Unlock()
		return Key{}, ErrErased
	}
	if c, ok := k.keys[keyID{subject, version}]; ok && k.now().Sub(c.fetched) < k.ttl {
		k.mu.Unlock()
		return Key{Subject: subject, Version: version, AEAD: c.aead}, nil
	}
	k.mu.Unlock()
	rec, err := k.backend.Get(ctx, subject, version)
	if err != nil {
		k.noteErased(subject, err)
		return Key{}, err
	}
	aead, err := k.unwrap(rec)
	if err != nil {
		return Key{}, err
	}
	k.remember(subject, version, aead, false)
	return Key{Subject: subject, Version: version, AEAD: aead}, nil
}

// Erase destroys the subject's keys. It is idempotent.
func (k *Keyring) Erase(ctx context.Context, subject string) error {
	if subject == "" {
		return errors.New("keystore: no subject")
	}
	if err := k.backend.Erase(ctx, subject, k.now().UTC()); err != nil {
		return err
	}
	k.Forget(subject)
	k.mu.Lock()
	k.erased[subject] = true
	k.mu.Unlock()
	return nil
}

// Forget drops what the cache holds for the subject, so the next use asks
// the backend: a process calls it when it learns from the log that another
// process erased the subject.
func (k *Keyring) Forget(subject string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id := range k.keys {
		if id.subject == subject {
			delete(k.keys, id)
		}
	}
	delete(k.latest, subject)
}

func (k *Keyring) noteErased(subject string, err error) {
	if errors.Is(err, ErrErased) {
		k.Forget(subject)
		k.mu.Lock()
		k.erased[subject] = true
		k.mu.Unlock()
	}
}

func (k *Keyring) remember(subject string, version int, aead cipher.AEAD, latest bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if len(k.keys) >= maxCached {
		for id, c := range k.keys {
			if now.Sub(c.fetched) >= k.ttl {
				delete(k.keys, id)
				if k.latest[id.subject] == id.version {
					delete(k.latest, id.subject)
				}
			}
		}
	}
	k.keys[keyID{subject, version}] = cachedKey{aead: aead, fetched: now}
	if latest {
		k.latest[subject] = version
	}
}

func (k *Keyring) unwrap(rec Record) (cipher.AEAD, error) {
	secret, err := openWith(k.master, rec.Wrapped, wrapAAD(rec.Subject, rec.Version))
	if err != nil {
		return nil, fmt.Errorf("keystore: the key of %s (version %d) does not open with the master key: %w", rec.Subject, rec.Version, err)
	}
	defer clear(secret)
	return newAEAD(secret)
}

func wrapAAD(subject string, version int) []byte {
	return fmt.Appendf(nil, "yunqi data key\x00%s\x00%d", subject, version)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("keystore: a key must be %d bytes, got %d", MasterKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// openWith opens nonce||ciphertext.
func openWith(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}

// CheckWrapped reports whether the master key opens a record, without
// keeping it: an import checks every key before adding any.
func (k *Keyring) CheckWrapped(r Record) error {
	_, err := k.unwrap(r)
	return err
}

// Prepare makes the first key of every subject that has none, in one
// write to the backend: a migration that seals the data of many people at
// once would otherwise wait for one durable write per person.
func (k *Keyring) Prepare(ctx context.Context, subjects []string) error {
	var recs []Record
	seen := map[string]bool{}
	for _, subject := range subjects {
		if subject == "" || seen[subject] {
			continue
		}
		seen[subject] = true
		_, err := k.backend.Latest(ctx, subject)
		switch {
		case err == nil, errors.Is(err, ErrErased):
			continue
		case !errors.Is(err, ErrNotFound):
			return err
		}
		secret := make([]byte, MasterKeySize)
		rand.Read(secret)
		nonce := make([]byte, k.master.NonceSize())
		rand.Read(nonce)
		recs = append(recs, Record{Subject: subject, Version: 1, Created: k.now().UTC(),
			Wrapped: k.master.Seal(nonce, nonce, secret, wrapAAD(subject, 1))})
		clear(secret)
	}
	if len(recs) == 0 {
		return nil
	}
	return k.backend.Load(ctx, recs, nil)
}

// LatestMany is a Backend that reads many subjects' newest keys in one
// query: Warm uses it when the backend has it.
type LatestMany interface {
	LatestMany(ctx context.Context, subjects []string) (map[string]Record, error)
}

// Warm brings the current keys of subjects into the cache, in one read
// where the backend allows: an append of many people's events (a ledger's
// group of registrations) then seals without a read per person on its
// critical path. Subjects without a key, or erased, are left to Current.
func (k *Keyring) Warm(ctx context.Context, subjects []string) error {
	now := k.now()
	var missing []string
	k.mu.Lock()
	for _, s := range subjects {
		if k.erased[s] {
			continue
		}
		if v, ok := k.latest[s]; ok {
			if c, ok := k.keys[keyID{s, v}]; ok && now.Sub(c.fetched) < k.ttl {
				continue
			}
		}
		missing = append(missing, s)
	}
	k.mu.Unlock()
	if len(missing) < 2 {
		return nil
	}
	many, ok := k.backend.(LatestMany)
	if !ok {
		return nil
	}
	recs, err := many.LatestMany(ctx, missing)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		aead, err := k.unwrap(rec)
		if err != nil {
			return err
		}
		k.remember(rec.Subject, rec.Version, aead, true)
	}
	return nil
}
