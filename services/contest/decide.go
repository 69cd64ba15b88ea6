package contest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// emit records a decided event: the ledger appends it and applies it to
// the aggregate at once, so later decisions in the same batch see it.
type emit = func(payload any)

// Domain errors; the HTTP edge maps each to a problem type.
var (
	ErrContestNotFound    = errors.New("no such contest")
	ErrContestExists      = errors.New("a contest with this id exists")
	ErrTeamNotFound       = errors.New("no such team of yours")
	ErrEntryNotFound      = errors.New("no such entry assigned to you")
	ErrAlreadyInTeam      = errors.New("already in a team of this contest")
	ErrTeamFull           = errors.New("team is full")
	ErrBadInviteCode      = errors.New("wrong invite code")
	ErrInviteExpired      = errors.New("invite code expired")
	ErrRosterLocked       = errors.New("rosters are locked")
	ErrDeadlinePassed     = errors.New("submission deadline has passed")
	ErrWrongPhase         = errors.New("not possible in the contest's current phase")
	ErrConflictOfInterest = errors.New("conflict of interest")
	ErrNotJudge           = errors.New("not a judge of this contest")
	ErrNoRubric           = errors.New("the contest has no rubric yet")
	ErrNotPublished       = errors.New("results are not published")
)

// FieldError and ValidationError carry field-level messages to the edge.
type FieldError struct{ Field, Message string }

type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

type fieldErrors []FieldError

func (f *fieldErrors) add(field, msg string) { *f = append(*f, FieldError{field, msg}) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

// PhaseError says which phase a command needed, for a clear refusal.
type PhaseError struct {
	Phase string // the contest's
	Need  []string
}

func (e *PhaseError) Error() string {
	return fmt.Sprintf("the contest is in its %s phase; this needs %s", e.Phase, strings.Join(e.Need, " or "))
}

func (e *PhaseError) Is(target error) bool { return target == ErrWrongPhase }

func (c *Contest) needPhase(phases ...string) error {
	if slices.Contains(phases, c.Phase) {
		return nil
	}
	return &PhaseError{Phase: c.Phase, Need: phases}
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func checkText(errs *fieldErrors, field, v string, required bool, max int) {
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	switch {
	case required && n == 0:
		errs.add(field, "is required")
	case n > max:
		errs.add(field, fmt.Sprintf("is %d characters, at most %d are allowed", n, max))
	case !utf8.ValidString(v):
		errs.add(field, "is not valid text")
	}
}

// checkURL accepts absolute http and https URLs with a host only: a link
// shown to judges and on public pages must not run script or point into
// the local file system.
func checkURL(errs *fieldErrors, field, v string, required bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			errs.add(field, "is required")
		}
		return
	}
	u, err := url.Parse(v)
	switch {
	case len(v) > 2048:
		errs.add(field, "is longer than 2048 characters")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs.add(field, "must be an http:// or https:// address, such as https://example.com/project")
	}
}

// CreateContest is the organiser's command that opens a contest.
type CreateContest struct {
	ID            string
	NameZH        string
	NameEN        string
	Year          int
	TeamSizeLimit int
	Tracks        []events.ContestTrack
	Awards        []events.ContestAward
	Schedule      []events.ContestPhaseWindow
	Rubric        *events.RubricPublished // optional: version 1
}

func checkNamed(errs *fieldErrors, field string, n int, id, zh, en string, seen map[string]bool) {
	at := fmt.Sprintf("%s[%d]", field, n)
	if !idPattern.MatchString(id) {
		errs.add(at+".id", "must be lower-case letters, digits, - or _ (at most 64)")
	} else if seen[id] {
		errs.add(at+".id", "is used twice")
	}
	seen[id] = true
	checkText(errs, at+".name.zh", zh, true, 80)
	checkText(errs, at+".name.en", en, true, 80)
}

