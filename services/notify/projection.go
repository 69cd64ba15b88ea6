package notify

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// notification is one thing that happened to one person, derived from one
// event. Args are the words the templates need, in both languages where
// the thing has two names, so that the text follows the reader's language
// at the moment they read it.
type notification struct {
	ID      string
	Kind    string
	User    string
	Created time.Time
	Link    string // a path on the site
	Args    map[string]string
	Read    bool
}

// outMail is an email that is due: the notification it carries, where it
// goes, and where the mail stream stands.
type outMail struct {
	ID    string // the mail's notification id, also its Message-ID
	Note  *notification
	To    string
	after events.Position // the log position just before its event
	// What the mail stream says (kept current by the projection).
	rev        int64 // revision of the mail stream's last event; -1: none
	attempt    int
	leaseUntil time.Time
	retryAt    time.Time
	done       bool
}

type person struct {
	ID       string
	Name     string
	Email    string
	Verified bool
	Lang     string
	// off lists the kinds the person took out of email; "*" all of them.
	off    map[string]bool
	inbox  []*notification
	unread int
	roles  []string

	regs  []string
	apps  []string
	teams []string
	blogs []string
}

func (p *person) emailOn(kind string) bool {
	info, ok := kindOf(kind)
	if !ok {
		return false
	}
	if !info.Optional {
		return true
	}
	return !p.off["*"] && !p.off[kind]
}

// entry is one line of an owner's redacted timeline.
type entry struct {
	At   time.Time
	What string // a catalogue key under overview.event.
	Args map[string]string
}

type regView struct {
	ID, Edition, Member, Status, TicketType string
	CheckedIn                               bool
	Timeline                                []entry
}

type editionView struct{ NameZH, NameEN, Venue, StartsOn string }

type appView struct {
	ID, Applicant, NameZH, NameEN, Status string
	Timeline                              []entry
}

type contestView struct{ NameZH, NameEN string }

type teamView struct {
	ID, Contest, Name, Owner, Status string
	Members                          []string
	Submitted                        bool
	Title                            string
	Timeline                         []entry
}

type blogView struct {
	Name, Title, Owner string
	Coauthors          []string
}

type postView struct {
	Blog, Slug, Title, Status string
	Revision                  int
	Timeline                  []entry
}

type collectionView struct {
	ID, Curator, Title string
	Chapters           map[string]bool // blog/slug
}

// model is the notifier's read model: people with their inboxes and what
// they own, and the mail that is due. It is rebuilt from the log.
type model struct {
	mu sync.RWMutex
	// mailAfter: mail is decided for events after this position only (the
	// last cursor in the log, or the head when mail was first switched on).
	mailAfter events.Position
	// seen is the position of the last event applied; tip the same
	// without the cursor's own events, which must not move it further.
	seen, tip events.Position

	people      map[string]*person
	regs        map[string]*regView
	editions    map[string]*editionView
	apps        map[string]*appView
	contests    map[string]*contestView
	teams       map[string]*teamView
	blogs       map[string]*blogView
	posts       map[string]*postView
	collections map[string]*collectionView
	sessions    map[string]string // session id → title (per edition: editionID/sessionID)

	mail   map[string]*outMail // due and not done
	failed []failedMail
	sent   int

	// erased holds the accounts erased so far in the log: nothing is kept
	// for them any more, and nothing new is noted or mailed to them.
	erased map[string]bool
	// mentions holds, per person, the argument maps of notifications and
	// timeline entries that carry their name under "name" (a teammate's
	// "… joined the team"), so that an erasure can blank it there.
	mentions map[string][]map[string]string
}

type failedMail struct {
	ID, Kind, User, Reason string
	Attempts               int
	At                     time.Time
}

