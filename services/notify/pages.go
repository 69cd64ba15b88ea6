package notify

import (
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

//go:embed templates i18n
var pageFiles embed.FS

const (
	pathInbox       = "/notify/"
	pathMe          = "/notify/me"
	pathPrefs       = "/notify/preferences"
	pathUnsubscribe = "/notify/unsubscribe"
	pathStaffMail   = "/notify/staff/mail"
	pathUnread      = "/notify/unread"
	pathLogIn       = "/identity/login"
)

// Pages are the notifier's pages: the inbox, My Yunqi, the email
// preferences, the one-click unsubscribe, and the organisers' mail report.
type Pages struct {
	s  *Service
	ui *web.UI
	t  *web.Templates
}

// Pages parses the pages into ui's layout.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("notify pages: %w", err)
	}
	return &Pages{s: s, ui: ui, t: t}, nil
}

// Mount adds the pages to r; session recognises the logged-in visitor.
func (p *Pages) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	r.Route("/notify", func(r chi.Router) {
		r.Use(p.ui.Middleware)
		r.Use(session...)
		r.Use(httpserver.LimitBody(maxBodyBytes))
		r.NotFound(p.ui.NotFound)
		r.Get("/", p.inbox)
		r.Post("/", p.markRead)
		r.Get("/unread", p.unread)
		r.Get("/me", p.me)
		r.Get("/preferences", p.prefsForm)
		r.Post("/preferences", p.savePrefs)
		r.Get("/unsubscribe", p.unsubscribeForm)
		r.Post("/unsubscribe", p.unsubscribe)
		r.Get("/staff/mail", p.staffMail)
	})
}

func (p *Pages) tr(r *http.Request) web.Translator { return p.t.Translator(web.LanguageOf(r)) }

func (p *Pages) visitor(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		next := r.URL.Path
		if r.URL.RawQuery != "" {
			next += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(next), http.StatusSeeOther)
	}
	return who, ok
}

// pageLang is the language titles are written in on a page: the page's.
func pageLang(r *http.Request) string { return string(web.LanguageOf(r)) }

type noteRow struct {
	ID, Kind, Title, Link string
	Created               time.Time
	Read                  bool
}

func rows(ns []overviewNote) []noteRow {
	out := make([]noteRow, len(ns))
	for i, n := range ns {
		out[i] = noteRow{ID: n.ID, Kind: n.Kind, Title: n.Title, Link: n.Link, Created: n.Created, Read: n.Read}
	}
	return out
}

func (p *Pages) inbox(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	items, unread, next := p.s.inboxPage(who.UserID, pageLang(r), r.URL.Query().Get("before"), 30)
	nextHref := ""
	if next != "" {
		nextHref = pathInbox + "?before=" + url.QueryEscape(next)
	}
	p.t.Render(w, r, http.StatusOK, "inbox", web.Page{Title: "notify.inbox.title", Data: map[string]any{
		"Items": rows(items), "Unread": unread, "Next": nextHref, "MailOn": p.s.mailOn()}})
}

// markRead takes the inbox's forms: one item (id, then on to its link
// when open is set) or all of them.
func (p *Pages) markRead(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	ev := events.NotificationsRead{UserID: who.UserID}
	to := pathInbox
	if id := r.PostFormValue("id"); id != "" {
		if !p.s.hasNote(who.UserID, id) {
			p.ui.NotFound(w, r)
			return
		}
		ev.IDs = []string{id}
		if link := p.s.noteLink(who.UserID, id); r.PostFormValue("open") != "" && link != "" {
			to = link
		}
	} else {
		ev.All = true
	}
	if err := p.s.markRead(r.Context(), r, who.UserID, ev); err != nil {
		p.ui.Error(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// unread answers the bell in the page frame, which every page has,
// whichever service drew it.
func (p *Pages) unread(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "private, no-store")
	who, ok := auth.FromContext(r.Context())
	if !ok {
		httpserver.WriteJSON(w, http.StatusOK, map[string]any{"unread": 0, "signed_in": false})
		return
	}
	n := p.s.unread(who.UserID)
	tr := p.tr(r)
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"unread": n, "signed_in": true,
		"label": tr.T("notify.bell.label", "n", tr.Number(int64(n)))})
}

