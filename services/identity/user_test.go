package identity

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

const uid = "0193a0b2-0000-7000-8000-000000000001"

var registered = events.UserRegistered{UserID: uid, Personal: events.UserPersonal{
	Email: "duyong@example.com", PasswordHash: "$argon2id$…", DisplayName: "杜勇",
}}

// Given events, when a command, then events or an error.
func TestUserDecisions(t *testing.T) {
	profile := events.ProfileFields{DisplayName: "杜勇", City: "杭州", Skills: []string{"Go"}}
	publish := events.ProfilePublish{DisplayName: true, City: true}
	cases := []struct {
		name  string
		given []any
		when  func(User) ([]any, error)
		then  []any
		err   error
	}{
		{
			name: "register a new user",
			when: func(u User) ([]any, error) {
				return u.register(uid, "duyong@example.com", "$argon2id$…", "杜勇", "")
			},
			then: []any{registered},
		},
		{
			name:  "register twice",
			given: []any{registered},
			when:  func(u User) ([]any, error) { return u.register(uid, "x@example.com", "h", "x", "en") },
			err:   ErrAlreadyRegistered,
		},
		{
			name:  "grant a role",
			given: []any{registered},
			when:  func(u User) ([]any, error) { return u.grantRole("judge") },
			then:  []any{events.RoleGranted{UserID: uid, Role: "judge"}},
		},
		{
			name:  "grant a held role writes nothing",
			given: []any{registered, events.RoleGranted{UserID: uid, Role: "judge"}},
			when:  func(u User) ([]any, error) { return u.grantRole("judge") },
		},
		{
			name:  "grant an unknown role",
			given: []any{registered},
			when:  func(u User) ([]any, error) { return u.grantRole("admin") },
			err:   ErrUnknownRole,
		},
		{
			name:  "member is not granted",
			given: []any{registered},
			when:  func(u User) ([]any, error) { return u.grantRole("member") },
			err:   ErrMemberRole,
		},
		{
			name: "grant to nobody",
			when: func(u User) ([]any, error) { return u.grantRole("judge") },
			err:  ErrUserNotFound,
		},
		{
			name:  "revoke a held role",
			given: []any{registered, events.RoleGranted{UserID: uid, Role: "gate"}},
			when:  func(u User) ([]any, error) { return u.revokeRole("gate") },
			then:  []any{events.RoleRevoked{UserID: uid, Role: "gate"}},
		},
		{
			name:  "revoke a role not held writes nothing",
			given: []any{registered, events.RoleGranted{UserID: uid, Role: "gate"}, events.RoleRevoked{UserID: uid, Role: "gate"}},
			when:  func(u User) ([]any, error) { return u.revokeRole("gate") },
		},
		{
			name:  "member cannot be revoked",
			given: []any{registered},
			when:  func(u User) ([]any, error) { return u.revokeRole("member") },
			err:   ErrMemberRole,
		},
		{
			name:  "update the profile",
			given: []any{registered},
			when:  func(u User) ([]any, error) { return u.updateProfile(profile, publish) },
			then:  []any{events.ProfileUpdated{UserID: uid, Personal: profile, Publish: publish}},
		},
		{
			name:  "an unchanged profile writes nothing",
			given: []any{registered, events.ProfileUpdated{UserID: uid, Personal: profile, Publish: publish}},
			when:  func(u User) ([]any, error) { return u.updateProfile(profile, publish) },
		},
		{
			name:  "a changed publish flag is a change",
			given: []any{registered, events.ProfileUpdated{UserID: uid, Personal: profile, Publish: publish}},
			when:  func(u User) ([]any, error) { return u.updateProfile(profile, events.ProfilePublish{}) },
			then:  []any{events.ProfileUpdated{UserID: uid, Personal: profile}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.when(replayUser(c.given...))
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("events = %#v\nwant %#v", got, c.then)
			}
		})
	}
}

func TestUserState(t *testing.T) {
	u := replayUser(registered,
		events.RoleGranted{UserID: uid, Role: "organizer"},
		events.RoleGranted{UserID: uid, Role: "judge"},
		events.RoleRevoked{UserID: uid, Role: "organizer"},
		events.ProfileUpdated{UserID: uid, Personal: events.ProfileFields{DisplayName: "Du Yong"}},
	)
	if !reflect.DeepEqual(u.Roles, []string{"judge", "member"}) {
		t.Fatalf("roles = %v", u.Roles)
	}
	if u.DisplayName != "Du Yong" || u.Email != "duyong@example.com" {
		t.Fatalf("user = %+v", u)
	}
}

