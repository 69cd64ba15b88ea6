package contest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// The scale: 2,000 teams, 60 judges, 5 criteria. Judges are
// spread over five tracks (12 each) and every judge scores every entry of
// their tracks, so "all assignments" is 2,000 × 12 = 24,000 scores.
const (
	benchTeams    = 2000
	benchJudges   = 60
	benchTracks   = 5
	benchCriteria = 5
)

var benchNow = subEnds.Add(time.Hour)

// benchContest decides a contest up to the opening of review, through the
// same commands as the API, and returns its events.
func benchContest(tb testing.TB, teams, judges int) (*Contest, []any) {
	tb.Helper()
	c := newContest()
	var evs []any
	emit := func(p any) { evs = append(evs, p); c.Apply(p, benchNow) }
	var tracks []events.ContestTrack
	for i := range benchTracks {
		tracks = append(tracks, events.ContestTrack{ID: fmt.Sprintf("track%d", i), NameZH: "赛道", NameEN: "Track"})
	}
	r := events.RubricPublished{ScaleMin: 1, ScaleMax: 10}
	for i := range benchCriteria {
		r.Criteria = append(r.Criteria, events.RubricCriterion{ID: fmt.Sprintf("c%d", i), NameZH: "准则", NameEN: "Criterion", Weight: float64(1 + i%3)})
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(c.create(CreateContest{ID: "bench", NameZH: "基准", NameEN: "Bench", Year: 2015, TeamSizeLimit: 5, Tracks: tracks, Schedule: schedule(), Rubric: &r}, emit))
	for i := range teams {
		id := fmt.Sprintf("team%04d", i)
		owner := "m-" + id
		_, err := c.createTeam(CreateTeam{TeamID: id, Name: "Team " + id, Member: owner, DisplayName: owner, Organization: fmt.Sprintf("org%d", i%97), Code: id}, during, emit)
		must(err)
		_, err = c.saveSubmission(SaveSubmission{Team: id, Member: owner, Title: "Entry " + id, Summary: "A benchmark entry", Track: tracks[i%benchTracks].ID,
			RepoURL: "https://example.com/" + id}, afterLock, emit)
		must(err)
	}
	for j := range judges {
		must(c.assignJudge(AssignJudge{Judge: fmt.Sprintf("judge%02d", j), DisplayName: "Judge", Tracks: []string{tracks[j%benchTracks].ID}}, emit))
	}
	must(c.changePhase(events.PhaseSubmission, emit))
	must(c.changePhase(events.PhaseReview, emit))
	return c, evs
}

// benchScore is judge j's score of team i: a judge-specific bias and
// spread on top of the entry's quality, as real panels have.
func benchScore(j, i int) []events.CriterionScore {
	out := make([]events.CriterionScore, benchCriteria)
	for k := range out {
		v := 1 + float64((i*7+k*3)%9) + float64(j%5)/4 - 0.5
		out[k] = events.CriterionScore{Criterion: fmt.Sprintf("c%d", k), Value: min(10, max(1, v)), Comment: "ok"}
	}
	return out
}

func storeWith(tb testing.TB, evs []any) events.Store {
	tb.Helper()
	store := openStore(tb)
	var batch []events.Proposed
	size := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := store.Append(context.Background(), events.ContestStream("bench"), events.Any, batch...); err != nil {
			tb.Fatal(err)
		}
		batch, size = nil, 0
	}
	for _, p := range evs {
		ev, err := events.Types.New(p, events.Metadata{Actor: "bench", OccurredAt: benchNow, Visibility: visibility(p)})
		if err != nil {
			tb.Fatal(err)
		}
		if size+len(ev.Data)+200 > events.MaxAppendSize/2 {
			flush()
		}
		batch = append(batch, ev)
		size += len(ev.Data) + 200
	}
	flush()
	return store
}

