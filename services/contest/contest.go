package contest

import (
	"slices"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Contest is the aggregate: one contest's stream folded into memory. Every
// command is decided against it, and every read model of the contest (team
// views and timelines, judge queues, the ranking, the gallery) is read
// from it, so rebuilding them is replaying the stream.
type Contest struct {
	Exists        bool
	ID            string
	NameZH        string
	NameEN        string
	Year          int
	TeamSizeLimit int
	Tracks        []events.ContestTrack
	Awards        []events.ContestAward
	Schedule      []events.ContestPhaseWindow
	Phase         string

	Rubric  *events.RubricPublished // in force; nil before the first
	Rubrics map[int]events.RubricPublished

	Teams      map[string]*Team
	TeamOrder  []string
	MemberTeam map[string]string // member id → team id

	Judges     map[string]*Judge
	JudgeOrder []string
	Declared   map[string]map[string]string // judge → team → reason
	// EntryJudges is, for entries an organiser assigned judges to by
	// name, who judges them in the review round; other entries go to
	// every judge of their track.
	EntryJudges map[string][]string

	// Scores holds every score in log order; Latest the last one per
	// judge, team and round, which is the one that counts.
	Scores []events.ScoreRecorded
	Latest map[scoreKey]int // index into Scores

	Results *events.ResultsPublished
	Gallery []GalleryEntry

	// erased tells whether an account has been erased (nil: none are), so
	// that a contest folded after an erasure never takes the person's
	// name in, even from an event that still carries it (a log read
	// without the sealing store, or one the key's destruction has not
	// reached yet).
	erased func(id string) bool
}

// GalleryEntry is a published entry with the names of the members it
// lists. The names come from the GalleryMemberNamed events that follow
// the entry; Members shadows the embedded EntryPublished's (ids only),
// which is left empty so that the entry has one list of members.
type GalleryEntry struct {
	events.EntryPublished
	Members []GalleryName `json:"members"`
}

// GalleryName is a member as the gallery shows them; DisplayName is empty
// for an erased person.
type GalleryName struct {
	MemberID    string `json:"member_id"`
	DisplayName string `json:"display_name"`
}

type scoreKey struct{ judge, team, round string }

// Team is one team and its entry.
type Team struct {
	ID              string
	Name            string
	Owner           string
	InviteHash      string
	InviteExpiresAt time.Time
	Members         []Member
	Created         time.Time

	Entry     *events.SubmissionSaved // latest revision, draft or not
	Submitted *events.SubmissionSaved // latest non-draft revision: what judges and the gallery see
	Entered   bool                    // a non-draft revision exists
	Queued    bool
	Shortlist bool
	Finalist  bool
	Result    *events.ContestResult
	// Files are the attachments any revision named, by hash; EnteredFiles
	// the ones a non-draft revision named. Downloads are checked against them
	// so the store, which holds every upload, is never served by hash
	// alone, and staff never see what was only ever in a draft.
	Files        map[string]events.SubmissionAttachment
	EnteredFiles map[string]events.SubmissionAttachment
	History      []Step
	LastChange   time.Time
}

type Member struct {
	ID           string
	DisplayName  string
	Organization string
	PublicName   bool
}

type Judge struct {
	ID           string
	DisplayName  string
	Organization string
	Tracks       []string
}

// Step is one entry of a team's timeline. Visibility is the class of the
// event it came from; views filter on it, and no step carries a judge's
// identity (steps of staff events say only that something happened).
type Step struct {
	At         time.Time         `json:"at"`
	Kind       string            `json:"kind"`
	Visibility events.Visibility `json:"-"`
	Revision   int               `json:"revision,omitempty"`
	Receipt    string            `json:"receipt,omitempty"`
	Track      string            `json:"track,omitempty"`
	Member     string            `json:"member,omitempty"`
	Award      string            `json:"award,omitempty"`
	Rank       int               `json:"rank,omitempty"`
	// memberID is whom Member names, so that an erasure can blank it.
	memberID string
}

// Timeline step kinds.
const (
	StepTeamCreated   = "team_created"
	StepMemberJoined  = "member_joined"
	StepMemberLeft    = "member_left"
	StepDraftSaved    = "draft_saved"
	StepSubmitted     = "submitted"
	StepRevised       = "revised"
	StepQueued        = "assigned_for_review"
	StepShortlisted   = "shortlisted"
	StepFinalist      = "finalist"
	StepResult        = "result"
	StepScoreRecorded = "score_recorded" // staff only
	StepConflict      = "conflict_declared"
)

func newContest() *Contest {
	return &Contest{
		Rubrics:     map[int]events.RubricPublished{},
		Teams:       map[string]*Team{},
		MemberTeam:  map[string]string{},
		Judges:      map[string]*Judge{},
		Declared:    map[string]map[string]string{},
		EntryJudges: map[string][]string{},
		Latest:      map[scoreKey]int{},
	}
}

// phaseIndex orders phases; an unknown phase sorts before all.
func phaseIndex(p string) int { return slices.Index(phaseOrder, p) }

var phaseOrder = []string{events.PhaseRegistration, events.PhaseSubmission, events.PhaseReview, events.PhaseFinals, events.PhaseResults}

// Window is the planned window of a phase; ok is false when the schedule
// does not name it.
func (c *Contest) Window(phase string) (events.ContestPhaseWindow, bool) {
	for _, w := range c.Schedule {
		if w.Phase == phase {
			return w, true
		}
	}
	return events.ContestPhaseWindow{}, false
}

// RosterLock is when teams stop changing: the end of registration.
func (c *Contest) RosterLock() time.Time {
	w, _ := c.Window(events.PhaseRegistration)
	return w.EndsAt
}

// Deadline is the last moment an entry may be saved.
func (c *Contest) Deadline() time.Time {
	w, _ := c.Window(events.PhaseSubmission)
	return w.EndsAt
}

func (c *Contest) track(id string) (events.ContestTrack, bool) {
	for _, t := range c.Tracks {
		if t.ID == id {
			return t, true
		}
	}
	return events.ContestTrack{}, false
}

func (c *Contest) award(id string) (events.ContestAward, bool) {
	for _, a := range c.Awards {
		if a.ID == id {
			return a, true
		}
	}
	return events.ContestAward{}, false
}

// Published reports whether the results are out.
func (c *Contest) Published() bool { return c.Results != nil }

// ScoringClosed: judges may see each other's review scores.
func (c *Contest) ScoringClosed() bool { return phaseIndex(c.Phase) > phaseIndex(events.PhaseReview) }

func (t *Team) member(id string) bool {
	return slices.ContainsFunc(t.Members, func(m Member) bool { return m.ID == id })
}

func (t *Team) step(s Step) {
	t.History = append(t.History, s)
	t.LastChange = s.At
}

// conflicted reports whether judge j may not see team t, and why.
func (c *Contest) conflicted(j *Judge, t *Team) (bool, string) {
	if r, ok := c.Declared[j.ID][t.ID]; ok {
		if r == "" {
			r = "declared"
		}
		return true, r
	}
	if c.MemberTeam[j.ID] == t.ID {
		return true, "member of the team"
	}
	if org := normOrg(j.Organization); org != "" {
		for _, m := range t.Members {
			if normOrg(m.Organization) == org {
				return true, "same organisation as a team member"
			}
		}
	}
	return false, ""
}

// normOrg compares organisations the way people write them: case, spacing
// and full-width forms differ between "Alibaba Cloud" and "alibaba  cloud".
func normOrg(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// Assigned reports whether a judge is to score a team's entry in a round.
func (c *Contest) Assigned(judgeID, teamID, round string) bool {
	j, t := c.Judges[judgeID], c.Teams[teamID]
	if j == nil || t == nil || !t.Entered {
		return false
	}
	if bad, _ := c.conflicted(j, t); bad {
		return false
	}
	switch round {
	case events.RoundReview:
		return t.Queued && c.judges(j, t)
	case events.RoundFinals:
		return t.Finalist
	}
	return false
}

// judges reports whether j is to judge t's entry in the review round,
// whether or not the round has begun; conflicts are checked by callers.
func (c *Contest) judges(j *Judge, t *Team) bool {
	if list, ok := c.EntryJudges[t.ID]; ok {
		return slices.Contains(list, j.ID)
	}
	return t.Submitted != nil && slices.Contains(j.Tracks, t.Submitted.Track)
}

// Apply folds one event into the contest. It never fails: whatever is in
// the log happened.
func (c *Contest) Apply(p any, at time.Time) {
	switch e := p.(type) {
	case events.ContestCreated:
		c.Exists = true
		c.ID, c.NameZH, c.NameEN, c.Year = e.ContestID, e.NameZH, e.NameEN, e.Year
		c.TeamSizeLimit = e.TeamSizeLimit
		c.Tracks, c.Awards, c.Schedule = e.Tracks, e.Awards, e.Schedule
		c.Phase = events.PhaseRegistration
	case events.ContestScheduleChanged:
		c.Schedule = e.Schedule
	case events.ContestPhaseChanged:
		c.Phase = e.To
	case events.RubricPublished:
		c.Rubrics[e.Version] = e
		r := c.Rubrics[e.Version]
		c.Rubric = &r
	case events.TeamCreated:
		if c.isErased(e.OwnerID) {
			e.Personal = events.TeamMemberPersonal{}
		}
		t := &Team{ID: e.TeamID, Name: e.Name, Owner: e.OwnerID, InviteHash: e.InviteCodeHash, InviteExpiresAt: e.InviteExpiresAt, Created: at}
		t.Members = append(t.Members, Member{ID: e.OwnerID, DisplayName: e.Personal.DisplayName, Organization: e.Personal.Organization, PublicName: e.Personal.PublicName})
		c.Teams[t.ID] = t
		c.TeamOrder = append(c.TeamOrder, t.ID)
		c.MemberTeam[e.OwnerID] = t.ID
		t.step(Step{At: at, Kind: StepTeamCreated, Visibility: events.Owner})
	case events.TeamInviteRenewed:
		if t := c.Teams[e.TeamID]; t != nil {
			t.InviteHash, t.InviteExpiresAt = e.InviteCodeHash, e.InviteExpiresAt
		}
	case events.TeamMemberJoined:
		if c.isErased(e.MemberID) {
			e.Personal = events.TeamMemberPersonal{}
		}
		if t := c.Teams[e.TeamID]; t != nil {
			t.Members = append(t.Members, Member{ID: e.MemberID, DisplayName: e.Personal.DisplayName, Organization: e.Personal.Organization, PublicName: e.Personal.PublicName})
			c.MemberTeam[e.MemberID] = t.ID
			t.step(Step{At: at, Kind: StepMemberJoined, Visibility: events.Owner, Member: e.Personal.DisplayName, memberID: e.MemberID})
		}
	case events.TeamMemberLeft:
		if t := c.Teams[e.TeamID]; t != nil {
			name := ""
			t.Members = slices.DeleteFunc(t.Members, func(m Member) bool {
				if m.ID == e.MemberID {
					name = m.DisplayName
					return true
				}
				return false
			})
			delete(c.MemberTeam, e.MemberID)
			if t.Owner == e.MemberID && len(t.Members) > 0 {
				t.Owner = t.Members[0].ID
			}
			t.step(Step{At: at, Kind: StepMemberLeft, Visibility: events.Owner, Member: name, memberID: e.MemberID})
		}
	case events.SubmissionSaved:
		if t := c.Teams[e.TeamID]; t != nil {
			kind := StepDraftSaved
			switch {
			case !e.Draft && !t.Entered:
				kind = StepSubmitted
			case !e.Draft:
				kind = StepRevised
			}
			entry := e
			t.Entry = &entry
			if !e.Draft {
				t.Entered = true
				t.Submitted = &entry
			}
			if t.Files == nil {
				t.Files, t.EnteredFiles = map[string]events.SubmissionAttachment{}, map[string]events.SubmissionAttachment{}
			}
			for _, a := range e.Attachments {
				t.Files[a.SHA256] = a
				if !e.Draft {
					t.EnteredFiles[a.SHA256] = a
				}
			}
			t.step(Step{At: at, Kind: kind, Visibility: events.Owner, Revision: e.Revision, Receipt: e.Receipt, Track: e.Track})
		}
	case events.JudgeAssigned:
		if c.isErased(e.JudgeID) {
			e.Personal = events.JudgePersonal{}
		}
		j := c.Judges[e.JudgeID]
		if j == nil {
			j = &Judge{ID: e.JudgeID}
			c.Judges[e.JudgeID] = j
			c.JudgeOrder = append(c.JudgeOrder, e.JudgeID)
		}
		j.DisplayName, j.Organization, j.Tracks = e.Personal.DisplayName, e.Personal.Organization, e.Tracks
	case events.ConflictDeclared:
		if c.Declared[e.JudgeID] == nil {
			c.Declared[e.JudgeID] = map[string]string{}
		}
		c.Declared[e.JudgeID][e.TeamID] = e.Reason
		if t := c.Teams[e.TeamID]; t != nil {
			t.step(Step{At: at, Kind: StepConflict, Visibility: events.Staff})
		}
	case events.EntryJudgesAssigned:
		for _, e := range e.Entries {
			c.EntryJudges[e.TeamID] = slices.Clone(e.Judges)
		}
	case events.EntryQueuedForReview:
		if t := c.Teams[e.TeamID]; t != nil {
			t.Queued = true
			t.step(Step{At: at, Kind: StepQueued, Visibility: events.Owner, Track: e.Track})
		}
	case events.ScoreRecorded:
		c.Scores = append(c.Scores, e)
		c.Latest[scoreKey{e.JudgeID, e.TeamID, e.Round}] = len(c.Scores) - 1
		if t := c.Teams[e.TeamID]; t != nil {
			t.step(Step{At: at, Kind: StepScoreRecorded, Visibility: events.Staff, Revision: e.Revision})
		}
	case events.EntryShortlisted:
		if t := c.Teams[e.TeamID]; t != nil {
			t.Shortlist = true
			t.step(Step{At: at, Kind: StepShortlisted, Visibility: events.Owner})
		}
	case events.FinalistPromoted:
		if t := c.Teams[e.TeamID]; t != nil {
			t.Finalist = true
			t.step(Step{At: at, Kind: StepFinalist, Visibility: events.Owner})
		}
	case events.ResultsPublished:
		r := e
		c.Results = &r
		c.Phase = events.PhaseResults
		for i := range e.Results {
			if t := c.Teams[e.Results[i].TeamID]; t != nil {
				t.Result = &r.Results[i]
				t.step(Step{At: at, Kind: StepResult, Visibility: events.Owner, Award: e.Results[i].Award, Rank: e.Results[i].Rank})
			}
		}
		// Entered teams that did not place learn the contest is over too.
		for _, id := range c.TeamOrder {
			if t := c.Teams[id]; t.Entered && t.Result == nil {
				t.step(Step{At: at, Kind: StepResult, Visibility: events.Owner})
			}
		}
	case events.EntryPublished:
		c.Gallery = append(c.Gallery, c.galleryEntryOf(e))
	case events.GalleryMemberNamed:
		name := e.Personal.DisplayName
		if c.isErased(e.MemberID) {
			name = ""
		}
		// The entry it names is the last one of its team: the named
		// events follow their entry in one append.
		for g := len(c.Gallery) - 1; g >= 0; g-- {
			if c.Gallery[g].TeamID == e.TeamID {
				c.Gallery[g].name(e.MemberID, name)
				break
			}
		}
	}
}

// galleryEntryOf lists an entry's members named as their team's roster
// names them, until the GalleryMemberNamed that follow set the names
// published with the entry. The roster matters for entries published at
// version 1, whose names the upcaster
// drops and for which no GalleryMemberNamed exists (nor can be added to a
// migrated log, which keeps every event's revision): the roster holds the
// very names the entry showed, sealed per member, so the gallery shows
// them as before and an erasure takes them away just the same. Only
// members who chose a public name are named, as the entry was.
func (c *Contest) galleryEntryOf(e events.EntryPublished) GalleryEntry {
	g := GalleryEntry{EntryPublished: e, Members: make([]GalleryName, 0, len(e.Members))}
	g.EntryPublished.Members = nil
	t := c.Teams[e.TeamID]
	for _, m := range e.Members {
		n := GalleryName{MemberID: m.MemberID}
		if t != nil && !c.isErased(m.MemberID) {
			if i := slices.IndexFunc(t.Members, func(tm Member) bool { return tm.ID == m.MemberID }); i >= 0 && t.Members[i].PublicName {
				n.DisplayName = t.Members[i].DisplayName
			}
		}
		g.Members = append(g.Members, n)
	}
	return g
}

// name sets a member's name in a new slice: readers may hold the old one
// (see publicView).
func (g *GalleryEntry) name(id, name string) {
	i := slices.IndexFunc(g.Members, func(m GalleryName) bool { return m.MemberID == id })
	if i < 0 {
		return
	}
	ms := slices.Clone(g.Members)
	ms[i].DisplayName = name
	g.Members = ms
}

func (c *Contest) isErased(id string) bool { return c.erased != nil && c.erased(id) }

// forget blanks an erased account's name and organisation wherever the
// contest copied them. The teams keep the member and the gallery keeps
// the entry, with "erased person" where the name was: an entry belongs to
// its team. No event says so, because the log already reads as nothing
// where the personal data was once the key is gone. The member's choice
// of a public name goes too, as in a fold of the log after the erasure,
// so that no later entry lists them.
func (c *Contest) forget(id string) {
	for _, t := range c.Teams {
		for i := range t.Members {
			if t.Members[i].ID == id {
				t.Members[i].DisplayName, t.Members[i].Organization, t.Members[i].PublicName = "", "", false
			}
		}
		for i := range t.History {
			if t.History[i].memberID == id {
				t.History[i].Member = ""
			}
		}
	}
	if j := c.Judges[id]; j != nil {
		j.DisplayName, j.Organization = "", ""
	}
	for g := range c.Gallery {
		c.Gallery[g].name(id, "")
	}
}

// OwnerTimeline is a team's timeline as its members see it: staff steps
// (scores, conflicts, who judged) are left out.
func (t *Team) OwnerTimeline() []Step {
	out := []Step{}
	for _, s := range t.History {
		if s.Visibility == events.Owner || s.Visibility == events.Public {
			out = append(out, s)
		}
	}
	return out
}

// visibility classifies contest events for timelines and pages.
func visibility(p any) events.Visibility {
	switch p.(type) {
	case events.ContestCreated, events.ContestScheduleChanged, events.ContestPhaseChanged, events.RubricPublished,
		events.ResultsPublished, events.EntryPublished, events.GalleryMemberNamed:
		return events.Public
	case events.JudgeAssigned, events.ConflictDeclared, events.ScoreRecorded, events.EntryJudgesAssigned:
		return events.Staff
	}
	return events.Owner
}

// subject is the person whose personal data an event carries.
func subject(p any) string {
	switch e := p.(type) {
	case events.TeamCreated:
		return e.OwnerID
	case events.TeamMemberJoined:
		return e.MemberID
	case events.JudgeAssigned:
		return e.JudgeID
	case events.GalleryMemberNamed:
		return e.MemberID
	}
	return ""
}
