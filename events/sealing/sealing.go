// Package sealing keeps personal data encrypted in the event log. Store
// wraps an events.Store: on the way in, the `personal` member of an event's
// data is sealed with AES-256-GCM under the data key of the event's subject
// (Metadata.Subject), and on the way out it is opened again, so services
// read and write plain events while the log, its backups and its exports
// hold only ciphertext. Destroying a subject's key (keystore.Keyring.Erase)
// makes every copy unreadable for that person at once: their personal
// member then reads as JSON null.
package sealing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"sync/atomic"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
)

// Member is the JSON member of an event's data that holds its personal
// data: the one place event types declare it (see events.PersonalMember).
const Member = events.PersonalMember

// prefix marks a sealed member's value: "yq1." and base64 of
// nonce || ciphertext. The version lets a later format coexist.
const prefix = "yq1."

var memberKey = []byte(`"` + Member + `"`)

// ErrNoSubject: an event carries personal data but names no subject, so
// there is no key to seal it with. It is a programming error, refused
// rather than written in clear.
var ErrNoSubject = errors.New("personal data without a subject")

// Store seals on Append and opens on every read.
type Store struct {
	events.Store
	keys *keystore.Keyring
	log  *slog.Logger

	// unreadable counts personal members that could not be opened for a
	// reason other than erasure (a tampered or foreign ciphertext).
	unreadable atomic.Int64
	// off passes everything through unsealed: only for measuring what
	// sealing costs side by side (NewUnsealedForBenchmark).
	off bool
}

// New wraps inner.
func New(inner events.Store, keys *keystore.Keyring, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{Store: inner, keys: keys, log: log}
}

// NewUnsealedForBenchmark is a store that seals nothing and opens
// nothing, with the same keyring: the baseline `yunqi bench rush
// --compare-sealing` measures the sealing store against. No command that
// serves or writes real data uses it.
func NewUnsealedForBenchmark(inner events.Store, keys *keystore.Keyring, log *slog.Logger) *Store {
	s := New(inner, keys, log)
	s.off = true
	return s
}

// Keys is the keyring the store seals with.
func (s *Store) Keys() *keystore.Keyring { return s.keys }

// Unreadable is how many personal members failed to open other than by
// erasure since the store was made.
func (s *Store) Unreadable() int64 { return s.unreadable.Load() }

func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	if s.off {
		return s.Store.Append(ctx, stream, expected, evs...)
	}
	if len(evs) > 1 {
		var subjects []string
		for _, p := range evs {
			if p.Metadata.Subject != "" && bytes.Contains(p.Data, memberKey) {
				subjects = append(subjects, p.Metadata.Subject)
			}
		}
		// A failure here only means each key is read on its own below.
		_ = s.keys.Warm(ctx, subjects)
	}
	var out []events.Proposed
	for i, p := range evs {
		sealed, changed, err := Seal(ctx, s.keys, p)
		if err != nil {
			return events.AppendResult{}, fmt.Errorf("%w: event %d (%s) of stream %s: %w", events.ErrInvalidEvent, i, p.Type, stream, err)
		}
		if changed {
			if out == nil {
				out = append([]events.Proposed(nil), evs...)
			}
			out[i] = sealed
		}
	}
	if out == nil {
		out = evs
	}
	return s.Store.Append(ctx, stream, expected, out...)
}

func (s *Store) ReadStream(ctx context.Context, stream string, opts events.ReadOptions) ([]events.Event, error) {
	evs, err := s.Store.ReadStream(ctx, stream, opts)
	s.openAll(ctx, evs)
	return evs, err
}

func (s *Store) ReadAll(ctx context.Context, opts events.ReadAllOptions) ([]events.Event, error) {
	evs, err := s.Store.ReadAll(ctx, opts)
	s.openAll(ctx, evs)
	return evs, err
}

func (s *Store) Subscribe(ctx context.Context, opts events.SubscribeOptions) iter.Seq2[events.Message, error] {
	return func(yield func(events.Message, error) bool) {
		for m, err := range s.Store.Subscribe(ctx, opts) {
			if err == nil && m.Kind == events.KindEvent {
				s.open(ctx, &m.Event)
				if m.Event.Type == erasedType {
					s.forget(m.Event)
				}
			}
			if !yield(m, err) {
				return
			}
		}
	}
}