func TestSessionDecisions(t *testing.T) {
	now := time.Date(2015, 10, 14, 9, 0, 0, 0, time.UTC)
	ttl := 24 * time.Hour
	started := events.SessionStarted{SessionID: "s1", UserID: uid, TokenHash: "h1", ExpiresAt: now.Add(ttl)}
	rotated := events.SessionRefreshed{SessionID: "s1", TokenHash: "h2", ExpiresAt: now.Add(ttl)}
	cases := []struct {
		name  string
		given []any
		when  func(Session) ([]any, error)
		then  []any
		err   error
	}{
		{
			name: "start",
			when: func(s Session) ([]any, error) { return s.start("s1", uid, "h1", now.Add(ttl)) },
			then: []any{started},
		},
		{
			name:  "refresh with the current token rotates it",
			given: []any{started},
			when:  func(s Session) ([]any, error) { return s.refresh("h1", "h2", now.Add(time.Hour), ttl) },
			then:  []any{events.SessionRefreshed{SessionID: "s1", TokenHash: "h2", ExpiresAt: now.Add(time.Hour + ttl)}},
		},
		{
			name:  "refresh with a rotated token is reuse and ends the session",
			given: []any{started, rotated},
			when:  func(s Session) ([]any, error) { return s.refresh("h1", "h3", now, ttl) },
			then:  []any{events.SessionRevoked{SessionID: "s1", Reason: events.SessionRevokedReuse}},
			err:   ErrRefreshReuse,
		},
		{
			name:  "refresh after reuse fails even with the newest token",
			given: []any{started, rotated, events.SessionRevoked{SessionID: "s1", Reason: events.SessionRevokedReuse}},
			when:  func(s Session) ([]any, error) { return s.refresh("h2", "h3", now, ttl) },
			err:   ErrSessionInvalid,
		},
		{
			name:  "refresh with a token never issued",
			given: []any{started},
			when:  func(s Session) ([]any, error) { return s.refresh("guess", "h3", now, ttl) },
			err:   ErrSessionInvalid,
		},
		{
			name:  "refresh of an expired session",
			given: []any{started},
			when:  func(s Session) ([]any, error) { return s.refresh("h1", "h2", now.Add(ttl), ttl) },
			err:   ErrSessionInvalid,
		},
		{
			name: "refresh of an unknown session",
			when: func(s Session) ([]any, error) { return s.refresh("h1", "h2", now, ttl) },
			err:  ErrSessionInvalid,
		},
		{
			name:  "log out",
			given: []any{started, rotated},
			when:  func(s Session) ([]any, error) { return s.end("h2") },
			then:  []any{events.SessionRevoked{SessionID: "s1", Reason: events.SessionRevokedLogout}},
		},
		{
			name:  "log out twice writes nothing",
			given: []any{started, events.SessionRevoked{SessionID: "s1", Reason: events.SessionRevokedLogout}},
			when:  func(s Session) ([]any, error) { return s.end("h1") },
		},
		{
			name:  "log out with a wrong token",
			given: []any{started},
			when:  func(s Session) ([]any, error) { return s.end("guess") },
			err:   ErrSessionInvalid,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.when(replaySession(c.given...))
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("events = %#v\nwant %#v", got, c.then)
			}
		})
	}
}

