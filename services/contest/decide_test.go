package contest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

var (
	regOpens  = time.Date(2013, 8, 1, 0, 0, 0, 0, time.UTC)
	regEnds   = time.Date(2013, 9, 1, 0, 0, 0, 0, time.UTC)
	subEnds   = time.Date(2013, 10, 1, 0, 0, 0, 0, time.UTC)
	during    = regOpens.Add(24 * time.Hour)
	afterLock = regEnds.Add(time.Hour)
	late      = subEnds.Add(time.Second)
)

func schedule() []events.ContestPhaseWindow {
	return []events.ContestPhaseWindow{
		{Phase: events.PhaseRegistration, StartsAt: regOpens, EndsAt: regEnds},
		{Phase: events.PhaseSubmission, StartsAt: regEnds, EndsAt: subEnds},
		{Phase: events.PhaseReview, StartsAt: subEnds, EndsAt: subEnds.Add(14 * 24 * time.Hour)},
	}
}

func rubric(version int) events.RubricPublished {
	return events.RubricPublished{ContestID: "c", Version: version, ScaleMin: 1, ScaleMax: 10, Criteria: []events.RubricCriterion{
		{ID: "idea", NameZH: "创意", NameEN: "Idea", Weight: 2},
		{ID: "tech", NameZH: "技术", NameEN: "Technology", Weight: 1},
	}}
}

func created(limit int) []any {
	return []any{
		events.ContestCreated{ContestID: "c", NameZH: "大赛", NameEN: "Contest", Year: 2013, TeamSizeLimit: limit,
			Tracks:   []events.ContestTrack{{ID: "mobile", NameZH: "移动", NameEN: "Mobile"}, {ID: "games", NameZH: "游戏", NameEN: "Games"}},
			Awards:   []events.ContestAward{{ID: "gold", NameZH: "金奖", NameEN: "Gold"}},
			Schedule: schedule()},
		rubric(1),
	}
}

func with(base []any, more ...any) []any { return append(append([]any{}, base...), more...) }

func team(id, owner, org string) events.TeamCreated {
	return events.TeamCreated{ContestID: "c", TeamID: id, Name: "Team " + id, OwnerID: owner, InviteCodeHash: HashCode("c", "CODE-"+id),
		InviteExpiresAt: regEnds, Personal: events.TeamMemberPersonal{DisplayName: owner, Organization: org}}
}

func joined(teamID, member, org string) events.TeamMemberJoined {
	return events.TeamMemberJoined{ContestID: "c", TeamID: teamID, MemberID: member, Personal: events.TeamMemberPersonal{DisplayName: member, Organization: org}}
}

func entry(teamID string, rev int, draft bool) events.SubmissionSaved {
	return events.SubmissionSaved{ContestID: "c", TeamID: teamID, Revision: rev, Draft: draft, Title: "Entry " + teamID,
		Summary: "What it does", Track: "mobile", RepoURL: "https://example.com/" + teamID, Receipt: "r"}
}

func phase(from, to string) events.ContestPhaseChanged {
	return events.ContestPhaseChanged{ContestID: "c", From: from, To: to}
}

func judge(id, org string, tracks ...string) events.JudgeAssigned {
	return events.JudgeAssigned{ContestID: "c", JudgeID: id, Tracks: tracks, Personal: events.JudgePersonal{DisplayName: "Judge " + id, Organization: org}}
}

func queued(teamID string) events.EntryQueuedForReview {
	return events.EntryQueuedForReview{ContestID: "c", TeamID: teamID, Track: "mobile"}
}

func scores(idea, tech float64) []events.CriterionScore {
	return []events.CriterionScore{{Criterion: "idea", Value: idea, Comment: "ok"}, {Criterion: "tech", Value: tech}}
}

func scored(j, teamID string, rev int, idea, tech float64) events.ScoreRecorded {
	return events.ScoreRecorded{ContestID: "c", TeamID: teamID, JudgeID: j, Round: events.RoundReview, RubricVersion: 1, Revision: rev, Scores: scores(idea, tech)}
}

