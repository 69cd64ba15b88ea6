package contest

import (
	"context"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

func TestDemoIsAFinishedContestWithAGallery(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	if err := SeedDemo(ctx, store); err != nil {
		t.Fatal(err)
	}
	if err := SeedDemo(ctx, store); err != nil {
		t.Fatalf("seeding twice: %v", err)
	}
	evs, err := store.ReadStream(ctx, events.ContestStream(DemoContestID), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := newContest()
	for _, e := range evs {
		if err := applyEvent(c, e); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Published() || c.Phase != events.PhaseResults {
		t.Fatalf("the demo contest is in phase %s, published %v", c.Phase, c.Published())
	}
	if len(c.Gallery) != 5 {
		t.Fatalf("gallery has %d entries, want the 5 finalists", len(c.Gallery))
	}
	awards := 0
	for _, g := range c.Gallery {
		if g.Award != "" {
			awards++
		}
		if g.Year != 2013 || g.Title == "" || g.TrackNameEN == "" {
			t.Errorf("gallery entry incomplete: %+v", g)
		}
		if g.PublishedAt.Format("2006-01-02") != "2013-10-24" {
			t.Errorf("published %s, want the finals evening 2013-10-24", g.PublishedAt)
		}
		for _, m := range g.Members {
			if m.DisplayName == "Leo Zhang" {
				t.Error("a member who kept their name private is in the gallery")
			}
		}
	}
	if awards != 4 {
		t.Errorf("%d awarded entries, want 4", awards)
	}
	for _, g := range c.Gallery {
		if strings.Contains(g.Title, "到站了") {
			t.Error("an entry that was not a finalist is in the gallery")
		}
	}
}

func openStore(t testing.TB) events.Store {
	t.Helper()
	s, err := sqlitestore.Open(t.TempDir()+"/events.db", sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
