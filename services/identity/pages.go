package identity

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

//go:embed templates i18n
var pageFiles embed.FS

// Pages are the identity service's HTML pages under /identity/: sign up,
// log in, log out, "My Yunqi" (profile and timeline) and public profiles.
// They call the same decisions as the JSON API.
type Pages struct {
	s  *Service
	ui *web.UI
	t  *web.Templates
}

// Pages parses the identity pages into ui's layout. A template or
// catalogue error is returned here, at start-up.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("identity pages: %w", err)
	}
	return &Pages{s: s, ui: ui, t: t}, nil
}

// Page addresses.
const (
	pathSignUp = "/identity/signup"
	pathLogIn  = "/identity/login"
	pathMe     = "/identity/me"
	pathPeople = "/identity/people/"
)

// maxFormBytes bounds a page's form; a full profile is far below it.
const maxFormBytes = 64 << 10

// Mount adds the pages to r.
func (p *Pages) Mount(r chi.Router) {
	r.Route("/identity", func(r chi.Router) {
		r.Use(p.ui.Middleware, p.s.PageSession, httpserver.LimitBody(maxFormBytes))
		r.NotFound(p.ui.NotFound)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, pathMe, http.StatusSeeOther)
		})
		r.Get("/signup", p.signUpForm)
		r.Post("/signup", p.signUp)
		r.Get("/login", p.logInForm)
		r.Post("/login", p.logIn)
		r.Post("/logout", p.logOut)
		r.Get("/me", p.me)
		r.Post("/me", p.saveProfile)
		r.Post("/me/language", p.saveLanguage)
		r.Post("/me/email", p.changeEmail)
		r.Post("/me/verification", p.resendVerification)
		r.Get("/me/export", p.exportData)
		r.Post("/me/erase", p.eraseAccount)
		// The address the notifier's mails link to; see verifyEmail.
		r.Get("/verify-email", p.verifyEmail)
		r.Get("/people/{id}", p.person)
		p.mountRoles(r)
		// PageSession has renewed the visitor's cookies (or cleared dead
		// ones) by the time this runs; all that is left is to go back.
		r.Get("/session/renew", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		})
	})
}

func (p *Pages) tr(r *http.Request) web.Translator { return p.t.Translator(web.LanguageOf(r)) }

func writeInfoOf(r *http.Request) writeInfo {
	wi := writeInfo{requestID: httpserver.RequestID(r.Context())}
	if who, ok := auth.FromContext(r.Context()); ok {
		wi.actor = who.UserID
	}
	return wi
}

// parseForm reads a posted form, answering a malformed or oversized one
// itself.
func (p *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if httpserver.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		p.ui.BadRequest(w, r, status)
		return false
	}
	return true
}

// signUpData is the sign-up page.
type signUpData struct{ Form *web.Form }

func (p *Pages) signUpForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := auth.FromContext(r.Context()); ok {
		http.Redirect(w, r, pathMe, http.StatusSeeOther)
		return
	}
	p.t.Render(w, r, http.StatusOK, "signup", web.Page{Title: "identity.signup.title", Data: signUpData{Form: web.NewForm()}})
}

