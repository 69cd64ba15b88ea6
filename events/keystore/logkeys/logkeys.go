// Package logkeys keeps the data keys in streams of the event store itself:
// the key store of the EventStoreDB/KurrentDB path, which every replica
// sees without another server. Each subject's keys are the stream
// datakey-<subject>; erasing tombstones it and lists the subject in
// datakey-erasures. A tombstoned stream can never be read or written again
// through the server, and its bytes leave the database files at the next
// scavenge, which the operator runs after erasures (README: "Personal data
// on KurrentDB"). Keys are wrapped by the master key, so the database and
// its backups hold nothing that opens personal data without that key.
package logkeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
)

const (
	keyPrefix     = "datakey-"
	erasureStream = "datakeys-erasures"
	checkStream   = "datakeys-master-check"
)

// Store is the key store over an event store.
type Store struct {
	log events.Store
}

var _ keystore.Backend = (*Store)(nil)

// New returns the key store kept in log (the raw store, not the sealing
// one: keys are never sealed with keys).
func New(log events.Store) *Store { return &Store{log: log} }

func stream(subject string) string { return keyPrefix + subject }

func meta() events.Metadata {
	return events.Metadata{Actor: events.ActorSystem, Visibility: events.System}
}

func (s *Store) Put(ctx context.Context, r keystore.Record) error {
	if erased, err := s.isErased(ctx, r.Subject); err != nil {
		return err
	} else if erased {
		return keystore.ErrErased
	}
	ev, err := events.Types.New(events.DataKeyCreated{Subject: r.Subject, Version: r.Version, Wrapped: r.Wrapped, Created: r.Created}, meta())
	if err != nil {
		return err
	}
	// Versions are 1, 2, …, each at revision version-1: the expected
	// revision makes two processes creating the same version race
	// safely, and the id makes a retry a replay.
	ev.ID = events.IDFromKey(fmt.Sprintf("datakey\x00%s\x00%d\x00%x", r.Subject, r.Version, r.Wrapped), 0)
	expected := events.NoStream
	if r.Version > 1 {
		expected = events.Exact(uint64(r.Version - 2))
	}
	_, err = s.log.Append(ctx, stream(r.Subject), expected, ev)
	var wrong *events.WrongExpectedRevisionError
	var deleted *events.StreamDeletedError
	switch {
	case errors.As(err, &wrong):
		return keystore.ErrExists
	case errors.As(err, &deleted):
		return keystore.ErrErased
	}
	return err
}

func (s *Store) records(ctx context.Context, subject string) ([]keystore.Record, error) {
	evs, err := s.log.ReadStream(ctx, stream(subject), events.ReadOptions{})
	var deleted *events.StreamDeletedError
	switch {
	case errors.As(err, &deleted):
		return nil, keystore.ErrErased
	case errors.Is(err, events.ErrStreamNotFound):
		evs = nil
	case err != nil:
		return nil, err
	}
	var out []keystore.Record
	for _, e := range evs {
		var k events.DataKeyCreated
		if e.Type != dataKeyType || json.Unmarshal(e.Data, &k) != nil {
			continue
		}
		out = append(out, keystore.Record{Subject: k.Subject, Version: k.Version, Wrapped: k.Wrapped, Created: k.Created})
	}
	if len(out) == 0 {
		// A subject erased before it ever had a key has no stream to
		// tombstone; the erasure list knows it.
		if erased, err := s.isErased(ctx, subject); err != nil {
			return nil, err
		} else if erased {
			return nil, keystore.ErrErased
		}
		return nil, keystore.ErrNotFound
	}
	return out, nil
}

const dataKeyType = "keystore.DataKeyCreated"

func (s *Store) Latest(ctx context.Context, subject string) (keystore.Record, error) {
	rs, err := s.records(ctx, subject)
	if err != nil {
		return keystore.Record{}, err
	}
	return rs[len(rs)-1], nil
}

func (s *Store) Get(ctx context.Context, subject string, version int) (keystore.Record, error) {
	rs, err := s.records(ctx, subject)
	if err != nil {
		return keystore.Record{}, err
	}
	for _, r := range rs {
		if r.Version == version {
			return r, nil
		}
	}
	return keystore.Record{}, keystore.ErrNotFound
}

