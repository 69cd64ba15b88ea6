package contest

import (
	"cmp"
	"math"
	"slices"

	"github.com/yunqi-town/yunqi/events"
)

// Aggregation is how per-judge scores become one number per entry.
type Aggregation string

const (
	// ZScore normalises each judge's totals to their own mean and spread
	// before averaging, so a harsh or a generous judge moves no entry up
	// or down merely by being harsh or generous.
	ZScore Aggregation = "zscore"
	// Raw averages the weighted totals as given.
	Raw Aggregation = "raw"
)

// ParseAggregation accepts the names above; empty means ZScore.
func ParseAggregation(s string) (Aggregation, bool) {
	switch Aggregation(s) {
	case "", ZScore:
		return ZScore, true
	case Raw:
		return Raw, true
	}
	return "", false
}

// DefaultDisagreement flags an entry whose judges' totals spread by more
// than this share of the scale (population standard deviation): on a 1–10
// scale, judges about two points apart.
const DefaultDisagreement = 0.2

// Ranking is the ordered result of one round under one aggregation.
// Everything in it follows from the log, so computing it again from the
// same events gives the same rows in the same order.
type Ranking struct {
	Round         string       `json:"round"`
	Aggregation   Aggregation  `json:"aggregation"`
	RubricVersion int          `json:"rubric_version"`
	Threshold     float64      `json:"disagreement_threshold"`
	Scored        int          `json:"scored"` // scores that counted
	Stale         int          `json:"stale"`  // scores under an older rubric, which do not count
	Rows          []RankingRow `json:"rows"`
}

type RankingRow struct {
	Rank      int     `json:"rank"`
	Team      string  `json:"team"`
	TeamName  string  `json:"team_name"`
	Track     string  `json:"track"`
	Title     string  `json:"title"`
	Judges    int     `json:"judges"`
	Score     float64 `json:"score"`    // under the ranking's aggregation
	Normal    float64 `json:"zscore"`   // mean of the judges' z-scores
	RawMean   float64 `json:"raw_mean"` // mean of the judges' weighted totals
	Spread    float64 `json:"spread"`   // standard deviation of those totals
	Disagreed bool    `json:"disagreement"`
}

// weightedTotal is a judge's score of an entry on the rubric's scale.
func weightedTotal(r events.RubricPublished, s events.ScoreRecorded) float64 {
	var sum, weights float64
	for i, cs := range s.Scores {
		w := 1.0
		if i < len(r.Criteria) && r.Criteria[i].ID == cs.Criterion {
			w = r.Criteria[i].Weight
		} else {
			for _, cr := range r.Criteria {
				if cr.ID == cs.Criterion {
					w = cr.Weight
				}
			}
		}
		sum += w * cs.Value
		weights += w
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

func meanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}

// Ranking computes the ranking of a round. Only each judge's latest score
// of an entry counts, and only under the rubric in force. Entries nobody
// scored come last, in team order.
func (c *Contest) Ranking(round string, agg Aggregation, threshold float64) Ranking {
	out := Ranking{Round: round, Aggregation: agg, Threshold: threshold, Rows: []RankingRow{}}
	if c.Rubric == nil {
		return out
	}
	r := *c.Rubric
	out.RubricVersion = r.Version
	type given struct {
		judge, team string
		total       float64
	}
	var all []given
	byJudge := map[string][]float64{}
	for k, i := range c.Latest {
		if k.round != round {
			continue
		}
		s := c.Scores[i]
		if s.RubricVersion != r.Version {
			out.Stale++
			continue
		}
		tot := weightedTotal(r, s)
		all = append(all, given{k.judge, k.team, tot})
		byJudge[k.judge] = append(byJudge[k.judge], tot)
	}
	out.Scored = len(all)
	type judgeStats struct{ mean, sd float64 }
	stats := map[string]judgeStats{}
	for j, xs := range byJudge {
		slices.Sort(xs)
		m, sd := meanSD(xs)
		stats[j] = judgeStats{m, sd}
	}
	totals := map[string][]float64{}
	zs := map[string][]float64{}
	for _, g := range all {
		totals[g.team] = append(totals[g.team], g.total)
		st := stats[g.judge]
		z := 0.0
		// A judge who scored one entry, or all alike, says nothing about
		// how entries compare: their z-score is neutral.
		if st.sd > 1e-9 {
			z = (g.total - st.mean) / st.sd
		}
		zs[g.team] = append(zs[g.team], z)
	}
	scale := r.ScaleMax - r.ScaleMin
	for _, id := range c.TeamOrder {
		t := c.Teams[id]
		if !t.Entered || (round == events.RoundFinals && !t.Finalist) {
			continue
		}
		row := RankingRow{Team: id, TeamName: t.Name, Track: t.Submitted.Track, Title: t.Submitted.Title, Judges: len(totals[id])}
		// Sorting before summing makes the floating-point sums independent
		// of map order, so the result is the same bits every time.
		slices.Sort(totals[id])
		slices.Sort(zs[id])
		row.RawMean, row.Spread = meanSD(totals[id])
		row.Normal, _ = meanSD(zs[id])
		row.Score = row.Normal
		if agg == Raw {
			row.Score = row.RawMean
		}
		row.Disagreed = row.Judges > 1 && scale > 0 && row.Spread/scale > threshold
		out.Rows = append(out.Rows, row)
	}
	slices.SortStableFunc(out.Rows, func(a, b RankingRow) int {
		if (a.Judges == 0) != (b.Judges == 0) {
			if a.Judges == 0 {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.RawMean, a.RawMean); c != 0 {
			return c
		}
		return cmp.Compare(a.Team, b.Team)
	})
	for i := range out.Rows {
		out.Rows[i].Rank = i + 1
	}
	return out
}
