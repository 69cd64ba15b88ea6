package sealing

import "crypto/rand"

// randReader is where nonces come from; GCM's 96-bit random nonces are safe
// for far more messages per key than one person's events will ever be.
var randReader = rand.Reader
