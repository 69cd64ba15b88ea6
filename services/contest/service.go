// Package contest owns the developer contest: contests with tracks,
// phases and a versioned rubric; teams with invite codes; submissions as
// revisions with receipts and content-addressed attachments; judging with
// track assignments, conflicts of interest and normalised aggregation;
// finals, published results and the public gallery. Each contest is one
// stream decided in one ledger (see ledger.go); every view is folded from
// that stream.
package contest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Config is the service's configuration.
type Config struct {
	// DataDir holds attachments, in DataDir/contest/attachments (required).
	DataDir string
	// Verifier checks access tokens (required).
	Verifier *auth.Verifier
	// MaxAttachmentBytes bounds one attachment (default 10 MiB).
	MaxAttachmentBytes int64
	// Clock replaces time.Now in tests.
	Clock func() time.Time
}

// DefaultMaxAttachmentBytes fits a slide deck or a short screen capture
// as a GIF; videos belong behind the demo link.
const DefaultMaxAttachmentBytes = 10 << 20

// Service is the contest service.
type Service struct {
	cfg   Config
	store events.Store
	log   *slog.Logger
	files *attachments

	// ledgers run until cancel, which Run calls when its context ends.
	cancel  context.CancelFunc
	ledgers *events.Ledgers[*Contest]

	// public is the public read model of every contest (list, gallery),
	// followed from the log so that it needs no ledger per contest.
	public *publicView
}

// New opens the service.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("contest: data directory is required")
	}
	if cfg.Verifier == nil {
		return nil, errors.New("contest: no token verifier")
	}
	if store == nil {
		return nil, errors.New("contest: no event store")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.MaxAttachmentBytes <= 0 {
		cfg.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "contest")
	files, err := openAttachments(cfg.DataDir, cfg.MaxAttachmentBytes)
	if err != nil {
		return nil, fmt.Errorf("contest: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, store: store, log: logger, files: files, cancel: cancel, public: newPublicView(store, logger)}
	s.ledgers = events.NewLedgers(ctx, func(id string) *ledger { return newLedger(id, store, logger, s.now, s.public.isErased) })
	return s, nil
}

// Run follows the log for the public view and keeps the ledgers running
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	defer s.cancel()
	go s.forgetErased(ctx)
	return s.public.follower.Run(ctx)
}

// forgetErased tells every running ledger of each account the public view
// has seen erased to forget the person. A ledger that starts later folds
// its stream with the erased accounts left out (see Contest.isErased), so
// only the running ones need telling; a ledger that fails to answer has
// stopped, and one started in its place folds without the person too.
func (s *Service) forgetErased(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.public.wake:
		}
		for _, id := range s.public.takeErased() {
			for _, contest := range s.ledgers.IDs() {
				if _, err := s.exec(ctx, contest, false, events.Metadata{}, "", func(c *Contest, _ time.Time, _ emit) (any, error) {
					c.forget(id)
					return nil, nil
				}); err != nil && ctx.Err() == nil {
					s.log.Warn("contest: a ledger did not forget an erased account", "contest", contest, "err", err)
				}
			}
		}
	}
}

// Close stops the ledgers (for callers that never ran Run).
func (s *Service) Close() { s.cancel() }

