package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/yunqi-town/yunqi/events"
)

// ClaimKey names the claim stream of an address: HMAC-SHA-256 of the
// normalised address under a secret derived from the master key (so every
// process that shares the master key shares it), never in the log. A plain hash could be recomputed by anyone holding a copy of the log
// and a guessed address; with the secret elsewhere, nothing in the log, its
// backups or its exports links a stream to an address, also after the
// person behind it was erased.
type ClaimKey []byte

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
