package identity

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBrakeWaitsDoubleUpToTheCapAndDrain(t *testing.T) {
	b := newBrake(RateLimit{Requests: 3, Window: time.Minute})
	k := keyOf("pair", "a", "198.51.100.1")
	now := time.Date(2026, 10, 24, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		if w := b.wait(k, now); w != 0 {
			t.Fatalf("before failure %d: wait %s", i+1, w)
		}
		b.fail(k, now)
	}
	// Each failure past the free ones doubles the wait, from a second to
	// the window.
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		got := b.wait(k, now)
		if got != want*time.Second {
			t.Fatalf("wait %s, want %s", got, want*time.Second)
		}
		now = now.Add(got)
		if b.wait(k, now) != 0 {
			t.Fatal("still held back once the wait is over")
		}
		b.fail(k, now)
	}
	if other := keyOf("pair", "a", "198.51.100.2"); b.wait(other, now) != 0 {
		t.Fatal("another key is held back")
	}
	// Quiet time forgives: one failure per drain interval (20 s here),
	// counted from the end of the last wait.
	now = now.Add(b.wait(k, now) + 11*20*time.Second)
	for i := range 3 {
		if w := b.wait(k, now); w != 0 {
			t.Fatalf("after a quiet window, failure %d waits %s", i+1, w)
		}
		b.fail(k, now)
	}
	if b.wait(k, now) != time.Second {
		t.Fatalf("the free failures were not given back")
	}
	b.forget(k)
	if b.wait(k, now) != 0 {
		t.Fatal("held back after forget")
	}
	if newBrake(RateLimit{Requests: -1}) != nil {
		t.Fatal("a brake switched off exists")
	}
}

func TestBrakeIsBoundedAndKeepsTheWorstKeys(t *testing.T) {
	b := newBrake(RateLimit{Requests: 2, Window: time.Hour})
	b.maxKeys = 400
	now := time.Date(2026, 10, 24, 9, 0, 0, 0, time.UTC)
	worst := keyOf("address", "203.0.113.7")
	for range 10 {
		b.fail(worst, now)
	}
	for i := range 5000 {
		b.fail(keyOf("address", fmt.Sprint("198.51.", i/256, ".", i%256)), now)
		if n := b.size(); n > b.maxKeys {
			t.Fatalf("brake holds %d keys, bound %d", n, b.maxKeys)
		}
	}
	if b.wait(worst, now) == 0 {
		t.Fatal("the key that failed most was forgotten")
	}
	// Keys that have drained go first, whatever their number.
	later := now.Add(3 * time.Hour)
	b.fail(keyOf("address", "192.0.2.9"), later)
	if n := b.size(); n > 2 {
		t.Fatalf("%d keys left after everything drained", n)
	}
}

// A stranger's wrong passwords slow down the stranger's address only:
// the owner, from another address and with no device cookie, logs in.
func TestStrangerCannotLockTheOwnerOut(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		// The defaults, not the fixture's brakes-off.
		c.LogInFailuresPerPair, c.LogInFailuresPerAddress, c.LogInPerAccount = RateLimit{}, RateLimit{}, RateLimit{}
	})
	f.signUp("victim@example.com", "Victim")
	logIn := func(password, addr string) response {
		return f.do("POST", "/api/identity/tokens", map[string]string{"email": "victim@example.com", "password": password}, fromAddress(addr))
	}
	var waits []int
	for range 12 {
		res := logIn("not the password", "203.0.113.7:40000")
		switch res.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			p := problemOf(t, res, http.StatusTooManyRequests)
			if !strings.Contains(p.Detail, "for this account from your network address") {
				t.Errorf("429 detail %q", p.Detail)
			}
			secs, err := strconv.Atoi(res.header.Get("Retry-After"))
			if err != nil || secs < 1 {
				t.Fatalf("Retry-After %q", res.header.Get("Retry-After"))
			}
			waits = append(waits, secs)
			// The stranger waits as told, and fails again.
			f.clock.Advance(time.Duration(secs) * time.Second)
		default:
			t.Fatalf("stranger's attempt: %d %s", res.status, res.body)
		}
	}
	if len(waits) < 3 || waits[0] != 1 || waits[1] != 2 || waits[2] != 4 {
		t.Errorf("the stranger's waits were %v, want doubling from 1 s", waits)
	}
	if res := logIn(testPassword, "198.51.100.20:50000"); res.status != http.StatusOK {
		t.Fatalf("the owner, from their own address: %d %s", res.status, res.body)
	}
	// The right password from the stranger's address is held back too:
	// the brake is asked before the password, so it tells nothing.
	if res := logIn("not the password", "203.0.113.7:40000"); res.status != http.StatusUnauthorized {
		f.clock.Advance(time.Hour)
		problemOf(t, logIn("not the password", "203.0.113.7:40000"), http.StatusUnauthorized)
	}
	if res := logIn(testPassword, "203.0.113.7:40001"); res.status != http.StatusTooManyRequests {
		t.Errorf("right password while the pair waits: %d", res.status)
	}
}

