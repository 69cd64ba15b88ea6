package identity

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// RateLimit allows Requests per Window (a sliding window). The zero value
// takes the service's default; a negative Requests switches the limit off,
// for load tests.
type RateLimit struct {
	Requests int
	Window   time.Duration
}

// Off reports whether the limit is switched off.
func (l RateLimit) Off() bool { return l.Requests < 0 }

func (l RateLimit) orDefault(d RateLimit) RateLimit {
	if l.Requests == 0 {
		l.Requests = d.Requests
	}
	if l.Window == 0 {
		l.Window = d.Window
	}
	return l
}

func (l RateLimit) validate() error {
	if l.Off() {
		return nil
	}
	if l.Window < time.Second {
		return fmt.Errorf("window %s is shorter than a second", l.Window)
	}
	return nil
}

func (l RateLimit) String() string {
	if l.Off() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", l.Requests, l.Window)
}

// limiters are in-process counters: a service running as several processes
// gets a limit per process. That is the embedded default's trade-off; the
// counters would move to a shared store with the production engines.
// Failed log-ins have brakes of their own (throttle.go); these limits count
// every attempt, to bound the password hashing one address can ask for.
type limiters struct {
	signUpPerAddress func(http.Handler) http.Handler
	logInPerAddress  func(http.Handler) http.Handler
	// The same counters, for the pages: a sign-up form and the sign-up API
	// draw on one allowance, so using both does not double it. nil when off.
	signUpAddress *httprate.RateLimiter
	logInAddress  *httprate.RateLimiter
	signUpWindow  time.Duration
	logInWindow   time.Duration
}

// Rate-limit scopes; a key is the scope and the client's address.
const (
	scopeSignUp = "signup"
	scopeLogIn  = "login"
)

func newLimiters(cfg Config, log *slog.Logger) limiters {
	l := limiters{
		signUpWindow: cfg.SignUpPerAddress.Window,
		logInWindow:  cfg.LogInPerAddress.Window,
	}
	l.signUpAddress, l.signUpPerAddress = perAddress(cfg.SignUpPerAddress, log, scopeSignUp, "Too many sign-up attempts from your network address.")
	l.logInAddress, l.logInPerAddress = perAddress(cfg.LogInPerAddress, log, scopeLogIn, "Too many log-in attempts from your network address.")
	return l
}

func addressKey(scope string, r *http.Request) string { return scope + ":" + clientAddress(r) }

func perAddress(l RateLimit, log *slog.Logger, scope, message string) (*httprate.RateLimiter, func(http.Handler) http.Handler) {
	if l.Off() {
		return nil, func(next http.Handler) http.Handler { return next }
	}
	rl := httprate.NewRateLimiter(l.Requests, l.Window,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			tooManyRequests(w, r, message, w.Header().Get("Retry-After"))
		}),
		httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			// The in-process counter never fails; this is for completeness.
			httpserver.WriteError(w, r, log, err)
		}),
	)
	// The key is given explicitly, not through a key function, so that the
	// pages (addressLimited) count against exactly the same one.
	return rl, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rl.RespondOnLimit(w, r, addressKey(scope, r)) {
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// addressLimited counts a page's attempt against the address's allowance
// and reports whether it is used up. A nil limiter (switched off) never is.
func addressLimited(rl *httprate.RateLimiter, scope string, r *http.Request) bool {
	if rl == nil {
		return false
	}
	return rl.OnLimit(discardWriter{h: http.Header{}}, r, addressKey(scope, r))
}

// clientAddress is the rate-limit key of the caller's address. Behind a
// trusted proxy the binary installs one of chi's ClientIPFrom* middlewares,
// whose answer wins; otherwise it is the TCP peer, which a client cannot
// forge. IPv6 clients are grouped by /64, which one client usually holds.
func clientAddress(r *http.Request) string {
	ip := middleware.GetClientIP(r.Context())
	if ip == "" {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		ip = host
	}
	return httprate.CanonicalizeIP(ip)
}

// discardWriter takes the headers httprate sets when counting an attempt
// whose response is not a rate-limit answer.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func tooManyRequests(w http.ResponseWriter, r *http.Request, message, retryAfter string) {
	detail := message + " Please wait a while and try again."
	if secs, err := strconv.Atoi(retryAfter); err == nil && secs > 0 {
		w.Header().Set("Retry-After", retryAfter)
		detail = message + " Please try again in " + humanDuration(secs) + "."
	}
	problem(w, r, http.StatusTooManyRequests, "rate-limited", "Too many requests", detail)
}

// humanDuration says a wait the way a person would ("15 minutes"), like
// the pages' Translator.Duration: a wait of two minutes or more in whole
// minutes, rounded up.
func humanDuration(secs int) string {
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return strconv.Itoa(n) + " " + name + "s"
	}
	switch {
	case secs%3600 == 0:
		return unit(secs/3600, "hour")
	case secs%60 == 0:
		return unit(secs/60, "minute")
	case secs >= 120:
		return unit((secs+59)/60, "minute")
	}
	return unit(secs, "second")
}