type timelineRow struct {
	At   time.Time
	Text string
}

func (p *Pages) timeline(tr web.Translator, items []timelineItem) []timelineRow {
	out := make([]timelineRow, 0, len(items))
	for _, it := range items {
		args := []any{}
		for k, v := range it.Args {
			switch k {
			case "deadline":
				v = formatWhen(tr.Lang == web.Chinese, v)
			case "name":
				v = tr.Person(v)
			}
			args = append(args, k, v)
		}
		key := "notify.event." + it.What
		if !tr.Has(key) {
			continue
		}
		out = append(out, timelineRow{At: it.At, Text: tr.T(key, args...)})
	}
	return out
}

func (p *Pages) me(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	tr := p.tr(r)
	zh := tr.Lang == web.Chinese
	o := p.s.overview(who.UserID, pageLang(r), 10)
	type thing struct {
		Href, Name, Status, Extra string
		Timeline                  []timelineRow
	}
	status := func(kind, s string) string {
		if k := "notify.status." + kind + "." + s; tr.Has(k) {
			return tr.T(k)
		}
		return s
	}
	var regs, apps, teams, posts []thing
	for _, x := range o.Registrations {
		t := thing{Href: regLink(x.ID), Name: pickName(zh, x.NameZH, x.NameEN), Status: status("registration", x.Status),
			Timeline: p.timeline(tr, x.Timeline)}
		if t.Name == "" {
			t.Name = x.Edition
		}
		if x.CheckedIn {
			t.Extra = tr.T("notify.me.checked_in")
		}
		regs = append(regs, t)
	}
	for _, x := range o.Applications {
		apps = append(apps, thing{Href: appLink(x.ID), Name: pickName(zh, x.NameZH, x.NameEN), Status: status("application", x.Status),
			Timeline: p.timeline(tr, x.Timeline)})
	}
	for _, x := range o.Teams {
		t := thing{Href: "/contest/" + x.Contest + "/teams/" + x.ID, Name: x.Team + " · " + pickName(zh, x.NameZH, x.NameEN),
			Status: status("team", x.Status), Extra: x.Title, Timeline: p.timeline(tr, x.Timeline)}
		teams = append(teams, t)
	}
	for _, x := range o.Posts {
		posts = append(posts, thing{Href: "/blog/" + x.Blog + "/" + x.Slug, Name: x.Title, Status: status("post", x.Status),
			Extra: x.BlogTitle + " · " + tr.T("notify.me.revision", "n", fmt.Sprint(x.Revision)), Timeline: p.timeline(tr, x.Timeline)})
	}
	p.t.Render(w, r, http.StatusOK, "me", web.Page{Title: "notify.me.title", Data: map[string]any{
		"Registrations": regs, "Applications": apps, "Teams": teams, "Posts": posts,
		"Notes": rows(o.Notifications), "Unread": o.Unread, "Verified": o.EmailVerified, "MailOn": p.s.mailOn()}})
}

type prefRow struct {
	Kind, Label, Group string
	Email              bool
}

func (p *Pages) prefsRows(tr web.Translator, user string) ([]prefRow, bool, string) {
	prefs, verified, email := p.s.prefs(user)
	out := make([]prefRow, len(prefs))
	for i, k := range prefs {
		out[i] = prefRow{Kind: k.Kind, Label: tr.T("notify.kind." + k.Kind), Group: tr.T("notify.group." + k.Group), Email: k.Email}
	}
	return out, verified, email
}

func (p *Pages) prefsForm(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	p.renderPrefs(w, r, who.UserID, http.StatusOK, "")
}

func (p *Pages) renderPrefs(w http.ResponseWriter, r *http.Request, user string, status int, saved string) {
	tr := p.tr(r)
	rowsOut, verified, email := p.prefsRows(tr, user)
	p.t.Render(w, r, status, "preferences", web.Page{Title: "notify.prefs.title", Data: map[string]any{
		"Kinds": rowsOut, "Verified": verified, "HasEmail": email != "", "MailOn": p.s.mailOn(), "Saved": saved}})
}

