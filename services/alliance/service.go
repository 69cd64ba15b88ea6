// Package alliance owns the Yunqi Town alliance: startups' applications
// with a transparent review, the decision policy, memberships with their
// public profiles and history, and the member wall. Every change is an
// event; lists, timelines and the wall are projections of the log.
package alliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/audit"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Config is the service's configuration.
type Config struct {
	// DataDir holds uploaded logos, in DataDir/alliance/logos (required).
	DataDir string
	// Verifier checks access tokens (required for the API).
	Verifier *auth.Verifier
	// MaxLogoBytes bounds an uploaded logo (default 512 KiB).
	MaxLogoBytes int64
	// Clock replaces time.Now in tests.
	Clock func() time.Time
	// Names resolves staff members' ids to names for the audit view
	// (default: from the account streams of the log).
	Names audit.Names
}

// Service is the alliance service.
type Service struct {
	cfg   Config
	store events.Store
	log   *slog.Logger
	view  *view
	logos *logoStore
}

// New opens the service.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("alliance: data directory is required")
	}
	if store == nil {
		return nil, errors.New("alliance: no event store")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxLogoBytes == 0 {
		cfg.MaxLogoBytes = 512 << 10
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "alliance")
	logos, err := openLogoStore(filepath.Join(cfg.DataDir, "alliance", "logos"), cfg.MaxLogoBytes)
	if err != nil {
		return nil, fmt.Errorf("alliance: %w", err)
	}
	return &Service{cfg: cfg, store: store, log: logger, view: newView(store, logger), logos: logos}, nil
}

// Run follows the log for the lists, timelines and the wall until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.view.follower.Run(ctx) }

// Ready reports whether the projections have caught up with the log.
func (s *Service) Ready(context.Context) error {
	if !s.view.follower.Ready() {
		return errors.New("alliance lists are catching up with the event log")
	}
	return nil
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

// caughtUp waits (briefly) until the projections show position p, so that
// the page after a command shows what it did.
func (s *Service) caughtUp(ctx context.Context, p events.Position) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.view.follower.WaitFor(ctx, p)
}
