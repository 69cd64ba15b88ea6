package contest

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/yunqi-town/yunqi/events"
)

// Conflict kinds: why a judge may not judge an entry. Pages name each in
// the visitor's language; the API sends the kind and a sentence.
const (
	ConflictDeclared     = "declared"     // the judge declared it
	ConflictMember       = "member"       // the judge is in the team
	ConflictOrganization = "organization" // a team member shares the judge's organisation
)

// conflictKind is conflicted's reason as one of the kinds above, or "".
func (c *Contest) conflictKind(j *Judge, t *Team) string {
	if _, ok := c.Declared[j.ID][t.ID]; ok {
		return ConflictDeclared
	}
	if c.MemberTeam[j.ID] == t.ID {
		return ConflictMember
	}
	if bad, _ := c.conflicted(j, t); bad {
		return ConflictOrganization
	}
	return ""
}

// ConflictError refuses an assignment across a conflict of interest; it
// is a field error on "judge" as well, so forms and the API show it
// beside the judge.
type ConflictError struct {
	Judge, Team, Kind string
}

func (e *ConflictError) Error() string {
	why := map[string]string{
		ConflictDeclared:     "has declared a conflict of interest with this team",
		ConflictMember:       "is a member of this team",
		ConflictOrganization: "is from the same organisation as a member of this team",
	}[e.Kind]
	return "judge " + why
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflictOfInterest }

// entries are the teams with an entry, in team order: what judges judge.
func (c *Contest) entries() []*Team {
	var out []*Team
	for _, id := range c.TeamOrder {
		if t := c.Teams[id]; t.Entered {
			out = append(out, t)
		}
	}
	return out
}

// judgesOf lists who judges t in the review round, conflicts left out.
func (c *Contest) judgesOf(t *Team) []string {
	var out []string
	for _, id := range c.JudgeOrder {
		j := c.Judges[id]
		if c.judges(j, t) && c.conflictKind(j, t) == "" {
			out = append(out, id)
		}
	}
	return out
}

// assignable: judges are assigned to entries while entries are judged in
// review; before that the entries are not final, after it scoring is over.
func (c *Contest) assignable() error {
	return c.needPhase(events.PhaseSubmission, events.PhaseReview)
}

// assignEntry adds one judge to one entry's judges by hand. An entry that
// went to its track's judges keeps them and gains this one.
func (c *Contest) assignEntry(judge, team string, emit emit) error {
	if err := c.assignable(); err != nil {
		return err
	}
	var errs fieldErrors
	j, t := c.Judges[judge], c.Teams[team]
	if j == nil {
		errs.add("judge", "is not a judge of this contest: add them as a judge first")
	}
	if t == nil || !t.Entered {
		errs.add("team", "is not a team with an entry in this contest")
	}
	if err := errs.err(); err != nil {
		return err
	}
	if kind := c.conflictKind(j, t); kind != "" {
		return &ConflictError{Judge: judge, Team: team, Kind: kind}
	}
	list := c.judgesOf(t)
	if slices.Contains(list, judge) {
		return nil
	}
	emit(events.EntryJudgesAssigned{ContestID: c.ID, Method: "manual", Entries: []events.EntryJudges{{TeamID: t.ID, Judges: append(list, judge)}}})
	return nil
}

// AutoAssignment is what automatic assignment did: every entry's judges,
// each judge's load, and the entries that got fewer judges than asked
// because too few were free of conflicts.
type AutoAssignment struct {
	PerEntry int                  `json:"per_entry"`
	Entries  []events.EntryJudges `json:"entries"`
	Loads    map[string]int       `json:"loads"`
	Short    []string             `json:"short"`
}

