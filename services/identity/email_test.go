package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Given events, when a command, then events or an error: the language,
// verification and address decisions.
func TestEmailAndLanguageDecisions(t *testing.T) {
	now := time.Date(2025, 10, 24, 9, 0, 0, 0, time.UTC)
	asked := func(email, code string, at time.Time) verification {
		return verification{Email: email, Code: code, ExpiresAt: at.Add(verificationTTL), RequestedAt: at}
	}
	user := func(vs ...verification) User {
		u := replayUser(registered)
		u.Verifications = vs
		return u
	}
	moved := func(vs ...verification) User {
		u := user(vs...)
		u.apply(events.EmailChanged{UserID: uid, Personal: events.EmailPersonal{Email: "new@example.com"}})
		return u
	}
	verified := func(u User) User {
		u.apply(events.EmailVerified{UserID: uid, Personal: events.EmailPersonal{Email: u.Email}})
		return u
	}
	wantVerified := []any{events.EmailVerified{UserID: uid, Personal: events.EmailPersonal{Email: "duyong@example.com"}}}
	first := asked("duyong@example.com", "first", now.Add(-time.Hour))
	cases := []struct {
		name  string
		given User
		when  func(User) ([]any, error)
		then  []any
		err   error
	}{
		{name: "old accounts write in Chinese", given: user(), when: func(u User) ([]any, error) { return u.chooseLanguage("zh-CN") }},
		{name: "choose English", given: user(), when: func(u User) ([]any, error) { return u.chooseLanguage("en") },
			then: []any{events.LanguageChosen{UserID: uid, Lang: "en"}}},
		{name: "choose a language not offered", given: user(), when: func(u User) ([]any, error) { return u.chooseLanguage("fr") },
			err: &ValidationError{}},

		{name: "the newest link verifies", given: user(first), when: func(u User) ([]any, error) { return u.verifyEmail("first", now) },
			then: wantVerified},
		{name: "a forged code", given: user(first), when: func(u User) ([]any, error) { return u.verifyEmail("forged", now) },
			err: ErrVerificationUnknown},
		{name: "no code", given: user(first), when: func(u User) ([]any, error) { return u.verifyEmail("", now) },
			err: ErrVerificationUnknown},
		{name: "an expired link", given: user(first), when: func(u User) ([]any, error) { return u.verifyEmail("first", now.Add(48*time.Hour)) },
			err: ErrVerificationExpired},
		{name: "a link a newer one replaced", given: user(first, asked("duyong@example.com", "second", now)),
			when: func(u User) ([]any, error) { return u.verifyEmail("first", now) }, err: ErrVerificationExpired},
		{name: "a link to the address before a change", given: moved(first, asked("new@example.com", "second", now)),
			when: func(u User) ([]any, error) { return u.verifyEmail("first", now) }, err: ErrVerificationExpired},
		{name: "following a link again writes nothing", given: verified(user(first)),
			when: func(u User) ([]any, error) { return u.verifyEmail("first", now.Add(72*time.Hour)) }},
		{name: "a changed address is unverified", given: moved(first, asked("new@example.com", "second", now)),
			when: func(u User) ([]any, error) { return u.verifyEmail("second", now) },
			then: []any{events.EmailVerified{UserID: uid, Personal: events.EmailPersonal{Email: "new@example.com"}}}},

		{name: "resend after a minute", given: user(first),
			when: func(u User) ([]any, error) { return u.requestVerification("again", now) },
			then: []any{events.EmailVerificationRequested{UserID: uid,
				Personal:  events.VerificationPersonal{Email: "duyong@example.com", Code: "again"},
				ExpiresAt: now.Add(verificationTTL)}}},
		{name: "resend within a minute", given: user(asked("duyong@example.com", "first", now.Add(-30*time.Second))),
			when: func(u User) ([]any, error) { return u.requestVerification("again", now) }, err: &retryLater{}},
		{name: "resend a verified address", given: verified(user(first)),
			when: func(u User) ([]any, error) { return u.requestVerification("again", now) }, err: ErrAlreadyVerified},

		{name: "change the address", given: user(first),
			when: func(u User) ([]any, error) { return u.changeEmail("new@example.com", "c", now) },
			then: []any{
				events.EmailChanged{UserID: uid, Personal: events.EmailPersonal{Email: "new@example.com"}},
				events.EmailVerificationRequested{UserID: uid, Personal: events.VerificationPersonal{Email: "new@example.com", Code: "c"},
					ExpiresAt: now.Add(verificationTTL)},
			}},
		{name: "change to the same address writes nothing", given: user(first),
			when: func(u User) ([]any, error) { return u.changeEmail("DuYong@Example.com", "c", now) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.when(c.given)
			switch want := c.err.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case *ValidationError:
				if !errors.As(err, &want) {
					t.Fatalf("err = %v, want a validation error", err)
				}
			case *retryLater:
				if !errors.As(err, &want) || want.after != 30*time.Second {
					t.Fatalf("err = %v, want retry in 30s", err)
				}
			default:
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("events = %#v\nwant %#v", got, c.then)
			}
		})
	}
}