func (p *Pages) signUp(w http.ResponseWriter, r *http.Request) {
	if !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	form := web.NewForm()
	in := signUpInput{
		Email:       r.PostForm.Get("email"),
		Password:    r.PostForm.Get("password"),
		DisplayName: r.PostForm.Get("display_name"),
	}
	form.Set("email", strings.TrimSpace(in.Email))
	form.Set("display_name", in.DisplayName)
	again := func(status int) {
		p.t.Render(w, r, status, "signup", web.Page{Title: "identity.signup.title", Data: signUpData{Form: form}})
	}
	if addressLimited(p.s.limits.signUpAddress, scopeSignUp, r) {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.s.limits.signUpWindow.Seconds())))
		form.Fail("", tr.T("identity.limit.signup", "wait", tr.Duration(p.s.limits.signUpWindow)))
		again(http.StatusTooManyRequests)
		return
	}
	// Messages are written in the language the person signed up in.
	in.Lang = string(web.LanguageOf(r))
	wi := writeInfoOf(r)
	id, err := p.s.signUp(r.Context(), in, wi)
	var invalid *ValidationError
	switch {
	case errors.As(err, &invalid):
		failFields(form, tr, invalid)
		again(http.StatusUnprocessableEntity)
		return
	case errors.Is(err, ErrEmailTaken):
		form.Fail("email", tr.T("identity.signup.taken"))
		again(http.StatusConflict)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	}
	// A new account is logged in at once; making people type the password
	// they have just chosen again proves nothing.
	u, _, err := loadUser(r.Context(), p.s.store, id)
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	res, err := p.s.startSession(r.Context(), u, wi)
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	p.s.setPageCookies(w, r, res)
	p.s.rememberDevice(w, r, res.userID)
	p.ui.SetFlash(w, r, "identity.flash.welcome")
	http.Redirect(w, r, pathMe, http.StatusSeeOther)
}

// logInData is the log-in page.
type logInData struct {
	Form *web.Form
	Next string
}

func (p *Pages) logInForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := auth.FromContext(r.Context()); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.t.Render(w, r, http.StatusOK, "login", web.Page{Title: "identity.login.title", Data: logInData{Form: web.NewForm(), Next: next}})
}

func (p *Pages) logIn(w http.ResponseWriter, r *http.Request) {
	if !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	form := web.NewForm()
	email, password := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	form.Set("email", email)
	again := func(status int) {
		p.t.Render(w, r, status, "login", web.Page{Title: "identity.login.title", Data: logInData{Form: form, Next: next}})
	}
	if email == "" {
		form.Fail("email", tr.T("identity.invalid.email.required"))
	}
	if password == "" {
		form.Fail("password", tr.T("identity.invalid.password.required"))
	}
	if !form.Valid() {
		again(http.StatusUnprocessableEntity)
		return
	}
	if addressLimited(p.s.limits.logInAddress, scopeLogIn, r) {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.s.limits.logInWindow.Seconds())))
		form.Fail("", tr.T("identity.limit.login", "wait", tr.Duration(p.s.limits.logInWindow)))
		again(http.StatusTooManyRequests)
		return
	}
	res, err := p.s.logIn(r.Context(), email, password, clientOf(r), writeInfoOf(r))
	var held *throttledError
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		form.Fail("", tr.T("identity.login.wrong"))
		again(http.StatusUnprocessableEntity)
		return
	case errors.As(err, &held):
		heldBack(w, form, tr, held)
		again(http.StatusTooManyRequests)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	}
	p.s.setPageCookies(w, r, res)
	p.s.rememberDevice(w, r, res.userID)
	p.ui.SetFlash(w, r, "identity.flash.logged_in")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// heldBack tells the visitor on form how long a brake on failed log-ins
// holds their attempt back, in the page's language.
func heldBack(w http.ResponseWriter, form *web.Form, tr web.Translator, held *throttledError) {
	w.Header().Set("Retry-After", strconv.Itoa(held.retryAfter()))
	form.Fail("", tr.T(held.catalogueKey(), "wait", tr.Duration(time.Duration(held.retryAfter())*time.Second)))
}

// safeNext keeps a return address only when it is a path on this site:
// "//evil.example" and "https://…" would make the log-in page an open
// redirect.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return pathMe
	}
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" {
		return pathMe
	}
	return u.RequestURI()
}