// autoAssign gives every entry perEntry judges, never one with a conflict,
// spreading the load so that judges' loads differ by at most one wherever
// conflicts leave the choice. Entries with the fewest possible judges are
// served first, so that they are not left with none; each then takes the
// least-loaded judges, in the order judges were added on a tie, so the
// same log always gives the same assignment. Tracks are not a limit here:
// an organiser who assigns automatically wants the load spread over the
// whole panel. Judges keep the entries they have scored already.
func (c *Contest) autoAssign(perEntry int, emit emit) (AutoAssignment, error) {
	if err := c.assignable(); err != nil {
		return AutoAssignment{}, err
	}
	var errs fieldErrors
	entries := c.entries()
	switch {
	case len(c.JudgeOrder) == 0:
		errs.add("per_entry", "there are no judges to assign: add judges first")
	case perEntry < 1 || perEntry > len(c.JudgeOrder):
		errs.add("per_entry", fmt.Sprintf("must be between 1 and %d, the number of judges", len(c.JudgeOrder)))
	}
	if len(entries) == 0 {
		errs.add("entries", "no team has submitted an entry yet")
	}
	if err := errs.err(); err != nil {
		return AutoAssignment{}, err
	}
	free := map[string][]string{}
	for _, t := range entries {
		for _, id := range c.JudgeOrder {
			if c.conflictKind(c.Judges[id], t) == "" {
				free[t.ID] = append(free[t.ID], id)
			}
		}
	}
	order := slices.Clone(entries)
	slices.SortStableFunc(order, func(a, b *Team) int { return cmp.Compare(len(free[a.ID]), len(free[b.ID])) })
	out := AutoAssignment{PerEntry: perEntry, Loads: map[string]int{}, Short: []string{}}
	rank := map[string]int{}
	for i, id := range c.JudgeOrder {
		out.Loads[id] = 0
		rank[id] = i
	}
	// A judge keeps the entries they have scored already: reassigning in
	// review must not throw away work, nor leave a score from a judge who
	// no longer judges the entry.
	chosen := map[string][]string{}
	for _, t := range entries {
		for _, id := range free[t.ID] {
			if _, ok := c.Latest[scoreKey{id, t.ID, events.RoundReview}]; ok {
				chosen[t.ID] = append(chosen[t.ID], id)
				out.Loads[id]++
			}
		}
	}
	for _, t := range order {
		var cand []string
		for _, id := range free[t.ID] {
			if !slices.Contains(chosen[t.ID], id) {
				cand = append(cand, id)
			}
		}
		slices.SortStableFunc(cand, func(a, b string) int {
			return cmp.Or(cmp.Compare(out.Loads[a], out.Loads[b]), cmp.Compare(rank[a], rank[b]))
		})
		n := min(max(perEntry-len(chosen[t.ID]), 0), len(cand))
		if len(chosen[t.ID])+n < perEntry {
			out.Short = append(out.Short, t.ID)
		}
		for _, id := range cand[:n] {
			out.Loads[id]++
		}
		chosen[t.ID] = append(chosen[t.ID], cand[:n]...)
	}
	// Greedy choice can strand a judge (one who had to keep a scored
	// entry fills up early, say); moving an entry from a judge to one with
	// at least two fewer then evens the loads. Each move lowers the sum of
	// squared loads, so this ends.
	for moved := true; moved; {
		moved = false
		for _, t := range entries {
			for i, a := range chosen[t.ID] {
				if _, scored := c.Latest[scoreKey{a, t.ID, events.RoundReview}]; scored {
					continue
				}
				for _, b := range free[t.ID] {
					if out.Loads[a]-out.Loads[b] >= 2 && !slices.Contains(chosen[t.ID], b) {
						chosen[t.ID][i] = b
						out.Loads[a]--
						out.Loads[b]++
						moved = true
						break
					}
				}
			}
		}
	}
	for _, t := range entries {
		slices.SortFunc(chosen[t.ID], func(a, b string) int { return cmp.Compare(rank[a], rank[b]) })
		out.Entries = append(out.Entries, events.EntryJudges{TeamID: t.ID, Judges: nonNil(chosen[t.ID])})
	}
	emit(events.EntryJudgesAssigned{ContestID: c.ID, Method: "auto", PerEntry: perEntry, Entries: out.Entries})
	return out, nil
}

// JudgeProgress is one judge's work in the current round, as organisers
// watch it.
type JudgeProgress struct {
	Judge        string `json:"judge"`
	Name         string `json:"name"`
	Organization string `json:"organization,omitempty"`
	Assigned     int    `json:"assigned"`
	Scored       int    `json:"scored"`
	Conflicts    int    `json:"conflicts"` // declared by the judge
	Excluded     int    `json:"excluded"`  // entries of the judge's track or list left out for any conflict
}

// ProgressRound is the round organisers watch: finals once they run,
// otherwise review (before review opens, the counts are what the judges
// will get).
func (c *Contest) ProgressRound() string {
	if phaseIndex(c.Phase) >= phaseIndex(events.PhaseFinals) {
		return events.RoundFinals
	}
	return events.RoundReview
}

// Progress lists every judge's assigned and scored entries in round.
// Only scores under the rubric in force count as scored, as in the
// ranking.
func (c *Contest) Progress(round string) []JudgeProgress {
	out := []JudgeProgress{}
	for _, id := range c.JudgeOrder {
		j := c.Judges[id]
		p := JudgeProgress{Judge: id, Name: j.DisplayName, Organization: j.Organization, Conflicts: len(c.Declared[id])}
		for _, t := range c.entries() {
			would := c.judges(j, t)
			if round == events.RoundFinals {
				would = t.Finalist
			}
			if !would {
				continue
			}
			if c.conflictKind(j, t) != "" {
				p.Excluded++
				continue
			}
			p.Assigned++
			if i, ok := c.Latest[scoreKey{id, t.ID, round}]; ok && c.Rubric != nil && c.Scores[i].RubricVersion == c.Rubric.Version {
				p.Scored++
			}
		}
		out = append(out, p)
	}
	return out
}