func TestSignUpValidation(t *testing.T) {
	long := strings.Repeat("长", 65)
	cases := []struct {
		name string
		in   signUpInput
		bad  []string // fields reported
	}{
		{"valid", signUpInput{"duyong@example.com", "correct horse battery", "杜勇", ""}, nil},
		{"valid with spaces trimmed", signUpInput{"  duyong@example.com ", "correct horse battery", "  杜勇 ", ""}, nil},
		{"ten Chinese characters are enough", signUpInput{"a@example.com", "杭州西湖边的咖啡很好", "x", ""}, nil},
		{"everything missing", signUpInput{}, []string{"email", "password", "display_name"}},
		{"no at sign", signUpInput{"duyong.example.com", "correct horse battery", "x", ""}, []string{"email"}},
		{"display name form", signUpInput{"Du <du@example.com>", "correct horse battery", "x", ""}, []string{"email"}},
		{"no domain dot", signUpInput{"root@localhost", "correct horse battery", "x", ""}, []string{"email"}},
		{"short password", signUpInput{"a@example.com", "123456789", "x", ""}, []string{"password"}},
		{"long password", signUpInput{"a@example.com", strings.Repeat("p", 257), "x", ""}, []string{"password"}},
		{"longest password", signUpInput{"a@example.com", strings.Repeat("correct horse battery staple ", 9)[:256], "x", ""}, nil},
		{"long but a repeat", signUpInput{"a@example.com", strings.Repeat("p", 256), "x", ""}, []string{"password"}},
		{"common password", signUpInput{"a@example.com", "password1234", "x", ""}, []string{"password"}},
		{"keyboard walk", signUpInput{"a@example.com", "1qaz2wsx3edc", "x", ""}, []string{"password"}},
		{"the address", signUpInput{"duyong@example.com", "duyong@example.com", "x", ""}, []string{"password"}},
		{"the local part and digits", signUpInput{"duyong@example.com", "duyong12345", "x", ""}, []string{"password"}},
		{"the name and a year", signUpInput{"ada.lovelace@example.com", "adalovelace1815", "Ada Lovelace", ""}, []string{"password"}},
		{"a Chinese name repeated", signUpInput{"duyong@example.com", "杜勇杜勇杜勇杜勇杜勇", "杜勇", ""}, []string{"password"}},
		{"a name among strong words", signUpInput{"duyong@example.com", "杜勇 likes strong coffee in hangzhou", "杜勇", ""}, nil},
		{"the standard test password", signUpInput{"horse@example.com", "correct horse battery staple", "Horse", ""}, nil},
		{"long display name", signUpInput{"a@example.com", "correct horse battery", long, ""}, []string{"display_name"}},
		{"blank display name", signUpInput{"a@example.com", "correct horse battery", "   ", ""}, []string{"display_name"}},
		{"control character", signUpInput{"a@example.com", "correct horse battery", "a\x00b", ""}, []string{"display_name"}},
		{"English", signUpInput{"a@example.com", "correct horse battery", "x", "en"}, nil},
		{"unknown language", signUpInput{"a@example.com", "correct horse battery", "x", "fr"}, []string{"lang"}},
		{"language in lower case", signUpInput{"a@example.com", "correct horse battery", "x", "zh-cn"}, []string{"lang"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.in.validate()
			var got []string
			var v *ValidationError
			if errors.As(err, &v) {
				for _, f := range v.Fields {
					got = append(got, f.Field)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.bad) {
				t.Fatalf("invalid fields = %v, want %v", got, c.bad)
			}
		})
	}
}

func TestProfileValidation(t *testing.T) {
	cases := []struct {
		name string
		doc  profileDoc
		bad  []string
	}{
		{"valid", profileDoc{DisplayName: "杜勇", Links: []events.ProfileLink{{Label: "blog", URL: "https://example.com/blog"}}}, nil},
		{"http is fine", profileDoc{DisplayName: "x", Links: []events.ProfileLink{{URL: "HTTP://example.com"}}}, nil},
		{"javascript link", profileDoc{DisplayName: "x", Links: []events.ProfileLink{{URL: "javascript:alert(1)"}}}, []string{"links[0].url"}},
		{"data link", profileDoc{DisplayName: "x", Links: []events.ProfileLink{{URL: "data:text/html,hi"}}}, []string{"links[0].url"}},
		{"relative link", profileDoc{DisplayName: "x", Links: []events.ProfileLink{{URL: "/people/1"}}}, []string{"links[0].url"}},
		{"credentials in link", profileDoc{DisplayName: "x", Links: []events.ProfileLink{{URL: "https://bank.example@evil.example/"}}}, []string{"links[0].url"}},
		{"label without url", profileDoc{DisplayName: "x", Links: []events.ProfileLink{{Label: "blog"}}}, []string{"links[0].url"}},
		{"no display name", profileDoc{}, []string{"display_name"}},
		{"long skill", profileDoc{DisplayName: "x", Skills: []string{strings.Repeat("s", 41)}}, []string{"skills[0]"}},
		{"too many links", profileDoc{DisplayName: "x", Links: make([]events.ProfileLink, 11)}, []string{"links"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.doc.validate()
			var got []string
			var v *ValidationError
			if errors.As(err, &v) {
				for _, f := range v.Fields {
					got = append(got, f.Field)
				}
			}
			if !reflect.DeepEqual(got, c.bad) {
				t.Fatalf("invalid fields = %v, want %v (%v)", got, c.bad, err)
			}
		})
	}
	f, err := profileDoc{DisplayName: " x ", Skills: []string{"Go", " go ", "", "Rust"}}.validate()
	if err != nil || !reflect.DeepEqual(f.Skills, []string{"Go", "Rust"}) || f.DisplayName != "x" {
		t.Fatalf("cleaned = %+v, %v", f, err)
	}
}

func TestPublicView(t *testing.T) {
	u := replayUser(registered, events.ProfileUpdated{UserID: uid,
		Personal: events.ProfileFields{DisplayName: "杜勇", Bio: "builds storage", City: "杭州", Skills: []string{"Go"}},
		Publish:  events.ProfilePublish{City: true, Skills: true},
	})
	p, ok := publicView(u)
	if !ok || p.DisplayName != "" || p.Bio != "" || p.City != "杭州" || len(p.Skills) != 1 {
		t.Fatalf("public view = %+v, %v", p, ok)
	}
	if _, ok := publicView(replayUser(registered)); ok {
		t.Fatal("a profile with nothing published is visible")
	}
}