// logOut ends the browser's session and revokes its access cookie's token.
// Like the API it succeeds whatever the cookies held: logging out twice is
// not an error to the person doing it.
func (p *Pages) logOut(w http.ResponseWriter, r *http.Request) {
	// The page session has verified the access cookie, or refreshed it
	// into a new token just now: either is the token to revoke.
	if who, ok := auth.FromContext(r.Context()); ok && who.TokenID != "" {
		if err := p.s.revokeAccess(r.Context(), who.TokenID, who.UserID, who.ExpiresAt, writeInfoOf(r)); err != nil {
			p.ui.Error(w, r, err)
			return
		}
	}
	if token := refreshTokenFromCookie(r); token != "" {
		err := p.s.logOut(r.Context(), token, writeInfoOf(r))
		if err != nil && !errors.Is(err, ErrSessionInvalid) {
			p.ui.Error(w, r, err)
			return
		}
	}
	p.s.clearPageCookies(w, r)
	p.ui.SetFlash(w, r, "identity.flash.logged_out")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// meData is the "My Yunqi" page: the account, the profile form and the
// account's timeline.
type meData struct {
	ID            string
	Email         string
	EmailVerified bool
	Roles         []string // translated
	Form          *web.Form
	// The account's smaller forms, each scoped so their ids differ, and
	// Failed, the one whose errors the summary at the top lists.
	LangForm, EmailForm, VerifyForm, EraseForm, Failed *web.Form
	Langs                                              []web.Option
	LinkRows                                           []linkRow
	Published                                          bool
	PublicPath                                         string
	Timeline                                           []timelineRow
	TimelineBehind                                     bool
}

type linkRow struct {
	Row                int // 1-based, as people count
	LabelName, URLName string
}

type timelineRow struct {
	At   time.Time
	Text string
}

func (p *Pages) requireVisitor(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	}
	return who, ok
}

// loadVisitor loads the visitor's account. An account that no longer exists
// (erased) logs the browser out.
func (p *Pages) loadVisitor(w http.ResponseWriter, r *http.Request, who auth.Principal) (User, events.Position, bool) {
	u, last, err := loadUserWithPosition(r.Context(), p.s.store, who.UserID)
	if errors.Is(err, ErrUserNotFound) {
		p.s.clearPageCookies(w, r)
		http.Redirect(w, r, pathLogIn, http.StatusSeeOther)
		return User{}, events.Start, false
	}
	if err != nil {
		p.ui.Error(w, r, err)
		return User{}, events.Start, false
	}
	return u, last, true
}

// loadUserWithPosition is loadUser that also says where in the log the
// user's newest event is, for waiting on the timeline.
func loadUserWithPosition(ctx context.Context, store events.Store, id string) (User, events.Position, error) {
	if _, err := uuid.Parse(id); err != nil {
		return User{}, events.Start, ErrUserNotFound
	}
	rs, _, err := readStream(ctx, store, events.UserStream(id))
	if err != nil {
		return User{}, events.Start, err
	}
	u := replayRecorded(rs)
	if !u.Registered {
		return User{}, events.Start, ErrUserNotFound
	}
	return u, rs[len(rs)-1].Position, nil
}

func (p *Pages) me(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	u, last, ok := p.loadVisitor(w, r, who)
	if !ok {
		return
	}
	p.renderMe(w, r, http.StatusOK, u, meForms{profile: profileForm(u)}, last)
}

// meForms are the forms of the "My Yunqi" page; nil ones start empty (or
// with the saved value).
type meForms struct{ profile, lang, email, verify, erase *web.Form }

// timelineWait bounds how long a page waits for the timeline to show an
// event just written (the projection follows the log a moment behind).
const timelineWait = 2 * time.Second

