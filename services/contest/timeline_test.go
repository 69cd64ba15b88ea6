package contest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

// A team's timeline tells its members what happened to their entry and
// never who judged it, what they scored or what conflicts were declared.
func TestTeamTimelineHidesJudges(t *testing.T) {
	c := given(with(inReview(),
		events.ConflictDeclared{ContestID: "c", JudgeID: "j1", TeamID: "t1", Reason: "my cousin's startup"},
		scored("j1", "t2", 1, 8, 6),
		phase(events.PhaseReview, events.PhaseFinals),
		events.EntryShortlisted{ContestID: "c", TeamID: "t2"},
		events.FinalistPromoted{ContestID: "c", TeamID: "t2"},
		events.ResultsPublished{ContestID: "c", Round: events.RoundReview, Aggregation: "zscore", Results: []events.ContestResult{{TeamID: "t2", Rank: 1, Award: "gold"}}},
	)...)
	var kinds []string
	for _, s := range c.Teams["t2"].OwnerTimeline() {
		kinds = append(kinds, s.Kind)
	}
	want := []string{StepTeamCreated, StepSubmitted, StepQueued, StepShortlisted, StepFinalist, StepResult}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("t2's timeline = %v, want %v", kinds, want)
	}
	for _, id := range []string{"t1", "t2"} {
		b, _ := json.Marshal(c.Teams[id].OwnerTimeline())
		for _, secret := range []string{"j1", "Judge", "cousin", StepScoreRecorded, StepConflict} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s's timeline shows %q: %s", id, secret, b)
			}
		}
	}
	if len(c.Teams["t1"].History) == len(c.Teams["t1"].OwnerTimeline()) {
		t.Error("the staff step of t1 (a declared conflict) is not in its full history")
	}
}
