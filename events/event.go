// Package events is Yunqi's published contract: the event envelope, the
// registry of wire names with its upcasters, stream names, and the Store port
// that every backend (sqlitestore, esdbstore) implements with EventStoreDB's
// semantics.
package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is one recorded event as a store returns it. Data stays raw JSON:
// most readers (tail, export, projections that skip a type) never need the
// payload decoded, and decoding it on every read would halve $all throughput.
type Event struct {
	ID       uuid.UUID
	Stream   string
	Type     string
	Revision uint64 // 0-based, per stream
	Position Position
	Recorded time.Time // set by the store when the event was committed
	Data     json.RawMessage
	Metadata Metadata
}

// Proposed is an event offered to Append. The ID is what makes a retried
// append idempotent, so callers derive it deterministically where a retry is
// possible (see IDFromKey).
type Proposed struct {
	ID       uuid.UUID
	Type     string
	Data     json.RawMessage
	Metadata Metadata
}

// Visibility classes say who may see an event in a timeline or on a page.
// Views filter on them, so a new class must be added to every view that
// switches on it.
type Visibility string

const (
	// Public events may appear on public pages and in the search index.
	Public Visibility = "public"
	// Owner events are shown to the person the stream belongs to (and staff).
	Owner Visibility = "owner"
	// Staff events (internal notes, staff identities) never leave staff views.
	Staff Visibility = "staff"
	// System events are bookkeeping no person needs to see.
	System Visibility = "system"
)

// Valid reports whether v is one of the known classes; the empty class is
// not valid because an event nobody classified must not leak by default.
func (v Visibility) Valid() bool {
	switch v {
	case Public, Owner, Staff, System:
		return true
	}
	return false
}

// Metadata travels with every event. Its JSON names are part of the wire
// contract (the EventStoreDB backend stores this object as event metadata).
type Metadata struct {
	Actor         string     `json:"actor,omitempty"`          // user id, or "system"
	CorrelationID string     `json:"correlation_id,omitempty"` // the user action this event belongs to
	CausationID   string     `json:"causation_id,omitempty"`   // the command or event that caused it
	RequestID     string     `json:"request_id,omitempty"`
	OccurredAt    time.Time  `json:"occurred_at,omitzero"` // when it happened in the domain, not when stored
	SchemaVersion int        `json:"schema_version,omitempty"`
	Visibility    Visibility `json:"visibility,omitempty"`
	// Subject is the person whose personal data the event carries, so that
	// erasing that person's key can find and shred it.
	Subject string `json:"subject,omitempty"`
	// KeyVersion is the version of the subject's data key that sealed the
	// event's personal data; 0 when nothing in the event is sealed.
	KeyVersion int `json:"key_version,omitempty"`
}

// ActorSystem is the actor of events no person caused directly.
const ActorSystem = "system"

// NewID returns a fresh, time-ordered event id (UUIDv7), which keeps the
// unique index on event ids append-friendly.
func NewID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 only fails when the system random source fails, and then no
		// id we could make would be safe to use.
		panic(fmt.Sprintf("events: cannot generate id: %v", err))
	}
	return id
}

// idNamespace scopes ids derived from client keys to Yunqi, so the same
// Idempotency-Key used elsewhere never maps onto our ids by accident.
var idNamespace = uuid.MustParse("6f1d4a4e-9b7a-4c1e-8f3d-59756e71692e")

// IDFromKey derives an event id deterministically from an idempotency key
// and the event's index within the command, so a retried request proposes
// exactly the same ids and the store writes nothing twice.
func IDFromKey(key string, index int) uuid.UUID {
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "%s\x00%d", key, index))
}

// PersonalMember is the member of an event's data that holds all of its
// personal data, and the one declaration of it: the sealing store encrypts
// exactly this member under the key of Metadata.Subject. Fields elsewhere
// whose names look personal are declared not personal, with the reason, in
// notPersonal (personal.go).
const PersonalMember = "personal"
