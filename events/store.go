package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Store is the event log. Every backend follows EventStoreDB's semantics so
// that services behave the same on the embedded engine and on a cluster; the
// conformance suite in events/storetest is the executable form of this
// contract.
type Store interface {
	// Append writes events to a stream atomically if the stream is in the
	// expected state. Nothing is acknowledged before it is durable.
	//
	// Decision table (C = the stream's current revision, E = expected):
	//   - tombstoned stream: *StreamDeletedError, whatever E is.
	//   - Any: write. If the proposed ids are already the stream's events at
	//     consecutive revisions, succeed without writing (idempotent replay).
	//   - NoStream: write when the stream has never had events. Otherwise, if
	//     the proposed ids are its first events, succeed without writing;
	//     else *WrongExpectedRevisionError.
	//   - StreamExists: write (or replay, as for Any) when the stream has
	//     events; otherwise *WrongExpectedRevisionError with Actual NoStream.
	//   - Exact(n): write when C == n. When n < C and the ids are exactly the
	//     events at n+1…, succeed without writing; otherwise
	//     *WrongExpectedRevisionError carrying C.
	//   - a replay that matches only in part is a *WrongExpectedRevisionError.
	// A soft-deleted stream keeps its last revision for these checks (as in
	// EventStoreDB), so Any or Exact(last) revives it and NoStream does not.
	// (EventStoreDB itself lets the first NoStream append after a soft delete
	// through; an adapter to it has to refuse that case to conform.)
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...Proposed) (AppendResult, error)

	// ReadStream reads one stream. ErrStreamNotFound when it has no visible
	// events (never written, or soft-deleted); *StreamDeletedError when it is
	// tombstoned.
	ReadStream(ctx context.Context, stream string, opts ReadOptions) ([]Event, error)

	// ReadAll reads a page of the global log: forwards strictly after
	// opts.After, or with opts.Backwards newest first strictly before
	// opts.Before (from the end when Before is Start).
	ReadAll(ctx context.Context, opts ReadAllOptions) ([]Event, error)

	// Head is the position of the last event in the global log (Start when
	// the log is empty): where `events tail` starts following and how a
	// reader tells how far behind it is.
	Head(ctx context.Context) (Position, error)

	// Subscribe reads the global log after opts.After, then follows it live.
	// It yields KindEvent for each event that passes the filter, KindCheckpoint
	// notices while filtered events are skipped, and one KindCaughtUp when it
	// reaches the head for the first time. The sequence ends when ctx is done
	// (yielding ctx.Err() once) or on a failure, which is yielded last.
	Subscribe(ctx context.Context, opts SubscribeOptions) iter.Seq2[Message, error]

	// Delete soft-deletes a stream: reads report it not found, its events stay
	// in the global log, and appending later revives it after its last
	// revision.
	//
	// Both deletions check expected as Append does (without replays): a
	// stream that never had events can be deleted expecting Any or NoStream,
	// as in EventStoreDB, and a tombstone then reserves its name.
	Delete(ctx context.Context, stream string, expected ExpectedRevision) error

	// Tombstone deletes a stream for ever: every later read or append fails
	// with *StreamDeletedError.
	Tombstone(ctx context.Context, stream string, expected ExpectedRevision) error

	// Capabilities declares guarantees beyond EventStoreDB's.
	Capabilities() Capabilities

	Close() error
}

// Capabilities lets the conformance suite test a stronger guarantee only on
// backends that make it.
type Capabilities struct {
	// DurableDedup: an event id is unique in the whole log for ever, whatever
	// the expected state, across restarts. EventStoreDB only deduplicates
	// recent ids in memory.
	DurableDedup bool
}

// Restorer is implemented by stores that can take events with their original
// recorded time (events import of an export into an empty store).
type Restorer interface {
	// Restore appends already-recorded events in order, keeping ID, stream,
	// revision, type, data, metadata and recorded time. Each event's revision
	// must follow its stream's current one.
	Restore(ctx context.Context, events []Event) error
}

// AppendResult reports where an append landed. For an idempotent replay it
// reports where the original events are.
type AppendResult struct {
	NextExpected uint64   // the revision of the last appended (or, for a replay, replayed) event
	Position     Position // the position of that event
}

// ExpectedRevision is the state a stream must be in for an append to go
// through. The zero value is Any.
type ExpectedRevision struct {
	kind     expectedKind
	revision uint64
}

type expectedKind uint8