// inReview is a contest in review with two entered teams and one judge.
func inReview() []any {
	return with(created(3), team("t1", "ann", "Hangzhou Labs"), team("t2", "bo", ""), entry("t1", 1, false), entry("t2", 1, false),
		judge("j1", "", "mobile"), phase(events.PhaseRegistration, events.PhaseReview), queued("t1"), queued("t2"))
}

func given(evs ...any) *Contest {
	c := newContest()
	for _, e := range evs {
		c.Apply(e, regOpens)
	}
	return c
}

// clearReceipt makes receipts comparable: they hash the time of saving.
func clearReceipt(evs []any) []any {
	for i, e := range evs {
		if s, ok := e.(events.SubmissionSaved); ok {
			if s.Receipt == "" {
				panic("a saved submission has no receipt")
			}
			s.Receipt = "r"
			evs[i] = s
		}
	}
	return evs
}

func TestDecisions(t *testing.T) {
	tests := []struct {
		name    string
		given   []any
		now     time.Time
		when    func(c *Contest, now time.Time, emit emit) error
		then    []any
		wantErr any // an error to match with errors.Is, or a pointer type for errors.As
	}{
		{
			name: "a contest with tracks, phases and a rubric", now: during,
			when: func(c *Contest, _ time.Time, emit emit) error {
				r := rubric(0)
				return c.create(CreateContest{ID: "c", NameZH: "大赛", NameEN: "Contest", Year: 2013, TeamSizeLimit: 3,
					Tracks: created(3)[0].(events.ContestCreated).Tracks, Awards: created(3)[0].(events.ContestCreated).Awards,
					Schedule: schedule(), Rubric: &r}, emit)
			},
			then: created(3),
		},
		{
			name: "a contest without a deadline is refused", now: during,
			when: func(c *Contest, _ time.Time, emit emit) error {
				return c.create(CreateContest{ID: "c", NameZH: "大赛", NameEN: "Contest", Year: 2013, TeamSizeLimit: 3,
					Tracks: []events.ContestTrack{{ID: "a", NameZH: "甲", NameEN: "A"}}}, emit)
			},
			wantErr: new(*ValidationError),
		},
		{
			name: "a new rubric is the next version", given: created(3), now: during,
			when: func(c *Contest, _ time.Time, emit emit) error {
				r := rubric(0)
				r.ScaleMax = 5
				return c.publishRubric(r, emit)
			},
			then: []any{func() events.RubricPublished { r := rubric(2); r.ScaleMax = 5; return r }()},
		},
		{
			name: "a rubric whose scale is upside down is refused", given: created(3), now: during,
			when: func(c *Contest, _ time.Time, emit emit) error {
				r := rubric(0)
				r.ScaleMin, r.ScaleMax = 10, 1
				return c.publishRubric(r, emit)
			},
			wantErr: new(*ValidationError),
		},
		{
			name: "phases only move forward", given: with(created(3), phase(events.PhaseRegistration, events.PhaseSubmission)), now: during,
			when:    func(c *Contest, _ time.Time, emit emit) error { return c.changePhase(events.PhaseRegistration, emit) },
			wantErr: new(*ValidationError),
		},
		{
			name: "opening review queues every entry, not drafts", now: subEnds,
			given: with(created(3), team("t1", "ann", ""), team("t2", "bo", ""), entry("t1", 1, false), entry("t2", 1, true), phase(events.PhaseRegistration, events.PhaseSubmission)),
			when:  func(c *Contest, _ time.Time, emit emit) error { return c.changePhase(events.PhaseReview, emit) },
			then:  []any{phase(events.PhaseSubmission, events.PhaseReview), queued("t1")},
		},
		{
			name: "a phase move that skips a phase is refused", given: created(3), now: during,
			when:    func(c *Contest, _ time.Time, emit emit) error { return c.changePhase(events.PhaseReview, emit) },
			wantErr: new(*ValidationError),
		},
		{
			name: "a member creates a team", given: created(3), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.createTeam(CreateTeam{TeamID: "t1", Name: "Team t1", Member: "ann", DisplayName: "ann", Organization: "Hangzhou Labs", Code: "code-t1"}, now, emit)
				return err
			},
			then: []any{func() events.TeamCreated {
				tc := team("t1", "ann", "Hangzhou Labs")
				tc.InviteExpiresAt = during.Add(InviteTTL) // a week, as it is before the roster lock
				return tc
			}()},
		},
		{
			name: "one team per person per contest", given: with(created(3), team("t1", "ann", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.createTeam(CreateTeam{TeamID: "t2", Name: "Other", Member: "ann", DisplayName: "ann", Code: "x"}, now, emit)
				return err
			},
			wantErr: ErrAlreadyInTeam,
		},
		{
			name: "joining with the code", given: with(created(3), team("t1", "ann", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.joinTeam(JoinTeam{Code: "code-t1", Member: "bo", DisplayName: "bo", Organization: "Cloud"}, now, emit)
				return err
			},
			then: []any{joined("t1", "bo", "Cloud")},
		},
		{
			name: "a wrong code is refused", given: with(created(3), team("t1", "ann", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.joinTeam(JoinTeam{Code: "nope", Member: "bo", DisplayName: "bo"}, now, emit)
				return err
			},
			wantErr: ErrBadInviteCode,
		},
		{
			name: "an expired code is refused",
			given: with(created(3), func() events.TeamCreated {
				tc := team("t1", "ann", "")
				tc.InviteExpiresAt = during.Add(-time.Minute)
				return tc
			}()), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.joinTeam(JoinTeam{Code: "CODE-t1", Member: "bo", DisplayName: "bo"}, now, emit)
				return err
			},
			wantErr: ErrInviteExpired,
		},
		{
			name: "a full team refuses one more", given: with(created(2), team("t1", "ann", ""), joined("t1", "bo", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.joinTeam(JoinTeam{Code: "CODE-t1", Member: "cy", DisplayName: "cy"}, now, emit)
				return err
			},
			wantErr: ErrTeamFull,
		},
		{
			name: "no joining once the roster locks", given: with(created(3), team("t1", "ann", "")), now: afterLock,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.joinTeam(JoinTeam{Code: "CODE-t1", Member: "bo", DisplayName: "bo"}, now, emit)
				return err
			},
			wantErr: ErrRosterLocked,
		},
		{
			name: "leaving before the lock", given: with(created(3), team("t1", "ann", ""), joined("t1", "bo", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.leaveTeam("t1", "bo", now, emit)
				return err
			},
			then: []any{events.TeamMemberLeft{ContestID: "c", TeamID: "t1", MemberID: "bo"}},
		},
		{
			name: "a draft, then the entry, then a revision", given: with(created(3), team("t1", "ann", ""), entry("t1", 1, true), entry("t1", 2, false)), now: afterLock,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.saveSubmission(SaveSubmission{Team: "t1", Member: "ann", Title: "Entry t1", Summary: "What it does", Track: "mobile", RepoURL: "https://example.com/t1"}, now, emit)
				return err
			},
			then: []any{entry("t1", 3, false)},
		},
		{
			name: "links that are not http(s) URLs are refused by field", given: with(created(3), team("t1", "ann", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.saveSubmission(SaveSubmission{Team: "t1", Member: "ann", Title: "X", Summary: "Y", Track: "mobile", RepoURL: "javascript:alert(1)", DemoURL: "not a url"}, now, emit)
				var v *ValidationError
				if errors.As(err, &v) && (len(v.Fields) != 2 || v.Fields[0].Field != "repo_url" || v.Fields[1].Field != "demo_url") {
					t.Errorf("fields = %+v", v.Fields)
				}
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name: "a late submission is refused with the deadline", given: with(created(3), team("t1", "ann", "")), now: late,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.saveSubmission(SaveSubmission{Team: "t1", Member: "ann", Title: "X", Summary: "Y", Track: "mobile", RepoURL: "https://x.example"}, now, emit)
				if err != nil && !strings.Contains(err.Error(), "2013-10-01T00:00:00Z") {
					t.Errorf("the refusal does not name the deadline: %v", err)
				}
				return err
			},
			wantErr: ErrDeadlinePassed,
		},
		{
			name: "someone else's team is not found", given: with(created(3), team("t1", "ann", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				_, err := c.saveSubmission(SaveSubmission{Team: "t1", Member: "eve", Title: "X", Draft: true}, now, emit)
				return err
			},
			wantErr: ErrTeamNotFound,
		},
		{
			name: "too many attachments are refused", given: with(created(3), team("t1", "ann", "")), now: during,
			when: func(c *Contest, now time.Time, emit emit) error {
				var atts []events.SubmissionAttachment
				for range MaxAttachments + 1 {
					atts = append(atts, events.SubmissionAttachment{SHA256: strings.Repeat("a", 64), Name: "a.pdf"})
				}
				_, err := c.saveSubmission(SaveSubmission{Team: "t1", Member: "ann", Title: "X", Draft: true, Attachments: atts}, now, emit)
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name: "a judge scores an assigned entry", given: inReview(), now: late,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j1", Team: "t2", Round: events.RoundReview, Scores: scores(8, 6)}, emit)
				return err
			},
			then: []any{scored("j1", "t2", 1, 8, 6)},
		},
		{
			name: "a second score replaces the first as a revision", given: with(inReview(), scored("j1", "t2", 1, 8, 6)), now: late,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j1", Team: "t2", Round: events.RoundReview, Scores: scores(7, 6)}, emit)
				return err
			},
			then: []any{scored("j1", "t2", 2, 7, 6)},
		},
		{
			name: "a score outside the scale is refused", given: inReview(), now: late,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j1", Team: "t2", Round: events.RoundReview, Scores: scores(11, 0)}, emit)
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name: "a judge of the same organisation is excluded", given: with(inReview(), judge("j2", "hangzhou  LABS", "mobile")), now: late,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j2", Team: "t1", Round: events.RoundReview, Scores: scores(8, 6)}, emit)
				return err
			},
			wantErr: ErrConflictOfInterest,
		},
		{
			name:  "a declared conflict excludes",
			given: with(inReview(), events.ConflictDeclared{ContestID: "c", JudgeID: "j1", TeamID: "t2", Reason: "former colleague"}), now: late,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j1", Team: "t2", Round: events.RoundReview, Scores: scores(8, 6)}, emit)
				return err
			},
			wantErr: ErrConflictOfInterest,
		},
		{
			name: "a judge of another track has no such entry", given: with(inReview(), judge("j3", "", "games")), now: late,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j3", Team: "t2", Round: events.RoundReview, Scores: scores(8, 6)}, emit)
				return err
			},
			wantErr: ErrEntryNotFound,
		},
		{
			name: "no scoring before review", given: with(created(3), team("t1", "ann", ""), entry("t1", 1, false), judge("j1", "", "mobile")), now: during,
			when: func(c *Contest, _ time.Time, emit emit) error {
				_, err := c.score(Score{Judge: "j1", Team: "t1", Round: events.RoundReview, Scores: scores(8, 6)}, emit)
				return err
			},
			wantErr: ErrWrongPhase,
		},
		{
			name: "only finalists win awards", given: with(inReview(), phase(events.PhaseReview, events.PhaseFinals)), now: late,
			when: func(c *Contest, now time.Time, emit emit) error {
				return c.publish(PublishResults{Awards: []Award{{Team: "t1", Award: "gold"}}}, now, emit)
			},
			wantErr: new(*ValidationError),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := given(tt.given...)
			var got []any
			err := tt.when(c, tt.now, func(p any) { got = append(got, p); c.Apply(p, tt.now) })
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !reflect.DeepEqual(clearReceipt(got), tt.then) {
					t.Fatalf("events:\n got %#v\nwant %#v", got, tt.then)
				}
			case error:
				if !errors.Is(err, want) {
					t.Fatalf("error = %v, want %v", err, want)
				}
				if len(got) > 0 {
					t.Fatalf("a refused command emitted %#v", got)
				}
			default:
				if err == nil || !errors.As(err, want) {
					t.Fatalf("error = %v, want a %T", err, want)
				}
				if len(got) > 0 {
					t.Fatalf("a refused command emitted %#v", got)
				}
			}
		})
	}
}