func (p *Pages) renderMe(w http.ResponseWriter, r *http.Request, status int, u User, forms meForms, last events.Position) {
	tr := p.tr(r)
	form := forms.profile
	if form == nil {
		form = profileForm(u)
	}
	if forms.lang == nil {
		forms.lang = web.NewFormIn("lang")
		forms.lang.Set("lang", u.Lang)
	}
	if forms.email == nil {
		forms.email = web.NewFormIn("email")
	}
	if forms.verify == nil {
		forms.verify = web.NewFormIn("verify")
	}
	if forms.erase == nil {
		forms.erase = web.NewFormIn("erase")
	}
	// The visitor's own newest events: in their user stream and in the
	// session they are using now (a log-in they have just made).
	if id, _, ok := parseRefreshToken(refreshTokenFromCookie(r)); ok {
		evs, err := p.s.store.ReadStream(r.Context(), events.AuthSessionStream(id),
			events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
		if err == nil && len(evs) == 1 && evs[0].Position.Compare(last) > 0 {
			last = evs[0].Position
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), timelineWait)
	caughtUp := p.s.timeline.follower.WaitFor(ctx, last)
	cancel()

	entries, _ := p.s.timeline.page(u.ID, -1, defaultPageSize)
	d := meData{
		ID:             u.ID,
		Email:          u.Email,
		EmailVerified:  u.EmailVerified,
		Form:           form,
		LangForm:       forms.lang,
		EmailForm:      forms.email,
		VerifyForm:     forms.verify,
		EraseForm:      forms.erase,
		Failed:         form,
		PublicPath:     pathPeople + u.ID,
		TimelineBehind: !caughtUp,
	}
	for _, f := range []*web.Form{forms.lang, forms.email, forms.verify, forms.erase} {
		if !f.Valid() {
			d.Failed = f
		}
	}
	for _, l := range []string{langChinese, langEnglish} {
		d.Langs = append(d.Langs, web.Option{Value: l, Label: langName(tr, l)})
	}
	_, d.Published = publicView(u)
	for _, role := range u.Roles {
		d.Roles = append(d.Roles, roleName(tr, role))
	}
	for _, e := range entries {
		d.Timeline = append(d.Timeline, timelineRow{At: e.At, Text: timelineText(tr, e)})
	}
	rows := max(3, min(maxLinks, len(u.Profile.Links)+1))
	for i := maxLinks - 1; i >= rows; i-- {
		if form.Value(linkField("label", i)) != "" || form.Value(linkField("url", i)) != "" || form.Error(linkField("url", i)) != "" {
			rows = i + 1
			break
		}
	}
	for i := range rows {
		d.LinkRows = append(d.LinkRows, linkRow{
			Row: i + 1, LabelName: linkField("label", i), URLName: linkField("url", i),
		})
	}
	p.t.Render(w, r, status, "me", web.Page{Title: "identity.me.title", Data: d})
}

func linkField(part string, i int) string { return fmt.Sprintf("link_%s_%d", part, i) }

// profileForm fills the form with the saved profile.
func profileForm(u User) *web.Form {
	f := web.NewForm()
	f.Set("display_name", u.Profile.DisplayName)
	f.Set("bio", u.Profile.Bio)
	f.Set("city", u.Profile.City)
	f.Set("skills", strings.Join(u.Profile.Skills, "\n"))
	for i, l := range u.Profile.Links {
		f.Set(linkField("label", i), l.Label)
		f.Set(linkField("url", i), l.URL)
	}
	for name, on := range map[string]bool{
		"display_name": u.Publish.DisplayName, "bio": u.Publish.Bio, "city": u.Publish.City,
		"skills": u.Publish.Skills, "links": u.Publish.Links,
	} {
		if on {
			f.Set("publish_"+name, "on")
		}
	}
	return f
}

// splitSkills reads the skills box: one per line, or separated by commas
// (ASCII or full-width) or the enumeration comma 、.
func splitSkills(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == '，' || r == '、'
	})
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (p *Pages) saveProfile(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	if !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	form := web.NewForm()
	pf := r.PostForm
	doc := profileDoc{
		DisplayName: pf.Get("display_name"),
		Bio:         pf.Get("bio"),
		City:        pf.Get("city"),
		Skills:      splitSkills(pf.Get("skills")),
		Publish: events.ProfilePublish{
			DisplayName: pf.Get("publish_display_name") != "",
			Bio:         pf.Get("publish_bio") != "",
			City:        pf.Get("publish_city") != "",
			Skills:      pf.Get("publish_skills") != "",
			Links:       pf.Get("publish_links") != "",
		},
	}
	for _, name := range []string{"display_name", "bio", "city", "skills",
		"publish_display_name", "publish_bio", "publish_city", "publish_skills", "publish_links"} {
		form.Set(name, pf.Get(name))
	}
	for i := range maxLinks {
		label, link := pf.Get(linkField("label", i)), pf.Get(linkField("url", i))
		form.Set(linkField("label", i), label)
		form.Set(linkField("url", i), link)
		doc.Links = append(doc.Links, events.ProfileLink{Label: label, URL: link})
	}
	// Trailing empty rows are the form's spare rows, not links; the
	// backend skips empty rows anyway, and keeping the others keeps each
	// error's index equal to its row.
	for len(doc.Links) > 0 && doc.Links[len(doc.Links)-1] == (events.ProfileLink{}) {
		doc.Links = doc.Links[:len(doc.Links)-1]
	}

	u, err := p.s.updateProfile(r.Context(), who.UserID, doc, writeInfoOf(r))
	var invalid *ValidationError
	switch {
	case errors.As(err, &invalid):
		failFields(form, tr, invalid)
		u, last, ok := p.loadVisitor(w, r, who)
		if ok {
			p.renderMe(w, r, http.StatusUnprocessableEntity, u, meForms{profile: form}, last)
		}
		return
	case errors.Is(err, ErrUserNotFound):
		p.s.clearPageCookies(w, r)
		http.Redirect(w, r, pathLogIn, http.StatusSeeOther)
		return
	case err != nil:
		p.ui.Error(w, r, err)
		return
	}
	if u.DisplayName != who.DisplayName {
		// The header shows the name from the access token; a new one
		// makes the change show at once rather than at the next refresh.
		if token, err := p.s.issueAccessToken(u); err == nil {
			p.s.setAccessCookie(w, r, token)
		}
	}
	p.ui.SetFlash(w, r, "identity.flash.saved")
	http.Redirect(w, r, pathMe, http.StatusSeeOther)
}