// Restore keeps sealed data as it is: an import copies a log, ciphertext
// and all, and its keys travel with `yunqi keys export/import`.
func (s *Store) Restore(ctx context.Context, evs []events.Event) error {
	r, ok := s.Store.(events.Restorer)
	if !ok {
		return errors.New("the event store cannot restore events")
	}
	return r.Restore(ctx, evs)
}

// Unwrap is the store underneath, holding ciphertext.
func (s *Store) Unwrap() events.Store { return s.Store }

const erasedType = "identity.AccountErased"

// forget drops the cached key of a subject another process erased, so
// this process stops opening their data at once rather than when its
// cache would expire.
func (s *Store) forget(e events.Event) {
	var p struct {
		UserID string `json:"user_id"`
	}
	if json.Unmarshal(e.Data, &p) == nil && p.UserID != "" {
		s.keys.Forget(p.UserID)
	}
}

func (s *Store) openAll(ctx context.Context, evs []events.Event) {
	for i := range evs {
		s.open(ctx, &evs[i])
	}
}

func (s *Store) open(ctx context.Context, e *events.Event) {
	if s.off || e.Metadata.KeyVersion == 0 || e.Metadata.Subject == "" {
		return
	}
	data, err := Open(ctx, s.keys, *e)
	switch {
	case err == nil:
	case errors.Is(err, keystore.ErrErased):
	case ctx.Err() != nil:
		// The reader is going away; what it gets no longer matters.
	default:
		// Never the data, only where it is.
		s.unreadable.Add(1)
		s.log.Error("personal data of an event cannot be opened; it reads as erased", "event", e.ID, "stream", e.Stream, "type", e.Type, "err", err)
	}
	e.Data = data
}

// Seal returns p with its personal member sealed under the key of
// p.Metadata.Subject, and whether anything changed (an event without
// personal data, or one already sealed, is returned as it is).
func Seal(ctx context.Context, keys *keystore.Keyring, p events.Proposed) (events.Proposed, bool, error) {
	if !bytes.Contains(p.Data, memberKey) {
		return p, false, nil
	}
	start, end, ok := findMember(p.Data)
	if !ok {
		return p, false, nil
	}
	value := p.Data[start:end]
	switch value[0] {
	case 'n': // null: nothing personal
		return p, false, nil
	case '"':
		if bytes.HasPrefix(value, []byte(`"`+prefix)) && p.Metadata.KeyVersion > 0 {
			return p, false, nil // sealed already (a retried append, a migration)
		}
		return p, false, fmt.Errorf("the %q member is a string that is not sealed data", Member)
	case '{':
	default:
		return p, false, fmt.Errorf("the %q member must be an object", Member)
	}
	if p.Metadata.Subject == "" {
		return p, false, ErrNoSubject
	}
	key, err := keys.Current(ctx, p.Metadata.Subject)
	if err != nil {
		return p, false, fmt.Errorf("the key of subject %s: %w", p.Metadata.Subject, err)
	}
	aead := key.AEAD
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(value)+aead.Overhead())
	if _, err := io.ReadFull(randReader, buf); err != nil {
		return p, false, err
	}
	sealed := aead.Seal(buf, buf, value, aad(p.ID[:], p.Metadata.Subject))
	enc := make([]byte, 0, len(prefix)+base64.RawStdEncoding.EncodedLen(len(sealed))+2)
	enc = append(enc, '"')
	enc = append(enc, prefix...)
	enc = base64.RawStdEncoding.AppendEncode(enc, sealed)
	enc = append(enc, '"')
	data := make([]byte, 0, len(p.Data)-len(value)+len(enc))
	data = append(data, p.Data[:start]...)
	data = append(data, enc...)
	data = append(data, p.Data[end:]...)
	p.Data = data
	p.Metadata.KeyVersion = key.Version
	return p, true, nil
}