const (
	expectAny expectedKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

var (
	// Any appends whatever the stream's state.
	Any = ExpectedRevision{kind: expectAny}
	// NoStream appends only to a stream that has never had events.
	NoStream = ExpectedRevision{kind: expectNoStream}
	// StreamExists appends only to a stream that has events.
	StreamExists = ExpectedRevision{kind: expectStreamExists}
)

// Exact appends only when the stream's last event has revision n.
func Exact(n uint64) ExpectedRevision { return ExpectedRevision{kind: expectExact, revision: n} }

// IsAny, IsNoStream, IsStreamExists report the kind; Revision reports the
// exact revision and whether the expectation is exact.
func (e ExpectedRevision) IsAny() bool          { return e.kind == expectAny }
func (e ExpectedRevision) IsNoStream() bool     { return e.kind == expectNoStream }
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }
func (e ExpectedRevision) Revision() (uint64, bool) {
	return e.revision, e.kind == expectExact
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectStreamExists:
		return "stream exists"
	case expectExact:
		return strconv.FormatUint(e.revision, 10)
	}
	return "any"
}

// StreamState is a stream's actual state as reported by a failed append:
// either no stream, or the revision of its last event.
type StreamState struct {
	Exists   bool
	Revision uint64
}

func (s StreamState) String() string {
	if !s.Exists {
		return "no stream"
	}
	return strconv.FormatUint(s.Revision, 10)
}

// Position is a place in the global log. Positions are totally ordered and
// opaque: SQLite uses one sequence number for both parts, EventStoreDB its
// commit and prepare positions. The zero Position is the start of the log.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event.
var Start = Position{}

// Compare orders positions: -1, 0 or +1.
func (p Position) Compare(q Position) int {
	switch {
	case p.Commit < q.Commit:
		return -1
	case p.Commit > q.Commit:
		return 1
	case p.Prepare < q.Prepare:
		return -1
	case p.Prepare > q.Prepare:
		return 1
	}
	return 0
}

// IsStart reports whether p is the start of the log.
func (p Position) IsStart() bool { return p == Start }

