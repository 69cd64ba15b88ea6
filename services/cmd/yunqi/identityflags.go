package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/identity"
)

// identityFlags is the identity service's part of serve's configuration.
// Rate limits stay strings until identityConfig, so that their flags and
// variables read the way an operator writes them ("10/15m", "off").
type identityFlags struct {
	Issuer           string
	Audience         string
	AccessTTL        time.Duration
	RefreshTTL       time.Duration
	SecureCookies    bool
	SignUpPerAddress string
	LogInPerAddress  string
	FailuresPerPair  string
	FailuresPerAddr  string
	LogInPerAccount  string
}

func (f *identityFlags) register(s *config.Set) {
	// The service's own defaults, so that the two never drift apart.
	def := identity.Config{}.Defaults()
	notEmpty := config.Check(func(v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		return nil
	})
	s.String(&f.Issuer, "issuer", def.Issuer, "the iss of access tokens, and the only one accepted; a shared deployment uses its public URL", notEmpty)
	s.String(&f.Audience, "audience", def.Audience, "the aud of access tokens, and the only one accepted", notEmpty)
	s.Duration(&f.AccessTTL, "access-ttl", def.AccessTTL,
		"how long an access token lives, 1m to 24h; a revoked role stays usable this long",
		config.Check(func(d time.Duration) error {
			if d < time.Minute || d > identity.MaxAccessTTL {
				return fmt.Errorf("must be between 1m and %s", compactDuration(identity.MaxAccessTTL))
			}
			return nil
		}))
	s.Duration(&f.RefreshTTL, "refresh-ttl", def.RefreshTTL,
		"how long an unused log-in session lasts (every refresh extends it)",
		config.Check(func(d time.Duration) error {
			if d <= 0 {
				return errors.New("must be positive")
			}
			return nil
		}))
	s.Bool(&f.SecureCookies, "secure-cookies", def.SecureCookies,
		"mark the session cookie Secure on plain HTTP too, for TLS ended by a proxy (requests over TLS always get it)")
	rate := config.Check(func(v string) error {
		_, err := parseRate(v)
		return err
	})
	s.String(&f.SignUpPerAddress, "rate-signup-per-address", formatRate(def.SignUpPerAddress),
		"sign-ups allowed per client address, as REQUESTS/WINDOW, or off", rate)
	s.String(&f.LogInPerAddress, "rate-login-per-address", formatRate(def.LogInPerAddress),
		"log-in attempts allowed per client address, as REQUESTS/WINDOW, or off", rate)
	s.String(&f.FailuresPerPair, "rate-login-failures-per-pair", formatRate(def.LogInFailuresPerPair),
		"failed log-ins for one account from one address before each further attempt waits (doubling from 1s up to WINDOW), as REQUESTS/WINDOW, or off", rate)
	s.String(&f.FailuresPerAddr, "rate-login-failures-per-address", formatRate(def.LogInFailuresPerAddress),
		"failed log-ins from one address, any account, before each further attempt waits, as REQUESTS/WINDOW, or off", rate)
	s.String(&f.LogInPerAccount, "rate-login-per-account", formatRate(def.LogInPerAccount),
		"failed log-ins for one account from everywhere before attempts wait, except from devices that logged in to it before, as REQUESTS/WINDOW, or off", rate)
}

// identityConfig is the service's Config; it may only be called once the
// flags have parsed, whose checks make the rates valid.
func (f *identityFlags) identityConfig(dataDir string) identity.Config {
	must := func(v string) identity.RateLimit {
		l, err := parseRate(v)
		if err != nil {
			panic(err)
		}
		return l
	}
	return identity.Config{
		DataDir:                 dataDir,
		Issuer:                  f.Issuer,
		Audience:                f.Audience,
		AccessTTL:               f.AccessTTL,
		RefreshTTL:              f.RefreshTTL,
		SecureCookies:           f.SecureCookies,
		SignUpPerAddress:        must(f.SignUpPerAddress),
		LogInPerAddress:         must(f.LogInPerAddress),
		LogInFailuresPerPair:    must(f.FailuresPerPair),
		LogInFailuresPerAddress: must(f.FailuresPerAddr),
		LogInPerAccount:         must(f.LogInPerAccount),
	}
}

// parseRate reads "REQUESTS/WINDOW" ("10/15m", "30/1m", "10/h") or "off".
func parseRate(v string) (identity.RateLimit, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "off") {
		return identity.RateLimit{Requests: -1}, nil
	}
	bad := func(why string) (identity.RateLimit, error) {
		return identity.RateLimit{}, fmt.Errorf("%q is not a rate limit: %s; write REQUESTS/WINDOW such as 10/15m, or off", v, why)
	}
	n, w, ok := strings.Cut(v, "/")
	if !ok {
		return bad("no /")
	}
	requests, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || requests < 1 {
		return bad("the number of requests must be a whole number from 1")
	}
	w = strings.TrimSpace(w)
	if w != "" && !strings.ContainsAny(w[:1], "0123456789.") {
		// "10/h" reads as ten per hour.
		w = "1" + w
	}
	window, err := time.ParseDuration(w)
	if err != nil {
		return bad("the window must be a duration such as 30s, 15m or 1h")
	}
	if window < time.Second {
		return bad("the window must be at least 1s")
	}
	return identity.RateLimit{Requests: requests, Window: window}, nil
}

// formatRate writes a limit the way parseRate reads it.
func formatRate(l identity.RateLimit) string {
	if l.Off() {
		return "off"
	}
	return strconv.Itoa(l.Requests) + "/" + compactDuration(l.Window)
}

// compactDuration drops the zero tails time.Duration.String keeps ("15m",
// not "15m0s"), so defaults read as an operator would type them.
func compactDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseTrustedProxies reads "--trusted-proxy": comma-separated CIDR prefixes
// or single addresses (which trust that one host). It returns the prefixes
// in the form chi's ClientIPFromXFF takes.
func parseTrustedProxies(v string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked().String())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither a CIDR prefix (such as 10.0.0.0/8) nor an IP address", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()).String())
	}
	return out, nil
}
