package identity

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// When the services run as separate processes (serve --services=…), the
// others cannot refresh a page session themselves: rotating a refresh
// token is identity's business and needs its state. They recognise the
// visitor from the access cookie alone, and send a page view whose access
// cookie has expired through identity's renew page, which rotates the
// tokens, sets both cookies and sends the browser straight back.

// PathRenew is the page that renews a browser's cookies and redirects to
// its next parameter (a path on this site).
const PathRenew = "/identity/session/renew"

// renewTriedCookie marks a browser that was just sent to renew, so that a
// renewal that could not happen (the log was unreachable, say, and the
// cookies were kept) shows the page anonymous instead of looping.
const renewTriedCookie = "yunqi_renew_tried"

// RemotePageSession is PageSession for a service in another process than
// identity's: v verifies the access cookie, and an expired one is renewed
// through PathRenew on the next page view.
func RemotePageSession(v *auth.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie(AccessCookieName); err == nil && c.Value != "" {
				if p, err := v.Verify(r.Context(), c.Value); err == nil {
					next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
					return
				}
			}
			if refreshTokenFromCookie(r) != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				if _, err := r.Cookie(renewTriedCookie); err != nil {
					http.SetCookie(w, &http.Cookie{
						Name: renewTriedCookie, Value: "1", Path: "/", MaxAge: 30,
						HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
					})
					w.Header().Set("Cache-Control", "no-store")
					http.Redirect(w, r, PathRenew+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
			}
			// A form posted with an expired cookie comes through anonymous;
			// the page asks the visitor to log in, as it would anyway.
			next.ServeHTTP(w, r)
		})
	}
}

// DiskKeySet publishes the signing keys in dataDir's keys directory the way
// the JWKS endpoint does, for a service in another process on the same
// machine that was not told where identity answers. It never creates a key:
// until identity has started once, every token is refused as unverifiable.
func DiskKeySet(dataDir string, accessTTL time.Duration, log *slog.Logger) auth.KeySource {
	if accessTTL <= 0 {
		accessTTL = Config{}.Defaults().AccessTTL
	}
	return &diskKeys{dir: keysDir(dataDir), accessTTL: accessTTL, log: log}
}

type diskKeys struct {
	dir       string
	accessTTL time.Duration
	log       *slog.Logger

	mu      sync.Mutex
	keys    []signingKey
	listing string
	readAt  time.Time
}

// diskKeysMaxAge is how long a reading of the directory is trusted before
// it is listed again; an unknown kid lists it at once.
const diskKeysMaxAge = time.Second

func (d *diskKeys) Keys(_ context.Context, fresh bool) (auth.JWKS, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if fresh || now.Sub(d.readAt) >= diskKeysMaxAge {
		listing, err := listKeyFiles(d.dir)
		if err != nil && len(d.keys) == 0 {
			return auth.JWKS{}, fmt.Errorf("signing keys in %s: %w", d.dir, err)
		}
		if err == nil && listing != d.listing {
			if _, keys, err := readKeys(d.dir, d.log); err == nil && len(keys) > 0 {
				d.keys, d.listing = keys, listing
			} else if len(d.keys) == 0 {
				return auth.JWKS{}, fmt.Errorf("no signing keys in %s yet: identity has not started on this data directory (%v)", d.dir, err)
			}
		}
		d.readAt = now
	}
	return publishable(d.keys, now, d.accessTTL, diskKeysMaxAge), nil
}