func benchService(tb testing.TB, store events.Store, now time.Time) *Service {
	tb.Helper()
	v, err := auth.NewVerifier(auth.KeySetFunc(func(context.Context) (auth.JWKS, error) { return auth.JWKS{}, nil }), auth.VerifierConfig{Issuer: "yunqi", Audience: "yunqi"})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Config{DataDir: tb.TempDir(), Verifier: v, Clock: func() time.Time { return now }}, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// BenchmarkScoreAllAssignmentsAndRank: the 60 judges score concurrently
// through the service (ledger batching, SQLite with fsync), then the
// ranking is computed. One op is the whole contest's scoring.
func BenchmarkScoreAllAssignmentsAndRank(b *testing.B) {
	_, evs := benchContest(b, benchTeams, benchJudges)
	for b.Loop() {
		b.StopTimer()
		s := benchService(b, storeWith(b, evs), benchNow)
		b.StartTimer()
		var wg sync.WaitGroup
		var failed sync.Once
		for j := range benchJudges {
			wg.Go(func() {
				judge := fmt.Sprintf("judge%02d", j)
				for i := j % benchTracks; i < benchTeams; i += benchTracks {
					team := fmt.Sprintf("team%04d", i)
					_, err := s.exec(context.Background(), "bench", false, events.Metadata{Actor: judge}, "", func(c *Contest, _ time.Time, emit emit) (any, error) {
						return c.score(Score{Judge: judge, Team: team, Round: events.RoundReview, Scores: benchScore(j, i)}, emit)
					})
					if err != nil {
						failed.Do(func() { b.Error(err) })
						return
					}
				}
			})
		}
		wg.Wait()
		v, err := s.read(context.Background(), "bench", func(c *Contest, _ time.Time) (any, error) {
			return c.Ranking(events.RoundReview, ZScore, DefaultDisagreement), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if r := v.(Ranking); r.Scored != benchTeams*benchJudges/benchTracks {
			b.Fatalf("%d scores counted, want %d", r.Scored, benchTeams*benchJudges/benchTracks)
		}
	}
	b.ReportMetric(float64(benchTeams*benchJudges/benchTracks), "scores/op")
}

// scoredContest is the contest with every assignment scored, as events.
func scoredContest(b *testing.B) (*Contest, []any) {
	c, evs := benchContest(b, benchTeams, benchJudges)
	emit := func(p any) { evs = append(evs, p); c.Apply(p, benchNow) }
	for j := range benchJudges {
		judge := fmt.Sprintf("judge%02d", j)
		for i := j % benchTracks; i < benchTeams; i += benchTracks {
			if _, err := c.score(Score{Judge: judge, Team: fmt.Sprintf("team%04d", i), Round: events.RoundReview, Scores: benchScore(j, i)}, emit); err != nil {
				b.Fatal(err)
			}
		}
	}
	return c, evs
}

// BenchmarkRecomputeRanking: the ranking of a fully scored contest, under
// each aggregation, from the folded events.
func BenchmarkRecomputeRanking(b *testing.B) {
	c, _ := scoredContest(b)
	for _, agg := range []Aggregation{ZScore, Raw} {
		b.Run(string(agg), func(b *testing.B) {
			for b.Loop() {
				if r := c.Ranking(events.RoundReview, agg, DefaultDisagreement); len(r.Rows) != benchTeams {
					b.Fatalf("%d rows", len(r.Rows))
				}
			}
		})
	}
}

// BenchmarkRebuildReadModels: every contest read model comes from the one
// stream, so rebuilding them is reading the stream from SQLite and folding
// it — once for the ledger (teams, queues, scores, ranking input) and once
// for the public view (list, gallery) — then computing the ranking.
func BenchmarkRebuildReadModels(b *testing.B) {
	_, evs := scoredContest(b)
	store := storeWith(b, evs)
	b.ReportMetric(float64(len(evs)), "events")
	for b.Loop() {
		l := newLedger("bench", store, nil, time.Now, nil)
		if err := l.CatchUp(context.Background()); err != nil {
			b.Fatal(err)
		}
		pv := newPublicView(store, nil)
		stored, err := store.ReadStream(context.Background(), events.ContestStream("bench"), events.ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range stored {
			pv.follower.Apply(e)
		}
		if r := l.State().Ranking(events.RoundReview, ZScore, DefaultDisagreement); r.Scored != benchTeams*benchJudges/benchTracks {
			b.Fatalf("%d scores after rebuild", r.Scored)
		}
	}
}

// TestBenchFixture keeps the benchmark's set-up honest at a small scale.
func TestBenchFixture(t *testing.T) {
	c, _ := benchContest(t, 50, 10)
	n := 0
	for j := range 10 {
		for i := j % benchTracks; i < 50; i += benchTracks {
			e, err := c.score(Score{Judge: fmt.Sprintf("judge%02d", j), Team: fmt.Sprintf("team%04d", i), Round: events.RoundReview, Scores: benchScore(j, i)}, func(p any) { c.Apply(p, benchNow) })
			if err != nil {
				t.Fatal(err)
			}
			if e.Revision != 1 {
				t.Fatalf("revision %d", e.Revision)
			}
			n++
		}
	}
	if r := c.Ranking(events.RoundReview, ZScore, DefaultDisagreement); r.Scored != n || len(r.Rows) != 50 {
		t.Fatalf("ranking counted %d of %d scores, %d rows", r.Scored, n, len(r.Rows))
	}
}