// Ready reports whether the public view has caught up with the log.
func (s *Service) Ready(context.Context) error {
	if !s.public.follower.Ready() {
		return errors.New("the contest gallery is catching up with the event log")
	}
	return nil
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

// ledgerFor returns the running ledger of id. Only aggregates that exist
// (or are being created) get one, so probing ids starts nothing.
func (s *Service) ledgerFor(ctx context.Context, id string, creating bool) (*ledger, error) {
	if !idPattern.MatchString(id) {
		return nil, ErrContestNotFound
	}
	l, err := s.ledgers.Get(ctx, id, creating)
	if errors.Is(err, events.ErrStreamNotFound) {
		return nil, ErrContestNotFound
	}
	return l, err
}

func (s *Service) exec(ctx context.Context, id string, creating bool, meta events.Metadata, idKey string,
	decide func(c *Contest, now time.Time, emit emit) (any, error)) (any, error) {
	l, err := s.ledgerFor(ctx, id, creating)
	if err != nil {
		return nil, err
	}
	return l.Do(ctx, &request{Decide: decide, Meta: meta, IDKey: idKey})
}

// read runs f against the contest's current state.
func (s *Service) read(ctx context.Context, id string, f func(c *Contest, now time.Time) (any, error)) (any, error) {
	return s.exec(ctx, id, false, events.Metadata{}, "", func(c *Contest, now time.Time, _ emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		return f(c, now)
	})
}

// publicView folds every contest stream for what anyone may see.
type publicView struct {
	follower *events.Follower
	mu       sync.RWMutex
	contests map[string]*Contest
	// erased holds the accounts erased so far in the log; fresh those
	// the running ledgers have not been told of yet, and wake says there
	// are some.
	erased map[string]bool
	fresh  []string
	wake   chan struct{}
}

func newPublicView(store events.Store, log *slog.Logger) *publicView {
	v := &publicView{contests: map[string]*Contest{}, erased: map[string]bool{}, wake: make(chan struct{}, 1)}
	v.follower = &events.Follower{Name: "contest-public", Store: store, Logger: log,
		// Every event of a contest stream is a contest one; the erasures
		// come from identity.
		Filter: events.Filter{TypePrefixes: []string{"contest.", "identity.AccountErased"}},
		Apply: func(e events.Event) {
			if e.Type == "identity.AccountErased" {
				v.erase(e, log)
				return
			}
			if events.Category(e.Stream) != events.CategoryContest {
				return
			}
			v.mu.Lock()
			defer v.mu.Unlock()
			id := events.StreamID(e.Stream)
			c := v.contests[id]
			if c == nil {
				c = newContest()
				c.erased = func(id string) bool { return v.erased[id] } // called under v.mu
				v.contests[id] = c
			}
			if err := applyEvent(c, e); err != nil {
				log.Error("contest event cannot be read; skipped", "stream", e.Stream, "revision", e.Revision, "err", err)
			}
		}}
	return v
}

// erase folds an account's erasure into every contest of the view and
// queues it for the running ledgers.
func (v *publicView) erase(e events.Event, log *slog.Logger) {
	p, err := events.Types.Decode(e)
	if err != nil {
		log.Error("contest: cannot read an erasure", "event", e.ID, "err", err)
		return
	}
	er, ok := p.(events.AccountErased)
	if !ok || er.UserID == "" {
		return
	}
	v.mu.Lock()
	v.erased[er.UserID] = true
	for _, c := range v.contests {
		c.forget(er.UserID)
	}
	v.fresh = append(v.fresh, er.UserID)
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// isErased reports whether the account has been erased.
func (v *publicView) isErased(id string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.erased[id]
}

// takeErased returns the erasures the ledgers have not been told of.
func (v *publicView) takeErased() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := v.fresh
	v.fresh = nil
	return out
}

// ContestSummary is a contest as lists show it.
type ContestSummary struct {
	ID       string                      `json:"id"`
	NameZH   string                      `json:"name_zh"`
	NameEN   string                      `json:"name_en"`
	Year     int                         `json:"year"`
	Phase    string                      `json:"phase"`
	Tracks   []events.ContestTrack       `json:"tracks"`
	Awards   []events.ContestAward       `json:"awards"`
	Schedule []events.ContestPhaseWindow `json:"schedule"`
	TeamSize int                         `json:"team_size_limit"`
	Entries  int                         `json:"entries"`
	Rubric   *RubricView                 `json:"rubric"`
	Gallery  int                         `json:"gallery"`
}

// RubricView is the rubric in force, public so that teams know how they
// will be judged.
type RubricView struct {
	Version  int                      `json:"version"`
	ScaleMin float64                  `json:"scale_min"`
	ScaleMax float64                  `json:"scale_max"`
	Criteria []events.RubricCriterion `json:"criteria"`
}

func summaryOf(c *Contest) ContestSummary {
	s := ContestSummary{ID: c.ID, NameZH: c.NameZH, NameEN: c.NameEN, Year: c.Year, Phase: c.Phase,
		Tracks: nonNil(c.Tracks), Awards: nonNil(c.Awards), Schedule: nonNil(c.Schedule), TeamSize: c.TeamSizeLimit, Gallery: len(c.Gallery)}
	for _, id := range c.TeamOrder {
		if c.Teams[id].Entered {
			s.Entries++
		}
	}
	if c.Rubric != nil {
		s.Rubric = &RubricView{Version: c.Rubric.Version, ScaleMin: c.Rubric.ScaleMin, ScaleMax: c.Rubric.ScaleMax, Criteria: c.Rubric.Criteria}
	}
	return s
}

// list returns every contest, newest year first.
func (v *publicView) list() []ContestSummary {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := []ContestSummary{}
	for _, c := range v.contests {
		if c.Exists {
			out = append(out, summaryOf(c))
		}
	}
	slices.SortFunc(out, func(a, b ContestSummary) int {
		if a.Year != b.Year {
			return b.Year - a.Year
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

func (v *publicView) contest(id string) (ContestSummary, []GalleryEntry, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	c := v.contests[id]
	if c == nil || !c.Exists {
		return ContestSummary{}, nil, false
	}
	return summaryOf(c), slices.Clone(c.Gallery), true
}
