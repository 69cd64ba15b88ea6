package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// Contest streams. Everything of one contest — its rules, teams,
// submissions, judging and results — is in one stream, contest-<id>,
// because its invariants cross teams (a person is in one team per
// contest, a judge is excluded from teams of their own organisation) and
// every score must be decided against the rubric version in force. The
// service batches concurrent commands into one append, as the conference
// ledger does.
const CategoryContest = "contest"

// ContestStream names the stream of one contest.
func ContestStream(contestID string) string { return StreamName(CategoryContest, contestID) }

// Contest phases, in the order a contest goes through them.
const (
	PhaseRegistration = "registration"
	PhaseSubmission   = "submission"
	PhaseReview       = "review"
	PhaseFinals       = "finals"
	PhaseResults      = "results"
)

// ContestTrack and ContestAward are named in both languages because they
// are shown on public pages and are search facets.
type ContestTrack struct {
	ID     string `json:"id"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
}

type ContestAward struct {
	ID     string `json:"id"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
}

// ContestPhaseWindow is when a phase is planned to run. The end of
// registration locks rosters; the end of submission is the deadline for
// every entry.
type ContestPhaseWindow struct {
	Phase    string    `json:"phase"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// ContestCreated opens a contest stream. It is public.
type ContestCreated struct {
	ContestID     string               `json:"contest_id"`
	NameZH        string               `json:"name_zh"`
	NameEN        string               `json:"name_en"`
	Year          int                  `json:"year"`
	TeamSizeLimit int                  `json:"team_size_limit"`
	Tracks        []ContestTrack       `json:"tracks"`
	Awards        []ContestAward       `json:"awards"`
	Schedule      []ContestPhaseWindow `json:"schedule"`
}

// ContestScheduleChanged replaces the phase dates as a whole, so any past
// deadline can be shown as it was when a decision was taken.
type ContestScheduleChanged struct {
	ContestID string               `json:"contest_id"`
	Schedule  []ContestPhaseWindow `json:"schedule"`
}

// ContestPhaseChanged moves the contest to a later phase. Entering review
// closes submissions; leaving review closes scoring, after which judges
// see each other's scores.
type ContestPhaseChanged struct {
	ContestID string `json:"contest_id"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// RubricCriterion is one scored criterion. Weights are relative: they need
// not add up to anything.
type RubricCriterion struct {
	ID     string  `json:"id"`
	NameZH string  `json:"name_zh"`
	NameEN string  `json:"name_en"`
	Weight float64 `json:"weight"`
}

// RubricPublished sets a new rubric version (1, 2, …). Scores name the
// version they were given under; only scores under the version in force
// count, so changing the rubric asks judges to score again rather than
// mixing scales.
type RubricPublished struct {
	ContestID string            `json:"contest_id"`
	Version   int               `json:"version"`
	ScaleMin  float64           `json:"scale_min"`
	ScaleMax  float64           `json:"scale_max"`
	Criteria  []RubricCriterion `json:"criteria"`
}

// TeamMemberPersonal is the personal part of a team membership, kept in a
// sub-object (with Metadata.Subject set to the member) for per-person
// encryption. Organization is what conflict-of-interest checks compare
// with a judge's; PublicName says whether the display name may appear in
// the public gallery and the search index once results are published.
type TeamMemberPersonal struct {
	DisplayName  string `json:"display_name"`
	Organization string `json:"organization,omitempty"`
	PublicName   bool   `json:"public_name,omitempty"`
}

// TeamCreated: a member opened a team and is its first member. Only a hash
// of the invite code is recorded, so reading the log hands out no
// invitations.
type TeamCreated struct {
	ContestID       string             `json:"contest_id"`
	TeamID          string             `json:"team_id"`
	Name            string             `json:"name"`
	OwnerID         string             `json:"owner_id"`
	InviteCodeHash  string             `json:"invite_code_hash"`
	InviteExpiresAt time.Time          `json:"invite_expires_at"`
	Personal        TeamMemberPersonal `json:"personal"`
}

// TeamInviteRenewed replaces a team's invite code; the old one stops working.
type TeamInviteRenewed struct {
	ContestID       string    `json:"contest_id"`
	TeamID          string    `json:"team_id"`
	InviteCodeHash  string    `json:"invite_code_hash"`
	InviteExpiresAt time.Time `json:"invite_expires_at"`
}

type TeamMemberJoined struct {
	ContestID string             `json:"contest_id"`
	TeamID    string             `json:"team_id"`
	MemberID  string             `json:"member_id"`
	Personal  TeamMemberPersonal `json:"personal"`
}

type TeamMemberLeft struct {
	ContestID string `json:"contest_id"`
	TeamID    string `json:"team_id"`
	MemberID  string `json:"member_id"`
}

// SubmissionAttachment names a file stored content-addressed in the data
// directory; SHA256 is both its name there and its integrity check.
type SubmissionAttachment struct {
	SHA256      string `json:"sha256"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// SubmissionSaved is one revision of a team's entry (1, 2, …). A draft is
// kept but not entered; the first non-draft revision enters it, later ones
// revise it. Receipt is the hash the team was handed as proof of what was
// saved and when.
type SubmissionSaved struct {
	ContestID   string                 `json:"contest_id"`
	TeamID      string                 `json:"team_id"`
	Revision    int                    `json:"revision"`
	Draft       bool                   `json:"draft,omitempty"`
	Title       string                 `json:"title"`
	Summary     string                 `json:"summary"`
	Track       string                 `json:"track"`
	RepoURL     string                 `json:"repo_url,omitempty"`
	DemoURL     string                 `json:"demo_url,omitempty"`
	Attachments []SubmissionAttachment `json:"attachments,omitempty"`
	Receipt     string                 `json:"receipt"`
}

// JudgePersonal is a judge's name and organisation: staff data that never
// reaches a team's view.
type JudgePersonal struct {
	DisplayName  string `json:"display_name"`
	Organization string `json:"organization,omitempty"`
}

// JudgeAssigned assigns a judge to tracks (replacing any earlier
// assignment of the same judge).
type JudgeAssigned struct {
	ContestID string        `json:"contest_id"`
	JudgeID   string        `json:"judge_id"`
	Tracks    []string      `json:"tracks"`
	Personal  JudgePersonal `json:"personal"`
}

// ConflictDeclared: a judge declared a conflict of interest with a team and
// no longer sees or scores its entry.
type ConflictDeclared struct {
	ContestID string `json:"contest_id"`
	JudgeID   string `json:"judge_id"`
	TeamID    string `json:"team_id"`
	Reason    string `json:"reason,omitempty"`
}

// EntryJudges is who judges one entry.
type EntryJudges struct {
	TeamID string   `json:"team_id"`
	Judges []string `json:"judges"`
}

// EntryJudgesAssigned names the judges of the listed entries, replacing
// for them the rule that every judge of a track judges all its entries;
// entries not listed keep that rule. Method is "auto" (balanced by the
// service, PerEntry judges each where conflicts allow) or "manual" (one
// judge added by an organiser). Each entry's list is whole, so the last
// event that names an entry says who judges it.
type EntryJudgesAssigned struct {
	ContestID string        `json:"contest_id"`
	Method    string        `json:"method"`
	PerEntry  int           `json:"per_entry,omitempty"`
	Entries   []EntryJudges `json:"entries"`
}

// EntryQueuedForReview tells a team its entry went to review when the
// review phase opened. It names no judge.
type EntryQueuedForReview struct {
	ContestID string `json:"contest_id"`
	TeamID    string `json:"team_id"`
	Track     string `json:"track"`
}

// Scoring rounds.
const (
	RoundReview = "review"
	RoundFinals = "finals"
)

type CriterionScore struct {
	Criterion string  `json:"criterion"`
	Value     float64 `json:"value"`
	Comment   string  `json:"comment,omitempty"`
}

// ScoreRecorded is a judge's score of one entry in one round. Revision
// counts the judge's scores of that entry and round: a later one replaces
// the earlier, which stays in the log for the review meeting to see.
type ScoreRecorded struct {
	ContestID     string           `json:"contest_id"`
	TeamID        string           `json:"team_id"`
	JudgeID       string           `json:"judge_id"`
	Round         string           `json:"round"`
	RubricVersion int              `json:"rubric_version"`
	Revision      int              `json:"revision"`
	Scores        []CriterionScore `json:"scores"`
}

// EntryShortlisted: the entry goes to the review meeting.
type EntryShortlisted struct {
	ContestID string `json:"contest_id"`
	TeamID    string `json:"team_id"`
}

// FinalistPromoted: the entry goes to the finals.
type FinalistPromoted struct {
	ContestID string `json:"contest_id"`
	TeamID    string `json:"team_id"`
}

// ContestResult is one team's place in the published results.
type ContestResult struct {
	TeamID string `json:"team_id"`
	Rank   int    `json:"rank"`
	Award  string `json:"award,omitempty"` // an award id; empty for a finalist without one
}

// ResultsPublished closes the contest. Aggregation names the method the
// ranking was computed with, so anyone can recompute it from the log.
type ResultsPublished struct {
	ContestID   string          `json:"contest_id"`
	Round       string          `json:"round"`
	Aggregation string          `json:"aggregation"`
	Results     []ContestResult `json:"results"`
}

// GalleryMember is a team member the public gallery lists with an entry:
// only members who chose a public name are listed. Their name is not here
// but in a GalleryMemberNamed of its own, sealed under the member's key:
// an event has one subject, and an entry names several people.
type GalleryMember struct {
	MemberID string `json:"member_id"`
}

// EntryPublished puts one winning or finalist entry in the public gallery.
// Apart from the members' names, which follow it in GalleryMemberNamed
// events of the same append, it is self-contained, so that the search
// projector and public pages need no other event to show it. It follows
// ResultsPublished in the same append.
//
// Schema version 2. Version 1 carried each member's display name in
// Members, in clear and out of reach of an erasure; upcastEntryPublishedV1
// drops those names.
type EntryPublished struct {
	ContestID          string          `json:"contest_id"`
	ContestNameZH      string          `json:"contest_name_zh"`
	ContestNameEN      string          `json:"contest_name_en"`
	Year               int             `json:"year"`
	TeamID             string          `json:"team_id"`
	TeamName           string          `json:"team_name"`
	Members            []GalleryMember `json:"members"`
	Title              string          `json:"title"`
	Summary            string          `json:"summary"`
	Track              string          `json:"track"`
	TrackNameZH        string          `json:"track_name_zh"`
	TrackNameEN        string          `json:"track_name_en"`
	RepoURL            string          `json:"repo_url,omitempty"`
	DemoURL            string          `json:"demo_url,omitempty"`
	Award              string          `json:"award,omitempty"`
	AwardNameZH        string          `json:"award_name_zh,omitempty"`
	AwardNameEN        string          `json:"award_name_en,omitempty"`
	Rank               int             `json:"rank"`
	Finalist           bool            `json:"finalist"`
	PublishedAt        time.Time       `json:"published_at"`
	SubmissionRevision int             `json:"submission_revision"`
}

// GalleryMemberPersonal is the name a member shows with a published entry.
type GalleryMemberPersonal struct {
	DisplayName string `json:"display_name"`
}

// GalleryMemberNamed names one member of a published entry, with
// Metadata.Subject the member, so that erasing the member makes the name
// read as nothing in every copy of the log while the entry keeps its
// team and its other members. Each follows its entry's EntryPublished in
// the same append, one per member the entry lists. It is public, like
// the entry.
type GalleryMemberNamed struct {
	ContestID string                `json:"contest_id"`
	TeamID    string                `json:"team_id"`
	MemberID  string                `json:"member_id"`
	Personal  GalleryMemberPersonal `json:"personal"`
}

// upcastEntryPublishedV1 drops the display names version 1 carried in
// members. Nothing replaces them in the event: a projection that shows an
// old entry's names takes them from the team's roster in the same stream
// (TeamCreated, TeamMemberJoined), which holds them sealed per member.
// Members are edited as raw JSON objects so that any other member field a
// writer put there survives.
func upcastEntryPublishedV1(e Event) (Event, error) {
	var data map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return e, err
	}
	raw, ok := data["members"]
	if !ok || string(raw) == "null" {
		return e, nil
	}
	var members []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return e, fmt.Errorf("members: %w", err)
	}
	for _, m := range members {
		delete(m, "display_name")
	}
	b, err := json.Marshal(members)
	if err != nil {
		return e, err
	}
	data["members"] = b
	if e.Data, err = json.Marshal(data); err != nil {
		return e, err
	}
	return e, nil
}

func registerContest(r *Registry) {
	r.Register("contest.ContestCreated", ContestCreated{}, 1)
	r.Register("contest.ContestScheduleChanged", ContestScheduleChanged{}, 1)
	r.Register("contest.ContestPhaseChanged", ContestPhaseChanged{}, 1)
	r.Register("contest.RubricPublished", RubricPublished{}, 1)
	r.Register("contest.TeamCreated", TeamCreated{}, 1)
	r.Register("contest.TeamInviteRenewed", TeamInviteRenewed{}, 1)
	r.Register("contest.TeamMemberJoined", TeamMemberJoined{}, 1)
	r.Register("contest.TeamMemberLeft", TeamMemberLeft{}, 1)
	r.Register("contest.SubmissionSaved", SubmissionSaved{}, 1)
	r.Register("contest.JudgeAssigned", JudgeAssigned{}, 1)
	r.Register("contest.ConflictDeclared", ConflictDeclared{}, 1)
	r.Register("contest.EntryJudgesAssigned", EntryJudgesAssigned{}, 1)
	r.Register("contest.EntryQueuedForReview", EntryQueuedForReview{}, 1)
	r.Register("contest.ScoreRecorded", ScoreRecorded{}, 1)
	r.Register("contest.EntryShortlisted", EntryShortlisted{}, 1)
	r.Register("contest.FinalistPromoted", FinalistPromoted{}, 1)
	r.Register("contest.ResultsPublished", ResultsPublished{}, 1)
	r.Register("contest.EntryPublished", EntryPublished{}, 2)
	r.RegisterUpcaster("contest.EntryPublished", 1, upcastEntryPublishedV1)
	r.Register("contest.GalleryMemberNamed", GalleryMemberNamed{}, 1)
}