func TestBrakeOnOneAddressAcrossAccounts(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.LogInFailuresPerAddress = RateLimit{Requests: 3, Window: time.Hour} })
	f.signUp("quiet@example.com", "Quiet")
	for i := range 3 {
		res := f.do("POST", "/api/identity/tokens", map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": "spray spray spray"},
			fromAddress("203.0.113.9:1"))
		problemOf(t, res, http.StatusUnauthorized)
	}
	res := f.do("POST", "/api/identity/tokens", map[string]string{"email": "quiet@example.com", "password": testPassword}, fromAddress("203.0.113.9:2"))
	if p := problemOf(t, res, http.StatusTooManyRequests); !strings.Contains(p.Detail, "from your network address") || res.header.Get("Retry-After") != "1" {
		t.Errorf("429 %q, Retry-After %q", p.Detail, res.header.Get("Retry-After"))
	}
	if res := f.do("POST", "/api/identity/tokens", map[string]string{"email": "quiet@example.com", "password": testPassword},
		fromAddress("198.51.100.3:1")); res.status != http.StatusOK {
		t.Errorf("from another address: %d", res.status)
	}
}

// The per-account backstop holds back attempts from everywhere, but never
// a browser that has logged in to the account before.
func TestAccountBackstopLetsKnownDevicesThrough(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.LogInPerAccount = RateLimit{Requests: 4, Window: time.Hour} })
	f.signUp("owner@example.com", "Owner")
	f.signUp("other@example.com", "Other")
	logIn := func(email, password, addr string, opts ...reqOpt) response {
		return f.do("POST", "/api/identity/tokens", map[string]string{"email": email, "password": password}, append(opts, fromAddress(addr))...)
	}
	first := logIn("owner@example.com", testPassword, "198.51.100.20:1")
	if first.status != http.StatusOK {
		t.Fatalf("log-in: %d", first.status)
	}
	device := first.cookie(DeviceCookieName)
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.Secure ||
		device.MaxAge < 300*24*3600 || device.Path != "/" {
		t.Fatalf("device cookie %+v", device)
	}
	otherDevice := logIn("other@example.com", testPassword, "198.51.100.21:1").cookie(DeviceCookieName)

	for i := range 4 {
		problemOf(t, logIn("owner@example.com", "not the password", fmt.Sprintf("203.0.113.%d:1", i)), http.StatusUnauthorized)
	}
	res := logIn("owner@example.com", testPassword, "192.0.2.200:1")
	if p := problemOf(t, res, http.StatusTooManyRequests); !strings.Contains(p.Detail, "from many places") {
		t.Errorf("backstop detail %q", p.Detail)
	}
	forged := &http.Cookie{Name: DeviceCookieName, Value: strings.Split(device.Value, ".")[0] + ".AAAAAAAAAAAAAAAAAAAAAA"}
	for name, c := range map[string]*http.Cookie{"another account's device": otherDevice, "a forged tag": forged} {
		if res := logIn("owner@example.com", testPassword, "192.0.2.200:1", withCookie(c)); res.status != http.StatusTooManyRequests {
			t.Errorf("%s passed the backstop: %d", name, res.status)
		}
	}
	res = logIn("owner@example.com", testPassword, "192.0.2.200:1", withCookie(device))
	if res.status != http.StatusOK {
		t.Fatalf("the owner's own browser: %d %s", res.status, res.body)
	}
	// The browser keeps its id and remembers both accounts.
	both := logIn("other@example.com", testPassword, "198.51.100.20:1", withCookie(res.cookie(DeviceCookieName))).cookie(DeviceCookieName)
	id, tags, ok := parseDevice(both.Value)
	if !ok || id != strings.Split(device.Value, ".")[0] || len(tags) != 2 {
		t.Fatalf("device cookie after a second account: %q", both.Value)
	}
	if !f.svc.devices.belongs(both.Value, f.svc.mustUserID(t, "owner@example.com")) || !f.svc.devices.belongs(both.Value, f.svc.mustUserID(t, "other@example.com")) {
		t.Error("the browser no longer vouches for both accounts")
	}
	if secure := f.do("POST", "https://yunqi.test/api/identity/tokens", map[string]string{"email": "other@example.com", "password": testPassword},
		fromAddress("198.51.100.20:1")).cookie(DeviceCookieName); secure == nil || !secure.Secure {
		t.Errorf("device cookie over TLS: %+v", secure)
	}
}

