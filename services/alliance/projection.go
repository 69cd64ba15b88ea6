package alliance

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// TimelineEntry is one step of an application as a viewer sees it. The
// projection keeps every step with its staff-only parts; redact makes the
// applicant's view from it.
type TimelineEntry struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"` // drafted, edited, submitted, resubmitted, under_review, review, changes_requested, approved, rejected, withdrawn, published, note
	Round     int       `json:"round,omitempty"`
	Vote      string    `json:"vote,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Reviewer  string    `json:"reviewer,omitempty"` // the reviewer's name
	DecidedBy string    `json:"decided_by,omitempty"`
	Changed   []string  `json:"changed,omitempty"`
	MemberID  string    `json:"member_id,omitempty"`
	Note      string    `json:"note,omitempty"` // staff only
	// reviewerErased: the reviewer's account was erased, so Reviewer is
	// blank and pages say "erased person" where the name was.
	reviewerErased bool
}

type timelineItem struct {
	TimelineEntry
	staff    bool   // the whole entry is for staff (an internal note)
	reveal   bool   // the policy let the applicant see the reviewer's name
	reviewer string // the reviewer's user id, to forget their name when they are erased
}

// redact is the applicant's view of a timeline: no internal notes, and no
// reviewer names unless the policy in force when they voted revealed them.
func redact(items []timelineItem, staff bool) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(items))
	for _, it := range items {
		e := it.TimelineEntry
		if !staff {
			if it.staff {
				continue
			}
			if !it.reveal {
				e.Reviewer, e.reviewerErased = "", false
			}
			e.Note = ""
		}
		e.Changed = slices.Clone(e.Changed)
		out = append(out, e)
	}
	return out
}

// ApplicationSummary is a row of an application list.
type ApplicationSummary struct {
	ID        string    `json:"id"`
	NameZH    string    `json:"name_zh,omitempty"`
	NameEN    string    `json:"name_en,omitempty"`
	Status    string    `json:"status"`
	Round     int       `json:"round"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	MemberID  string    `json:"member_id,omitempty"`
	applicant string
	voters    []string // reviewers who voted in the current round
}

// MemberProfile is a member's public face: nothing about the account
// behind it or the contact person.
type MemberProfile struct {
	ID          string `json:"id"`
	Tier        string `json:"tier"`
	JoinedOn    string `json:"joined_on"`
	NameZH      string `json:"name_zh,omitempty"`
	NameEN      string `json:"name_en,omitempty"`
	Website     string `json:"website,omitempty"`
	City        string `json:"city,omitempty"`
	Industry    string `json:"industry,omitempty"`
	FoundedYear int    `json:"founded_year,omitempty"`
	TeamSize    int    `json:"team_size,omitempty"`
	Description string `json:"description,omitempty"`
	LogoURL     string `json:"logo_url,omitempty"`
	// Status is active or lapsed: a lapsed member keeps its page, marked,
	// so links to it do not break while organisers sort things out.
	Status   string `json:"status"`
	LapsedOn string `json:"lapsed_on,omitempty"`
}

// HistoryEntry is one public change of a member.
type HistoryEntry struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`           // admitted, profile_updated, tier_changed, lapsed, reinstated, withdrawn
	Tier    string    `json:"tier,omitempty"` // tier_changed: the new tier
	Changed []string  `json:"changed,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

type memberRow struct {
	seq           int // admission order, the wall's last tie-breaker
	id, owner     string
	tier          string
	joinedOn      string
	leftOn        string // Hangzhou day the membership ended; "" while active
	status        string
	applicationID string
	profile       events.StartupProfile
	history       []HistoryEntry
	versions      []version // the profile after each change, for the wall's past
}

type version struct {
	on      string // Hangzhou day
	profile events.StartupProfile
}

func (m *memberRow) public(p events.StartupProfile) MemberProfile {
	out := MemberProfile{ID: m.id, Tier: m.tier, JoinedOn: m.joinedOn, NameZH: p.NameZH, NameEN: p.NameEN, Website: p.Website,
		City: p.City, Industry: p.Industry, FoundedYear: p.FoundedYear, TeamSize: p.TeamSize, Description: p.Description,
		Status: m.status}
	if m.status == MemberLapsed {
		out.LapsedOn = m.leftOn
	}
	if p.Logo != "" {
		out.LogoURL = "/api/alliance/logos/" + p.Logo
	}
	return out
}

// profileOn is the profile as it stood at the end of day on.
func (m *memberRow) profileOn(on string) events.StartupProfile {
	p := m.versions[0].profile
	for _, v := range m.versions {
		if v.on <= on {
			p = v.profile
		}
	}
	return p
}