func (p *Pages) savePrefs(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	want := map[string]bool{}
	for _, k := range kinds {
		if k.Optional && k.Inbox {
			want[k.Kind] = r.PostForm.Has("email." + k.Kind)
		}
	}
	if err := p.s.setPrefs(r.Context(), who.UserID, want, "preferences"); err != nil {
		p.ui.Error(w, r, err)
		return
	}
	p.renderPrefs(w, r, who.UserID, http.StatusOK, p.tr(r).T("notify.prefs.saved"))
}

// unsubscribeForm is where the List-Unsubscribe link leads a person who
// clicks it: a button, because a GET must change nothing (mail scanners
// follow links); the one-click POST of RFC 8058 goes to the same address.
func (p *Pages) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	_, kind, err := p.s.readUnsubToken(token)
	p.renderUnsub(w, r, token, kind, err, false)
}

func (p *Pages) renderUnsub(w http.ResponseWriter, r *http.Request, token, kind string, err error, done bool) {
	tr := p.tr(r)
	status := http.StatusOK
	problem := ""
	switch {
	case errors.Is(err, errTokenExpired):
		status, problem = http.StatusGone, tr.T("notify.unsub.expired")
	case err != nil:
		status, problem = http.StatusNotFound, tr.T("notify.unsub.forged")
	}
	label := tr.T("notify.unsub.all_kinds")
	if kind != "" && kind != "*" && tr.Has("notify.kind."+kind) {
		label = tr.T("notify.kind." + kind)
	}
	p.t.Render(w, r, status, "unsubscribe", web.Page{Title: "notify.unsub.title", Data: map[string]any{
		"Token": token, "Kind": label, "Problem": problem, "Done": done}})
}

func (p *Pages) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	token := r.URL.Query().Get("t")
	if token == "" {
		token = r.PostFormValue("t")
	}
	user, kind, err := p.s.readUnsubToken(token)
	if err == nil {
		if _, ok := kindOf(kind); !ok {
			err = errTokenForged
		}
	}
	if err != nil {
		p.renderUnsub(w, r, token, kind, err, false)
		return
	}
	if err := p.s.setPrefs(r.Context(), user, map[string]bool{kind: false}, "unsubscribe"); err != nil {
		p.ui.Error(w, r, err)
		return
	}
	p.renderUnsub(w, r, token, kind, nil, true)
}

func (p *Pages) staffMail(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	if !who.HasRole(auth.RoleOrganizer) {
		p.t.Render(w, r, http.StatusForbidden, "forbidden", web.Page{Title: "notify.forbidden.title"})
		return
	}
	tr := p.tr(r)
	failed, sent, pending := p.s.mailReport(200)
	type row struct {
		Kind, Who, Reason, Href string
		Attempts                int
		At                      time.Time
	}
	var out []row
	for _, f := range failed {
		name := f.Name
		switch {
		case f.erased:
			name = tr.Person("")
		case name == "":
			name = f.User
		}
		out = append(out, row{Kind: tr.T("notify.kind." + f.Kind), Who: name, Href: "/identity/people/" + url.PathEscape(f.User),
			Reason: strings.TrimSpace(f.Reason), Attempts: f.Attempts, At: f.At})
	}
	p.t.Render(w, r, http.StatusOK, "mail", web.Page{Title: "notify.mail.title", Data: map[string]any{
		"MailOn": p.s.mailOn(), "Sent": tr.Number(int64(sent)), "Pending": tr.Number(int64(pending)), "Failed": out}})
}

// noteLink is where a notification leads.
func (s *Service) noteLink(user, id string) string {
	m := s.model
	m.mu.RLock()
	defer m.mu.RUnlock()
	if p := m.people[user]; p != nil {
		for _, n := range p.inbox {
			if n.ID == id {
				return n.Link
			}
		}
	}
	return ""
}
