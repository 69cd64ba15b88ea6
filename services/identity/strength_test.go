package identity

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

func TestSignUpRefusesGuessablePasswords(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ email, password, name, message string }{
		{"li.hua@example.com", "lihua2013lihua", "李华", weakPersonalMessage},
		{"ada@example.com", "qwertyuiop", "Ada", weakCommonMessage},
		{"ada@example.com", "abcabcabcabcabc", "Ada", weakPatternMessage},
	} {
		res := f.do("POST", "/api/identity/users", map[string]string{"email": tc.email, "password": tc.password, "display_name": tc.name})
		p := problemOf(t, res, http.StatusUnprocessableEntity)
		if p.Type != httpserver.ProblemBase+"validation" || len(p.Errors) != 1 || p.Errors[0].Field != "password" || p.Errors[0].Message != tc.message {
			t.Errorf("%q: %+v", tc.password, p)
		}
	}
	if n := countEvents(t, f.store, "identity.UserRegistered"); n != 0 {
		t.Fatalf("%d accounts opened with a weak password", n)
	}
	// The project's standard test password is strong.
	f.signUp("li.hua@example.com", "李华")
}

func TestSignUpPageSaysWhyAPasswordIsWeak(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct{ lang, want string }{
		{"en", "The password contains your email address or your name"},
		{"zh-CN", "密码里含有你的邮箱地址或名字"},
	} {
		p := s.browser(tc.lang).post("/identity/signup", url.Values{"email": {"duyong@example.com"}, "password": {"duyong12345"}, "display_name": {"杜勇"}})
		if p.status != http.StatusUnprocessableEntity || !p.has(tc.want) || !p.has(`id="f-password-error"`) {
			t.Errorf("%s: %d\n%s", tc.lang, p.status, p.body)
		}
		if strings.Contains(p.body, "duyong12345") {
			t.Errorf("%s: the password came back in the page", tc.lang)
		}
	}
}

// Only the first maxStrengthRunes characters are measured, which bounds
// zxcvbn's cost: a long password that starts as a pattern is refused
// even though what follows would have made it strong.
func TestStrengthLooksAtTheStartOnly(t *testing.T) {
	strong := "correct horse battery staple"
	if weakPassword(strings.Repeat("ab", maxStrengthRunes/2)+strong, "a@example.com", "x") == "" {
		t.Error("a password that starts with 64 characters of pattern passed")
	}
	if why := weakPassword(strong+strings.Repeat("ab", 100), "a@example.com", "x"); why != "" {
		t.Errorf("a strong start was refused: %s", why)
	}
}

// BenchmarkPasswordStrength is what a sign-up adds: "typical" is a
// passphrase, "longest" the longest password accepted, whose first
// maxStrengthRunes characters are measured, in the pattern that costs
// zxcvbn most.
func BenchmarkPasswordStrength(b *testing.B) {
	for _, bc := range []struct{ name, password string }{
		{"typical", "correct horse battery staple"},
		{"personal", "duyong likes strong coffee"},
		{"longest", strings.Repeat("19851985", maxPasswordBytes/8)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				weakPassword(bc.password, "duyong@example.com", "杜勇")
			}
		})
	}
}