// view holds the alliance's read models, rebuilt from the log at start.
type view struct {
	mu          sync.RWMutex
	apps        map[string]*ApplicationSummary
	byApplicant map[string][]string
	timelines   map[string][]timelineItem
	members     map[string]*memberRow
	// erased holds the accounts erased so far in the log.
	erased   map[string]bool
	follower events.Follower
}

func newView(store events.Store, log *slog.Logger) *view {
	v := &view{apps: map[string]*ApplicationSummary{}, byApplicant: map[string][]string{},
		timelines: map[string][]timelineItem{}, members: map[string]*memberRow{}, erased: map[string]bool{}}
	v.follower = events.Follower{
		Name:  "alliance",
		Store: store,
		// Every event of the application and member streams is an
		// alliance one; the erasures come from identity.
		Filter: events.Filter{TypePrefixes: []string{"alliance.", "identity.AccountErased"}},
		Apply:  func(e events.Event) { v.apply(e, log) },
		Logger: log,
	}
	return v
}

func (v *view) apply(e events.Event, log *slog.Logger) {
	p, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			log.Error("alliance projection: cannot decode event", "event", e.ID, "err", err)
		}
		return
	}
	at := occurred(e)
	v.mu.Lock()
	defer v.mu.Unlock()
	item := timelineItem{TimelineEntry: TimelineEntry{ID: e.ID.String(), At: at}}
	add := func(appID string, it timelineItem) {
		v.timelines[appID] = append(v.timelines[appID], it)
		if a := v.apps[appID]; a != nil {
			a.Updated = at
		}
	}
	switch p := p.(type) {
	case events.ApplicationDrafted:
		v.apps[p.ApplicationID] = &ApplicationSummary{ID: p.ApplicationID, NameZH: p.Profile.NameZH, NameEN: p.Profile.NameEN,
			Status: StatusDraft, Created: at, Updated: at, applicant: p.Applicant}
		v.byApplicant[p.Applicant] = append(v.byApplicant[p.Applicant], p.ApplicationID)
		item.Kind = "drafted"
		add(p.ApplicationID, item)
	case events.ApplicationEdited:
		if a := v.apps[p.ApplicationID]; a != nil {
			a.NameZH, a.NameEN = p.Profile.NameZH, p.Profile.NameEN
		}
		item.Kind, item.Changed = "edited", p.Changed
		add(p.ApplicationID, item)
	case events.ApplicationSubmitted:
		item.Kind, item.Round = "submitted", p.Round
		if p.Round > 1 {
			item.Kind = "resubmitted"
		}
		if a := v.apps[p.ApplicationID]; a != nil {
			a.Status, a.Round, a.voters = StatusSubmitted, p.Round, nil
		}
		add(p.ApplicationID, item)
	case events.ReviewVoted:
		a := v.apps[p.ApplicationID]
		if a != nil && len(a.voters) == 0 {
			// The first vote of a round is when the applicant learns that
			// someone is looking at it.
			add(p.ApplicationID, timelineItem{TimelineEntry: TimelineEntry{ID: item.ID + "-review", At: at, Kind: "under_review", Round: p.Round}})
		}
		if a != nil {
			a.voters = append(a.voters, p.Reviewer)
		}
		item.Kind, item.Round, item.Vote, item.Comment, item.Reviewer = "review", p.Round, p.Vote, p.Comment, p.ReviewerName
		item.reveal, item.reviewer = p.RevealReviewer, p.Reviewer
		if v.erased[p.Reviewer] {
			item.Reviewer, item.reviewerErased = "", true
		}
		add(p.ApplicationID, item)
	case events.ReviewNoteAdded:
		item.Kind, item.Round, item.Note, item.staff = "note", p.Round, p.Note, true
		add(p.ApplicationID, item)
	case events.ApplicationChangesRequested:
		v.setStatus(p.ApplicationID, StatusChangesRequested, "")
		// A reviewer's request for changes is a vote and the decision it
		// triggers, both with the reviewer's comment; the decision alone
		// carries it, so the applicant reads it once.
		items := v.timelines[p.ApplicationID]
		for i := len(items) - 1; i >= 0; i-- {
			it := &items[i]
			if it.Kind == "review" && it.Round == p.Round && it.Vote == events.VoteRequestChanges && it.Comment == p.Comment {
				it.Comment = ""
				break
			}
		}
		item.Kind, item.Round, item.Comment, item.DecidedBy = "changes_requested", p.Round, p.Comment, p.DecidedBy
		add(p.ApplicationID, item)
	case events.ApplicationApproved:
		v.setStatus(p.ApplicationID, StatusApproved, p.MemberID)
		item.Kind, item.Round, item.Comment, item.DecidedBy, item.MemberID = "approved", p.Round, p.Comment, p.DecidedBy, p.MemberID
		add(p.ApplicationID, item)
	case events.ApplicationRejected:
		v.setStatus(p.ApplicationID, StatusRejected, "")
		item.Kind, item.Round, item.Reason, item.DecidedBy = "rejected", p.Round, p.Reason, p.DecidedBy
		add(p.ApplicationID, item)
	case events.ApplicationWithdrawn:
		v.setStatus(p.ApplicationID, StatusWithdrawn, "")
		item.Kind = "withdrawn"
		add(p.ApplicationID, item)
	case events.MemberAdmitted:
		m := &memberRow{seq: len(v.members), id: p.MemberID, owner: p.Owner, tier: p.Tier, joinedOn: p.JoinedOn,
			status: MemberActive, applicationID: p.ApplicationID, profile: p.Profile}
		m.versions = []version{{on: p.JoinedOn, profile: p.Profile}}
		m.history = []HistoryEntry{{ID: item.ID, At: at, Kind: "admitted"}}
		v.members[p.MemberID] = m
		if p.ApplicationID != "" {
			item.Kind, item.MemberID = "published", p.MemberID
			add(p.ApplicationID, item)
		}
	case events.MemberProfileUpdated:
		if m := v.members[p.MemberID]; m != nil {
			m.profile = p.Profile
			m.versions = append(m.versions, version{on: max(dateOf(at), m.joinedOn), profile: p.Profile})
			m.history = append(m.history, HistoryEntry{ID: item.ID, At: at, Kind: "profile_updated", Changed: p.Changed})
		}
	case events.MembershipLapsed:
		v.endMember(p.MemberID, MemberLapsed, p.Reason, item.ID, at)
	case events.MembershipWithdrawn:
		v.endMember(p.MemberID, MemberWithdrawn, p.Reason, item.ID, at)
	case events.MemberTierChanged:
		if m := v.members[p.MemberID]; m != nil {
			m.tier = p.Tier
			m.history = append(m.history, HistoryEntry{ID: item.ID, At: at, Kind: "tier_changed", Tier: p.Tier})
		}
	case events.AccountErased:
		v.erase(p.UserID)
	case events.MembershipReinstated:
		if m := v.members[p.MemberID]; m != nil {
			m.status, m.leftOn = MemberActive, ""
			m.history = append(m.history, HistoryEntry{ID: item.ID, At: at, Kind: "reinstated", Reason: p.Reason})
		}
	}
}

