package notify

import (
	"maps"
	"slices"
	"time"
)

// The overview is "My Yunqi": everything a person owns, each thing with
// its owner timeline, newest first. It holds only what the owner may see:
// no reviewer, judge, gate or device, and nobody else's personal data
// beyond a teammate's name, which the team page shows them too.

type timelineItem struct {
	At   time.Time         `json:"at"`
	What string            `json:"what"`
	Args map[string]string `json:"args,omitempty"`
}

type overviewReg struct {
	ID         string         `json:"id"`
	Edition    string         `json:"edition"`
	NameZH     string         `json:"edition_name_zh"`
	NameEN     string         `json:"edition_name_en"`
	StartsOn   string         `json:"starts_on,omitempty"`
	Status     string         `json:"status"`
	TicketType string         `json:"ticket_type,omitempty"`
	CheckedIn  bool           `json:"checked_in"`
	Timeline   []timelineItem `json:"timeline"`
}

type overviewApp struct {
	ID       string         `json:"id"`
	NameZH   string         `json:"name_zh"`
	NameEN   string         `json:"name_en"`
	Status   string         `json:"status"`
	Timeline []timelineItem `json:"timeline"`
}

type overviewTeam struct {
	ID        string         `json:"id"`
	Contest   string         `json:"contest"`
	NameZH    string         `json:"contest_name_zh"`
	NameEN    string         `json:"contest_name_en"`
	Team      string         `json:"team"`
	Status    string         `json:"status"`
	Submitted bool           `json:"submitted"`
	Title     string         `json:"title,omitempty"`
	Owner     bool           `json:"owner"`
	Timeline  []timelineItem `json:"timeline"`
}

type overviewPost struct {
	Blog      string         `json:"blog"`
	BlogTitle string         `json:"blog_title"`
	Slug      string         `json:"slug"`
	Title     string         `json:"title"`
	Status    string         `json:"status"`
	Revision  int            `json:"revision"`
	Timeline  []timelineItem `json:"timeline"`
}

type overviewNote struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Title   string    `json:"title"`
	Created time.Time `json:"created"`
	Read    bool      `json:"read"`
	Link    string    `json:"link,omitempty"`
}

// Overview is GET /api/notify/overview.
type Overview struct {
	Registrations []overviewReg  `json:"registrations"`
	Applications  []overviewApp  `json:"applications"`
	Teams         []overviewTeam `json:"teams"`
	Posts         []overviewPost `json:"posts"`
	Notifications []overviewNote `json:"notifications"`
	Unread        int            `json:"unread"`
	EmailVerified bool           `json:"email_verified"`
}

func newestFirst(es []entry) []timelineItem {
	out := make([]timelineItem, len(es))
	for i, e := range es {
		// A copy: an erasure blanks a name in the model's map, and the
		// answer is read after the lock is let go.
		out[len(es)-1-i] = timelineItem{At: e.At, What: e.What, Args: maps.Clone(e.Args)}
	}
	return out
}

