package contest

import (
	"reflect"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

func threeEntries() []any {
	return with(created(3), team("t1", "ann", ""), team("t2", "bo", ""), team("t3", "cy", ""),
		entry("t1", 1, false), entry("t2", 1, false), entry("t3", 1, false),
		judge("gentle", "", "mobile"), judge("harsh", "", "mobile"),
		phase(events.PhaseRegistration, events.PhaseReview), queued("t1"), queued("t2"), queued("t3"))
}

// A harsh judge who scored only t3 (low, as they score everything) sinks
// it on the raw mean; on z-scores their scores count relative to their own.
func TestZScoresKeepAHarshJudgeFromSinkingAnEntry(t *testing.T) {
	c := given(with(threeEntries(),
		scored("gentle", "t1", 1, 9, 9), scored("gentle", "t2", 1, 7, 7),
		scored("harsh", "t2", 1, 2, 2), scored("harsh", "t3", 1, 4, 4),
	)...)
	raw := c.Ranking(events.RoundReview, Raw, DefaultDisagreement)
	z := c.Ranking(events.RoundReview, ZScore, DefaultDisagreement)
	order := func(r Ranking) []string {
		var out []string
		for _, row := range r.Rows {
			out = append(out, row.Team)
		}
		return out
	}
	if got := order(raw); !reflect.DeepEqual(got, []string{"t1", "t2", "t3"}) {
		t.Errorf("raw order = %v", got)
	}
	// t3 is the harsh judge's best entry: z +1, like t1 for the gentle one.
	if got := order(z); got[2] != "t2" {
		t.Errorf("z-score order = %v, want t2 last (below both judges' own means)", got)
	}
	for _, row := range z.Rows {
		if row.Team == "t2" && !row.Disagreed {
			t.Errorf("t2 was scored 7 and 2 on a 1–10 scale and is not flagged: %+v", row)
		}
		if row.Team == "t1" && row.Disagreed {
			t.Errorf("t1 has one judge and is flagged: %+v", row)
		}
	}
	if !reflect.DeepEqual(z, c.Ranking(events.RoundReview, ZScore, DefaultDisagreement)) {
		t.Error("the ranking is not the same when computed again")
	}
	// From the same events, replayed into a new aggregate.
	again := given(with(threeEntries(),
		scored("harsh", "t3", 1, 4, 4), scored("gentle", "t1", 1, 9, 9),
		scored("harsh", "t2", 1, 2, 2), scored("gentle", "t2", 1, 7, 7),
	)...)
	if a, b := z.Rows, again.Ranking(events.RoundReview, ZScore, DefaultDisagreement).Rows; !reflect.DeepEqual(a, b) {
		t.Errorf("scores in another order give another ranking:\n%+v\n%+v", a, b)
	}
}

func TestOnlyTheLatestScoreUnderTheRubricInForceCounts(t *testing.T) {
	c := given(with(threeEntries(),
		scored("gentle", "t1", 1, 2, 2), scored("gentle", "t1", 2, 9, 9), scored("gentle", "t2", 1, 5, 5),
	)...)
	r := c.Ranking(events.RoundReview, Raw, DefaultDisagreement)
	if r.Rows[0].Team != "t1" || r.Rows[0].RawMean != 9 || r.Scored != 2 {
		t.Errorf("the replaced score still counts: %+v", r)
	}
	c.Apply(rubric(2), regOpens)
	r = c.Ranking(events.RoundReview, Raw, DefaultDisagreement)
	if r.Scored != 0 || r.Stale != 2 || r.RubricVersion != 2 {
		t.Errorf("scores under rubric 1 count under rubric 2: %+v", r)
	}
}

func TestWeightsApply(t *testing.T) {
	r := rubric(1) // idea weighs 2, tech 1
	got := weightedTotal(r, scored("j", "t", 1, 9, 3))
	if got != 7 {
		t.Errorf("weighted total = %v, want (2·9+1·3)/3 = 7", got)
	}
}
