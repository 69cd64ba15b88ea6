package web

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// Options configure the UI kit; the zero value works.
type Options struct {
	Logger *slog.Logger // nil: discard
	// SecureCookies marks the kit's cookies (language, flash) Secure even on
	// plain HTTP requests, for TLS terminated by a proxy. Requests that
	// arrive over TLS always get Secure cookies.
	SecureCookies bool
}

// UI is the shell every page lives in: the layout, the shell's own pages
// (home, errors), the catalogues and the middleware pages sit behind.
type UI struct {
	log     *slog.Logger
	secure  bool
	cat     catalog
	own     *Templates
	origins *http.CrossOriginProtection

	// all holds every catalogue loaded, for flash messages: a service's
	// notice ("you have logged out") may show on the shell's home page.
	mu  sync.RWMutex
	all catalog

	// unread counts a person's unread notifications for the bell in the
	// frame when the notifier runs in this process; without it the page
	// script asks /notify/unread.
	unread atomic.Pointer[func(userID string) int]
}

// SetUnread gives the frame's bell its count.
func (u *UI) SetUnread(fn func(userID string) int) { u.unread.Store(&fn) }

// New parses the layout, the shell's pages and catalogues. Any template or
// catalogue error stops it, so a broken page fails at start-up rather than
// in front of a visitor.
func New(opts Options) (*UI, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{log: opts.Logger, secure: opts.SecureCookies}
	cat, err := loadCatalog(shellFiles, "i18n")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	u.cat, u.all = cat, cat
	if u.own, err = u.parsePages(shellFiles, cat); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	u.origins = http.NewCrossOriginProtection()
	u.origins.SetDenyHandler(http.HandlerFunc(u.crossOrigin))
	return u, nil
}

// Load parses a service's pages: every templates/*.html of fsys, each
// framed by the layout, with the messages of i18n/zh-CN.json and
// i18n/en.json added to the shell's. It fails on a template error, a
// catalogue that lacks a key the other has, and a template that uses a key
// no catalogue has.
func (u *UI) Load(fsys fs.FS) (*Templates, error) {
	own, err := loadCatalog(fsys, "i18n")
	if err != nil {
		return nil, err
	}
	cat, err := u.cat.merge(own)
	if err != nil {
		return nil, err
	}
	ts, err := u.parsePages(fsys, cat)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.all, err = u.all.merge(own); err != nil {
		return nil, err
	}
	return ts, nil
}

// Page is what a handler hands to Render.
type Page struct {
	// Title is the catalogue key of the page title; TitleText, when set,
	// is shown instead, for titles that are data (a person's name).
	Title     string
	TitleText string
	// Data is what the page's "content" template gets as .Data.
	Data any
	// Alternates are other forms of the page (its feeds), linked from
	// the head with rel="alternate".
	Alternates []Alternate
	// Meta is the page's description for link previews (Open Graph);
	// nil: none.
	Meta *PageMeta
}

// Alternate is one rel="alternate" link of a page's head.
type Alternate struct {
	Type  string // media type: application/atom+xml, application/rss+xml
	Title string
	Href  string
}

// PageMeta is what a link preview shows of a page (Open Graph).
type PageMeta struct {
	Type        string // "article", "book", "website"
	Title       string
	Description string
	URL         string // absolute
	Image       string // absolute, optional
}

// View is the dot of every template: the frame's needs plus the page's Data.
type View struct {
	Lang      Lang
	Title     string
	Visitor   *Visitor // nil when nobody is logged in
	Flash     string   // a one-off notice from the previous page, translated
	Path      string   // this page's path, for the log-in link to come back to
	Languages []LanguageLink
	RequestID string
	Data      any
	// Alternates and Meta go into the head (see Page).
	Alternates []Alternate
	Meta       *PageMeta
}

// Visitor is who is logged in, as far as the frame needs to know.
type Visitor struct {
	ID   string
	Name string
	// Unread is the bell's count; -1 when this process cannot tell, and
	// the page script fills it in.
	Unread    int
	BellLabel string
}

// LanguageLink is one entry of the language control.
type LanguageLink struct {
	Lang    Lang
	Name    string // the language's own name for itself
	Href    string
	Current bool
}

