// Package conference owns conference registration: editions, tracks,
// sessions and their capacities, registrations with waitlists and offers,
// signed tickets and check-in. Every admission decision of an edition is
// taken in one ledger (see ledger.go), so capacity lives in the aggregate
// and never in a projection.
package conference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Config is the service's configuration.
type Config struct {
	// DataDir holds the ticket signing key, in DataDir/conference (required).
	DataDir string
	// Verifier checks access tokens (required).
	Verifier *auth.Verifier
	// Clock replaces time.Now in tests.
	Clock func() time.Time
	// OfferReminder is the fraction of a waitlist offer's window after
	// which the registrant is reminded (conference.OfferReminderDue):
	// 0 means 0.5, halfway; a negative value sends no reminders.
	OfferReminder float64
	// PublicURL is the site's address as calendar apps reach it
	// (https://yunqi.example), for subscription URLs. Empty: taken from
	// each request's host.
	PublicURL string
}

// Service is the conference service.
type Service struct {
	cfg     Config
	store   events.Store
	log     *slog.Logger
	tickets *ticketKey

	// ledgers run until cancel, which Run calls when its context ends.
	cancel  context.CancelFunc
	ledgers *events.Ledgers[*Edition]

	// eraser releases the registrations of erased accounts.
	eraser *eraser

	// feedWait, set by Pages, waits until the read model that serves
	// subscription URLs has read the log up to a position.
	feedWait func(ctx context.Context, p events.Position) bool
}

// New opens the service, generating the ticket key on first start.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("conference: data directory is required")
	}
	if cfg.Verifier == nil {
		return nil, errors.New("conference: no token verifier")
	}
	if store == nil {
		return nil, errors.New("conference: no event store")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.OfferReminder >= 1 {
		return nil, fmt.Errorf("conference: offer reminder %v is not a fraction of the offer window below 1", cfg.OfferReminder)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "conference")
	key, err := openTicketKey(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("conference: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, store: store, log: logger, tickets: key, cancel: cancel}
	s.eraser = newEraser(s, logger)
	s.ledgers = events.NewLedgers(ctx, func(id string) *ledger {
		return newLedger(id, store, logger, s.now, cfg.OfferReminder, s.eraser.isErased)
	})
	return s, nil
}

// Run keeps the ledgers running, and releases the registrations of
// erased accounts, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	defer s.cancel()
	return s.eraser.run(ctx)
}

// Close stops the ledgers (for callers that never ran Run).
func (s *Service) Close() { s.cancel() }

// Ready: ledgers load on first use, so only the erasures have a log to
// catch up with.
func (s *Service) Ready(context.Context) error {
	if !s.eraser.follower.Ready() {
		return errors.New("conference: catching up with erased accounts")
	}
	return nil
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

// ledgerFor returns the running ledger of edition. Only aggregates that exist
// (or are being created) get one, so probing ids starts nothing.
func (s *Service) ledgerFor(ctx context.Context, edition string, creating bool) (*ledger, error) {
	if !idPattern.MatchString(edition) {
		return nil, ErrEditionNotFound
	}
	l, err := s.ledgers.Get(ctx, edition, creating)
	if errors.Is(err, events.ErrStreamNotFound) {
		return nil, ErrEditionNotFound
	}
	return l, err
}

// exec runs decide in the edition's ledger.
func (s *Service) exec(ctx context.Context, edition string, creating bool, meta events.Metadata, idKey string,
	decide func(ed *Edition, now time.Time, emit emit) (any, error)) (any, error) {
	l, err := s.ledgerFor(ctx, edition, creating)
	if err != nil {
		return nil, err
	}
	return l.Do(ctx, &request{Decide: decide, Meta: meta, IDKey: idKey})
}

// read runs f against the edition's current state (caught up with the log).
func (s *Service) read(ctx context.Context, edition string, f func(ed *Edition) (any, error)) (any, error) {
	return s.exec(ctx, edition, false, events.Metadata{}, "", func(ed *Edition, _ time.Time, _ emit) (any, error) {
		if !ed.Exists {
			return nil, ErrEditionNotFound
		}
		return f(ed)
	})
}
