package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yunqi-town/yunqi/events"
)

// ClaimKey names the claim stream of an address: HMAC-SHA-256 of the
// normalised address under a secret kept in the data dir, never in the
// log. A plain hash could be recomputed by anyone holding a copy of the log
// and a guessed address; with the secret elsewhere, nothing in the log, its
// backups or its exports links a stream to an address, also after the
// person behind it was erased.
type ClaimKey []byte

// ClaimKeyFile is where the secret lives in a data dir.
func ClaimKeyFile(dataDir string) string { return filepath.Join(dataDir, "keys", "email-claim.key") }

// LoadClaimKey reads the data dir's claim secret, making it on first use.
// Every process working on one log must share it (the data dir, or the
// same mounted file).
func LoadClaimKey(dataDir string) (ClaimKey, error) {
	path := ClaimKeyFile(dataDir)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("address claim key %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadClaimKey(dataDir) // another process made it first
		}
		if err != nil {
			return nil, fmt.Errorf("address claim key %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		if serr := f.Sync(); werr == nil {
			werr = serr
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, fmt.Errorf("address claim key %s: %w", path, werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("address claim key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("address claim key %s: want 64 hex digits", path)
	}
	return key, nil
}

// hash names the claim stream of a normalised address.
func (k ClaimKey) hash(normalized string) string {
	if len(k) == 0 {
		// A programming error: an unkeyed name would be the recomputable
		// kind this type exists to avoid.
		panic("identity: address claim key not loaded")
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("yunqi email claim\x00" + normalized))
	return hex.EncodeToString(m.Sum(nil))
}

// ClaimStreamOf is the claim stream an address has under k (for the
// migration that renames streams named by the former plain hash).
func (k ClaimKey) ClaimStreamOf(email string) string {
	return events.EmailClaimStream(k.hash(normalizeEmail(email)))
}

// LegacyClaimHash is how claim streams were named before they were keyed:
// a plain SHA-256, which the migration recognises and renames.
func LegacyClaimHash(email string) string {
	sum := sha256.Sum256([]byte("yunqi email claim\x00" + normalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}