// overview gathers what user owns; notes bounds the notifications listed.
func (s *Service) overview(user, lang string, notes int) Overview {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	o := Overview{Registrations: []overviewReg{}, Applications: []overviewApp{}, Teams: []overviewTeam{},
		Posts: []overviewPost{}, Notifications: []overviewNote{}}
	p := m.people[user]
	if p == nil {
		return o
	}
	o.Unread, o.EmailVerified = p.unread, p.Verified
	for i := len(p.regs) - 1; i >= 0; i-- {
		r := m.regs[p.regs[i]]
		if r == nil {
			continue
		}
		v := overviewReg{ID: r.ID, Edition: r.Edition, Status: r.Status, TicketType: r.TicketType, CheckedIn: r.CheckedIn,
			Timeline: newestFirst(r.Timeline)}
		if ed := m.editions[r.Edition]; ed != nil {
			v.NameZH, v.NameEN, v.StartsOn = ed.NameZH, ed.NameEN, ed.StartsOn
		}
		o.Registrations = append(o.Registrations, v)
	}
	for i := len(p.apps) - 1; i >= 0; i-- {
		if a := m.apps[p.apps[i]]; a != nil {
			o.Applications = append(o.Applications, overviewApp{ID: a.ID, NameZH: a.NameZH, NameEN: a.NameEN, Status: a.Status,
				Timeline: newestFirst(a.Timeline)})
		}
	}
	for i := len(p.teams) - 1; i >= 0; i-- {
		t := m.teams[p.teams[i]]
		if t == nil || !slices.Contains(t.Members, user) {
			continue
		}
		v := overviewTeam{ID: t.ID, Contest: t.Contest, Team: t.Name, Status: t.Status, Submitted: t.Submitted, Title: t.Title,
			Owner: t.Owner == user, Timeline: newestFirst(t.Timeline)}
		if c := m.contests[t.Contest]; c != nil {
			v.NameZH, v.NameEN = c.NameZH, c.NameEN
		}
		o.Teams = append(o.Teams, v)
	}
	for _, b := range p.blogs {
		bl := m.blogs[b]
		if bl == nil {
			continue
		}
		var keys []string
		for k, po := range m.posts {
			if po.Blog == b {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			po := m.posts[k]
			o.Posts = append(o.Posts, overviewPost{Blog: b, BlogTitle: bl.Title, Slug: po.Slug, Title: po.Title, Status: po.Status,
				Revision: po.Revision, Timeline: newestFirst(po.Timeline)})
		}
	}
	for i := len(p.inbox) - 1; i >= 0 && len(o.Notifications) < notes; i-- {
		n := p.inbox[i]
		o.Notifications = append(o.Notifications, overviewNote{ID: n.ID, Kind: n.Kind, Title: s.render.title(lang, n),
			Created: n.Created, Read: n.Read, Link: n.Link})
	}
	return o
}

// inboxPage is one page of a person's inbox, newest first, before the
// item with id before (empty: from the newest).
func (s *Service) inboxPage(user, lang, before string, limit int) (items []overviewNote, unread int, next string) {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	items = []overviewNote{}
	p := m.people[user]
	if p == nil {
		return items, 0, ""
	}
	i := len(p.inbox) - 1
	if before != "" {
		for i >= 0 && p.inbox[i].ID != before {
			i--
		}
		i--
	}
	for ; i >= 0 && len(items) < limit; i-- {
		n := p.inbox[i]
		items = append(items, overviewNote{ID: n.ID, Kind: n.Kind, Title: s.render.title(lang, n), Created: n.Created, Read: n.Read, Link: n.Link})
	}
	if i >= 0 && len(items) > 0 {
		next = items[len(items)-1].ID
	}
	return items, p.unread, next
}

func (s *Service) hasNote(user, id string) bool {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.people[user]; p != nil {
		for _, n := range p.inbox {
			if n.ID == id {
				return true
			}
		}
	}
	return false
}

func (s *Service) unread(user string) int {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.people[user]; p != nil {
		return p.unread
	}
	return 0
}

// langFor is the language the person chose for messages.
func (s *Service) langFor(user string) string {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.people[user]; p != nil {
		return p.Lang
	}
	return "zh-CN"
}

type prefView struct {
	Kind     string `json:"kind"`
	Group    string `json:"group"`
	Email    bool   `json:"email"`
	Optional bool   `json:"optional"`
}

func (s *Service) prefs(user string) (out []prefView, verified bool, email string) {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := m.people[user]
	for _, k := range kinds {
		if !k.Inbox {
			continue
		}
		on := true
		if p != nil {
			on = p.emailOn(k.Kind)
		}
		out = append(out, prefView{Kind: k.Kind, Group: k.Group, Email: on, Optional: k.Optional})
	}
	if p != nil {
		verified, email = p.Verified, p.Email
	}
	return out, verified, email
}

type failedView struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	User     string    `json:"user_id"`
	Name     string    `json:"user_name"`
	Reason   string    `json:"reason"`
	Attempts int       `json:"attempts"`
	At       time.Time `json:"at"`
	erased   bool      // the person's account was erased
}

// mailReport is the organisers' view of mail: counts and the failures,
// newest first. Addresses are not shown: the person's id and name are
// enough to reach them, and the address is theirs.
func (s *Service) mailReport(limit int) (failed []failedView, sent, pending int) {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	failed = []failedView{}
	for i := len(m.failed) - 1; i >= 0 && len(failed) < limit; i-- {
		f := m.failed[i]
		v := failedView{ID: f.ID, Kind: f.Kind, User: f.User, Reason: f.Reason, Attempts: f.Attempts, At: f.At}
		if p := m.people[f.User]; p != nil {
			v.Name = p.Name
		}
		v.erased = m.erased[f.User]
		failed = append(failed, v)
	}
	return failed, m.sent, len(m.mail)
}

// Unread is how many notifications user has not read, for the page
// frame's bell.
func (s *Service) Unread(user string) int { return s.unread(user) }