func newModel() *model {
	return &model{
		people: map[string]*person{}, regs: map[string]*regView{}, editions: map[string]*editionView{},
		apps: map[string]*appView{}, contests: map[string]*contestView{}, teams: map[string]*teamView{},
		blogs: map[string]*blogView{}, posts: map[string]*postView{}, collections: map[string]*collectionView{},
		sessions: map[string]string{}, mail: map[string]*outMail{},
		erased: map[string]bool{}, mentions: map[string][]map[string]string{},
	}
}

// noteID derives a notification's id from its event, person, kind and
// channel, so that every notifier and every replay names it the same.
func noteID(event uuid.UUID, user, kind, channel string) string {
	return uuid.NewSHA1(event, []byte(user+"\x00"+kind+"\x00"+channel)).String()
}

func (m *model) person(id string) *person {
	p := m.people[id]
	if p == nil {
		p = &person{ID: id, Lang: "zh-CN", off: map[string]bool{}}
		if m.erased[id] {
			// What later events say of an erased account (a registration
			// the conference cancelled for it) is noted nowhere.
			return p
		}
		m.people[id] = p
	}
	return p
}

// apply folds one event in; mailOn says whether mail is switched on in
// this process (without it no mail is ever due).
func (m *model) apply(e events.Event, payload any, mailOn bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.seen
	m.seen = e.Position
	if _, ok := payload.(events.MailCursorMoved); !ok {
		m.tip = e.Position
	}
	at := e.Recorded
	n := func(user, kind, link string, args map[string]string) {
		m.notify(e, prev, user, kind, link, args, mailOn)
	}
	switch ev := payload.(type) {
	// --- identity
	case events.UserRegistered:
		p := m.person(ev.UserID)
		p.Name, p.Email = ev.Personal.DisplayName, ev.Personal.Email
		if ev.Lang != "" {
			p.Lang = ev.Lang
		}
		p.roles = []string{auth.RoleMember}
	case events.ProfileUpdated:
		m.person(ev.UserID).Name = ev.Personal.DisplayName
	case events.LanguageChosen:
		m.person(ev.UserID).Lang = ev.Lang
	case events.EmailChanged:
		p := m.person(ev.UserID)
		p.Email, p.Verified = ev.Personal.Email, false
	case events.EmailVerified:
		p := m.person(ev.UserID)
		if strings.EqualFold(p.Email, ev.Personal.Email) {
			p.Verified = true
		}
	case events.EmailVerificationRequested:
		link := "/identity/verify-email?u=" + ev.UserID + "&c=" + ev.Personal.Code
		m.notifyTo(e, prev, ev.UserID, KindVerifyEmail, link, ev.Personal.Email,
			map[string]string{"expires": ev.ExpiresAt.Format(time.RFC3339)}, mailOn)
	case events.AccountErased:
		m.erase(ev.UserID)
	case events.RoleGranted:
		p := m.person(ev.UserID)
		if !slices.Contains(p.roles, ev.Role) {
			p.roles = append(p.roles, ev.Role)
		}
		n(ev.UserID, KindRoleGranted, "/identity/me", map[string]string{"role": ev.Role})
	case events.RoleRevoked:
		p := m.person(ev.UserID)
		p.roles = slices.DeleteFunc(p.roles, func(r string) bool { return r == ev.Role })
		n(ev.UserID, KindRoleRevoked, "/identity/me", map[string]string{"role": ev.Role})

	// --- conference
	case events.EditionScheduled:
		m.editions[ev.EditionID] = &editionView{NameZH: ev.NameZH, NameEN: ev.NameEN, Venue: ev.Venue, StartsOn: ev.StartsOn}
	case events.EditionDetailsChanged:
		if ed := m.editions[ev.EditionID]; ed != nil {
			ed.NameZH, ed.NameEN, ed.Venue, ed.StartsOn = ev.NameZH, ev.NameEN, ev.Venue, ev.StartsOn
		}
	case events.SessionScheduled:
		m.sessions[ev.EditionID+"/"+ev.SessionID] = ev.Title
	case events.RegistrationPlaced:
		r := &regView{ID: ev.RegistrationID, Edition: ev.EditionID, Member: ev.MemberID, Status: ev.Status, TicketType: ev.TicketType}
		m.regs[r.ID] = r
		p := m.person(ev.MemberID)
		p.regs = append(p.regs, r.ID)
		r.Timeline = append(r.Timeline, entry{At: at, What: "registration_" + ev.Status})
		kind := KindRegistrationConfirmed
		if ev.Status == events.StatusWaitlisted {
			kind = KindRegistrationWaitlisted
		}
		n(ev.MemberID, kind, regLink(r.ID), m.editionArgs(ev.EditionID, nil))
	case events.SeatOffered:
		if r := m.regs[ev.RegistrationID]; r != nil {
			if ev.SessionID == "" {
				r.Status = events.StatusOffered
			}
			args := m.editionArgs(ev.EditionID, map[string]string{"deadline": ev.ExpiresAt.Format(time.RFC3339),
				"session": m.sessions[ev.EditionID+"/"+ev.SessionID]})
			r.Timeline = append(r.Timeline, entry{At: at, What: "seat_offered", Args: args})
			n(r.Member, KindSeatOffered, regLink(r.ID), args)
		}
	case events.OfferReminderDue:
		if r := m.regs[ev.RegistrationID]; r != nil {
			n(r.Member, KindOfferExpiring, regLink(r.ID), m.editionArgs(ev.EditionID, map[string]string{
				"deadline": ev.ExpiresAt.Format(time.RFC3339), "session": m.sessions[ev.EditionID+"/"+ev.SessionID]}))
		}
	case events.OfferAccepted:
		if r := m.regs[ev.RegistrationID]; r != nil {
			args := m.editionArgs(ev.EditionID, map[string]string{"session": m.sessions[ev.EditionID+"/"+ev.SessionID]})
			r.Timeline = append(r.Timeline, entry{At: at, What: "offer_accepted", Args: args})
			if ev.SessionID == "" {
				r.Status = events.StatusConfirmed
				n(r.Member, KindRegistrationConfirmed, regLink(r.ID), args)
			}
		}
	case events.OfferExpired:
		if r := m.regs[ev.RegistrationID]; r != nil {
			args := m.editionArgs(ev.EditionID, map[string]string{"session": m.sessions[ev.EditionID+"/"+ev.SessionID]})
			if ev.SessionID == "" {
				r.Status = events.StatusWaitlisted
			}
			r.Timeline = append(r.Timeline, entry{At: at, What: "offer_expired", Args: args})
			n(r.Member, KindOfferExpired, regLink(r.ID), args)
		}
	case events.RegistrationCancelled:
		if r := m.regs[ev.RegistrationID]; r != nil {
			r.Status = events.StatusCancelled
			r.Timeline = append(r.Timeline, entry{At: at, What: "registration_cancelled"})
			n(r.Member, KindRegistrationCancelled, regLink(r.ID), m.editionArgs(ev.EditionID, nil))
		}
	case events.TicketCheckedIn:
		if r := m.regs[ev.RegistrationID]; r != nil {
			// Gate and device are staff data: the owner sees only that and when.
			r.CheckedIn = true
			r.Timeline = append(r.Timeline, entry{At: at, What: "checked_in"})
		}

	// --- alliance
	case events.ApplicationDrafted:
		a := &appView{ID: ev.ApplicationID, Applicant: ev.Applicant, NameZH: ev.Profile.NameZH, NameEN: ev.Profile.NameEN, Status: "draft"}
		m.apps[a.ID] = a
		p := m.person(ev.Applicant)
		p.apps = append(p.apps, a.ID)
		a.Timeline = append(a.Timeline, entry{At: at, What: "application_drafted"})
	case events.ApplicationEdited:
		if a := m.apps[ev.ApplicationID]; a != nil {
			a.NameZH, a.NameEN = ev.Profile.NameZH, ev.Profile.NameEN
			a.Timeline = append(a.Timeline, entry{At: at, What: "application_edited"})
		}
	case events.ApplicationSubmitted:
		if a := m.apps[ev.ApplicationID]; a != nil {
			a.Status = "submitted"
			a.Timeline = append(a.Timeline, entry{At: at, What: "application_submitted"})
			n(a.Applicant, KindApplicationSubmitted, appLink(a.ID), m.appArgs(a, nil))
		}
	case events.ApplicationChangesRequested:
		if a := m.apps[ev.ApplicationID]; a != nil {
			a.Status = "changes_requested"
			args := m.appArgs(a, map[string]string{"comment": ev.Comment})
			a.Timeline = append(a.Timeline, entry{At: at, What: "changes_requested", Args: args})
			n(a.Applicant, KindChangesRequested, appLink(a.ID), args)
		}
	case events.ApplicationApproved:
		if a := m.apps[ev.ApplicationID]; a != nil {
			a.Status = "approved"
			args := m.appArgs(a, map[string]string{"comment": ev.Comment, "member": ev.MemberID})
			a.Timeline = append(a.Timeline, entry{At: at, What: "application_approved"})
			n(a.Applicant, KindApplicationApproved, appLink(a.ID), args)
		}
	case events.ApplicationRejected:
		if a := m.apps[ev.ApplicationID]; a != nil {
			a.Status = "rejected"
			args := m.appArgs(a, map[string]string{"reason": ev.Reason})
			a.Timeline = append(a.Timeline, entry{At: at, What: "application_declined", Args: args})
			n(a.Applicant, KindApplicationDeclined, appLink(a.ID), args)
		}
	case events.ApplicationWithdrawn:
		if a := m.apps[ev.ApplicationID]; a != nil {
			a.Status = "withdrawn"
			a.Timeline = append(a.Timeline, entry{At: at, What: "application_withdrawn"})
		}

	// --- contest
	case events.ContestCreated:
		m.contests[ev.ContestID] = &contestView{NameZH: ev.NameZH, NameEN: ev.NameEN}
	case events.TeamCreated:
		t := &teamView{ID: ev.TeamID, Contest: ev.ContestID, Name: ev.Name, Owner: ev.OwnerID, Members: []string{ev.OwnerID}, Status: "forming"}
		m.teams[teamKey(ev.ContestID, ev.TeamID)] = t
		p := m.person(ev.OwnerID)
		p.teams = append(p.teams, teamKey(ev.ContestID, ev.TeamID))
		t.Timeline = append(t.Timeline, entry{At: at, What: "team_created"})
	case events.TeamMemberJoined:
		if t := m.teams[teamKey(ev.ContestID, ev.TeamID)]; t != nil {
			args := m.teamArgs(t, map[string]string{"name": ev.Personal.DisplayName})
			m.mentions[ev.MemberID] = append(m.mentions[ev.MemberID], args)
			for _, u := range t.Members {
				n(u, KindTeamJoined, teamLink(t), args)
			}
			t.Members = append(t.Members, ev.MemberID)
			p := m.person(ev.MemberID)
			p.teams = append(p.teams, teamKey(ev.ContestID, ev.TeamID))
			t.Timeline = append(t.Timeline, entry{At: at, What: "team_joined", Args: args})
		}
	case events.TeamMemberLeft:
		if t := m.teams[teamKey(ev.ContestID, ev.TeamID)]; t != nil {
			t.Members = slices.DeleteFunc(t.Members, func(u string) bool { return u == ev.MemberID })
			t.Timeline = append(t.Timeline, entry{At: at, What: "team_left"})
		}
	case events.SubmissionSaved:
		if t := m.teams[teamKey(ev.ContestID, ev.TeamID)]; t != nil {
			t.Submitted, t.Title, t.Status = true, ev.Title, "submitted"
			args := m.teamArgs(t, map[string]string{"title": ev.Title})
			t.Timeline = append(t.Timeline, entry{At: at, What: "submission_received", Args: args})
			for _, u := range t.Members {
				n(u, KindSubmissionReceived, teamLink(t), args)
			}
		}
	case events.FinalistPromoted:
		if t := m.teams[teamKey(ev.ContestID, ev.TeamID)]; t != nil {
			t.Status = "finalist"
			args := m.teamArgs(t, nil)
			t.Timeline = append(t.Timeline, entry{At: at, What: "finalist"})
			for _, u := range t.Members {
				n(u, KindFinalist, teamLink(t), args)
			}
		}
	case events.ResultsPublished:
		for _, res := range ev.Results {
			t := m.teams[teamKey(ev.ContestID, res.TeamID)]
			if t == nil {
				continue
			}
			t.Status = "ranked"
			args := m.teamArgs(t, map[string]string{"rank": strconv.Itoa(res.Rank), "award": res.Award})
			t.Timeline = append(t.Timeline, entry{At: at, What: "results_published", Args: args})
			for _, u := range t.Members {
				n(u, KindResultsPublished, "/contest/"+ev.ContestID+"/results", args)
			}
		}

	// --- blog
	case events.BlogCreated:
		m.blogs[ev.Name] = &blogView{Name: ev.Name, Title: ev.Title, Owner: ev.Owner}
		if ev.Owner != "" {
			p := m.person(ev.Owner)
			p.blogs = append(p.blogs, ev.Name)
		}
	case events.BlogUpdated:
		if b := m.blogs[ev.Name]; b != nil {
			b.Title = ev.Title
		}
	case events.BlogCoauthorAdded:
		if b := m.blogs[ev.Blog]; b != nil && !slices.Contains(b.Coauthors, ev.UserID) {
			b.Coauthors = append(b.Coauthors, ev.UserID)
			p := m.person(ev.UserID)
			p.blogs = append(p.blogs, ev.Blog)
		}
	case events.BlogCoauthorRemoved:
		if b := m.blogs[ev.Blog]; b != nil {
			b.Coauthors = slices.DeleteFunc(b.Coauthors, func(u string) bool { return u == ev.UserID })
			p := m.person(ev.UserID)
			p.blogs = slices.DeleteFunc(p.blogs, func(n string) bool { return n == ev.Blog })
		}
	case events.BlogDeleted:
		// The blog's posts leave their writers' overviews with it.
		delete(m.blogs, ev.Name)
		for k, po := range m.posts {
			if po.Blog == ev.Name {
				delete(m.posts, k)
			}
		}
		for _, p := range m.people {
			p.blogs = slices.DeleteFunc(p.blogs, func(n string) bool { return n == ev.Name })
		}
	case events.PostDrafted:
		po := m.post(ev.Blog, ev.Slug)
		po.Title, po.Revision = ev.Title, ev.Revision
		if po.Status == "" {
			po.Status = "draft"
		}
		po.Timeline = append(po.Timeline, entry{At: at, What: "post_drafted", Args: map[string]string{"revision": strconv.Itoa(ev.Revision)}})
	case events.PostImported:
		po := m.post(ev.Blog, ev.Slug)
		po.Title, po.Status, po.Revision = ev.Title, "published", events.RevisionOf(ev.Revision, e.Revision)
		po.Timeline = append(po.Timeline, entry{At: at, What: "post_imported"})
	case events.PostRevised:
		po := m.post(ev.Blog, ev.Slug)
		po.Title, po.Status, po.Revision = ev.Title, "published", events.RevisionOf(ev.Revision, e.Revision)
		po.Timeline = append(po.Timeline, entry{At: at, What: "post_revised", Args: map[string]string{"revision": strconv.Itoa(po.Revision)}})
		m.tellCurators(ev.Blog, ev.Slug, po, n)
	case events.PostPublished:
		po := m.post(ev.Blog, ev.Slug)
		po.Status, po.Revision = "published", ev.Revision
		po.Timeline = append(po.Timeline, entry{At: at, What: "post_published", Args: map[string]string{"revision": strconv.Itoa(ev.Revision)}})
		if ev.Revision > 1 {
			m.tellCurators(ev.Blog, ev.Slug, po, n)
		}
	case events.PostUnpublished:
		po := m.post(ev.Blog, ev.Slug)
		po.Status = "unpublished"
		po.Timeline = append(po.Timeline, entry{At: at, What: "post_unpublished"})
	case events.PostWithdrawn:
		po := m.post(ev.Blog, ev.Slug)
		po.Status = "withdrawn"
		po.Timeline = append(po.Timeline, entry{At: at, What: "post_withdrawn"})
	case events.CollectionCreated:
		c := &collectionView{ID: ev.ID, Curator: ev.Curator, Title: ev.Title, Chapters: map[string]bool{}}
		for _, ch := range ev.Chapters {
			c.Chapters[ch.Blog+"/"+ch.Slug] = true
		}
		m.collections[ev.ID] = c
	case events.CollectionEdited:
		if c := m.collections[ev.ID]; c != nil {
			c.Title = ev.Title
		}
	case events.CollectionChaptersSet:
		if c := m.collections[ev.ID]; c != nil {
			c.Chapters = map[string]bool{}
			for _, ch := range ev.Chapters {
				c.Chapters[ch.Blog+"/"+ch.Slug] = true
			}
		}

	// --- the notifier's own
	case events.NotificationsRead:
		p := m.person(ev.UserID)
		for _, it := range p.inbox {
			if !it.Read && (ev.All && !it.Created.After(at) || slices.Contains(ev.IDs, it.ID)) {
				it.Read = true
				p.unread--
			}
		}
	case events.EmailPreferenceSet:
		p := m.person(ev.UserID)
		if ev.Kind == "*" && ev.Email {
			clear(p.off)
		} else {
			p.off[ev.Kind] = !ev.Email
		}
	case events.MailClaimed:
		if o := m.mail[ev.NotificationID]; o != nil {
			o.rev, o.attempt, o.leaseUntil = int64(e.Revision), ev.Attempt, ev.LeaseUntil
		}
	case events.MailAttemptFailed:
		if o := m.mail[ev.NotificationID]; o != nil {
			o.rev, o.retryAt, o.leaseUntil = int64(e.Revision), ev.RetryAt, time.Time{}
		}
	case events.MailSent:
		m.sent++
		delete(m.mail, ev.NotificationID)
	case events.MailFailed:
		m.failed = append(m.failed, failedMail{ID: ev.NotificationID, Kind: ev.Kind, User: ev.UserID, Reason: ev.Reason, Attempts: ev.Attempts, At: at})
		delete(m.mail, ev.NotificationID)
	case events.MailCursorMoved:
		if ev.Position.Compare(m.mailAfter) > 0 {
			m.mailAfter = ev.Position
		}
	}
}

