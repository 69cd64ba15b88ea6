package sqlitestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// Each event row carries its whole envelope (everything but the payload) in
// one compact binary column, next to the columns SQLite indexes and filters
// on. Reading $all then fetches three columns instead of eight: every
// column fetched costs several calls into SQLite, each taking the
// connection's mutex, and an allocation. The price is the id, stream,
// revision and type stored twice.
//
// Layout (format 1), integers as (u)varints, strings as a uvarint length and
// their bytes:
//
//	format byte (1)
//	revision, recorded (Unix nanoseconds, signed)  -- written by the writer
//	id (16 bytes), stream, type                     -- the caller's tail from here
//	metadata: actor, correlation id, causation id, request id, visibility,
//	subject, schema version (signed), occurred at (time.MarshalBinary, empty
//	for the zero time)
//
// Format 2 adds the key version of sealed personal data (signed) after
// occurred at. Format 1 envelopes stay readable: their key version is 0.
//
// A new events.Metadata field needs a new format and a decoder for all;
// TestEnvelopeCoversEveryMetadataField fails until that is done.
const (
	envelopeFormat1 = 1
	envelopeFormat2 = 2
	envelopeNewest  = envelopeFormat2
)

// metaFieldCount is how many fields of events.Metadata the codec knows.
const metaFieldCount = 9

// appendEnvelopeTail encodes the part of an envelope the caller knows.
func appendEnvelopeTail(b []byte, id uuid.UUID, stream, typ string, m *events.Metadata) ([]byte, error) {
	b = append(b, id[:]...)
	for _, s := range [...]string{stream, typ, m.Actor, m.CorrelationID, m.CausationID, m.RequestID, string(m.Visibility), m.Subject} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, int64(m.SchemaVersion))
	if m.OccurredAt.IsZero() {
		b = append(b, 0)
	} else {
		t, err := m.OccurredAt.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("%w: occurred_at %v: %v", events.ErrInvalidEvent, m.OccurredAt, err)
		}
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return binary.AppendVarint(b, int64(m.KeyVersion)), nil
}

// appendEnvelope completes a tail with what the writer decides.
func appendEnvelope(b []byte, revision, recorded int64, tail []byte) []byte {
	b = append(b, envelopeNewest)
	b = binary.AppendUvarint(b, uint64(revision))
	b = binary.AppendVarint(b, recorded)
	return append(b, tail...)
}

var errBadEnvelope = errors.New("event envelope is damaged")

// decodeEnvelope fills e from raw, which the caller hands over: the strings
// of e point into it, so nobody may change it afterwards.
func decodeEnvelope(raw []byte, e *events.Event) error {
	if len(raw) == 0 || (raw[0] != envelopeFormat1 && raw[0] != envelopeFormat2) {
		if len(raw) > 0 && raw[0] > envelopeNewest {
			return fmt.Errorf("event envelope format %d is newer than this binary understands", raw[0])
		}
		return errBadEnvelope
	}
	d := decoder{s: unsafe.String(unsafe.SliceData(raw), len(raw)), off: 1}
	rev := d.uvarint()
	rec := d.varint()
	if d.bad || len(d.s)-d.off < 16 {
		return errBadEnvelope
	}
	copy(e.ID[:], d.s[d.off:d.off+16])
	d.off += 16
	e.Stream = d.str()
	e.Type = d.str()
	e.Revision = rev
	e.Recorded = time.Unix(0, rec).UTC()
	m := &e.Metadata
	m.Actor = d.str()
	m.CorrelationID = d.str()
	m.CausationID = d.str()
	m.RequestID = d.str()
	m.Visibility = events.Visibility(d.str())
	m.Subject = d.str()
	m.SchemaVersion = int(d.varint())
	t := d.str()
	m.KeyVersion = 0
	if raw[0] >= envelopeFormat2 {
		m.KeyVersion = int(d.varint())
	}
	if d.bad || d.off != len(d.s) {
		return errBadEnvelope
	}
	m.OccurredAt = time.Time{}
	if t != "" {
		if err := m.OccurredAt.UnmarshalBinary([]byte(t)); err != nil {
			return errBadEnvelope
		}
	}
	return nil
}

// decoder reads varints and strings from a string, so that every decoded
// string shares the record's memory.
type decoder struct {
	s   string
	off int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	var shift uint
	for i := d.off; i < len(d.s) && i-d.off < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if c < 0x80 {
			if i-d.off == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			d.off = i + 1
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.bad = true
	d.off = len(d.s)
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)-d.off) {
		d.bad = true
		d.off = len(d.s)
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}
