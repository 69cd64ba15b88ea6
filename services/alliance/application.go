package alliance

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Application statuses.
const (
	StatusDraft            = "draft"
	StatusSubmitted        = "submitted" // before the reviewers
	StatusChangesRequested = "changes_requested"
	StatusApproved         = "approved"
	StatusRejected         = "rejected"
	StatusWithdrawn        = "withdrawn"
)

// Errors of the alliance's decisions; the HTTP edge maps each to one answer.
var (
	ErrNotFound       = errors.New("not found")
	ErrNotYours       = errors.New("not yours")
	ErrNotEditable    = errors.New("the application cannot be edited now")
	ErrNotSubmittable = errors.New("the application cannot be submitted now")
	ErrClosed         = errors.New("the application is closed")
	ErrNotUnderReview = errors.New("the application is not before the reviewers")
	ErrOwnApplication = errors.New("reviewers cannot review their own application")
	ErrAlreadyVoted   = errors.New("already voted in this round")
	ErrMemberGone     = errors.New("the membership has ended")
)

// DuplicateError: the startup already has an open application or is a
// member. Mine says whether the open application is the caller's own, in
// which case the answer links to it.
type DuplicateError struct {
	Name          string
	ApplicationID string
	MemberID      string
	Mine          bool
}

func (e *DuplicateError) Error() string {
	if e.MemberID != "" {
		return fmt.Sprintf("%s is already a member (%s)", e.Name, e.MemberID)
	}
	return fmt.Sprintf("%s already has an open application (%s)", e.Name, e.ApplicationID)
}

// Application is the aggregate of one application stream.
type Application struct {
	ID        string
	Applicant string
	Status    string
	Profile   events.StartupProfile
	Contact   events.ApplicantContact
	Round     int
	Votes     []events.ReviewVoted // of the current round
	MemberID  string
	Reason    string // of a rejection
	Created   time.Time
	Updated   time.Time
}

// Exists reports whether the stream had any event.
func (a *Application) Exists() bool { return a.Status != "" }

// Open reports whether the application still awaits an outcome.
func (a *Application) Open() bool {
	switch a.Status {
	case StatusDraft, StatusSubmitted, StatusChangesRequested:
		return true
	}
	return false
}

// Apply folds one event into the state.
func (a *Application) Apply(p any, at time.Time) {
	if a.Created.IsZero() {
		a.Created = at
	}
	a.Updated = at
	switch p := p.(type) {
	case events.ApplicationDrafted:
		a.ID, a.Applicant, a.Status, a.Profile, a.Contact = p.ApplicationID, p.Applicant, StatusDraft, p.Profile, p.Personal
	case events.ApplicationEdited:
		a.Profile, a.Contact = p.Profile, p.Personal
	case events.ApplicationSubmitted:
		a.Status, a.Round, a.Votes = StatusSubmitted, p.Round, nil
	case events.ReviewVoted:
		a.Votes = append(a.Votes, p)
	case events.ApplicationChangesRequested:
		a.Status = StatusChangesRequested
	case events.ApplicationApproved:
		a.Status, a.MemberID = StatusApproved, p.MemberID
	case events.ApplicationRejected:
		a.Status, a.Reason = StatusRejected, p.Reason
	case events.ApplicationWithdrawn:
		a.Status = StatusWithdrawn
	}
}

// Draft opens an application. Drafts may be incomplete; what is there must
// be well formed.
type Draft struct {
	ID, Applicant string
	Profile       events.StartupProfile
	Contact       events.ApplicantContact
}

func (a *Application) draft(c Draft, now time.Time) ([]any, error) {
	if a.Exists() {
		return nil, fmt.Errorf("application %s exists already", c.ID)
	}
	p, ct := normalise(c.Profile, c.Contact)
	if err := validate(p, ct, now, false); err != nil {
		return nil, err
	}
	return []any{events.ApplicationDrafted{ApplicationID: c.ID, Applicant: c.Applicant, Profile: p, Personal: ct}}, nil
}

