package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/blog"
	"github.com/yunqi-town/yunqi/services/conference"
	"github.com/yunqi-town/yunqi/services/contest"
)

// demoSeeders fill an empty log with demo data, one line per service, in
// order. Each writes through its own service's events.
var demoSeeders = []struct {
	name string
	seed func(context.Context, events.Store) error
}{
	{"conference", conference.SeedDemo},
	{"alliance", alliance.SeedDemo},
	{"contest", contest.SeedDemo},
	{"blog", blog.SeedDemo},
}

// seedDemo runs the seeders when the log is empty, and otherwise leaves
// the data as it is: demo data must never mix into real data.
func seedDemo(ctx context.Context, store events.Store, logger *slog.Logger) error {
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !head.IsStart() {
		logger.Info("demo: the event log is not empty; leaving the data as it is and seeding nothing")
		return nil
	}
	for _, s := range demoSeeders {
		if err := s.seed(ctx, store); err != nil {
			return fmt.Errorf("demo: %s: %w", s.name, err)
		}
		logger.Info("demo: seeded", "service", s.name)
	}
	return nil
}