// erase lets go of what the view holds of an erased account. The
// applications stay, for the record of who applied for the startups, and
// so do the memberships; what goes is the person: their name as a
// reviewer (the vote stays, by an erased person), their list of
// applications, and the right to edit a member's profile, which falls to
// the organisers.
func (v *view) erase(user string) {
	if user == "" {
		return
	}
	v.erased[user] = true
	for _, items := range v.timelines {
		for i := range items {
			if items[i].reviewer == user {
				items[i].Reviewer, items[i].reviewerErased = "", true
			}
		}
	}
	delete(v.byApplicant, user)
	for _, m := range v.members {
		if m.owner == user {
			m.owner = ""
		}
	}
}

// isErased reports whether the account has been erased.
func (v *view) isErased(user string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.erased[user]
}

func (v *view) setStatus(id, status, member string) {
	if a := v.apps[id]; a != nil {
		a.Status = status
		if member != "" {
			a.MemberID = member
		}
	}
}

func (v *view) endMember(id, status, reason, eventID string, at time.Time) {
	m := v.members[id]
	if m == nil {
		return
	}
	m.status, m.leftOn = status, dateOf(at)
	kind := "lapsed"
	if status == MemberWithdrawn {
		kind = "withdrawn"
	}
	m.history = append(m.history, HistoryEntry{ID: eventID, At: at, Kind: kind, Reason: reason})
}

// myApplications lists a person's applications, newest first.
func (v *view) myApplications(user string) []ApplicationSummary {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ids := v.byApplicant[user]
	out := make([]ApplicationSummary, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		out = append(out, *v.apps[ids[i]])
	}
	return out
}

// queue lists applications for reviewers: those of status (all when ""),
// oldest first, never the reviewer's own.
func (v *view) queue(reviewer, status string) []ApplicationSummary {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []ApplicationSummary
	for _, a := range v.apps {
		if a.applicant == reviewer || (status != "" && a.Status != status) || (status == "" && a.Status == StatusDraft) {
			continue
		}
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b ApplicationSummary) int { return a.Updated.Compare(b.Updated) })
	return out
}

