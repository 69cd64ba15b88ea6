package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// Pages keep a visitor logged in with two HttpOnly, SameSite=Lax cookies:
// the refresh cookie the API uses too, and a short-lived access cookie that
// carries an ordinary access token, so a page is recognised without a read
// of the log. When the access cookie has expired, the page session refreshes
// transparently. Both are backed by the log and the signing keys on disk, so
// a restart logs nobody out.

// AccessCookieName is the cookie that carries the access token for pages.
// Services in another process read it with auth.VerifierConfig.Cookie.
const AccessCookieName = "yunqi_access"

// PageSession puts the logged-in visitor in the request context, as
// auth.FromContext reads it. It never refuses a request: a visitor who is
// not logged in passes through anonymous, and each page decides.
func (s *Service) PageSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := s.pageVisitor(w, r); ok {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) pageVisitor(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	if c, err := r.Cookie(AccessCookieName); err == nil && c.Value != "" {
		if p, err := s.verifier.Verify(r.Context(), c.Value); err == nil {
			return p, true
		}
	}
	token := refreshTokenFromCookie(r)
	if token == "" {
		return auth.Principal{}, false
	}
	res, err := s.refreshForPage(r.Context(), token, writeInfo{requestID: httpserver.RequestID(r.Context())})
	switch {
	case errors.Is(err, ErrSessionInvalid), errors.Is(err, ErrRefreshReuse):
		s.clearPageCookies(w, r)
		return auth.Principal{}, false
	case err != nil:
		// The log is unreachable or the like: show the page anonymous but
		// keep the cookies, so the visitor is back once it recovers.
		s.log.ErrorContext(r.Context(), "page session refresh failed", "err", err,
			"request_id", httpserver.RequestID(r.Context()))
		return auth.Principal{}, false
	}
	s.setPageCookies(w, r, res)
	p, err := s.verifier.Verify(r.Context(), res.accessToken)
	if err != nil {
		s.log.ErrorContext(r.Context(), "fresh access token does not verify", "err", err)
		return auth.Principal{}, false
	}
	return p, true
}

func (s *Service) secureCookies(r *http.Request) bool { return r.TLS != nil || s.cfg.SecureCookies }

// setPageCookies hands a browser its tokens after a log-in or refresh.
func (s *Service) setPageCookies(w http.ResponseWriter, r *http.Request, res issued) {
	s.SetRefreshCookie(w, r, res.refreshToken, res.refreshExpires)
	s.setAccessCookie(w, r, res.accessToken)
}

// setAccessCookie lives exactly as long as the token in it, so an expired
// token is never sent and the page session knows to refresh.
func (s *Service) setAccessCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     AccessCookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   int(s.cfg.AccessTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secureCookies(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Service) clearPageCookies(w http.ResponseWriter, r *http.Request) {
	s.ClearRefreshCookie(w, r)
	http.SetCookie(w, &http.Cookie{
		Name: AccessCookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode,
	})
}

// refreshGrace makes a page refresh safe under concurrency. A browser that
// comes back after its access cookie expired often sends several requests at
// once (two tabs, a form and a reload), all with the same refresh token.
// Rotation with reuse detection would take the second for a stolen token and
// end the session. So one refresh per token runs at a time, and for
// graceWindow after it the same token gets the same answer instead of a new
// rotation. The cost is that a stolen token used within that window, in this
// process, is not detected as reuse; after it, it is.
type refreshGrace struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*graceEntry
}

type graceEntry struct {
	done chan struct{}
	res  issued
	err  error
	at   time.Time // when the refresh finished
}

const graceWindow = 30 * time.Second

func (s *Service) refreshForPage(ctx context.Context, token string, wi writeInfo) (issued, error) {
	key := sha256.Sum256([]byte(token))
	g := &s.grace
	g.mu.Lock()
	if g.m == nil {
		g.m = map[[sha256.Size]byte]*graceEntry{}
	}
	now := time.Now()
	for k, e := range g.m {
		if !e.at.IsZero() && now.Sub(e.at) > graceWindow {
			delete(g.m, k)
		}
	}
	if e, ok := g.m[key]; ok {
		g.mu.Unlock()
		select {
		case <-e.done:
			return e.res, e.err
		case <-ctx.Done():
			return issued{}, ctx.Err()
		}
	}
	e := &graceEntry{done: make(chan struct{})}
	g.m[key] = e
	g.mu.Unlock()

	// The rotation completes even if this visitor goes away mid-way: the
	// others waiting on it need its answer.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := s.refresh(rctx, token, wi)

	g.mu.Lock()
	e.res, e.err, e.at = res, err, time.Now()
	if err != nil && !errors.Is(err, ErrSessionInvalid) && !errors.Is(err, ErrRefreshReuse) {
		// A passing failure (the store was busy) must not stick for the
		// whole window; the next request tries again.
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(e.done)
	return res, err
}
