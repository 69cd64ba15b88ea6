package alliance

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

var now = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

const (
	ada   = "user-ada"   // the applicant
	rev1  = "user-rev1"  // reviewers
	rev2  = "user-rev2"  //
	appID = "app-1"      //
	memID = "member-new" // the membership an approval opens
)

var complete = events.StartupProfile{NameZH: "博客园", NameEN: "cnblogs", Website: "https://www.cnblogs.com", City: "杭州",
	Industry: "开发者社区", FoundedYear: 2004, TeamSize: 20, Description: "开发者的博客社区"}

var contact = events.ApplicantContact{Name: "杜勇", Email: "dy@example.com"}

var (
	drafted   = events.ApplicationDrafted{ApplicationID: appID, Applicant: ada, Profile: complete, Personal: contact}
	submitted = events.ApplicationSubmitted{ApplicationID: appID, Round: 1}
	policy    = events.DecisionPolicy{ApprovalsRequired: 2, RejectionsRequired: 2}
)

func voted(reviewer, vote, comment string) events.ReviewVoted {
	return events.ReviewVoted{ApplicationID: appID, Round: 1, Reviewer: reviewer, Vote: vote, Comment: comment}
}

// TestApplicationTransitions: given events, when a command, then events or
// an error — every transition of an application and the decision policy.
func TestApplicationTransitions(t *testing.T) {
	changed := complete
	changed.Description = "改过的介绍"
	tests := []struct {
		name    string
		given   []any
		when    func(a *Application) ([]any, error)
		then    []any
		wantErr error
	}{
		{"draft opens", nil, func(a *Application) ([]any, error) {
			return a.draft(Draft{ID: appID, Applicant: ada, Profile: complete, Contact: contact}, now)
		}, []any{drafted}, nil},
		{"a draft may be incomplete but needs a name", nil, func(a *Application) ([]any, error) {
			return a.draft(Draft{ID: appID, Applicant: ada}, now)
		}, nil, &ValidationError{}},
		{"draft is edited", []any{drafted}, func(a *Application) ([]any, error) { return a.edit(ada, changed, contact, now) },
			[]any{events.ApplicationEdited{ApplicationID: appID, Profile: changed, Personal: contact, Changed: []string{"description"}}}, nil},
		{"an unchanged edit writes nothing", []any{drafted}, func(a *Application) ([]any, error) { return a.edit(ada, complete, contact, now) }, nil, nil},
		{"someone else cannot edit", []any{drafted}, func(a *Application) ([]any, error) { return a.edit(rev1, changed, contact, now) }, nil, ErrNotYours},
		{"draft is submitted", []any{drafted}, func(a *Application) ([]any, error) { return a.submit(ada, now) }, []any{submitted}, nil},
		{"an incomplete draft is not submitted", []any{events.ApplicationDrafted{ApplicationID: appID, Applicant: ada, Profile: events.StartupProfile{NameZH: "玩蟹"}}},
			func(a *Application) ([]any, error) { return a.submit(ada, now) }, nil, &ValidationError{}},
		{"a submitted application is not edited", []any{drafted, submitted}, func(a *Application) ([]any, error) { return a.edit(ada, changed, contact, now) }, nil, ErrNotEditable},
		{"a submitted application is not submitted again", []any{drafted, submitted}, func(a *Application) ([]any, error) { return a.submit(ada, now) }, nil, ErrNotSubmittable},
		{"no vote on a draft", []any{drafted}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteApprove}, policy, memID)
		}, nil, ErrNotUnderReview},
		{"first approval waits for the second", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteApprove, Comment: "好"}, policy, memID)
		}, []any{voted(rev1, events.VoteApprove, "好")}, nil},
		{"second approval approves", []any{drafted, submitted, voted(rev1, events.VoteApprove, "")}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev2, Vote: events.VoteApprove}, policy, memID)
		}, []any{voted(rev2, events.VoteApprove, ""), events.ApplicationApproved{ApplicationID: appID, Round: 1, DecidedBy: events.DecidedByPolicy, Policy: policy, MemberID: memID}}, nil},
		{"two approvals and one rejection do not approve", []any{drafted, submitted, voted(rev1, events.VoteReject, "不合适")}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev2, Vote: events.VoteApprove}, events.DecisionPolicy{ApprovalsRequired: 1, RejectionsRequired: 2}, memID)
		}, []any{voted(rev2, events.VoteApprove, "")}, nil},
		{"a request for changes returns it at once, with the note apart", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteRequestChanges, Comment: "请补充团队介绍", Note: "网站打不开"}, policy, memID)
		}, []any{voted(rev1, events.VoteRequestChanges, "请补充团队介绍"),
			events.ReviewNoteAdded{ApplicationID: appID, Round: 1, Reviewer: rev1, Note: "网站打不开"},
			events.ApplicationChangesRequested{ApplicationID: appID, Round: 1, DecidedBy: events.DecidedByPolicy, Comment: "请补充团队介绍"}}, nil},
		{"a request for changes needs a comment", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteRequestChanges}, policy, memID)
		}, nil, &ValidationError{}},
		{"returned application is edited", []any{drafted, submitted, events.ApplicationChangesRequested{ApplicationID: appID, Round: 1}},
			func(a *Application) ([]any, error) { return a.edit(ada, changed, contact, now) },
			[]any{events.ApplicationEdited{ApplicationID: appID, Profile: changed, Personal: contact, Changed: []string{"description"}}}, nil},
		{"returned application is resubmitted in round 2", []any{drafted, submitted, events.ApplicationChangesRequested{ApplicationID: appID, Round: 1}},
			func(a *Application) ([]any, error) { return a.submit(ada, now) }, []any{events.ApplicationSubmitted{ApplicationID: appID, Round: 2}}, nil},
		{"votes of an earlier round do not count", []any{drafted, submitted, voted(rev1, events.VoteApprove, ""),
			events.ApplicationChangesRequested{ApplicationID: appID, Round: 1}, events.ApplicationSubmitted{ApplicationID: appID, Round: 2}},
			func(a *Application) ([]any, error) {
				return a.vote(Vote{Reviewer: rev2, Vote: events.VoteApprove}, policy, memID)
			},
			[]any{events.ReviewVoted{ApplicationID: appID, Round: 2, Reviewer: rev2, Vote: events.VoteApprove}}, nil},
		{"second rejection rejects with the reasons", []any{drafted, submitted, voted(rev1, events.VoteReject, "不是创业公司")}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev2, Vote: events.VoteReject, Comment: "资料不实"}, policy, memID)
		}, []any{voted(rev2, events.VoteReject, "资料不实"), events.ApplicationRejected{ApplicationID: appID, Round: 1, DecidedBy: events.DecidedByPolicy,
			Policy: policy, Reason: "不是创业公司\n\n资料不实"}}, nil},
		{"policy reveals reviewers", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, ReviewerName: "王坚", Vote: events.VoteApprove}, events.DecisionPolicy{ApprovalsRequired: 2, RejectionsRequired: 2, RevealReviewers: true}, memID)
		}, []any{events.ReviewVoted{ApplicationID: appID, Round: 1, Reviewer: rev1, ReviewerPersonal: events.ReviewerPersonal{ReviewerName: "王坚"}, Vote: events.VoteApprove, RevealReviewer: true}}, nil},
		{"no vote on one's own application", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: ada, Vote: events.VoteApprove}, policy, memID)
		}, nil, ErrOwnApplication},
		{"no second vote in a round", []any{drafted, submitted, voted(rev1, events.VoteApprove, "")}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteApprove}, policy, memID)
		}, nil, ErrAlreadyVoted},
		{"no vote on an approved application", []any{drafted, submitted, events.ApplicationApproved{ApplicationID: appID, MemberID: memID}}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteApprove}, policy, memID)
		}, nil, ErrClosed},
		{"no vote on a rejected application", []any{drafted, submitted, events.ApplicationRejected{ApplicationID: appID}}, func(a *Application) ([]any, error) {
			return a.vote(Vote{Reviewer: rev1, Vote: events.VoteReject, Comment: "x"}, policy, memID)
		}, nil, ErrClosed},
		{"an organiser approves outright", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.decide(Decision{Outcome: events.VoteApprove}, policy, memID)
		}, []any{events.ApplicationApproved{ApplicationID: appID, Round: 1, DecidedBy: events.DecidedByOrganizer, Policy: policy, MemberID: memID}}, nil},
		{"an organiser rejects with a reason", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.decide(Decision{Outcome: events.VoteReject, Comment: "重复申请"}, policy, memID)
		}, []any{events.ApplicationRejected{ApplicationID: appID, Round: 1, DecidedBy: events.DecidedByOrganizer, Policy: policy, Reason: "重复申请"}}, nil},
		{"a rejection needs a reason", []any{drafted, submitted}, func(a *Application) ([]any, error) {
			return a.decide(Decision{Outcome: events.VoteReject}, policy, memID)
		}, nil, &ValidationError{}},
		{"an organiser cannot decide a closed application", []any{drafted, submitted, events.ApplicationWithdrawn{ApplicationID: appID}}, func(a *Application) ([]any, error) {
			return a.decide(Decision{Outcome: events.VoteApprove}, policy, memID)
		}, nil, ErrClosed},
		{"the applicant withdraws", []any{drafted, submitted}, func(a *Application) ([]any, error) { return a.withdraw(ada) },
			[]any{events.ApplicationWithdrawn{ApplicationID: appID}}, nil},
		{"a decided application is not withdrawn", []any{drafted, submitted, events.ApplicationRejected{ApplicationID: appID}},
			func(a *Application) ([]any, error) { return a.withdraw(ada) }, nil, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Application{}
			for _, e := range tt.given {
				a.Apply(e, now)
			}
			got, err := tt.when(a)
			checkOutcome(t, got, err, tt.then, tt.wantErr)
		})
	}
}