func (s *Store) Erase(ctx context.Context, subject string, at time.Time) error {
	// The list first: once the subject is listed, no new key is made for
	// it even if the tombstone below fails and is retried.
	erased, err := s.isErased(ctx, subject)
	if err != nil {
		return err
	}
	if !erased {
		ev, err := events.Types.New(events.DataKeyErased{Subject: subject, At: at}, meta())
		if err != nil {
			return err
		}
		ev.ID = events.IDFromKey("datakey-erased\x00"+subject, 0)
		if _, err := s.log.Append(ctx, erasureStream, events.Any, ev); err != nil {
			return err
		}
	}
	err = s.log.Tombstone(ctx, stream(subject), events.Any)
	var deleted *events.StreamDeletedError
	if errors.As(err, &deleted) {
		return nil
	}
	return err
}

func (s *Store) isErased(ctx context.Context, subject string) (bool, error) {
	list, err := s.Erasures(ctx)
	if err != nil {
		return false, err
	}
	for _, e := range list {
		if e.Subject == subject {
			return true, nil
		}
	}
	return false, nil
}

func (s *Store) Erasures(ctx context.Context) ([]keystore.Erasure, error) {
	evs, err := s.log.ReadStream(ctx, erasureStream, events.ReadOptions{})
	if errors.Is(err, events.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []keystore.Erasure
	seen := map[string]bool{}
	for _, e := range evs {
		var d events.DataKeyErased
		if json.Unmarshal(e.Data, &d) != nil || seen[d.Subject] {
			continue
		}
		seen[d.Subject] = true
		out = append(out, keystore.Erasure{Subject: d.Subject, At: d.At})
	}
	return out, nil
}

func (s *Store) Dump(ctx context.Context) ([]keystore.Record, []keystore.Erasure, error) {
	gone, err := s.Erasures(ctx)
	if err != nil {
		return nil, nil, err
	}
	var recs []keystore.Record
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for m, err := range s.log.Subscribe(ctx, events.SubscribeOptions{Filter: events.Filter{StreamPrefixes: []string{keyPrefix}}}) {
		if err != nil {
			return nil, nil, err
		}
		if m.Kind == events.KindCaughtUp {
			break
		}
		if m.Kind != events.KindEvent || !strings.HasPrefix(m.Event.Stream, keyPrefix) {
			continue
		}
		var k events.DataKeyCreated
		if json.Unmarshal(m.Event.Data, &k) == nil {
			recs = append(recs, keystore.Record{Subject: k.Subject, Version: k.Version, Wrapped: k.Wrapped, Created: k.Created})
		}
	}
	// A tombstoned stream's events may still be in $all until a scavenge:
	// they are not keys any more.
	erased := map[string]bool{}
	for _, e := range gone {
		erased[e.Subject] = true
	}
	kept := recs[:0]
	for _, r := range recs {
		if !erased[r.Subject] {
			kept = append(kept, r)
		}
	}
	return kept, gone, nil
}

func (s *Store) Load(ctx context.Context, records []keystore.Record, erasures []keystore.Erasure) error {
	for _, e := range erasures {
		if err := s.Erase(ctx, e.Subject, e.At); err != nil {
			return err
		}
	}
	for _, r := range records {
		err := s.Put(ctx, r)
		if err != nil && !errors.Is(err, keystore.ErrExists) && !errors.Is(err, keystore.ErrErased) {
			return err
		}
	}
	return nil
}

func (s *Store) Check(ctx context.Context, value []byte) ([]byte, error) {
	ev, err := events.Types.New(events.MasterKeyCheckSet{Value: value}, meta())
	if err != nil {
		return nil, err
	}
	_, err = s.log.Append(ctx, checkStream, events.NoStream, ev)
	var wrong *events.WrongExpectedRevisionError
	if err != nil && !errors.As(err, &wrong) {
		return nil, err
	}
	evs, err := s.log.ReadStream(ctx, checkStream, events.ReadOptions{Count: 1})
	if err != nil {
		return nil, err
	}
	var c events.MasterKeyCheckSet
	if err := json.Unmarshal(evs[0].Data, &c); err != nil {
		return nil, fmt.Errorf("master key check: %w", err)
	}
	return c.Value, nil
}

// Close leaves the event store open: it belongs to the caller.
func (s *Store) Close() error { return nil }
