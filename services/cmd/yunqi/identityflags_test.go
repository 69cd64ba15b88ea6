package main

import (
	"io"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/services/identity"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]identity.RateLimit{
		"10/15m":   {Requests: 10, Window: 15 * time.Minute},
		" 30 / 1m": {Requests: 30, Window: time.Minute},
		"10/h":     {Requests: 10, Window: time.Hour},
		"1000/1s":  {Requests: 1000, Window: time.Second},
		"5/1m30s":  {Requests: 5, Window: 90 * time.Second},
		"off":      {Requests: -1},
		"OFF":      {Requests: -1},
	} {
		got, err := parseRate(in)
		if err != nil || got != want {
			t.Errorf("parseRate(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "/1m", "0/1m", "-1/1m", "10/", "10/soon", "10/0s", "10/-1m", "1.5/1m"} {
		if got, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) = %+v, want an error", in, got)
		}
	}
	// What formatRate writes, parseRate reads back.
	for _, l := range []identity.RateLimit{{Requests: 10, Window: time.Hour}, {Requests: 3, Window: 90 * time.Second}, {Requests: -1}} {
		if got, err := parseRate(formatRate(l)); err != nil || got != l {
			t.Errorf("round trip of %+v via %q: %+v, %v", l, formatRate(l), got, err)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := parseTrustedProxies(" 10.0.0.0/8, 192.0.2.7,::1, 2001:db8::/32 ,10.1.2.3/16,")
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "::1/128", "2001:db8::/32", "10.1.0.0/16"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if got, err := parseTrustedProxies(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, in := range []string{"10.0.0", "localhost", "10.0.0.0/33", "fe80::1%eth0"} {
		if _, err := parseTrustedProxies(in); err == nil {
			t.Errorf("parseTrustedProxies(%q) accepted", in)
		}
	}
}

// The flags reach the service: the effective identity.Config is what the
// operator wrote, and the defaults are identity's own.
func TestServeIdentityConfig(t *testing.T) {
	c, _, _, err := parseServe(nil, quietEnv(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got, want := c.Identity.identityConfig("d").Defaults(), identity.Config{DataDir: "d"}.Defaults()
	got.Clock, want.Clock = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults differ from identity's:\n got %+v\nwant %+v", got, want)
	}

	c, _, _, err = parseServe([]string{"--issuer", "https://yunqi.example", "--access-ttl", "5m", "--secure-cookies",
		"--rate-login-per-account", "off", "--rate-signup-per-address", "100/1m", "--rate-login-failures-per-pair", "3/1m"},
		quietEnv("YUNQI_AUDIENCE", "yunqi-api", "YUNQI_REFRESH_TTL", "24h", "YUNQI_RATE_LOGIN_PER_ADDRESS", "1000/1m"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Identity.identityConfig("d")
	if cfg.Issuer != "https://yunqi.example" || cfg.Audience != "yunqi-api" || cfg.AccessTTL != 5*time.Minute ||
		cfg.RefreshTTL != 24*time.Hour || !cfg.SecureCookies || !cfg.LogInPerAccount.Off() ||
		cfg.SignUpPerAddress != (identity.RateLimit{Requests: 100, Window: time.Minute}) ||
		cfg.LogInPerAddress != (identity.RateLimit{Requests: 1000, Window: time.Minute}) ||
		cfg.LogInFailuresPerPair != (identity.RateLimit{Requests: 3, Window: time.Minute}) {
		t.Errorf("config = %+v", cfg)
	}
}

// Behind a trusted proxy the per-address limit counts the client the proxy
// forwarded for; from anywhere else X-Forwarded-For is ignored, so a client
// cannot dodge the limit by making addresses up.
func TestRateLimitKeysOnTrustedClientAddress(t *testing.T) {
	const login = "/api/identity/tokens"
	// httptest requests come from 192.0.2.1.
	behind := newTestApp(t, "", "--rate-login-per-address", "2/1m", "--trusted-proxy", "192.0.2.0/24")
	for i := range 2 {
		if w := behind.do("POST", login, "", `{}`, "X-Forwarded-For", "203.0.113.7"); w.Code == http.StatusTooManyRequests {
			t.Fatalf("attempt %d was limited", i+1)
		}
	}
	if w := behind.do("POST", login, "", `{}`, "X-Forwarded-For", "203.0.113.7"); w.Code != http.StatusTooManyRequests {
		t.Errorf("third attempt from one client behind the proxy: %d, want 429", w.Code)
	} else if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if w := behind.do("POST", login, "", `{}`, "X-Forwarded-For", "203.0.113.8"); w.Code == http.StatusTooManyRequests {
		t.Error("another client behind the same proxy was limited")
	}

	direct := newTestApp(t, "", "--rate-login-per-address", "2/1m", "--trusted-proxy", "10.0.0.0/8")
	for i, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		w := direct.do("POST", login, "", `{}`, "X-Forwarded-For", xff)
		if limited := w.Code == http.StatusTooManyRequests; limited != (i == 2) {
			t.Errorf("attempt %d with a made-up X-Forwarded-For from an untrusted peer: %d", i+1, w.Code)
		}
	}
}