// edit replaces the profile and contact, while a draft or after changes
// were asked for; a submitted application waits for its reviewers as sent.
func (a *Application) edit(actor string, profile events.StartupProfile, contact events.ApplicantContact, now time.Time) ([]any, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if actor != a.Applicant {
		return nil, ErrNotYours
	}
	if a.Status != StatusDraft && a.Status != StatusChangesRequested {
		return nil, ErrNotEditable
	}
	p, ct := normalise(profile, contact)
	if err := validate(p, ct, now, false); err != nil {
		return nil, err
	}
	changed := changedFields(a.Profile, p)
	if len(changed) == 0 && ct == a.Contact {
		return nil, nil
	}
	return []any{events.ApplicationEdited{ApplicationID: a.ID, Profile: p, Personal: ct, Changed: changed}}, nil
}

// submit puts a complete application before the reviewers; after changes
// were requested it is a resubmission, a new round.
func (a *Application) submit(actor string, now time.Time) ([]any, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if actor != a.Applicant {
		return nil, ErrNotYours
	}
	if a.Status != StatusDraft && a.Status != StatusChangesRequested {
		return nil, ErrNotSubmittable
	}
	if err := validate(a.Profile, a.Contact, now, true); err != nil {
		return nil, err
	}
	return []any{events.ApplicationSubmitted{ApplicationID: a.ID, Round: a.Round + 1}}, nil
}

func (a *Application) withdraw(actor string) ([]any, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if actor != a.Applicant {
		return nil, ErrNotYours
	}
	if !a.Open() {
		return nil, ErrClosed
	}
	return []any{events.ApplicationWithdrawn{ApplicationID: a.ID}}, nil
}

// Vote is a reviewer's vote with its comment for the applicant and an
// optional internal note.
type Vote struct {
	Reviewer, ReviewerName string
	Vote, Comment, Note    string
}

// maxComment bounds comments, notes and reasons.
const maxComment = 4000

func checkComment(errs *fieldErrors, field, text string, required bool) {
	switch {
	case required && strings.TrimSpace(text) == "":
		errs.add(field, "required", "is required")
	case len([]rune(text)) > maxComment:
		errs.add(field, "too_long", fmt.Sprintf("must be at most %d characters", maxComment))
	}
}

// vote records a vote and, when the votes meet the policy, the decision
// it makes. memberID is the id the membership gets if this approves.
func (a *Application) vote(v Vote, policy events.DecisionPolicy, memberID string) ([]any, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	var errs fieldErrors
	switch v.Vote {
	case events.VoteApprove, events.VoteReject, events.VoteRequestChanges:
	default:
		errs.add("vote", "vote", "must be approve, reject or request_changes")
	}
	// A rejection or a request for changes must tell the applicant why.
	checkComment(&errs, "comment", v.Comment, v.Vote != events.VoteApprove)
	checkComment(&errs, "note", v.Note, false)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if !a.Open() {
		return nil, ErrClosed
	}
	if a.Status != StatusSubmitted {
		return nil, ErrNotUnderReview
	}
	if v.Reviewer == a.Applicant {
		return nil, ErrOwnApplication
	}
	for _, old := range a.Votes {
		if old.Reviewer == v.Reviewer {
			return nil, ErrAlreadyVoted
		}
	}
	comment := strings.TrimSpace(v.Comment)
	out := []any{events.ReviewVoted{ApplicationID: a.ID, Round: a.Round, Reviewer: v.Reviewer, ReviewerPersonal: events.ReviewerPersonal{ReviewerName: v.ReviewerName},
		Vote: v.Vote, Comment: comment, RevealReviewer: policy.RevealReviewers}}
	if note := strings.TrimSpace(v.Note); note != "" {
		out = append(out, events.ReviewNoteAdded{ApplicationID: a.ID, Round: a.Round, Reviewer: v.Reviewer, Note: note})
	}
	approvals, rejections := 0, 0
	var reasons []string
	for _, old := range append(append([]events.ReviewVoted(nil), a.Votes...), out[0].(events.ReviewVoted)) {
		switch old.Vote {
		case events.VoteApprove:
			approvals++
		case events.VoteReject:
			rejections++
			reasons = append(reasons, old.Comment)
		}
	}
	switch {
	case v.Vote == events.VoteRequestChanges:
		out = append(out, events.ApplicationChangesRequested{ApplicationID: a.ID, Round: a.Round, DecidedBy: events.DecidedByPolicy, Comment: comment})
	case v.Vote == events.VoteReject && rejections >= policy.RejectionsRequired:
		out = append(out, events.ApplicationRejected{ApplicationID: a.ID, Round: a.Round, DecidedBy: events.DecidedByPolicy,
			Policy: policy, Reason: strings.Join(reasons, "\n\n")})
	case v.Vote == events.VoteApprove && approvals >= policy.ApprovalsRequired && rejections == 0:
		out = append(out, events.ApplicationApproved{ApplicationID: a.ID, Round: a.Round, DecidedBy: events.DecidedByPolicy,
			Policy: policy, MemberID: memberID})
	}
	return out, nil
}

