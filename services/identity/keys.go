package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// Signing keys live in <data>/keys, one PKCS#8 PEM file per Ed25519 key,
// named signing-<creation time>.pem. The newest key signs; older keys are
// only published (until the tokens they signed have expired) so that a
// rotation logs nobody out. Several processes share the directory: the
// server re-reads it when its listing changes, so `yunqi keys rotate` takes
// effect without a restart.
const (
	keysDirName   = "keys"
	keyFilePrefix = "signing-"
	keyFileSuffix = ".pem"
	keyTimeLayout = "20060102T150405.000000000Z"
	// keyRetention is how long a retired key's file is kept. It is far longer
	// than any access token may live (MaxAccessTTL), so pruning never removes
	// a key someone still needs.
	keyRetention = 7 * 24 * time.Hour
	// publishSlack covers clock skew between processes when deciding how long
	// a retired key stays in the JWKS.
	publishSlack = time.Minute
)

type signingKey struct {
	kid     string
	created time.Time
	private ed25519.PrivateKey
	public  ed25519.PublicKey
}

// keyring is the signer's view of the keys directory.
type keyring struct {
	dir        string
	accessTTL  time.Duration
	checkEvery time.Duration
	now        func() time.Time
	log        *slog.Logger

	mu        sync.Mutex
	keys      []signingKey // oldest first; never empty once opened
	listing   string       // fingerprint of the directory when keys were read
	checkedAt time.Time
}

func keysDir(dataDir string) string { return filepath.Join(dataDir, keysDirName) }

// openKeyring reads the keys directory, generating the first key when there
// is none (first start).
func openKeyring(dataDir string, accessTTL, checkEvery time.Duration, now func() time.Time, log *slog.Logger) (*keyring, error) {
	k := &keyring{dir: keysDir(dataDir), accessTTL: accessTTL, checkEvery: checkEvery, now: now, log: log}
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	listing, keys, err := readKeys(k.dir, log)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		key, err := writeNewKey(k.dir, now())
		if err != nil {
			return nil, err
		}
		log.Info("generated the first signing key", "kid", key.kid, "dir", k.dir)
		if listing, keys, err = readKeys(k.dir, log); err != nil {
			return nil, err
		}
	}
	k.keys, k.listing, k.checkedAt = keys, listing, now()
	return k, nil
}

// RotateKeys makes a new signing key the signer (`yunqi keys rotate`). Older
// keys stay published until the tokens they signed have expired, so nobody
// is logged out; running servers pick the new key up within a second or so.
// Key files retired for longer than a week are removed. It returns the new
// key's id.
func RotateKeys(dataDir string) (string, error) {
	dir := keysDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("signing keys: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	_, keys, err := readKeys(dir, quiet)
	if err != nil {
		return "", err
	}
	now := time.Now()
	created := now
	if len(keys) > 0 && !created.After(keys[len(keys)-1].created) {
		// The newest file is the signer, so a clock that went backwards
		// must not file the new key behind the old one.
		created = keys[len(keys)-1].created.Add(time.Microsecond)
	}
	key, err := writeNewKey(dir, created)
	if err != nil {
		return "", err
	}
	if _, keys, err = readKeys(dir, quiet); err != nil {
		return key.kid, err
	}
	for i := 0; i+1 < len(keys); i++ {
		if now.Sub(keys[i+1].created) > keyRetention {
			name := keyFileName(keys[i].created)
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return key.kid, fmt.Errorf("remove retired key %s: %w", name, err)
			}
		}
	}
	return key.kid, nil
}

// signer returns the newest key.
func (k *keyring) signer() signingKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reloadIfChanged()
	return k.keys[len(k.keys)-1]
}

// jwks returns the keys a verifier may need: the signer and every retired key
// that may still have signed a live token. A key retires when a newer one
// appears, and a running server may go on signing with it until it notices,
// hence the check interval in the window.
func (k *keyring) jwks() auth.JWKS {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reloadIfChanged()
	return publishable(k.keys, k.now(), k.accessTTL, k.checkEvery)
}