// Open returns e's data with its personal member opened. When the key is
// gone (erased) or the ciphertext does not open, the member reads as null
// and the error says why; the rest of the data is always returned.
func Open(ctx context.Context, keys *keystore.Keyring, e events.Event) (json.RawMessage, error) {
	start, end, ok := findMember(e.Data)
	if !ok {
		return e.Data, nil
	}
	value := e.Data[start:end]
	if len(value) < len(prefix)+2 || value[0] != '"' || !bytes.HasPrefix(value[1:], []byte(prefix)) {
		return e.Data, nil // not sealed: clear text from before sealing, or null
	}
	plain, err := openValue(ctx, keys, e, value[1+len(prefix):len(value)-1])
	if err != nil {
		plain = []byte("null")
	}
	data := make([]byte, 0, len(e.Data)-len(value)+len(plain))
	data = append(data, e.Data[:start]...)
	data = append(data, plain...)
	data = append(data, e.Data[end:]...)
	return data, err
}

func openValue(ctx context.Context, keys *keystore.Keyring, e events.Event, b64 []byte) ([]byte, error) {
	key, err := keys.Get(ctx, e.Metadata.Subject, e.Metadata.KeyVersion)
	if err != nil {
		return nil, err
	}
	sealed := make([]byte, base64.RawStdEncoding.DecodedLen(len(b64)))
	n, err := base64.RawStdEncoding.Decode(sealed, b64)
	if err != nil {
		return nil, fmt.Errorf("sealed data is not base64: %w", err)
	}
	sealed = sealed[:n]
	ns := key.AEAD.NonceSize()
	if len(sealed) < ns+key.AEAD.Overhead() {
		return nil, errors.New("sealed data too short")
	}
	plain, err := key.AEAD.Open(sealed[ns:ns], sealed[:ns], sealed[ns:], aad(e.ID[:], e.Metadata.Subject))
	if err != nil {
		return nil, fmt.Errorf("sealed data does not open (tampered, or sealed for another event): %w", err)
	}
	if !json.Valid(plain) {
		return nil, errors.New("opened data is not JSON")
	}
	return plain, nil
}

// aad binds a ciphertext to its event and subject: copied into another
// event, it does not open.
func aad(id []byte, subject string) []byte {
	b := make([]byte, 0, len(id)+1+len(subject))
	b = append(b, id...)
	b = append(b, 0)
	return append(b, subject...)
}

// IsSealed reports whether e's personal member, if any, is sealed: false
// means clear-text personal data (a log from before sealing).
func IsSealed(e events.Event) bool {
	if !bytes.Contains(e.Data, memberKey) {
		return true
	}
	start, end, ok := findMember(e.Data)
	if !ok {
		return true
	}
	v := e.Data[start:end]
	return v[0] == 'n' || (v[0] == '"' && bytes.HasPrefix(v[1:], []byte(prefix)))
}

// findMember locates the value of the top-level personal member in a JSON
// object: data[start:end] is the value exactly as written. It scans by
// hand because every read of a sealed event calls it: encoding/json's
// decoder costs several times more and allocates per member. On anything
// that is not a well-formed object it reports false.
func findMember(data []byte) (start, end int, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return 0, 0, false
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return 0, 0, false
		}
		keyStart := i
		i = skipString(data, i)
		if i < 0 {
			return 0, 0, false
		}
		key := data[keyStart:i]
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != ':' {
			return 0, 0, false
		}
		i = skipSpace(data, i+1)
		valueStart := i
		i = skipValue(data, i)
		if i < 0 {
			return 0, 0, false
		}
		if bytes.Equal(key, memberKey) || (bytes.IndexByte(key, '\\') >= 0 && unquotedIs(key, Member)) {
			return valueStart, i, true
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return 0, 0, false
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return 0, 0, false
		default:
			return 0, 0, false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at data[i] ('"'),
// or -1.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at data[i], or -1.
// Nested objects and arrays are skipped by depth; scalars up to the next
// delimiter.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				if i = skipString(data, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' && data[j] != ' ' && data[j] != '\t' && data[j] != '\n' && data[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// unquotedIs compares a JSON string with escapes to name.
func unquotedIs(quoted []byte, name string) bool {
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == name
}
