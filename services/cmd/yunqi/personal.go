package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/keystore/logkeys"
	"github.com/yunqi-town/yunqi/events/keystore/sqlitekeys"
	"github.com/yunqi-town/yunqi/events/sealing"
	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/identity"
)

// Personal data in the log is sealed with per-person keys (events/sealing);
// the keys live in <data>/keys.db, wrapped by the master key in
// <data>/keys/master.key or the file --master-key-file names (a mounted
// secret). Log backups and exports never hold keys.

func registerMasterKey(s *config.Set, p *string) {
	s.String(p, "master-key-file", "",
		"`FILE` holding the master key that wraps every person's data key (64 hex digits; a mounted secret); default <data>/keys/master.key, made on first start")
}

func (c *commonConfig) masterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.Data, "keys", "master.key")
}

func (c *commonConfig) keyStorePath() string { return filepath.Join(c.Data, "keys.db") }

// openKeys opens the key store and checks the master key against it: the
// SQLite file beside the embedded log, or, on EventStoreDB (raw non-nil),
// streams in the event store itself, which every replica sees. With the
// default master key file, a missing one is made (first start); a named
// --master-key-file must exist. A wrong master key is refused before
// anything is written.
func openKeys(ctx context.Context, c *commonConfig, raw events.Store) (*keystore.Keyring, keystore.Backend, error) {
	if err := prepareDataDir(c.Data); err != nil {
		return nil, nil, err
	}
	master, err := keystore.LoadMasterKey(c.masterKeyPath(), c.MasterKeyFile == "")
	if err != nil {
		return nil, nil, err
	}
	var backend keystore.Backend
	where := c.keyStorePath()
	if raw != nil {
		backend, where = logkeys.New(raw), "in the event store"
	} else if backend, err = sqlitekeys.Open(c.keyStorePath()); err != nil {
		return nil, nil, err
	}
	keys, err := keystore.Open(ctx, backend, master, keystore.Options{})
	if errors.Is(err, keystore.ErrWrongMasterKey) {
		backend.Close()
		return nil, nil, fmt.Errorf("the master key in %s does not open the key store %s: give the key it was created with (--master-key-file); nothing was written", c.masterKeyPath(), where)
	}
	if err != nil {
		backend.Close()
		return nil, nil, err
	}
	return keys, backend, nil
}

// personalLog is the event log as services see it: personal data sealed on
// the way in and opened on the way out.
type personalLog struct {
	*sealing.Store
	raw     events.Store
	backend keystore.Backend
	// claims names address claim streams; derived from the master key.
	claims identity.ClaimKey
}

func (p *personalLog) Close() error {
	return errors.Join(p.raw.Close(), p.backend.Close())
}

// openPersonalLog opens the log (SQLite in --data or EventStoreDB at url)
// with sealing. It refuses a log that still holds clear-text personal data.
func openPersonalLog(ctx context.Context, c *commonConfig, url string, create bool, logger *slog.Logger, reg prometheus.Registerer) (*personalLog, error) {
	raw, err := openEventLog(ctx, c, url, create, logger, reg)
	if err != nil {
		return nil, err
	}
	var keyLog events.Store
	if url != "" {
		keyLog = raw
	}
	keys, backend, err := openKeys(ctx, c, keyLog)
	if err != nil {
		raw.Close()
		return nil, permanent{err}
	}
	sealed := sealing.New(raw, keys, logger)
	if unsealedForBenchmark(ctx) {
		sealed = sealing.NewUnsealedForBenchmark(raw, keys, logger)
	}
	p := &personalLog{Store: sealed, raw: raw, backend: backend,
		claims: identity.ClaimKey(keys.Derive("identity email claim"))}
	if err := requireSealed(ctx, raw); err != nil {
		p.Close()
		if errors.Is(err, errClearText) {
			return nil, permanent{err}
		}
		return nil, err
	}
	return p, nil
}

// permanent marks a start-up failure that waiting for a server cannot cure
// (a wrong master key, a log to migrate).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

type unsealedKey struct{}

// withoutSealing marks a context whose server seals nothing: the baseline
// of `bench rush --compare-sealing`, which starts its servers in process.
// Nothing a user can set reaches it.
func withoutSealing(ctx context.Context) context.Context {
	return context.WithValue(ctx, unsealedKey{}, true)
}

func unsealedForBenchmark(ctx context.Context) bool {
	off, _ := ctx.Value(unsealedKey{}).(bool)
	return off
}

// sealedMarkerStream records that every personal field in the log is
// sealed: a log created sealed, or migrated. Its absence on a log with
// events means the log has to be looked through once.
const sealedMarkerStream = "system-personal-sealed"

const sealedMarkerType = "system.PersonalDataSealed"

var errClearText = errors.New("the event log holds personal data in clear text")

// requireSealed refuses a log that holds clear-text personal data, naming
// the migration; on a log without any it writes the marker so the look
// through happens once.
func requireSealed(ctx context.Context, raw events.Store) error {
	if _, err := raw.ReadStream(ctx, sealedMarkerStream, events.ReadOptions{Count: 1}); err == nil {
		return nil
	} else if !errors.Is(err, events.ErrStreamNotFound) {
		return fmt.Errorf("read %s: %w", sealedMarkerStream, err)
	}
	if e, found, err := firstClearText(ctx, raw); err != nil {
		return err
	} else if found {
		return fmt.Errorf("%w (first: event %s, %s in stream %s); run `yunqi events migrate-personal` (with the same --data or --eventstore) to seal it, then start again", errClearText, e.ID, e.Type, e.Stream)
	}
	return writeSealedMarker(ctx, raw, events.Any)
}

func writeSealedMarker(ctx context.Context, raw events.Store, expected events.ExpectedRevision) error {
	_, err := raw.Append(ctx, sealedMarkerStream, expected, events.Proposed{
		ID: events.IDFromKey("personal-data-sealed", 0), Type: sealedMarkerType, Data: []byte(`{"sealing":"yq1"}`),
		Metadata: events.Metadata{Actor: events.ActorSystem, Visibility: events.System}})
	if err != nil {
		return fmt.Errorf("write %s: %w", sealedMarkerStream, err)
	}
	return nil
}

// firstClearText looks through the log for an event with clear-text
// personal data.
func firstClearText(ctx context.Context, raw events.Store) (events.Event, bool, error) {
	head, err := raw.Head(ctx)
	if err != nil {
		return events.Event{}, false, err
	}
	var first events.Event
	errFound := errors.New("found")
	err = eachEvent(ctx, raw, head, func(e events.Event) error {
		if !sealing.IsSealed(e) || !sealing.IsSealed(upcast(e)) {
			first = e
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return first, true, nil
	}
	return events.Event{}, false, err
}

// upcast is e at its type's current schema version: an old version may
// hold personal data outside the personal member, which upcasting moves
// in. An event that does not upcast is returned as it is.
func upcast(e events.Event) events.Event {
	up, err := events.Types.Upcast(e)
	if err != nil {
		return e
	}
	// Events from before their person was named in the metadata get the
	// subject their payload names, so the migration can seal them.
	if up.Metadata.Subject == "" {
		if p, err := events.Types.Decode(up); err == nil {
			if ps, ok := p.(events.PersonalSubject); ok {
				up.Metadata.Subject = ps.PersonalSubject()
			}
		}
	}
	return up
}
