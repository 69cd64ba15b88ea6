// Package keystore holds the data keys that seal personal data in the event
// log: one key per subject (a person), kept outside the log, so that
// destroying it erases the person from every copy of the log at once
// (crypto-shredding). Backend is the storage port that every key store
// implements (sqlitekeys beside the embedded log); keystoretest is its
// conformance suite. Keyring sits on top: it wraps each data key with the
// master key before a backend ever sees it, and caches opened keys.
package keystore

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrErased: the subject's keys were destroyed. Nothing sealed under
	// them can be read again, and no new key is made for the subject.
	ErrErased = errors.New("keystore: the subject was erased")
	// ErrNotFound: the subject has no key of that version (and was not
	// erased): data sealed under it was written by some other key store.
	ErrNotFound = errors.New("keystore: no such key")
	// ErrExists: a key of that version is already stored (another process
	// created it first); the caller reads that one.
	ErrExists = errors.New("keystore: the key already exists")
)

// Record is one stored data key, wrapped by the master key: a backend never
// holds a key in clear.
type Record struct {
	Subject string
	Version int
	Wrapped []byte
	Created time.Time
}

// Erasure is one entry of the erasure list. It outlives the keys it
// destroyed, so a restore of an older key backup can be made to forget
// them again.
type Erasure struct {
	Subject string
	At      time.Time
}

// Backend stores wrapped data keys. Its contract, checked by keystoretest:
//   - Put adds a key version once: ErrExists when that version is there,
//     ErrErased when the subject is on the erasure list.
//   - Latest and Get return ErrErased for an erased subject and ErrNotFound
//     for one that never had that key.
//   - Erase destroys every version of the subject's key so that the bytes
//     cannot be recovered from the backend's files, and lists the subject;
//     it is idempotent and also lists a subject that never had a key.
//   - Load adds records and erasures (a restore or an import): erasures are
//     applied after the records, so a record for an erased subject is
//     never kept, and the subjects the backend already lists as erased stay
//     erased whatever the records say.
//   - Check stores the master key's check value the first time and returns
//     what is stored, so a wrong master key is caught before it wraps
//     anything.
type Backend interface {
	Put(ctx context.Context, r Record) error
	Latest(ctx context.Context, subject string) (Record, error)
	Get(ctx context.Context, subject string, version int) (Record, error)
	Erase(ctx context.Context, subject string, at time.Time) error
	Erasures(ctx context.Context) ([]Erasure, error)
	// Dump yields every record and the erasure list (for backups and
	// exports); records stay wrapped.
	Dump(ctx context.Context) ([]Record, []Erasure, error)
	Load(ctx context.Context, records []Record, erasures []Erasure) error
	Check(ctx context.Context, value []byte) ([]byte, error)
	Close() error
}