func TestResendIsCappedPerDay(t *testing.T) {
	now := time.Date(2025, 10, 24, 9, 0, 0, 0, time.UTC)
	u := replayUser(registered)
	start := now.Add(-20 * time.Hour)
	for i := range resendPerDay {
		at := start.Add(time.Duration(i) * time.Hour)
		u.Verifications = append(u.Verifications, verification{Email: u.Email, Code: "c", ExpiresAt: at.Add(verificationTTL), RequestedAt: at})
	}
	_, err := u.requestVerification("more", now)
	var later *retryLater
	if !errors.As(err, &later) || later.after != 4*time.Hour {
		t.Fatalf("the eleventh link of a day: %v, want a wait of 4h (until the first is a day old)", err)
	}
}

func TestSignUpLanguage(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		body, accept, want string
	}{
		{body: "en", want: "en"},
		{body: "zh-CN", accept: "en", want: "zh-CN"},
		{accept: "en-GB,en;q=0.9", want: "en"},
		{accept: "fr-FR, en;q=0.5, zh;q=0.3", want: "en"},
		{accept: "zh-TW, en;q=0.8", want: "zh-CN"},
		{accept: "fr", want: "zh-CN"},
		{want: "zh-CN"},
	}
	for i, c := range cases {
		email := "lang" + string(rune('a'+i)) + "@example.com"
		body := map[string]string{"email": email, "password": testPassword, "display_name": "L"}
		if c.body != "" {
			body["lang"] = c.body
		}
		var opts []reqOpt
		if c.accept != "" {
			opts = append(opts, withHeader("Accept-Language", c.accept))
		}
		if res := f.do("POST", "/api/identity/users", body, opts...); res.status != http.StatusCreated {
			t.Fatalf("%+v: %d %s", c, res.status, res.body)
		}
		var me meResponse
		f.do("GET", "/api/identity/me", nil, bearer(f.logIn(email).access)).decode(t, &me)
		if me.Lang != c.want {
			t.Errorf("body %q, Accept-Language %q: lang %q, want %q", c.body, c.accept, me.Lang, c.want)
		}
	}
	p := problemOf(t, f.do("POST", "/api/identity/users", map[string]string{
		"email": "fr@example.com", "password": testPassword, "display_name": "F", "lang": "fr"}), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "lang" {
		t.Fatalf("errors = %+v, want one on lang", p.Errors)
	}
}