// Decision is an organiser's outright decision.
type Decision struct {
	Outcome string // approve, reject or request_changes
	Comment string // the reason of a rejection, the request of changes
}

func (a *Application) decide(d Decision, policy events.DecisionPolicy, memberID string) ([]any, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	var errs fieldErrors
	switch d.Outcome {
	case events.VoteApprove, events.VoteReject, events.VoteRequestChanges:
	default:
		errs.add("decision", "decision", "must be approve, reject or request_changes")
	}
	checkComment(&errs, "comment", d.Comment, d.Outcome != events.VoteApprove)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if !a.Open() {
		return nil, ErrClosed
	}
	if a.Status != StatusSubmitted {
		return nil, ErrNotUnderReview
	}
	comment := strings.TrimSpace(d.Comment)
	switch d.Outcome {
	case events.VoteApprove:
		return []any{events.ApplicationApproved{ApplicationID: a.ID, Round: a.Round, DecidedBy: events.DecidedByOrganizer,
			Policy: policy, MemberID: memberID, Comment: comment}}, nil
	case events.VoteReject:
		return []any{events.ApplicationRejected{ApplicationID: a.ID, Round: a.Round, DecidedBy: events.DecidedByOrganizer,
			Policy: policy, Reason: comment}}, nil
	}
	return []any{events.ApplicationChangesRequested{ApplicationID: a.ID, Round: a.Round, DecidedBy: events.DecidedByOrganizer, Comment: comment}}, nil
}

// DefaultPolicy is the rule until an organiser sets one: two approvals and
// no rejection approve, two rejections reject, reviewers stay anonymous.
var DefaultPolicy = events.DecisionPolicy{ApprovalsRequired: 2, RejectionsRequired: 2}

func validatePolicy(p events.DecisionPolicy) error {
	var errs fieldErrors
	if p.ApprovalsRequired < 1 || p.ApprovalsRequired > 10 {
		errs.add("approvals_required", "range", "must be from 1 to 10")
	}
	if p.RejectionsRequired < 1 || p.RejectionsRequired > 10 {
		errs.add("rejections_required", "range", "must be from 1 to 10")
	}
	return errs.err()
}

// visibility classifies the alliance's events for timelines and pages.
func visibility(p any) events.Visibility {
	switch p.(type) {
	case events.ReviewNoteAdded:
		return events.Staff
	case events.DecisionPolicySet, events.StartupNameClaimed:
		return events.System
	case events.MemberAdmitted, events.MemberProfileUpdated, events.MembershipLapsed, events.MembershipWithdrawn,
		events.MemberTierChanged, events.MembershipReinstated:
		return events.Public
	}
	return events.Owner
}