// Render writes page name with status. The page is rendered to a buffer
// first, so a template failure becomes a clean error page instead of half a
// page.
func (ts *Templates) Render(w http.ResponseWriter, r *http.Request, status int, name string, p Page) {
	l := LanguageOf(r)
	set := ts.sets[l][name]
	if set == nil {
		ts.ui.Error(w, r, fmt.Errorf("web: no page %q", name))
		return
	}
	v := ts.view(w, r, l, p)
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, "layout", v); err != nil {
		if ts == ts.ui.own && name == errorPage {
			// The error page itself failed; say the least that is true.
			ts.ui.log.ErrorContext(r.Context(), "render error page", "err", err, "request_id", v.RequestID)
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		ts.ui.Error(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", string(l))
	if v.Visitor != nil {
		// A page that knows who is looking may show what only they may
		// see; no cache, shared or not, may keep it.
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Cache-Control", "no-cache")
		h.Add("Vary", "Accept-Language, Cookie")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (ts *Templates) view(w http.ResponseWriter, r *http.Request, l Lang, p Page) View {
	tr := ts.Translator(l)
	v := View{
		Lang:       l,
		Title:      p.TitleText,
		Path:       r.URL.Path,
		RequestID:  httpserver.RequestID(r.Context()),
		Data:       p.Data,
		Alternates: p.Alternates,
		Meta:       p.Meta,
	}
	if v.Title == "" && p.Title != "" {
		v.Title = tr.T(p.Title)
	}
	if who, ok := auth.FromContext(r.Context()); ok {
		v.Visitor = &Visitor{ID: who.UserID, Name: who.DisplayName, Unread: -1}
		if fn := ts.ui.unread.Load(); fn != nil {
			v.Visitor.Unread = (*fn)(who.UserID)
		}
		v.Visitor.BellLabel = tr.T("shell.bell.label")
		if v.Visitor.Unread > 0 {
			v.Visitor.BellLabel = tr.T("shell.bell.unread", "n", tr.Number(int64(v.Visitor.Unread)))
		}
	}
	if key := ts.ui.takeFlash(w, r); key != "" {
		v.Flash = ts.ui.flashText(l, key)
	}
	for _, other := range Languages {
		v.Languages = append(v.Languages, LanguageLink{
			Lang:    other,
			Name:    tr.T("lang." + string(other)),
			Href:    switchHref(r.URL, other),
			Current: other == l,
		})
	}
	return v
}

// switchHref is this page's address with the language switched: the
// language middleware stores the choice and sends the visitor back here.
func switchHref(u *url.URL, l Lang) string {
	q := u.Query()
	q.Set(langParam, string(l))
	return localPath(u) + "?" + q.Encode()
}

// localPath is u's path as a link that stays on this site. A request for
// "//evil.example" reaches the not-found page; echoed back as is, it would
// be a link (or redirect) to another host.
func localPath(u *url.URL) string {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// flashCookie carries a catalogue key from a POST to the page it redirects
// to. Only keys the catalogue has are shown, so a forged cookie can at most
// pick one of our own messages.
const flashCookie = "yunqi_flash"

// SetFlash shows the message with catalogue key on the next page rendered.
func (u *UI) SetFlash(w http.ResponseWriter, r *http.Request, key string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: key, Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: u.secureFor(r), SameSite: http.SameSiteLaxMode,
	})
}

// flashText is the message of a flash key in l, "" for a key no catalogue
// has.
func (u *UI) flashText(l Lang, key string) string {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.all[l][key]
}

func (u *UI) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: u.secureFor(r), SameSite: http.SameSiteLaxMode,
	})
	return c.Value
}

func (u *UI) secureFor(r *http.Request) bool { return u.secure || r.TLS != nil }

// Translator returns the shell's translator for the request's language.
func (u *UI) Translator(r *http.Request) Translator { return u.own.Translator(LanguageOf(r)) }

const errorPage = "error"

// errorData is what the error page shows.
type errorData struct {
	Status int
}

// isAPI reports whether a path belongs to a JSON API, whose clients want a
// problem document, not a page.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return p == "/api" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/.well-known/")
}

// NotFound answers an unknown address: a page in the layout, or a problem
// document under /api/.
func (u *UI) NotFound(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusNotFound, httpserver.TypeNotFound,
			"Not found", "No resource at "+r.URL.Path+"."))
		return
	}
	u.own.Render(w, r, http.StatusNotFound, errorPage, Page{Title: "error.404.title", Data: errorData{Status: http.StatusNotFound}})
}

// BadRequest answers a request the page cannot read (a malformed or
// oversized form) with status, in the layout.
func (u *UI) BadRequest(w http.ResponseWriter, r *http.Request, status int) {
	u.own.Render(w, r, status, errorPage, Page{Title: "error.400.title", Data: errorData{Status: status}})
}

// Error logs err with the request id and answers with the 500 page, which
// shows the request id and never the error's text.
func (u *UI) Error(w http.ResponseWriter, r *http.Request, err error) {
	u.log.ErrorContext(r.Context(), "page failed", "err", err, "method", r.Method, "path", r.URL.Path,
		"request_id", httpserver.RequestID(r.Context()))
	u.own.Render(w, r, http.StatusInternalServerError, errorPage, Page{Title: "error.500.title", Data: errorData{Status: http.StatusInternalServerError}})
}

// crossOrigin answers a form posted from another site.
func (u *UI) crossOrigin(w http.ResponseWriter, r *http.Request) {
	u.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "request_id", httpserver.RequestID(r.Context()))
	u.own.Render(w, r, http.StatusForbidden, errorPage, Page{Title: "error.403.title", Data: errorData{Status: http.StatusForbidden}})
}

// Mount adds the shell's own routes to the root router: the home page, and
// the not-found answer for every address no service claims. session is the
// middleware that recognises a logged-in visitor (identity's page session
// in this binary); without it the shell shows everyone as anonymous.
func (u *UI) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	mws := append([]func(http.Handler) http.Handler{u.Middleware}, session...)
	r.With(mws...).Get("/", u.home)
	page := chi.Chain(mws...).HandlerFunc(u.NotFound)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			// No session work (it may refresh a token) for a request that
			// gets a problem document anyway.
			u.NotFound(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}

var errNoTemplate = errors.New("web: template missing")