// personData is a public profile: only what its owner published, and
// what they published elsewhere on Yunqi.
type personData struct {
	Name      string
	Initial   string
	Bio       string
	City      string
	Skills    []string
	Links     []events.ProfileLink
	Entries   []entryRow
	Posts     []PublicPost
	MorePosts int // matching posts beyond those listed
}

// entryRow is a contest entry in the visitor's language.
type entryRow struct {
	Title, Contest, Award string // Award empty: a finalist without one
	Year, Rank            int
	PublishedAt           time.Time
	Link                  string
}

// inLanguage picks the name in the page's language, or the other one when
// that is all there is.
func inLanguage(tr web.Translator, zh, en string) string {
	if tr.Lang == web.Chinese && zh != "" || en == "" {
		return zh
	}
	return en
}

func (p *Pages) person(w http.ResponseWriter, r *http.Request) {
	u, _, err := loadUser(r.Context(), p.s.store, chi.URLParam(r, "id"))
	view, published := publicView(u)
	if errors.Is(err, ErrUserNotFound) || err == nil && !published {
		// Someone who publishes nothing looks exactly like no one.
		p.ui.NotFound(w, r)
		return
	}
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	view = p.s.works.withWorks(view)
	tr := p.tr(r)
	d := personData{Name: view.DisplayName, Bio: view.Bio, City: view.City, Skills: view.Skills, Links: view.Links,
		Posts: view.Posts, MorePosts: view.PostsTotal - len(view.Posts)}
	for _, e := range view.Entries {
		d.Entries = append(d.Entries, entryRow{
			Title: e.Title, Contest: inLanguage(tr, e.ContestNameZH, e.ContestNameEN),
			Award: inLanguage(tr, e.AwardNameZH, e.AwardNameEN), Year: e.Year, Rank: e.Rank,
			PublishedAt: e.PublishedAt, Link: e.Link,
		})
	}
	page := web.Page{Title: "identity.person.title", Data: d}
	if d.Name != "" {
		r, _ := utf8.DecodeRuneInString(d.Name)
		d.Initial = strings.ToUpper(string(r))
		page.TitleText, page.Data = d.Name, d
	}
	p.t.Render(w, r, http.StatusOK, "person", page)
}
