package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/blog"
	"github.com/yunqi-town/yunqi/services/conference"
	"github.com/yunqi-town/yunqi/services/contest"
	"github.com/yunqi-town/yunqi/services/identity"
)

// demoSeeders fill an empty log with demo data, one line per service, in
// order. Each writes through its own service's events.
var demoSeeders = []struct {
	name string
	seed func(context.Context, events.Store) error
}{
	{"conference", conference.SeedDemo},
	{"alliance", alliance.SeedDemo},
	{"contest", func(ctx context.Context, store events.Store) error {
		// The demo judge account judges the contest in progress.
		return contest.SeedDemoWithJudge(ctx, store, contest.DemoJudge{ID: identity.DemoAccountID(demoJudgeEmail), Name: "评委 Judge"})
	}},
	{"blog", blog.SeedDemo},
}

// demoStaff are the staff accounts the demo opens, one per role, so that
// a newcomer can try every staff journey from the browser.
var demoStaff = []struct {
	email, name string
	role        string
}{
	{"organizer@demo.yunqi.example", "会务 Organiser", auth.RoleOrganizer},
	{"reviewer@demo.yunqi.example", "评审 Reviewer", auth.RoleReviewer},
	{demoJudgeEmail, "评委 Judge", auth.RoleJudge},
	{"gate@demo.yunqi.example", "检票 Gate", auth.RoleGate},
}

const demoJudgeEmail = "judge@demo.yunqi.example"

// demoAccountsFile keeps the staff accounts' passwords in the data dir,
// readable by its owner only: they are printed once, never logged.
const demoAccountsFile = "demo-accounts.txt"

// seedDemo runs the seeders when the log is empty, and otherwise leaves
// the data as it is: demo data must never mix into real data. The staff
// accounts get random passwords, printed to out and kept in the data dir.
func seedDemo(ctx context.Context, store events.Store, logger *slog.Logger, dataDir string, out io.Writer) error {
	empty, err := holdsOnlyBookkeeping(ctx, store)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !empty {
		var parts []string
		for _, s := range demoSeeders {
			parts = append(parts, s.name)
		}
		logger.Warn("demo: the event log is not empty, so nothing was seeded (no "+strings.Join(parts, ", ")+
			" data and no staff accounts); start with an empty data directory to get the demo", "data", dataDir)
		return nil
	}
	for _, s := range demoSeeders {
		if err := s.seed(ctx, store); err != nil {
			return fmt.Errorf("demo: %s: %w", s.name, err)
		}
		logger.Info("demo: seeded", "service", s.name)
	}
	accounts := make([]identity.DemoAccount, len(demoStaff))
	var list strings.Builder
	list.WriteString("Demo staff accounts (log in at /identity/login):\n")
	for i, a := range demoStaff {
		accounts[i] = identity.DemoAccount{Email: a.email, Name: a.name, Password: rand.Text(), Roles: []string{a.role}}
		fmt.Fprintf(&list, "  %-10s %-32s password %s\n", a.role, a.email, accounts[i].Password)
	}
	sealed, ok := store.(*personalLog)
	if !ok {
		return errors.New("demo: staff accounts need the sealed event log")
	}
	if err := identity.SeedDemoAccounts(ctx, sealed, sealed.claims, accounts); err != nil {
		return fmt.Errorf("demo: staff accounts: %w", err)
	}
	if dataDir != "" {
		if err := os.WriteFile(filepath.Join(dataDir, demoAccountsFile), []byte(list.String()), 0o600); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	fmt.Fprint(out, list.String())
	logger.Info("demo: seeded staff accounts; their passwords are printed on standard output and kept in the data directory",
		"file", filepath.Join(dataDir, demoAccountsFile))
	return nil
}

// holdsOnlyBookkeeping reports whether the log has nothing but what a
// start writes by itself: the sealing marker and, on EventStoreDB, the key
// store's records.
func holdsOnlyBookkeeping(ctx context.Context, store events.Store) (bool, error) {
	page, err := store.ReadAll(ctx, events.ReadAllOptions{Count: 100})
	if err != nil {
		return false, err
	}
	for _, e := range page {
		if e.Stream != sealedMarkerStream && !strings.HasPrefix(e.Stream, "datakey") {
			return false, nil
		}
	}
	return len(page) < 100, nil
}