// erase drops everything the notifier holds for an erased account: the
// person with their inbox, address, language and mail preferences, their
// registrations, applications and teams as their overview showed them,
// and every mail still due to them, which must never go out. Others keep
// what is theirs: a team keeps its timeline, with "erased person" where
// the name was, a blog its posts. Failed mail stays on the organisers'
// list as a record of the mail system, naming an erased person.
func (m *model) erase(user string) {
	if user == "" {
		return
	}
	m.erased[user] = true
	delete(m.people, user)
	for id, om := range m.mail {
		if om.Note.User == user {
			delete(m.mail, id)
		}
	}
	for id, r := range m.regs {
		if r.Member == user {
			delete(m.regs, id)
		}
	}
	for id, a := range m.apps {
		if a.Applicant == user {
			delete(m.apps, id)
		}
	}
	for _, t := range m.teams {
		t.Members = slices.DeleteFunc(t.Members, func(u string) bool { return u == user })
		if t.Owner == user {
			t.Owner = ""
		}
	}
	for _, b := range m.blogs {
		if b.Owner == user {
			b.Owner = ""
		}
		b.Coauthors = slices.DeleteFunc(b.Coauthors, func(u string) bool { return u == user })
	}
	for _, c := range m.collections {
		if c.Curator == user {
			c.Curator = ""
		}
	}
	for _, args := range m.mentions[user] {
		args["name"] = ""
	}
	delete(m.mentions, user)
}