// PhaseMove is what moving to the next phase will do, shown to the
// organiser before they confirm it.
type PhaseMove struct {
	From string `json:"from"`
	To   string `json:"to"` // empty: no move left (finals end by publishing)
	// Blocked says why the move cannot be made yet ("no_rubric"), if so.
	Blocked   string         `json:"blocked,omitempty"`
	Teams     int            `json:"teams"`
	Submitted int            `json:"submitted"`   // entries that will be (or are) judged
	Drafts    int            `json:"drafts"`      // teams with only a draft: not judged
	Empty     int            `json:"no_entry"`    // teams with nothing saved
	Queues    map[string]int `json:"queues"`      // judge → entries they will get
	Unjudged  []string       `json:"unjudged"`    // entries no judge will see
	Scores    int            `json:"scores"`      // review scores recorded (leaving review)
	Expected  int            `json:"expected"`    // review scores assigned (leaving review)
	Shortlist int            `json:"shortlisted"` // entries on the shortlist (leaving review)
}

// NextPhase is the phase after the current one that a phase move may
// reach; finals have none, they end when results are published.
func (c *Contest) NextPhase() string {
	i := phaseIndex(c.Phase)
	if i < 0 || i+1 >= phaseIndex(events.PhaseResults) {
		return ""
	}
	return phaseOrder[i+1]
}

// PreviewMove computes the consequences of moving to the next phase.
func (c *Contest) PreviewMove() PhaseMove {
	m := PhaseMove{From: c.Phase, To: c.NextPhase(), Queues: map[string]int{}, Unjudged: []string{}}
	for _, id := range c.TeamOrder {
		t := c.Teams[id]
		m.Teams++
		switch {
		case t.Entered:
			m.Submitted++
		case t.Entry != nil:
			m.Drafts++
		default:
			m.Empty++
		}
		if t.Shortlist {
			m.Shortlist++
		}
	}
	if phaseIndex(m.To) >= phaseIndex(events.PhaseReview) && c.Rubric == nil {
		m.Blocked = "no_rubric"
	}
	switch m.To {
	case events.PhaseReview:
		for _, id := range c.JudgeOrder {
			m.Queues[id] = 0
		}
		for _, t := range c.entries() {
			js := c.judgesOf(t)
			if len(js) == 0 {
				m.Unjudged = append(m.Unjudged, t.ID)
			}
			for _, id := range js {
				m.Queues[id]++
			}
		}
	case events.PhaseFinals:
		for _, p := range c.Progress(events.RoundReview) {
			m.Scores += p.Scored
			m.Expected += p.Assigned
		}
	}
	return m
}

// RankGap is how many places the two aggregations may disagree on an
// entry before the side-by-side ranking flags it: one place is the noise
// of near-ties, two or more means the judges' habits, not the entries,
// decide where it lands.
const RankGap = 1

// SideBySide is a round ranked both ways, one row per entry, in the
// z-score order that publishing uses by default.
type SideBySide struct {
	Round     string    `json:"round"`
	RankGap   int       `json:"rank_gap"`
	Threshold float64   `json:"disagreement_threshold"`
	ScaleMin  float64   `json:"scale_min"`
	ScaleMax  float64   `json:"scale_max"`
	Rows      []PairRow `json:"rows"`
	Scored    int       `json:"scored"`
	Stale     int       `json:"stale"`
}

type PairRow struct {
	Team       string  `json:"team"`
	TeamName   string  `json:"team_name"`
	Title      string  `json:"title"`
	Track      string  `json:"track"`
	Judges     int     `json:"judges"`
	RankZ      int     `json:"rank_zscore"`
	RankRaw    int     `json:"rank_raw"`
	ZScore     float64 `json:"zscore"`
	RawMean    float64 `json:"raw_mean"`
	Spread     float64 `json:"spread"`
	RankFlag   bool    `json:"rank_disagreement"`   // the ranks differ by more than RankGap
	SpreadFlag bool    `json:"spread_disagreement"` // the judges' totals spread beyond the threshold
	Shortlist  bool    `json:"shortlisted"`
	Finalist   bool    `json:"finalist"`
}

// Compare ranks round under both aggregations.
func (c *Contest) Compare(round string, threshold float64) SideBySide {
	z := c.Ranking(round, ZScore, threshold)
	raw := c.Ranking(round, Raw, threshold)
	out := SideBySide{Round: round, RankGap: RankGap, Threshold: threshold, Rows: []PairRow{}, Scored: z.Scored, Stale: z.Stale}
	if c.Rubric != nil {
		out.ScaleMin, out.ScaleMax = c.Rubric.ScaleMin, c.Rubric.ScaleMax
	}
	rawRank := map[string]int{}
	for _, r := range raw.Rows {
		rawRank[r.Team] = r.Rank
	}
	for _, r := range z.Rows {
		t := c.Teams[r.Team]
		row := PairRow{Team: r.Team, TeamName: r.TeamName, Title: r.Title, Track: r.Track, Judges: r.Judges,
			RankZ: r.Rank, RankRaw: rawRank[r.Team], ZScore: r.Normal, RawMean: r.RawMean, Spread: r.Spread,
			SpreadFlag: r.Disagreed, Shortlist: t.Shortlist, Finalist: t.Finalist}
		row.RankFlag = r.Judges > 0 && math.Abs(float64(row.RankZ-row.RankRaw)) > RankGap
		out.Rows = append(out.Rows, row)
	}
	return out
}