// votedBy reports whether reviewer voted in the application's current round.
func (v *view) votedBy(id, reviewer string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	a := v.apps[id]
	return a != nil && slices.Contains(a.voters, reviewer)
}

func (v *view) timeline(id string, staff bool) []TimelineEntry {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return redact(v.timelines[id], staff)
}

// MemberFilter selects members of the directory.
type MemberFilter struct {
	City, Industry, Tier, Query string
}

func (f MemberFilter) match(p MemberProfile) bool {
	if f.City != "" && !strings.EqualFold(p.City, f.City) || f.Industry != "" && !strings.EqualFold(p.Industry, f.Industry) ||
		f.Tier != "" && p.Tier != f.Tier {
		return false
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		text := strings.ToLower(strings.Join([]string{p.NameZH, p.NameEN, p.City, p.Industry, p.Description}, "\n"))
		return strings.Contains(text, q)
	}
	return true
}

// wall lists the members as the wall showed them at the end of day on
// (today when ""): founders first, then by join date.
func (v *view) wall(on string, f MemberFilter) []MemberProfile {
	v.mu.RLock()
	defer v.mu.RUnlock()
	rows := make([]*memberRow, 0, len(v.members))
	for _, m := range v.members {
		if on == "" && m.status != MemberActive {
			continue
		}
		if on != "" && (m.joinedOn > on || m.leftOn != "" && m.leftOn <= on) {
			continue
		}
		rows = append(rows, m)
	}
	slices.SortFunc(rows, func(a, b *memberRow) int {
		if fa, fb := a.tier == events.TierFounding, b.tier == events.TierFounding; fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.joinedOn, b.joinedOn); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	out := make([]MemberProfile, 0, len(rows))
	for _, m := range rows {
		p := m.profile
		if on != "" {
			p = m.profileOn(on)
		}
		if pub := m.public(p); f.match(pub) {
			out = append(out, pub)
		}
	}
	return out
}

// lapsed lists the lapsed memberships, for the directory's own section.
func (v *view) lapsed() []MemberProfile {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var rows []*memberRow
	for _, m := range v.members {
		if m.status == MemberLapsed {
			rows = append(rows, m)
		}
	}
	slices.SortFunc(rows, func(a, b *memberRow) int { return a.seq - b.seq })
	out := make([]MemberProfile, len(rows))
	for i, m := range rows {
		out[i] = m.public(m.profile)
	}
	return out
}

// all lists every membership that has not been withdrawn, active or
// lapsed, in admission order, for the organisers' administration.
func (v *view) all(f MemberFilter) []MemberProfile {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var rows []*memberRow
	for _, m := range v.members {
		if m.status != MemberWithdrawn {
			rows = append(rows, m)
		}
	}
	slices.SortFunc(rows, func(a, b *memberRow) int { return a.seq - b.seq })
	var out []MemberProfile
	for _, m := range rows {
		if pub := m.public(m.profile); f.match(pub) {
			out = append(out, pub)
		}
	}
	return out
}

// member returns a member's public profile and history; active is false
// once the membership has ended.
func (v *view) member(id string) (MemberProfile, []HistoryEntry, string, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	m := v.members[id]
	if m == nil {
		return MemberProfile{}, nil, "", false
	}
	return m.public(m.profile), slices.Clone(m.history), m.status, true
}

// owner is the account that may edit a member's profile.
func (v *view) owner(id string) string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if m := v.members[id]; m != nil {
		return m.owner
	}
	return ""
}

// application is the summary of one application.
func (v *view) application(id string) (ApplicationSummary, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if a := v.apps[id]; a != nil {
		return *a, true
	}
	return ApplicationSummary{}, false
}

// memberOwnedBy lists the active members whose profile user may edit.
func (v *view) memberOwnedBy(user string) []MemberProfile {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []MemberProfile
	for _, m := range v.members {
		if m.owner == user && m.status == MemberActive {
			out = append(out, m.public(m.profile))
		}
	}
	return out
}

// facets are the distinct cities and industries of active members, for
// the directory's filters.
func (v *view) facets() (cities, industries []string) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, m := range v.members {
		if m.status != MemberActive {
			continue
		}
		if c := m.profile.City; c != "" && !slices.Contains(cities, c) {
			cities = append(cities, c)
		}
		if i := m.profile.Industry; i != "" && !slices.Contains(industries, i) {
			industries = append(industries, i)
		}
	}
	slices.Sort(cities)
	slices.Sort(industries)
	return cities, industries
}