func (s *Service) mustUserID(t *testing.T, email string) string {
	t.Helper()
	u, _, err := findUserByEmail(t.Context(), s.store, s.claims, email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestDeviceCookieKeepsFewAccountsAndRefusesGarbage(t *testing.T) {
	d := devices{key: []byte("0123456789abcdef0123456789abcdef")}
	v := ""
	for i := range maxDeviceTags + 3 {
		v = d.remember(v, fmt.Sprint("user-", i))
	}
	if _, tags, ok := parseDevice(v); !ok || len(tags) != maxDeviceTags {
		t.Fatalf("cookie %q", v)
	}
	if !d.belongs(v, fmt.Sprint("user-", maxDeviceTags+2)) || d.belongs(v, "user-0") {
		t.Error("the newest accounts are not the ones kept")
	}
	for _, bad := range []string{"", "x", "not base64!.tag", strings.Repeat("A", 500)} {
		if d.belongs(bad, "user-1") {
			t.Errorf("%q vouches for an account", bad)
		}
		if _, _, ok := parseDevice(d.remember(bad, "user-1")); !ok {
			t.Errorf("remember(%q) wrote a cookie it cannot read", bad)
		}
	}
	other := devices{key: []byte("another key, another deployment!")}
	if other.belongs(v, fmt.Sprint("user-", maxDeviceTags+2)) {
		t.Error("a cookie passes under another key")
	}
}

func TestDeviceKeyIsKeptAcrossRestarts(t *testing.T) {
	f := newFixture(t)
	key := string(f.svc.devices.key)
	f.restart()
	if string(f.svc.devices.key) != key || len(key) != 32 {
		t.Fatal("the device key changed across a restart")
	}
}

func TestPagesBrakeFailedLogIns(t *testing.T) {
	for _, tc := range []struct{ lang, want string }{
		{"en", "Too many failed log-ins for this account from your network address. Please wait 1 second"},
		{"zh-CN", "从你所在网络地址登录这个账号失败次数过多。请等待 1 秒后再试"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			s := newSite(t, func(c *Config) { c.LogInFailuresPerPair = RateLimit{Requests: 2, Window: time.Hour} })
			s.signUp("page@example.com", "Page")
			b := s.browser(tc.lang)
			var p page
			for range 3 {
				p = b.post("/identity/login", url.Values{"email": {"page@example.com"}, "password": {"not the password"}})
			}
			if p.status != http.StatusTooManyRequests || !p.has(tc.want) || p.header.Get("Retry-After") != "1" {
				t.Errorf("%d %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
			}
			if !p.has(`value="page@example.com"`) {
				t.Error("the email typed is not kept")
			}
		})
	}
}

func TestPageLogInRemembersTheDevice(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("dev@example.com", "Dev")
	b.post("/identity/logout", url.Values{})
	c := b.cookie(DeviceCookieName)
	if c == nil || !s.svc.devices.belongs(c.Value, s.svc.mustUserID(t, "dev@example.com")) {
		t.Fatalf("after sign-up and log-out the browser's device cookie is %+v", c)
	}
	b.logIn("dev@example.com")
	if again := b.cookie(DeviceCookieName); again == nil || again.Value != c.Value {
		t.Errorf("a second log-in changed the device cookie: %+v → %+v", c, again)
	}
}

// BenchmarkSuccessfulLogInExtras is what the brakes and the device cookie
// add to a log-in that succeeds (the argon2 check itself is
// BenchmarkDefaultArgon2): asking the three brakes, clearing the pair,
// and the device cookie's HMAC.
func BenchmarkSuccessfulLogInExtras(b *testing.B) {
	br := newBrakes(Config{}.Defaults())
	d := devices{key: []byte("0123456789abcdef0123456789abcdef")}
	account := testClaims.hash(normalizeEmail("duyong@example.com"))
	now := time.Now()
	cookie := d.remember("", "0193a0b2-0000-7000-8000-000000000001")
	for b.Loop() {
		keys := keysFor(account, "198.51.100.20")
		if err := br.check(keys, now, func() bool { return false }); err != nil {
			b.Fatal(err)
		}
		br.succeeded(keys)
		cookie = d.remember(cookie, "0193a0b2-0000-7000-8000-000000000001")
	}
}