func checkSchedule(errs *fieldErrors, schedule []events.ContestPhaseWindow) {
	var last time.Time
	seen := map[string]bool{}
	for i, w := range schedule {
		at := fmt.Sprintf("schedule[%d]", i)
		if phaseIndex(w.Phase) < 0 {
			errs.add(at+".phase", "must be registration, submission, review, finals or results")
			continue
		}
		if seen[w.Phase] {
			errs.add(at+".phase", "is listed twice")
		}
		seen[w.Phase] = true
		if w.StartsAt.IsZero() || w.EndsAt.IsZero() || !w.EndsAt.After(w.StartsAt) {
			errs.add(at, "needs starts_at before ends_at")
		}
		if w.StartsAt.Before(last) {
			errs.add(at+".starts_at", "is before the end of the phase before it")
		}
		last = w.EndsAt
	}
	for _, p := range []string{events.PhaseRegistration, events.PhaseSubmission} {
		if !seen[p] {
			errs.add("schedule", "must give the "+p+" phase its dates: they are the roster lock and the deadline")
		}
	}
}

func (c *Contest) create(cmd CreateContest, emit emit) error {
	if c.Exists {
		return ErrContestExists
	}
	var errs fieldErrors
	if !idPattern.MatchString(cmd.ID) {
		errs.add("id", "must be lower-case letters, digits, - or _ (at most 64)")
	}
	checkText(&errs, "name.zh", cmd.NameZH, true, 120)
	checkText(&errs, "name.en", cmd.NameEN, true, 120)
	if cmd.Year < 2000 || cmd.Year > 2100 {
		errs.add("year", "must be a year between 2000 and 2100")
	}
	if cmd.TeamSizeLimit < 1 || cmd.TeamSizeLimit > 20 {
		errs.add("team_size_limit", "must be between 1 and 20")
	}
	if len(cmd.Tracks) == 0 || len(cmd.Tracks) > 20 {
		errs.add("tracks", "must list between 1 and 20 tracks")
	}
	seen := map[string]bool{}
	for i, t := range cmd.Tracks {
		checkNamed(&errs, "tracks", i, t.ID, t.NameZH, t.NameEN, seen)
	}
	seen = map[string]bool{}
	for i, a := range cmd.Awards {
		checkNamed(&errs, "awards", i, a.ID, a.NameZH, a.NameEN, seen)
	}
	checkSchedule(&errs, cmd.Schedule)
	if cmd.Rubric != nil {
		checkRubric(&errs, *cmd.Rubric)
	}
	if err := errs.err(); err != nil {
		return err
	}
	emit(events.ContestCreated{ContestID: cmd.ID, NameZH: strings.TrimSpace(cmd.NameZH), NameEN: strings.TrimSpace(cmd.NameEN),
		Year: cmd.Year, TeamSizeLimit: cmd.TeamSizeLimit, Tracks: cmd.Tracks, Awards: nonNil(cmd.Awards), Schedule: cmd.Schedule})
	if cmd.Rubric != nil {
		r := *cmd.Rubric
		r.ContestID, r.Version = cmd.ID, 1
		emit(r)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func checkRubric(errs *fieldErrors, r events.RubricPublished) {
	if !(r.ScaleMax > r.ScaleMin) || math.IsInf(r.ScaleMax-r.ScaleMin, 0) {
		errs.add("rubric.scale", "needs a maximum above its minimum")
	}
	if len(r.Criteria) == 0 || len(r.Criteria) > 12 {
		errs.add("rubric.criteria", "must list between 1 and 12 criteria")
	}
	seen := map[string]bool{}
	for i, cr := range r.Criteria {
		checkNamed(errs, "rubric.criteria", i, cr.ID, cr.NameZH, cr.NameEN, seen)
		if !(cr.Weight > 0) || cr.Weight > 1000 {
			errs.add(fmt.Sprintf("rubric.criteria[%d].weight", i), "must be above 0 (and at most 1000)")
		}
	}
}

// publishRubric sets the next rubric version. It is refused once results
// are out: published scores must keep meaning what they meant.
func (c *Contest) publishRubric(r events.RubricPublished, emit emit) error {
	if err := c.needPhase(events.PhaseRegistration, events.PhaseSubmission, events.PhaseReview, events.PhaseFinals); err != nil {
		return err
	}
	var errs fieldErrors
	checkRubric(&errs, r)
	if err := errs.err(); err != nil {
		return err
	}
	r.ContestID = c.ID
	r.Version = len(c.Rubrics) + 1
	emit(r)
	return nil
}

func (c *Contest) changeSchedule(schedule []events.ContestPhaseWindow, emit emit) error {
	if err := c.needPhase(events.PhaseRegistration, events.PhaseSubmission, events.PhaseReview, events.PhaseFinals); err != nil {
		return err
	}
	var errs fieldErrors
	checkSchedule(&errs, schedule)
	if err := errs.err(); err != nil {
		return err
	}
	emit(events.ContestScheduleChanged{ContestID: c.ID, Schedule: schedule})
	return nil
}

// changePhase moves the contest forward. Results are entered by
// publishing them, never by a bare phase change.
func (c *Contest) changePhase(to string, emit emit) error {
	if phaseIndex(to) < 0 {
		return &ValidationError{Fields: []FieldError{{"phase", "must be registration, submission, review or finals"}}}
	}
	if to == events.PhaseResults {
		return &ValidationError{Fields: []FieldError{{"phase", "results are entered by publishing them"}}}
	}
	if phaseIndex(to) <= phaseIndex(c.Phase) {
		return &ValidationError{Fields: []FieldError{{"phase", fmt.Sprintf("must come after the current phase (%s): phases only move forward", c.Phase)}}}
	}
	// Each phase has consequences the next relies on (entries are
	// submitted, then queued, then scored), so none may be jumped over.
	if next := phaseOrder[phaseIndex(c.Phase)+1]; next != to {
		return &ValidationError{Fields: []FieldError{{"phase", fmt.Sprintf("skips the %s phase: move from %s to %s first", next, c.Phase, next)}}}
	}
	if phaseIndex(to) >= phaseIndex(events.PhaseReview) && c.Rubric == nil {
		return ErrNoRubric
	}
	emit(events.ContestPhaseChanged{ContestID: c.ID, From: c.Phase, To: to})
	if phaseIndex(to) >= phaseIndex(events.PhaseReview) {
		for _, id := range c.TeamOrder {
			if t := c.Teams[id]; t.Entered && !t.Queued {
				emit(events.EntryQueuedForReview{ContestID: c.ID, TeamID: t.ID, Track: t.Submitted.Track})
			}
		}
	}
	return nil
}

// HashCode is how invite codes are kept: hashed, with the contest and team
// in the hash so one code's hash says nothing about another team's.
func HashCode(contestID, code string) string {
	sum := sha256.Sum256([]byte("contest-invite\x00" + contestID + "\x00" + strings.ToUpper(strings.TrimSpace(code))))
	return hex.EncodeToString(sum[:])
}

// InviteTTL is how long an invite code works (never past the roster lock).
const InviteTTL = 7 * 24 * time.Hour

func (c *Contest) inviteExpiry(now time.Time) time.Time {
	exp := now.Add(InviteTTL)
	if lock := c.RosterLock(); !lock.IsZero() && lock.Before(exp) {
		exp = lock
	}
	return exp.UTC()
}

func (c *Contest) rosterOpen(now time.Time) error {
	if err := c.needPhase(events.PhaseRegistration, events.PhaseSubmission); err != nil {
		return ErrRosterLocked
	}
	if lock := c.RosterLock(); !lock.IsZero() && !now.Before(lock) {
		return ErrRosterLocked
	}
	return nil
}

// CreateTeam opens a team with its creator as first member. TeamID and
// Code are made by the caller so that deciding stays deterministic.
type CreateTeam struct {
	TeamID       string
	Name         string
	Member       string
	DisplayName  string
	Organization string
	PublicName   bool
	Code         string
}

func (c *Contest) createTeam(cmd CreateTeam, now time.Time, emit emit) (*Team, error) {
	if err := c.rosterOpen(now); err != nil {
		return nil, err
	}
	if id, ok := c.MemberTeam[cmd.Member]; ok {
		return c.Teams[id], ErrAlreadyInTeam
	}
	var errs fieldErrors
	checkText(&errs, "name", cmd.Name, true, 80)
	checkText(&errs, "display_name", cmd.DisplayName, true, 80)
	checkText(&errs, "organization", cmd.Organization, false, 120)
	name := strings.TrimSpace(cmd.Name)
	for _, id := range c.TeamOrder {
		if strings.EqualFold(c.Teams[id].Name, name) {
			errs.add("name", "is taken by another team of this contest")
			break
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	emit(events.TeamCreated{ContestID: c.ID, TeamID: cmd.TeamID, Name: name, OwnerID: cmd.Member,
		InviteCodeHash: HashCode(c.ID, cmd.Code), InviteExpiresAt: c.inviteExpiry(now),
		Personal: events.TeamMemberPersonal{DisplayName: strings.TrimSpace(cmd.DisplayName), Organization: strings.TrimSpace(cmd.Organization), PublicName: cmd.PublicName}})
	return c.Teams[cmd.TeamID], nil
}

// JoinTeam joins the team whose invite code this is.
type JoinTeam struct {
	Code         string
	Member       string
	DisplayName  string
	Organization string
	PublicName   bool
}

func (c *Contest) joinTeam(cmd JoinTeam, now time.Time, emit emit) (*Team, error) {
	var errs fieldErrors
	checkText(&errs, "code", cmd.Code, true, 32)
	checkText(&errs, "display_name", cmd.DisplayName, true, 80)
	checkText(&errs, "organization", cmd.Organization, false, 120)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if err := c.rosterOpen(now); err != nil {
		return nil, err
	}
	h := HashCode(c.ID, cmd.Code)
	var team *Team
	for _, id := range c.TeamOrder {
		if c.Teams[id].InviteHash == h {
			team = c.Teams[id]
			break
		}
	}
	if team == nil {
		return nil, ErrBadInviteCode
	}
	if !now.Before(team.InviteExpiresAt) {
		return nil, ErrInviteExpired
	}
	if id, ok := c.MemberTeam[cmd.Member]; ok {
		return c.Teams[id], ErrAlreadyInTeam
	}
	if len(team.Members) >= c.TeamSizeLimit {
		return nil, ErrTeamFull
	}
	emit(events.TeamMemberJoined{ContestID: c.ID, TeamID: team.ID, MemberID: cmd.Member,
		Personal: events.TeamMemberPersonal{DisplayName: strings.TrimSpace(cmd.DisplayName), Organization: strings.TrimSpace(cmd.Organization), PublicName: cmd.PublicName}})
	return team, nil
}

// ownTeam finds the caller's team; someone else's is not found.
func (c *Contest) ownTeam(teamID, member string) (*Team, error) {
	t := c.Teams[teamID]
	if t == nil || !t.member(member) {
		return nil, ErrTeamNotFound
	}
	return t, nil
}

func (c *Contest) leaveTeam(teamID, member string, now time.Time, emit emit) (*Team, error) {
	t, err := c.ownTeam(teamID, member)
	if err != nil {
		return nil, err
	}
	if err := c.rosterOpen(now); err != nil {
		return nil, err
	}
	emit(events.TeamMemberLeft{ContestID: c.ID, TeamID: t.ID, MemberID: member})
	return t, nil
}

func (c *Contest) renewInvite(teamID, member, code string, now time.Time, emit emit) (*Team, error) {
	t, err := c.ownTeam(teamID, member)
	if err != nil {
		return nil, err
	}
	if err := c.rosterOpen(now); err != nil {
		return nil, err
	}
	emit(events.TeamInviteRenewed{ContestID: c.ID, TeamID: t.ID, InviteCodeHash: HashCode(c.ID, code), InviteExpiresAt: c.inviteExpiry(now)})
	return t, nil
}

// MaxAttachments bounds one entry's files.
const MaxAttachments = 5

// SaveSubmission saves a revision of a team's entry.
type SaveSubmission struct {
	Team        string
	Member      string
	Draft       bool
	Title       string
	Summary     string
	Track       string
	RepoURL     string
	DemoURL     string
	Attachments []events.SubmissionAttachment
	// Stored reports whether an attachment's file is in the data
	// directory; nil accepts every hash (tests, the demo).
	Stored func(sha256 string) bool
}

// LateError says how late a refused save was.
type LateError struct{ Deadline, At time.Time }

func (e *LateError) Error() string {
	return fmt.Sprintf("the submission deadline was %s; this arrived at %s", e.Deadline.UTC().Format(time.RFC3339), e.At.UTC().Format(time.RFC3339))
}

func (e *LateError) Is(target error) bool { return target == ErrDeadlinePassed }

func (c *Contest) saveSubmission(cmd SaveSubmission, now time.Time, emit emit) (*events.SubmissionSaved, error) {
	t, err := c.ownTeam(cmd.Team, cmd.Member)
	if err != nil {
		return nil, err
	}
	if phaseIndex(c.Phase) > phaseIndex(events.PhaseSubmission) {
		return nil, &LateError{Deadline: c.Deadline(), At: now}
	}
	if d := c.Deadline(); !d.IsZero() && !now.Before(d) {
		return nil, &LateError{Deadline: d, At: now}
	}
	var errs fieldErrors
	final := !cmd.Draft
	checkText(&errs, "title", cmd.Title, true, 120)
	checkText(&errs, "summary", cmd.Summary, final, 4000)
	if cmd.Track != "" || final {
		if _, ok := c.track(cmd.Track); !ok {
			errs.add("track", "must be one of the contest's tracks")
		}
	}
	checkURL(&errs, "repo_url", cmd.RepoURL, final)
	checkURL(&errs, "demo_url", cmd.DemoURL, false)
	if len(cmd.Attachments) > MaxAttachments {
		errs.add("attachments", fmt.Sprintf("at most %d files per entry", MaxAttachments))
	}
	for i, a := range cmd.Attachments {
		at := fmt.Sprintf("attachments[%d]", i)
		if !shaPattern.MatchString(a.SHA256) || (cmd.Stored != nil && !cmd.Stored(a.SHA256)) {
			errs.add(at+".sha256", "is not a file uploaded for this contest")
		}
		checkText(&errs, at+".name", a.Name, true, 200)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	rev := 1
	if t.Entry != nil {
		rev = t.Entry.Revision + 1
	}
	e := events.SubmissionSaved{ContestID: c.ID, TeamID: t.ID, Revision: rev, Draft: cmd.Draft,
		Title: strings.TrimSpace(cmd.Title), Summary: strings.TrimSpace(cmd.Summary), Track: cmd.Track,
		RepoURL: strings.TrimSpace(cmd.RepoURL), DemoURL: strings.TrimSpace(cmd.DemoURL), Attachments: cmd.Attachments}
	e.Receipt = receipt(e, now)
	emit(e)
	return t.Entry, nil
}

var shaPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// receipt is the hash of what was saved and when: a team can show it to
// prove what it handed in, and anyone with the log can check it.
func receipt(e events.SubmissionSaved, at time.Time) string {
	e.Receipt = ""
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(append(b, at.UTC().Format(time.RFC3339Nano)...))
	return hex.EncodeToString(sum[:16])
}

// AssignJudge assigns a judge to tracks.
type AssignJudge struct {
	Judge        string
	DisplayName  string
	Organization string
	Tracks       []string
}

func (c *Contest) assignJudge(cmd AssignJudge, emit emit) error {
	if c.Published() {
		return &PhaseError{Phase: c.Phase, Need: []string{events.PhaseRegistration, events.PhaseSubmission, events.PhaseReview, events.PhaseFinals}}
	}
	var errs fieldErrors
	checkText(&errs, "judge_id", cmd.Judge, true, 64)
	checkText(&errs, "display_name", cmd.DisplayName, true, 80)
	checkText(&errs, "organization", cmd.Organization, false, 120)
	if len(cmd.Tracks) == 0 {
		errs.add("tracks", "must list at least one track")
	}
	for i, tr := range cmd.Tracks {
		if _, ok := c.track(tr); !ok {
			errs.add(fmt.Sprintf("tracks[%d]", i), "is not a track of this contest")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	emit(events.JudgeAssigned{ContestID: c.ID, JudgeID: cmd.Judge, Tracks: slices.Compact(slices.Sorted(slices.Values(cmd.Tracks))),
		Personal: events.JudgePersonal{DisplayName: strings.TrimSpace(cmd.DisplayName), Organization: strings.TrimSpace(cmd.Organization)}})
	return nil
}

func (c *Contest) declareConflict(judge, team, reason string, emit emit) error {
	if c.Judges[judge] == nil {
		return ErrNotJudge
	}
	if c.Teams[team] == nil {
		return ErrEntryNotFound
	}
	var errs fieldErrors
	checkText(&errs, "reason", reason, false, 500)
	if err := errs.err(); err != nil {
		return err
	}
	if _, done := c.Declared[judge][team]; done {
		return nil
	}
	emit(events.ConflictDeclared{ContestID: c.ID, JudgeID: judge, TeamID: team, Reason: strings.TrimSpace(reason)})
	return nil
}

// Score is a judge's command to score one entry.
type Score struct {
	Judge  string
	Team   string
	Round  string
	Scores []events.CriterionScore
}

func (c *Contest) score(cmd Score, emit emit) (events.ScoreRecorded, error) {
	j := c.Judges[cmd.Judge]
	if j == nil {
		return events.ScoreRecorded{}, ErrNotJudge
	}
	t := c.Teams[cmd.Team]
	if t == nil || !t.Entered {
		return events.ScoreRecorded{}, ErrEntryNotFound
	}
	switch cmd.Round {
	case events.RoundReview:
		if err := c.needPhase(events.PhaseReview); err != nil {
			return events.ScoreRecorded{}, err
		}
	case events.RoundFinals:
		if err := c.needPhase(events.PhaseFinals); err != nil {
			return events.ScoreRecorded{}, err
		}
	default:
		return events.ScoreRecorded{}, &ValidationError{Fields: []FieldError{{"round", "must be review or finals"}}}
	}
	if bad, _ := c.conflicted(j, t); bad {
		return events.ScoreRecorded{}, ErrConflictOfInterest
	}
	if !c.Assigned(j.ID, t.ID, cmd.Round) {
		return events.ScoreRecorded{}, ErrEntryNotFound
	}
	r := c.Rubric
	if r == nil {
		return events.ScoreRecorded{}, ErrNoRubric
	}
	var errs fieldErrors
	given := map[string]events.CriterionScore{}
	for i, s := range cmd.Scores {
		at := fmt.Sprintf("scores[%d]", i)
		if !slices.ContainsFunc(r.Criteria, func(cr events.RubricCriterion) bool { return cr.ID == s.Criterion }) {
			errs.add(at+".criterion", "is not a criterion of rubric version "+fmt.Sprint(r.Version))
			continue
		}
		if _, dup := given[s.Criterion]; dup {
			errs.add(at+".criterion", "is scored twice")
		}
		if math.IsNaN(s.Value) || s.Value < r.ScaleMin || s.Value > r.ScaleMax {
			errs.add(at+".value", fmt.Sprintf("must be between %g and %g", r.ScaleMin, r.ScaleMax))
		}
		checkText(&errs, at+".comment", s.Comment, false, 2000)
		s.Comment = strings.TrimSpace(s.Comment)
		given[s.Criterion] = s
	}
	ordered := make([]events.CriterionScore, 0, len(r.Criteria))
	for _, cr := range r.Criteria {
		s, ok := given[cr.ID]
		if !ok {
			errs.add("scores", "lacks criterion "+cr.ID)
			continue
		}
		ordered = append(ordered, s)
	}
	if err := errs.err(); err != nil {
		return events.ScoreRecorded{}, err
	}
	rev := 1
	if i, ok := c.Latest[scoreKey{j.ID, t.ID, cmd.Round}]; ok {
		rev = c.Scores[i].Revision + 1
	}
	e := events.ScoreRecorded{ContestID: c.ID, TeamID: t.ID, JudgeID: j.ID, Round: cmd.Round, RubricVersion: r.Version, Revision: rev, Scores: ordered}
	emit(e)
	return e, nil
}

func (c *Contest) shortlist(teams []string, emit emit) error {
	if err := c.needPhase(events.PhaseReview, events.PhaseFinals); err != nil {
		return err
	}
	if err := c.checkEntries(teams); err != nil {
		return err
	}
	for _, id := range teams {
		if !c.Teams[id].Shortlist {
			emit(events.EntryShortlisted{ContestID: c.ID, TeamID: id})
		}
	}
	return nil
}

func (c *Contest) promote(teams []string, emit emit) error {
	if err := c.needPhase(events.PhaseFinals); err != nil {
		return err
	}
	if err := c.checkEntries(teams); err != nil {
		return err
	}
	for _, id := range teams {
		if !c.Teams[id].Finalist {
			emit(events.FinalistPromoted{ContestID: c.ID, TeamID: id})
		}
	}
	return nil
}

func (c *Contest) checkEntries(teams []string) error {
	var errs fieldErrors
	if len(teams) == 0 {
		errs.add("teams", "must list at least one team")
	}
	for i, id := range teams {
		if t := c.Teams[id]; t == nil || !t.Entered {
			errs.add(fmt.Sprintf("teams[%d]", i), "is not a team with an entry in this contest")
		}
	}
	return errs.err()
}

// Award gives one award to one team.
type Award struct{ Team, Award string }

// PublishResults closes the contest: the finalists in ranking order, with
// their awards, and each of them into the public gallery.
type PublishResults struct {
	Awards      []Award
	Aggregation string
}

func (c *Contest) publish(cmd PublishResults, now time.Time, emit emit) error {
	if err := c.needPhase(events.PhaseFinals); err != nil {
		return err
	}
	var errs fieldErrors
	agg, ok := ParseAggregation(cmd.Aggregation)
	if !ok {
		errs.add("aggregation", "must be zscore or raw")
	}
	awarded := map[string]string{}
	for i, a := range cmd.Awards {
		at := fmt.Sprintf("awards[%d]", i)
		if _, ok := c.award(a.Award); !ok {
			errs.add(at+".award", "is not an award of this contest")
		}
		t := c.Teams[a.Team]
		switch {
		case t == nil:
			errs.add(at+".team", "is not a team of this contest")
		case !t.Finalist:
			errs.add(at+".team", "is not a finalist: promote it first")
		case awarded[a.Team] != "":
			errs.add(at+".team", "has an award already")
		}
		awarded[a.Team] = a.Award
	}
	var finalists []string
	for _, id := range c.TeamOrder {
		if c.Teams[id].Finalist {
			finalists = append(finalists, id)
		}
	}
	if len(finalists) == 0 {
		errs.add("awards", "there are no finalists to publish")
	}
	if err := errs.err(); err != nil {
		return err
	}
	round := events.RoundFinals
	ranking := c.Ranking(round, agg, DefaultDisagreement)
	if ranking.Scored == 0 {
		round = events.RoundReview
		ranking = c.Ranking(round, agg, DefaultDisagreement)
	}
	order := map[string]int{}
	for i, row := range ranking.Rows {
		order[row.Team] = i
	}
	slices.SortStableFunc(finalists, func(a, b string) int {
		ia, oka := order[a]
		ib, okb := order[b]
		switch {
		case oka && okb:
			return ia - ib
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	res := events.ResultsPublished{ContestID: c.ID, Round: round, Aggregation: string(agg)}
	for i, id := range finalists {
		res.Results = append(res.Results, events.ContestResult{TeamID: id, Rank: i + 1, Award: awarded[id]})
	}
	emit(res)
	for _, r := range res.Results {
		entry, names := c.galleryEntry(c.Teams[r.TeamID], r, now)
		emit(entry)
		for _, n := range names {
			emit(n)
		}
	}
	return nil
}

// galleryEntry is a team's entry for the gallery and the names it shows,
// one event per member who chose a public name, each sealed under that
// member's key. An erased member is not listed: they have no name to
// show and no key to seal one with.
func (c *Contest) galleryEntry(t *Team, r events.ContestResult, now time.Time) (events.EntryPublished, []events.GalleryMemberNamed) {
	e := t.Submitted
	tr, _ := c.track(e.Track)
	g := events.EntryPublished{ContestID: c.ID, ContestNameZH: c.NameZH, ContestNameEN: c.NameEN, Year: c.Year,
		TeamID: t.ID, TeamName: t.Name, Members: []events.GalleryMember{}, Title: e.Title, Summary: e.Summary,
		Track: e.Track, TrackNameZH: tr.NameZH, TrackNameEN: tr.NameEN, RepoURL: e.RepoURL, DemoURL: e.DemoURL,
		Award: r.Award, Rank: r.Rank, Finalist: true, PublishedAt: now.UTC(), SubmissionRevision: e.Revision}
	if a, ok := c.award(r.Award); ok {
		g.AwardNameZH, g.AwardNameEN = a.NameZH, a.NameEN
	}
	var names []events.GalleryMemberNamed
	for _, m := range t.Members {
		if m.PublicName && !c.isErased(m.ID) {
			g.Members = append(g.Members, events.GalleryMember{MemberID: m.ID})
			names = append(names, events.GalleryMemberNamed{ContestID: c.ID, TeamID: t.ID, MemberID: m.ID,
				Personal: events.GalleryMemberPersonal{DisplayName: m.DisplayName}})
		}
	}
	return g, names
}
