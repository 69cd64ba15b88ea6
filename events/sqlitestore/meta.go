package sqlitestore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/yunqi-town/yunqi/events"
)

// Metadata is stored in a compact binary form rather than as JSON: decoding
// JSON costs more than everything else a $all read does per event, and every
// reader wants the envelope (visibility above all) decoded.
//
// Layout (format 1): the format byte, then Actor, CorrelationID,
// CausationID, RequestID, Visibility and Subject, each as a uvarint length
// and its bytes, then SchemaVersion as a varint, then OccurredAt as a
// uvarint length and time.MarshalBinary's bytes (length 0 for the zero
// time). A new Metadata field needs format 2 and a decoder for both;
// TestMetaCodecCoversEveryField fails until that is done.
const metaFormat1 = 1

// metaFieldCount is how many fields of events.Metadata the codec knows.
const metaFieldCount = 8

func appendMeta(b []byte, m *events.Metadata) ([]byte, error) {
	b = append(b, metaFormat1)
	for _, s := range [...]string{m.Actor, m.CorrelationID, m.CausationID, m.RequestID, string(m.Visibility), m.Subject} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, int64(m.SchemaVersion))
	if m.OccurredAt.IsZero() {
		return append(b, 0), nil
	}
	t, err := m.OccurredAt.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: occurred_at %v: %v", events.ErrInvalidEvent, m.OccurredAt, err)
	}
	b = binary.AppendUvarint(b, uint64(len(t)))
	return append(b, t...), nil
}

var errBadMeta = errors.New("metadata record is damaged")

// decodeMeta reads metadata from raw, which it does not retain. All string
// fields share one allocation.
func decodeMeta(raw []byte, m *events.Metadata) error {
	if len(raw) == 0 || raw[0] != metaFormat1 {
		if len(raw) > 0 && raw[0] > metaFormat1 {
			return fmt.Errorf("metadata format %d is newer than this binary understands", raw[0])
		}
		return errBadMeta
	}
	s := string(raw[1:])
	var fields [6]string
	off := 0
	for i := range fields {
		n, w := uvarintString(s[off:])
		if w <= 0 || n > uint64(len(s)-off-w) {
			return errBadMeta
		}
		off += w
		fields[i] = s[off : off+int(n)]
		off += int(n)
	}
	v, w := varintString(s[off:])
	if w <= 0 {
		return errBadMeta
	}
	off += w
	n, w := uvarintString(s[off:])
	if w <= 0 || n > uint64(len(s)-off-w) {
		return errBadMeta
	}
	off += w
	*m = events.Metadata{
		Actor:         fields[0],
		CorrelationID: fields[1],
		CausationID:   fields[2],
		RequestID:     fields[3],
		Visibility:    events.Visibility(fields[4]),
		Subject:       fields[5],
		SchemaVersion: int(v),
	}
	if n > 0 {
		if err := m.OccurredAt.UnmarshalBinary([]byte(s[off : off+int(n)])); err != nil {
			return errBadMeta
		}
	}
	return nil
}

// uvarintString is binary.Uvarint over a string, so decoding needs no
// second copy of the record.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

func varintString(s string) (int64, int) {
	ux, n := uvarintString(s)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, n
}