// publishable is the key set of keys (oldest first) at now: the newest, and
// each older one until every token it may have signed has expired.
func publishable(keys []signingKey, now time.Time, accessTTL, checkEvery time.Duration) auth.JWKS {
	set := auth.JWKS{Keys: []auth.JWK{}}
	for i := len(keys) - 1; i >= 0; i-- {
		key := keys[i]
		if i < len(keys)-1 {
			retired := keys[i+1].created
			if now.After(retired.Add(accessTTL + checkEvery + publishSlack)) {
				continue
			}
		}
		set.Keys = append(set.Keys, auth.Ed25519JWK(key.kid, key.public))
	}
	return set
}

// reloadIfChanged re-reads the directory when its listing changed since the
// last read, at most once per check interval. k.mu must be held. A broken
// directory keeps the keys already loaded: signing must not stop because an
// operator left a stray file.
func (k *keyring) reloadIfChanged() {
	now := k.now()
	if now.Sub(k.checkedAt) < k.checkEvery {
		return
	}
	k.checkedAt = now
	listing, err := listKeyFiles(k.dir)
	if err != nil {
		k.log.Error("cannot list signing keys; keeping the loaded ones", "dir", k.dir, "err", err)
		return
	}
	if listing == k.listing {
		return
	}
	listing, keys, err := readKeys(k.dir, k.log)
	if err != nil || len(keys) == 0 {
		k.log.Error("cannot reload signing keys; keeping the loaded ones", "dir", k.dir, "err", err)
		return
	}
	if keys[len(keys)-1].kid != k.keys[len(k.keys)-1].kid {
		k.log.Info("signing key changed", "kid", keys[len(keys)-1].kid)
	}
	k.keys, k.listing = keys, listing
}

// listKeyFiles fingerprints the key files by name, size and modification
// time: cheap enough to run every second, and any write, rename or removal
// changes it.
func listKeyFiles(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, e := range entries {
		if !isKeyFile(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // pruned while we listed
			}
			return "", err
		}
		fmt.Fprintf(&b, "%s:%d:%d;", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return b.String(), nil
}

func isKeyFile(name string) bool {
	return strings.HasPrefix(name, keyFilePrefix) && strings.HasSuffix(name, keyFileSuffix)
}

func keyFileName(created time.Time) string {
	return keyFilePrefix + created.UTC().Format(keyTimeLayout) + keyFileSuffix
}

// readKeys loads every key file, oldest first.
func readKeys(dir string, log *slog.Logger) (string, []signingKey, error) {
	listing, err := listKeyFiles(dir)
	if err != nil {
		return "", nil, fmt.Errorf("signing keys: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("signing keys: %w", err)
	}
	var keys []signingKey
	for _, e := range entries {
		if !isKeyFile(e.Name()) {
			continue
		}
		key, err := readKey(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		if info, err := e.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			log.Warn("signing key file is readable by others; it should be mode 0600", "file", e.Name())
		}
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].created.Before(keys[j].created) })
	return listing, keys, nil
}

func readKey(path string) (signingKey, error) {
	name := filepath.Base(path)
	created, err := time.Parse(keyTimeLayout, strings.TrimSuffix(strings.TrimPrefix(name, keyFilePrefix), keyFileSuffix))
	if err != nil {
		return signingKey{}, fmt.Errorf("signing key %s: the name does not carry a creation time", name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return signingKey{}, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return signingKey{}, fmt.Errorf("signing key %s: not a PEM private key", name)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return signingKey{}, fmt.Errorf("signing key %s: %w", name, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return signingKey{}, fmt.Errorf("signing key %s: %T is not an Ed25519 key", name, parsed)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return signingKey{kid: auth.Thumbprint(pub), created: created, private: priv, public: pub}, nil
}

// writeNewKey generates a key and writes it atomically (temporary file,
// fsync, rename, fsync of the directory), so a reader never sees half a key
// and a crash never leaves one behind.
func writeNewKey(dir string, now time.Time) (signingKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return signingKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return signingKey{}, err
	}
	final := filepath.Join(dir, keyFileName(now))
	if _, err := os.Stat(final); err == nil {
		return signingKey{}, fmt.Errorf("signing key %s already exists", final)
	}
	tmp, err := os.CreateTemp(dir, ".signing-*.tmp")
	if err != nil {
		return signingKey{}, fmt.Errorf("write signing key: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return signingKey{}, fmt.Errorf("write signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return signingKey{}, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return signingKey{}, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return signingKey{}, fmt.Errorf("write signing key: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return signingKey{}, fmt.Errorf("write signing key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return signingKey{kid: auth.Thumbprint(pub), created: now.UTC(), private: priv, public: pub}, nil
}