// latestRequest is the newest verification request in a user's stream.
func latestRequest(t *testing.T, st events.Store, userID string) (events.EmailVerificationRequested, events.Event) {
	t.Helper()
	evs, err := st.ReadStream(context.Background(), events.UserStream(userID), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		p, err := events.Types.Decode(evs[i])
		if err != nil {
			t.Fatal(err)
		}
		if req, ok := p.(events.EmailVerificationRequested); ok {
			return req, evs[i]
		}
	}
	t.Fatal("no verification request")
	return events.EmailVerificationRequested{}, events.Event{}
}

func TestSignUpAsksForVerification(t *testing.T) {
	f := newFixture(t)
	before := f.clock.Now()
	id := f.signUp("ada@example.com", "Ada")
	evs, err := f.store.ReadStream(t.Context(), events.UserStream(id), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != "identity.UserRegistered" || evs[1].Type != "identity.EmailVerificationRequested" {
		t.Fatalf("user stream after sign-up: %v", evs)
	}
	// One append: both events sit at consecutive positions of one batch,
	// written with the same expected revision (none).
	if evs[0].Revision != 0 || evs[1].Revision != 1 || evs[0].Metadata.RequestID != evs[1].Metadata.RequestID {
		t.Errorf("not one append: %+v / %+v", evs[0], evs[1])
	}
	req, ev := latestRequest(t, f.store, id)
	code, err := base64.RawURLEncoding.DecodeString(req.Personal.Code)
	if err != nil || len(code) != 32 {
		t.Errorf("code %q is not 32 bytes of base64url: %v", req.Personal.Code, err)
	}
	if req.Personal.Email != "ada@example.com" || req.UserID != id {
		t.Errorf("request = %+v", req)
	}
	if d := req.ExpiresAt.Sub(before); d < verificationTTL || d > verificationTTL+time.Minute {
		t.Errorf("expires %s after sign-up, want 48h", d)
	}
	if ev.Metadata.Subject != id || ev.Metadata.Visibility != events.Owner {
		t.Errorf("metadata = %+v", ev.Metadata)
	}
	// Another sign-up gets another code.
	other, _ := latestRequest(t, f.store, f.signUp("grace@example.com", "Grace"))
	if other.Personal.Code == req.Personal.Code {
		t.Error("two sign-ups got the same code")
	}
}

func TestLanguageAPI(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("ada@example.com", "Ada")
	token := f.logIn("ada@example.com").access
	var me meResponse
	res := f.do("PUT", "/api/identity/me/language", map[string]string{"lang": "en"}, bearer(token))
	if res.status != http.StatusOK {
		t.Fatalf("choose: %d %s", res.status, res.body)
	}
	res.decode(t, &me)
	if me.Lang != "en" {
		t.Fatalf("me = %+v", me)
	}
	f.do("PUT", "/api/identity/me/language", map[string]string{"lang": "en"}, bearer(token))
	if n := countEvents(t, f.store, "identity.LanguageChosen"); n != 1 {
		t.Errorf("%d LanguageChosen after choosing en twice, want 1", n)
	}
	p := problemOf(t, f.do("PUT", "/api/identity/me/language", map[string]string{"lang": "de"}, bearer(token)), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "lang" {
		t.Errorf("errors = %+v", p.Errors)
	}
	f.do("GET", "/api/identity/me", nil, bearer(token)).decode(t, &me)
	if me.Lang != "en" || me.EmailVerified {
		t.Errorf("me = %+v", me)
	}
	eventually(t, "the language in the timeline", func() bool {
		entries, _ := f.svc.timeline.page(id, -1, 10)
		return len(entries) > 0 && entries[0].Kind == "language_chosen" && entries[0].Lang == "en"
	})
	// An account from before languages were recorded writes in Chinese.
	old := events.NewID().String()
	if err := CreateMemberDirect(t.Context(), f.store, old, "Old"); err != nil {
		t.Fatal(err)
	}
	u, _, err := loadUser(t.Context(), f.store, old)
	if err != nil || u.Lang != "zh-CN" {
		t.Errorf("old account: %q %v", u.Lang, err)
	}
}

// verifyLink is the link the notifier mails.
func verifyLink(userID, code string) string {
	return pathVerifyEmail + "?u=" + url.QueryEscape(userID) + "&c=" + url.QueryEscape(code)
}

func TestEmailVerification(t *testing.T) {
	s := newSite(t)
	id := s.signUp("ada@example.com", "Ada")
	first, _ := latestRequest(t, s.store, id)
	token := s.logIn("ada@example.com").access
	anon := s.browser("en")

	// Resending at once is refused: the first mail is on its way.
	res := s.do("POST", "/api/identity/me/email/verification", nil, bearer(token))
	problemOf(t, res, http.StatusTooManyRequests)
	if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	s.clock.Advance(2 * resendInterval)
	res = s.do("POST", "/api/identity/me/email/verification", nil, bearer(token))
	if res.status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", res.status, res.body)
	}
	var sent verificationSent
	res.decode(t, &sent)
	second, _ := latestRequest(t, s.store, id)
	if second.Personal.Code == first.Personal.Code || !sent.ExpiresAt.Equal(second.ExpiresAt) || strings.Contains(string(res.body), second.Personal.Code) {
		t.Fatalf("resend: %s, request %+v", res.body, second)
	}

	for _, c := range []struct {
		name, link string
		status     int
		text       string
	}{
		{"forged", verifyLink(id, "forged"), http.StatusNotFound, "This link is not valid"},
		{"unknown user", verifyLink(events.NewID().String(), second.Personal.Code), http.StatusNotFound, "This link is not valid"},
		{"not a user id", verifyLink("nobody", second.Personal.Code), http.StatusNotFound, "This link is not valid"},
		{"no code", pathVerifyEmail + "?u=" + id, http.StatusNotFound, "This link is not valid"},
		{"replaced", verifyLink(id, first.Personal.Code), http.StatusGone, "This link has expired"},
	} {
		p := anon.get(c.link)
		offersResend := p.has("Log in to send a new link")
		if p.status != c.status || !p.has(c.text) || offersResend != (c.status == http.StatusGone) {
			t.Errorf("%s: %d\n%s", c.name, p.status, p.body)
		}
	}
	if n := countEvents(t, s.store, "identity.EmailVerified"); n != 0 {
		t.Fatalf("%d EmailVerified before a good link", n)
	}

	// The newest link verifies, without a log-in, in the visitor's language.
	p := anon.get(verifyLink(id, second.Personal.Code))
	if p.status != http.StatusOK || !p.has("Email address confirmed") || p.lang() != "en" {
		t.Fatalf("good link: %d\n%s", p.status, p.body)
	}
	zh := s.browser("zh-CN").get(verifyLink(id, second.Personal.Code))
	if zh.status != http.StatusOK || !zh.has("电子邮箱已确认") {
		t.Fatalf("the same link again, in Chinese: %d\n%s", zh.status, zh.body)
	}
	if n := countEvents(t, s.store, "identity.EmailVerified"); n != 1 {
		t.Fatalf("%d EmailVerified after following the link twice, want 1", n)
	}
	var me meResponse
	s.do("GET", "/api/identity/me", nil, bearer(token)).decode(t, &me)
	if !me.EmailVerified {
		t.Fatalf("me = %+v", me)
	}
	s.clock.Advance(2 * resendInterval)
	token = s.logIn("ada@example.com").access
	problemOf(t, s.do("POST", "/api/identity/me/email/verification", nil, bearer(token)), http.StatusConflict)
	// Long after, the link still says verified and writes nothing.
	s.clock.Advance(3 * verificationTTL)
	if p := anon.get(verifyLink(id, second.Personal.Code)); p.status != http.StatusOK {
		t.Errorf("an old link of a verified address: %d", p.status)
	}
	if n := countEvents(t, s.store, "identity.EmailVerified"); n != 1 {
		t.Fatalf("%d EmailVerified, want 1", n)
	}
}

func TestExpiredVerificationLink(t *testing.T) {
	s := newSite(t)
	b := s.browser("zh-CN")
	b.signUp("ada@example.com", "Ada")
	var me meResponse
	res := s.do("GET", "/api/identity/me", nil, bearer(s.logIn("ada@example.com").access))
	res.decode(t, &me)
	if me.Lang != "zh-CN" {
		t.Errorf("signed up on a Chinese page, lang %q", me.Lang)
	}
	req, _ := latestRequest(t, s.store, me.ID)

	s.clock.Advance(verificationTTL + time.Minute)
	p := b.get(verifyLink(me.ID, req.Personal.Code))
	if p.status != http.StatusGone || !p.has("这个链接已过期") || !p.has(`action="/identity/me/verification"`) {
		t.Fatalf("expired link, logged in: %d\n%s", p.status, p.body)
	}
	if anon := s.browser("en").get(verifyLink(me.ID, req.Personal.Code)); anon.status != http.StatusGone ||
		anon.has(`action="/identity/me/verification"`) || !anon.has(`href="/identity/login?next=%2Fidentity%2Fme"`) {
		t.Fatalf("expired link, anonymous: %d\n%s", anon.status, anon.body)
	}
	// The button sends a new link, which works.
	me2 := b.follow(b.post("/identity/me/verification", url.Values{}))
	if !me2.has("我们正在向你的邮箱发送新的确认链接") {
		t.Fatalf("after resending:\n%s", me2.body)
	}
	fresh, _ := latestRequest(t, s.store, me.ID)
	if p := b.get(verifyLink(me.ID, fresh.Personal.Code)); p.status != http.StatusOK {
		t.Fatalf("the new link: %d\n%s", p.status, p.body)
	}
	if p := b.get(verifyLink(me.ID, req.Personal.Code)); p.status != http.StatusOK {
		t.Errorf("the expired link of a now verified address: %d", p.status)
	}
}

func TestChangeEmailAPI(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("ada@example.com", "Ada")
	f.signUp("grace@example.com", "Grace")
	oldReq, _ := latestRequest(t, f.store, id)
	token := f.logIn("ada@example.com").access
	change := func(email, password string) response {
		return f.do("PUT", "/api/identity/me/email", map[string]string{"email": email, "password": password}, bearer(token))
	}

	p := problemOf(t, change("ada@new.example.com", "not my password"), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "password" {
		t.Errorf("wrong password: %+v", p.Errors)
	}
	p = problemOf(t, change("nope", ""), http.StatusUnprocessableEntity)
	if len(p.Errors) != 2 {
		t.Errorf("invalid input: %+v", p.Errors)
	}
	p = problemOf(t, change("Grace@Example.com", testPassword), http.StatusConflict)
	if !strings.HasSuffix(p.Type, "/email-taken") || len(p.Errors) != 1 || p.Errors[0].Field != "email" {
		t.Errorf("taken: %+v", p)
	}
	if n := countEvents(t, f.store, "identity.EmailChanged"); n != 0 {
		t.Fatalf("%d changes after refusals", n)
	}

	res := change(" ada@new.example.com ", testPassword)
	if res.status != http.StatusOK {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	var me meResponse
	res.decode(t, &me)
	if me.Email != "ada@new.example.com" || me.EmailVerified {
		t.Fatalf("me = %+v", me)
	}
	req, _ := latestRequest(t, f.store, id)
	if req.Personal.Email != "ada@new.example.com" || req.Personal.Code == oldReq.Personal.Code {
		t.Errorf("request after the change: %+v", req)
	}
	// Again: nothing to do.
	if res := change("ada@new.example.com", testPassword); res.status != http.StatusOK {
		t.Errorf("the same change again: %d", res.status)
	}
	if n := countEvents(t, f.store, "identity.EmailChanged"); n != 1 {
		t.Errorf("%d changes, want 1", n)
	}

	// Log-in follows the address.
	f.logIn("ada@new.example.com")
	problemOf(t, f.do("POST", "/api/identity/tokens", map[string]string{"email": "ada@example.com", "password": testPassword}), http.StatusUnauthorized)

	// The old address is released: once its claim is past the grace, a
	// new sign-up may have it, and from then on it is that account's.
	f.clock.Advance(2 * claimGrace)
	newcomer := f.signUp("ada@example.com", "Another Ada")
	if newcomer == id {
		t.Fatal("the newcomer got the old account")
	}
	var theirs meResponse
	f.do("GET", "/api/identity/me", nil, bearer(f.logIn("ada@example.com").access)).decode(t, &theirs)
	if theirs.ID != newcomer {
		t.Fatalf("the old address logs in to %s, want the newcomer %s", theirs.ID, newcomer)
	}
	// Wanting it back now is a clash; another free address is not.
	token = f.logIn("ada@new.example.com").access
	problemOf(t, change("ada@example.com", testPassword), http.StatusConflict)
	if res := change("ada@third.example.com", testPassword); res.status != http.StatusOK {
		t.Fatalf("second change: %d %s", res.status, res.body)
	}
	// Back to the second address, whose claim is still the account's.
	if res := change("ada@new.example.com", testPassword); res.status != http.StatusOK {
		t.Fatalf("change back: %d %s", res.status, res.body)
	}
	f.logIn("ada@new.example.com")

	// A code for an address the account no longer has does not verify it.
	s := f.svc
	if _, err := s.verifyEmail(t.Context(), id, oldReq.Personal.Code, writeInfo{}); !errors.Is(err, ErrVerificationExpired) {
		t.Errorf("code of the first address: %v", err)
	}

	// The owner's timeline tells what happened without addresses or codes.
	eventually(t, "the changes in the timeline", func() bool {
		entries, _ := f.svc.timeline.page(id, -1, 50)
		n := 0
		for _, e := range entries {
			if e.Kind == "email_changed" {
				n++
			}
		}
		return n == 3
	})
	tl := f.do("GET", "/api/identity/me/timeline", nil, bearer(token))
	for _, secret := range []string{"example.com", oldReq.Personal.Code, req.Personal.Code} {
		if strings.Contains(string(tl.body), secret) {
			t.Errorf("timeline shows %q: %s", secret, tl.body)
		}
	}
	for _, kind := range []string{`"registered"`, `"email_changed"`, `"email_verification_requested"`} {
		if !strings.Contains(string(tl.body), kind) {
			t.Errorf("timeline lacks %s: %s", kind, tl.body)
		}
	}
	// The organisers' directory finds the account by its new address only.
	if got := f.svc.timeline.findPeople("ada@new.example.com", 5); len(got) != 1 || got[0].ID != id {
		t.Errorf("directory by the new address: %+v", got)
	}
}

func TestChangeEmailCountsFailedPasswords(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.LogInPerAccount = RateLimit{Requests: 3, Window: time.Hour} })
	f.signUp("ada@example.com", "Ada")
	token := f.logIn("ada@example.com").access
	for range 3 {
		problemOf(t, f.do("PUT", "/api/identity/me/email", map[string]string{"email": "x@example.com", "password": "guess guess guess"}, bearer(token)),
			http.StatusUnprocessableEntity)
	}
	problemOf(t, f.do("PUT", "/api/identity/me/email", map[string]string{"email": "x@example.com", "password": testPassword}, bearer(token)),
		http.StatusTooManyRequests)
}

func TestAccountPages(t *testing.T) {
	s := newSite(t)
	s.signUp("grace@example.com", "Grace")
	b := s.browser("en")
	me := b.signUp("ada@example.com", "Ada")
	var user meResponse
	s.do("GET", "/api/identity/me", nil, bearer(s.logIn("ada@example.com").access)).decode(t, &user)
	if user.Lang != "en" {
		t.Errorf("signed up on an English page, lang %q", user.Lang)
	}
	for _, want := range []string{"not confirmed yet", "Send the link again", `name="lang"`, `<option value="en" selected>English</option>`,
		"Chinese (简体中文)", `action="/identity/me/email"`, "New email address", "A link to confirm your email address was requested."} {
		if !me.has(want) {
			t.Errorf("my Yunqi lacks %q", want)
		}
	}
	checkDescribedBy(t, me)

	// The language: a value the select does not offer is a field error.
	p := b.post("/identity/me/language", url.Values{"lang": {"fr"}})
	if p.status != http.StatusUnprocessableEntity || !p.has("Choose Chinese or English.") || !p.has(`href="#f-lang-lang"`) {
		t.Fatalf("bad language: %d\n%s", p.status, p.body)
	}
	checkDescribedBy(t, p)
	me = b.follow(b.post("/identity/me/language", url.Values{"lang": {"zh-CN"}}))
	if !me.has("Messages to you will be written in the language you chose") || !me.has(`<option value="zh-CN" selected>`) ||
		!me.has("You chose Chinese (简体中文) as the language of your messages.") {
		t.Fatalf("after choosing Chinese:\n%s", me.body)
	}
	// The page stays in the language the visitor reads it in.
	if me.lang() != "en" {
		t.Errorf("page language %q", me.lang())
	}

	// Resending at once is refused with a wait.
	p = b.post("/identity/me/verification", url.Values{})
	if p.status != http.StatusTooManyRequests || !p.has("A link was sent to your address a short while ago") || p.header.Get("Retry-After") == "" {
		t.Fatalf("resend at once: %d\n%s", p.status, p.body)
	}

	// The address: wrong password, taken address, then a good change.
	p = b.post("/identity/me/email", url.Values{"email": {"ada@new.example.com"}, "password": {"not it at all"}})
	if p.status != http.StatusUnprocessableEntity || !p.has("This is not your current password.") || !p.has(`value="ada@new.example.com"`) {
		t.Fatalf("wrong password: %d\n%s", p.status, p.body)
	}
	checkDescribedBy(t, p)
	p = b.post("/identity/me/email", url.Values{"email": {"grace@example.com"}, "password": {testPassword}})
	if p.status != http.StatusConflict || !p.has("Another account already uses this email address") {
		t.Fatalf("taken: %d\n%s", p.status, p.body)
	}
	zhPasswordRequired := mustPages(t).t.Translator("zh-CN").T("identity.invalid.password.required")
	zh := s.browser("zh-CN")
	zh.logIn("grace@example.com")
	p = zh.post("/identity/me/email", url.Values{"email": {"nope"}, "password": {""}})
	if p.status != http.StatusUnprocessableEntity || !p.has(zhPasswordRequired) || !p.has(`href="#f-email-email"`) {
		t.Fatalf("invalid, in Chinese: %d\n%s", p.status, p.body)
	}
	me = b.follow(b.post("/identity/me/email", url.Values{"email": {"ada@new.example.com"}, "password": {testPassword}}))
	if !me.has("Your email address has been changed") || !me.has("ada@new.example.com") || !me.has("You changed your email address.") {
		t.Fatalf("after the change:\n%s", me.body)
	}
	b.logIn("ada@new.example.com")

	// Confirmed: the page says so and offers no resend.
	req, _ := latestRequest(t, s.store, user.ID)
	if p := b.get(verifyLink(user.ID, req.Personal.Code)); p.status != http.StatusOK {
		t.Fatalf("verify: %d", p.status)
	}
	me = b.get("/identity/me")
	if !me.has(">confirmed<") || me.has("Send the link again") || !me.has("You confirmed your email address.") {
		t.Fatalf("after verifying:\n%s", me.body)
	}
	if me.has(req.Personal.Code) {
		t.Error("the page shows the code")
	}
}
