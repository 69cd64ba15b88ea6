package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
type limiters struct {
	signUpPerAddress func(http.Handler) http.Handler
	logInPerAddress  func(http.Handler) http.Handler
	logInPerAccount  *httprate.RateLimiter // nil when off
	accountLimit     int
	accountWindow    time.Duration
}

func newLimiters(cfg Config, log *slog.Logger) limiters {
	return limiters{
		signUpPerAddress: perAddress(cfg.SignUpPerAddress, log, "signup", "Too many sign-up attempts from your network address."),
		logInPerAddress:  perAddress(cfg.LogInPerAddress, log, "login", "Too many log-in attempts from your network address."),
		logInPerAccount:  perAccount(cfg.LogInPerAccount),
		accountLimit:     cfg.LogInPerAccount.Requests,
		accountWindow:    cfg.LogInPerAccount.Window,
	}
}

func perAddress(l RateLimit, log *slog.Logger, scope, message string) func(http.Handler) http.Handler {
	if l.Off() {
		return func(next http.Handler) http.Handler { return next }
	}
	key := func(r *http.Request) (string, error) { return scope + ":" + clientAddress(r), nil }
	return httprate.LimitBy(l.Requests, l.Window, key,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			tooManyRequests(w, r, message, w.Header().Get("Retry-After"))
		}),
		httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			// The in-process counter never fails; this is for completeness.
			httpserver.WriteError(w, r, log, err)
		}),
	)
}

func perAccount(l RateLimit) *httprate.RateLimiter {
	if l.Off() {
		return nil
	}
	return httprate.NewRateLimiter(l.Requests, l.Window)
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

// errAccountLimited: too many failed log-ins for one account.
var errAccountLimited = errors.New("too many failed log-ins for this account")

// accountLimited reports whether an account (by its hashed address) has used
// up its failed log-ins. Only failures count, so a person who logs in often
// is never locked out by their own successes.
func (l limiters) accountLimited(emailHash string) bool {
	if l.logInPerAccount == nil {
		return false
	}
	_, rate, err := l.logInPerAccount.Status("account:" + emailHash)
	return err == nil && int(math.Round(rate)) >= l.accountLimit
}

// countFailedLogIn adds a failed attempt against an account. httprate
// counts through a request; only its context matters here.
func (l limiters) countFailedLogIn(ctx context.Context, emailHash string) {
	if l.logInPerAccount == nil {
		return
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return
	}
	l.logInPerAccount.OnLimit(discardWriter{h: http.Header{}}, r, "account:"+emailHash)
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

// humanDuration says a wait the way a person would ("15 minutes").
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
	}
	return unit(secs, "second")
}