// isErased reports whether the account has been erased.
func (m *model) isErased(user string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.erased[user]
}

func teamKey(contest, team string) string { return contest + "/" + team }
func regLink(id string) string            { return "/conference/registrations/" + id }
func appLink(id string) string            { return "/alliance/applications/" + id }
func teamLink(t *teamView) string         { return "/contest/" + t.Contest + "/teams/" + t.ID }

func (m *model) post(blog, slug string) *postView {
	k := blog + "/" + slug
	po := m.posts[k]
	if po == nil {
		po = &postView{Blog: blog, Slug: slug}
		m.posts[k] = po
	}
	return po
}

// tellCurators notifies the curator of every collection that holds the
// post: a published book keeps the revision it pinned, and the curator
// decides whether a new edition should take the new text.
func (m *model) tellCurators(blog, slug string, po *postView, n func(user, kind, link string, args map[string]string)) {
	ids := make([]string, 0)
	for id, c := range m.collections {
		if c.Chapters[blog+"/"+slug] && c.Curator != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := m.collections[id]
		n(c.Curator, KindCollectionPostRevised, "/blog/collections/"+id+"/curate", map[string]string{
			"collection": c.Title, "post": po.Title, "revision": strconv.Itoa(po.Revision)})
	}
}

func (m *model) editionArgs(id string, extra map[string]string) map[string]string {
	a := map[string]string{"edition": id}
	if ed := m.editions[id]; ed != nil {
		a["name_zh"], a["name_en"], a["venue"], a["starts_on"] = ed.NameZH, ed.NameEN, ed.Venue, ed.StartsOn
	}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func (m *model) appArgs(ap *appView, extra map[string]string) map[string]string {
	a := map[string]string{"name_zh": ap.NameZH, "name_en": ap.NameEN}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func (m *model) teamArgs(t *teamView, extra map[string]string) map[string]string {
	a := map[string]string{"team": t.Name, "contest": t.Contest}
	if c := m.contests[t.Contest]; c != nil {
		a["name_zh"], a["name_en"] = c.NameZH, c.NameEN
	}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

// notify puts a notification into the person's inbox and, when mail is on
// and the person may be mailed, makes its email due.
func (m *model) notify(e events.Event, prev events.Position, user, kind, link string, args map[string]string, mailOn bool) {
	if user == "" {
		return
	}
	p := m.person(user)
	to := ""
	if p.Verified {
		to = p.Email
	}
	m.notifyTo(e, prev, user, kind, link, to, args, mailOn)
}

func (m *model) notifyTo(e events.Event, prev events.Position, user, kind, link, to string, args map[string]string, mailOn bool) {
	if m.erased[user] {
		return
	}
	info, _ := kindOf(kind)
	p := m.person(user)
	note := &notification{ID: noteID(e.ID, user, kind, "inbox"), Kind: kind, User: user, Created: e.Recorded, Link: link, Args: args}
	if info.Inbox {
		p.inbox = append(p.inbox, note)
		p.unread++
	}
	if !mailOn || to == "" || !p.emailOn(kind) || e.Position.Compare(m.mailAfter) <= 0 {
		return
	}
	id := noteID(e.ID, user, kind, "email")
	m.mail[id] = &outMail{ID: id, Note: note, To: to, after: prev, rev: -1}
}