func checkOutcome(t *testing.T, got []any, err error, want []any, wantErr error) {
	t.Helper()
	var invalid *ValidationError
	switch {
	case wantErr == nil && err != nil:
		t.Fatalf("unexpected error %v", err)
	case errors.As(wantErr, &invalid):
		if !errors.As(err, &invalid) {
			t.Fatalf("error %v, want a validation error", err)
		}
		return
	case wantErr != nil:
		if !errors.Is(err, wantErr) {
			t.Fatalf("error %v, want %v", err, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got %#v\nwant %#v", got, want)
	}
}

func TestMemberTransitions(t *testing.T) {
	admitted := events.MemberAdmitted{MemberID: memID, Owner: ada, Tier: events.TierMember, JoinedOn: "2024-05-01", Profile: complete}
	moved := complete
	moved.City = "上海"
	tests := []struct {
		name    string
		given   []any
		when    func(m *Member) ([]any, error)
		then    []any
		wantErr error
	}{
		{"owner updates the profile", []any{admitted}, func(m *Member) ([]any, error) { return m.updateProfile(ada, false, moved, now) },
			[]any{events.MemberProfileUpdated{MemberID: memID, Profile: moved, Changed: []string{"city"}}}, nil},
		{"an organiser updates the profile", []any{admitted}, func(m *Member) ([]any, error) { return m.updateProfile(rev1, true, moved, now) },
			[]any{events.MemberProfileUpdated{MemberID: memID, Profile: moved, Changed: []string{"city"}}}, nil},
		{"nobody else does", []any{admitted}, func(m *Member) ([]any, error) { return m.updateProfile(rev1, false, moved, now) }, nil, ErrNotYours},
		{"a future founding year is refused", []any{admitted}, func(m *Member) ([]any, error) {
			p := complete
			p.FoundedYear = now.Year() + 1
			return m.updateProfile(ada, false, p, now)
		}, nil, &ValidationError{}},
		{"owner withdraws", []any{admitted}, func(m *Member) ([]any, error) { return m.end(ada, false, false, "") },
			[]any{events.MembershipWithdrawn{MemberID: memID}}, nil},
		{"only organisers lapse", []any{admitted}, func(m *Member) ([]any, error) { return m.end(ada, false, true, "") }, nil, ErrNotYours},
		{"an organiser lapses", []any{admitted}, func(m *Member) ([]any, error) { return m.end(rev1, true, true, "会费未缴") },
			[]any{events.MembershipLapsed{MemberID: memID, Reason: "会费未缴"}}, nil},
		{"an ended membership is not updated", []any{admitted, events.MembershipLapsed{MemberID: memID}},
			func(m *Member) ([]any, error) { return m.updateProfile(ada, false, moved, now) }, nil, ErrMemberGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Member{}
			for _, e := range tt.given {
				m.Apply(e, now)
			}
			got, err := tt.when(m)
			checkOutcome(t, got, err, tt.then, tt.wantErr)
		})
	}
}

func TestValidationNamesEveryBadField(t *testing.T) {
	bad := events.StartupProfile{NameZH: strings.Repeat("名", 101), Website: "javascript:alert(1)", FoundedYear: 2999, TeamSize: -3}
	err := validate(bad, events.ApplicantContact{Email: "not-an-address"}, now, true)
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("validate = %v", err)
	}
	got := map[string]string{}
	for _, f := range invalid.Fields {
		got[f.Field] = f.Code
	}
	for field, code := range map[string]string{"name_zh": "too_long", "website": "url", "founded_year": "year", "team_size": "team_size",
		"city": "required", "industry": "required", "description": "required", "contact_name": "required", "contact_email": "email"} {
		if got[field] != code {
			t.Errorf("%s: code %q, want %q (all: %v)", field, got[field], code, got)
		}
	}
}

func TestNameKeyFoldsSpellings(t *testing.T) {
	for _, pair := range [][2]string{{"TeamCola", "teamcola"}, {"Ｔｅａｍ Cola", "teamcola"}, {"博客园", "博客园"}, {" C.S.D.N ", "csdn"}} {
		if got := nameKey(pair[0]); got != pair[1] {
			t.Errorf("nameKey(%q) = %q, want %q", pair[0], got, pair[1])
		}
	}
}
