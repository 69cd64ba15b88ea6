package web

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// ContentSecurityPolicy allows only this origin's own files: no inline
// script or style, no plugins, no framing by anyone, forms that post only
// here, and no <base> to redirect relative links.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// SecurityHeaders sets the headers every response should carry. The
// referrer stays on this site: addresses like /identity/people/<id> say
// whose page someone came from.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		next.ServeHTTP(w, r)
	})
}

// apiOrigins guards the JSON APIs. Browsers send cookies with API calls too
// (the refresh cookie), so an unsafe request a browser marks as coming from
// another site is refused. Non-browser clients send neither Sec-Fetch-Site
// nor Origin and pass.
var apiOrigins = func() *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	c.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusForbidden, httpserver.ProblemBase+"cross-origin",
			"Cross-origin request refused", "Requests that change something must come from this site's own pages."))
	}))
	return c
}()

// Protect is SecurityHeaders plus cross-origin protection for routes that
// are not pages (JSON APIs): refusals are problem documents.
func Protect(next http.Handler) http.Handler {
	return SecurityHeaders(apiOrigins.Handler(next))
}

// Middleware is what every page sits behind: security headers, the
// visitor's language (and the language control), an error page for panics,
// and cross-origin protection for every unsafe method. Go's
// CrossOriginProtection reads Sec-Fetch-Site (or Origin against Host), which
// is why forms need no CSRF token.
func (u *UI) Middleware(next http.Handler) http.Handler {
	return SecurityHeaders(u.language(u.recoverPanics(u.origins.Handler(next))))
}

// langParam is the query parameter of the language control's links.
const langParam = "lang"

// language settles the request's language. A link of the language control
// (?lang=en) stores the choice in a cookie for a year and redirects to the
// same address without the parameter, so addresses stay clean and shareable.
func (u *UI) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if q := r.URL.Query(); q.Has(langParam) {
				if l := Lang(q.Get(langParam)); l.supported() {
					http.SetCookie(w, &http.Cookie{
						Name: LanguageCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 60 * 60,
						HttpOnly: true, Secure: u.secureFor(r), SameSite: http.SameSiteLaxMode,
					})
					q.Del(langParam)
					target := localPath(r.URL)
					if len(q) > 0 {
						target += "?" + q.Encode()
					}
					http.Redirect(w, r, target, http.StatusSeeOther)
					return
				}
			}
		}
		l := LanguageOf(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, l)))
	})
}

// recoverPanics turns a panic in a page into the 500 page. It runs inside
// the server's own recoverer, which would answer with JSON.
func (u *UI) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				panic(v) // too late for a page; the server's recoverer aborts
			}
			u.log.ErrorContext(r.Context(), "panic in page", "stack", string(debug.Stack()))
			u.Error(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}