// String gives "commit/prepare", the form ParsePosition reads back and
// checkpoints are stored in.
func (p Position) String() string {
	return strconv.FormatUint(p.Commit, 10) + "/" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition reads "commit/prepare", or a single number meaning both.
func ParsePosition(s string) (Position, error) {
	c, p, found := strings.Cut(strings.TrimSpace(s), "/")
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: commit part is not a number", s)
	}
	if !found {
		return Position{Commit: commit, Prepare: commit}, nil
	}
	prepare, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: prepare part is not a number", s)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}

func (p Position) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *Position) UnmarshalText(b []byte) error {
	q, err := ParsePosition(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Direction of a stream read.
type Direction uint8

const (
	Forwards Direction = iota
	Backwards
)

// ReadOptions select a slice of one stream.
type ReadOptions struct {
	Direction Direction
	// From is the first revision to read (inclusive). FromEnd starts at the
	// stream's last event instead, which with Backwards reads newest first.
	From    uint64
	FromEnd bool
	// Count limits the number of events; zero reads to the end.
	Count int
}

// ReadAllOptions select a page of the global log.
type ReadAllOptions struct {
	After Position // forwards: exclusive; Start reads from the first event
	Count int      // zero means DefaultPageSize
	// Backwards reads newest first, strictly before Before; a Before of
	// Start reads from the end of the log. It is how a tool shows the last
	// few events of a long log without reading all of it.
	Backwards bool
	Before    Position
}

// DefaultPageSize is how many events a ReadAll returns when no Count is set.
const DefaultPageSize = 1000

// Filter selects events of a subscription on the server side. Prefixes of
// one kind are OR-ed; StreamPrefixes and TypePrefixes may not both be set
// (EventStoreDB filters on one or the other). Events whose type starts with
// "$" (EventStoreDB system events) are never delivered.
type Filter struct {
	StreamPrefixes []string
	TypePrefixes   []string
}

// Validate reports a filter the backends cannot serve.
func (f Filter) Validate() error {
	if len(f.StreamPrefixes) > 0 && len(f.TypePrefixes) > 0 {
		return errors.New("events: a filter selects by stream prefix or by event type prefix, not both")
	}
	for _, p := range append(append([]string(nil), f.StreamPrefixes...), f.TypePrefixes...) {
		if p == "" {
			return errors.New("events: empty filter prefix")
		}
	}
	return nil
}

// Match reports whether an event passes the filter.
func (f Filter) Match(stream, eventType string) bool {
	if strings.HasPrefix(eventType, "$") {
		return false
	}
	if len(f.StreamPrefixes) > 0 {
		return hasAnyPrefix(stream, f.StreamPrefixes)
	}
	if len(f.TypePrefixes) > 0 {
		return hasAnyPrefix(eventType, f.TypePrefixes)
	}
	return true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// SubscribeOptions configure a catch-up subscription to the global log.
type SubscribeOptions struct {
	After  Position // exclusive; Start delivers the whole log
	Filter Filter
	// CheckpointInterval is how many events may be scanned (matching or
	// not) between checkpoint notices; zero means DefaultCheckpointInterval.
	CheckpointInterval int
}

// DefaultCheckpointInterval matches EventStoreDB's default of 32 × 1.
const DefaultCheckpointInterval = 32

// MessageKind tells what a subscription message carries.
type MessageKind uint8

const (
	KindEvent      MessageKind = iota + 1 // Event is set; Position is its position
	KindCheckpoint                        // Position: everything up to it has been seen
	KindCaughtUp                          // Position: the head when the catch-up ended
)

func (k MessageKind) String() string {
	switch k {
	case KindEvent:
		return "event"
	case KindCheckpoint:
		return "checkpoint"
	case KindCaughtUp:
		return "caught-up"
	}
	return "unknown"
}

// Message is one item of a subscription.
type Message struct {
	Kind     MessageKind
	Event    Event
	Position Position
}

// Limits on what one append may carry. They match EventStoreDB's default
// maximum append size so that an event accepted on one machine is accepted by
// the cluster too.
const (
	MaxAppendSize = 1 << 20 // bytes of data and metadata in one append
	MaxTypeLength = 256
)

// ErrStreamNotFound: the stream has no events to read.
var ErrStreamNotFound = errors.New("stream not found")

// ErrDuplicateEventID: the id already belongs to another event, and the
// append is not a replay of it. Only backends with DurableDedup report it.
var ErrDuplicateEventID = errors.New("event id already used by another event")

// ErrInvalidEvent wraps every validation failure of a proposed event.
var ErrInvalidEvent = errors.New("invalid event")

// WrongExpectedRevisionError is the optimistic concurrency failure. It
// carries the actual state so the caller can reload and decide again.
type WrongExpectedRevisionError struct {
	Stream   string
	Expected ExpectedRevision
	Actual   StreamState
}

func (e *WrongExpectedRevisionError) Error() string {
	return fmt.Sprintf("stream %q: expected revision %s, actual %s", e.Stream, e.Expected, e.Actual)
}

// StreamDeletedError: the stream was tombstoned.
type StreamDeletedError struct{ Stream string }

func (e *StreamDeletedError) Error() string {
	return fmt.Sprintf("stream %q is deleted for ever (tombstoned)", e.Stream)
}

// TooLargeError: an append is above MaxAppendSize.
type TooLargeError struct {
	Stream string
	Size   int
	Limit  int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("append to stream %q is %d bytes, above the limit of %d bytes", e.Stream, e.Size, e.Limit)
}

// ValidateAppend checks what every backend must refuse before touching
// storage: a bad stream name, no events, missing ids or types, duplicate ids
// within the append, data or metadata that is not JSON, and oversized
// appends. It returns the encoded metadata of each event so backends do not
// marshal twice.
func ValidateAppend(stream string, evs []Proposed) ([][]byte, error) {
	if err := ValidateStreamName(stream); err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("%w: append to %q carries no events", ErrInvalidEvent, stream)
	}
	metas := make([][]byte, len(evs))
	size := 0
	seen := make(map[[16]byte]struct{}, len(evs))
	for i, e := range evs {
		if e.ID == [16]byte{} {
			return nil, fmt.Errorf("%w: event %d of %q has no id", ErrInvalidEvent, i, stream)
		}
		if _, dup := seen[e.ID]; dup {
			return nil, fmt.Errorf("%w: event id %s appears twice in one append", ErrInvalidEvent, e.ID)
		}
		seen[e.ID] = struct{}{}
		// EventStoreDB carries the type in a protobuf string, which must be
		// UTF-8: accepting other bytes here would make an export unimportable
		// on the cluster.
		if e.Type == "" || len(e.Type) > MaxTypeLength || strings.TrimSpace(e.Type) != e.Type || !utf8.ValidString(e.Type) {
			return nil, fmt.Errorf("%w: event %d of %q: type %q must be 1-%d bytes of UTF-8 without surrounding spaces", ErrInvalidEvent, i, stream, e.Type, MaxTypeLength)
		}
		if strings.HasPrefix(e.Type, "$") {
			return nil, fmt.Errorf("%w: event type %q: types starting with $ are reserved for the store", ErrInvalidEvent, e.Type)
		}
		if !json.Valid(e.Data) {
			return nil, fmt.Errorf("%w: event %d (%s) of %q: data is not valid JSON", ErrInvalidEvent, i, e.Type, stream)
		}
		if e.Metadata.Visibility != "" && !e.Metadata.Visibility.Valid() {
			return nil, fmt.Errorf("%w: event %d (%s): unknown visibility %q", ErrInvalidEvent, i, e.Type, e.Metadata.Visibility)
		}
		m, err := json.Marshal(e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("%w: event %d metadata: %v", ErrInvalidEvent, i, err)
		}
		metas[i] = m
		size += len(e.Data) + len(m)
	}
	if size > MaxAppendSize {
		return nil, &TooLargeError{Stream: stream, Size: size, Limit: MaxAppendSize}
	}
	return metas, nil
}
