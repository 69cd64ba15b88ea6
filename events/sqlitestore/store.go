// Package sqlitestore is the embedded event store: one SQLite file in WAL
// mode, durable before acknowledging, with a single-writer group-commit loop.
package sqlitestore

import (
	"context"
	"errors"
	"iter"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yunqi-town/yunqi/events"
)

// Options tune a store; the zero value is fine.
type Options struct {
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
}

// Store is the SQLite-backed events.Store.
type Store struct{}

var (
	_ events.Store    = (*Store)(nil)
	_ events.Restorer = (*Store)(nil)
)

var errTODO = errors.New("sqlitestore: not implemented yet")

// Open opens (creating if needed) the event log at path, e.g. data/events.db.
func Open(path string, opts Options) (*Store, error) { return nil, errTODO }

// Backup writes a consistent copy of the log to dest while the store serves.
func (s *Store) Backup(ctx context.Context, dest string) error { return errTODO }

func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	return events.AppendResult{}, errTODO
}
func (s *Store) ReadStream(ctx context.Context, stream string, opts events.ReadOptions) ([]events.Event, error) {
	return nil, errTODO
}
func (s *Store) ReadAll(ctx context.Context, opts events.ReadAllOptions) ([]events.Event, error) {
	return nil, errTODO
}
func (s *Store) Head(ctx context.Context) (events.Position, error) { return events.Start, errTODO }
func (s *Store) Subscribe(ctx context.Context, opts events.SubscribeOptions) iter.Seq2[events.Message, error] {
	return func(yield func(events.Message, error) bool) { yield(events.Message{}, errTODO) }
}
func (s *Store) Delete(ctx context.Context, stream string, expected events.ExpectedRevision) error {
	return errTODO
}
func (s *Store) Tombstone(ctx context.Context, stream string, expected events.ExpectedRevision) error {
	return errTODO
}
func (s *Store) Capabilities() events.Capabilities { return events.Capabilities{DurableDedup: true} }
func (s *Store) Restore(ctx context.Context, evs []events.Event) error { return errTODO }
func (s *Store) Close() error { return nil }
