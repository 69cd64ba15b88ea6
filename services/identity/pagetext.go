package identity

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/web"
)

// The backend words its validation messages in English for the API. Pages
// translate them by rule: ruleKeys names each rule by the format its message
// was made from, and the catalogue has a message per field and rule
// ("identity.invalid.city.too_long"), so each reads naturally in both
// languages.
var ruleKeys = map[string]string{
	"is required":                                   "required",
	"is not a valid email address":                  "email",
	minPasswordMessage:                              "too_short",
	"must be at most %d bytes":                      "too_long_bytes",
	"must be at most %d characters":                 "too_long",
	"contains characters that are not allowed":      "bad_chars",
	"must be at most %d skills":                     "too_many",
	"must be at most %d links":                      "too_many",
	"is not a valid URL":                            "url",
	"must start with http:// or https://":           "url_scheme",
	"must name a host":                              "url_host",
	"must not contain a user name or password":      "url_userinfo",
	"must not contain spaces or control characters": "url_spaces",
	langMessage:                                     "lang",
	wrongPasswordMessage:                            "wrong",
	weakPersonalMessage:                             "personal",
	weakCommonMessage:                               "common",
	weakPatternMessage:                              "pattern",
	weakMessage:                                     "weak",
}

// formField maps a backend field ("links[2].url") to the form input it
// came from ("link_url_2"), the catalogue's name for the field ("link_url")
// and the row a person sees (3).
func formField(field string) (input, base string, row int) {
	switch {
	case strings.HasPrefix(field, "skills["):
		return "skills", "skill", 0
	case field == "links":
		return linkField("url", 0), "links", 0
	case strings.HasPrefix(field, "links["):
		idx, part, _ := strings.Cut(strings.TrimPrefix(field, "links["), "].")
		i, err := strconv.Atoi(idx)
		if err != nil {
			return field, field, 0
		}
		return linkField(part, i), "link_" + part, i + 1
	}
	return field, field, 0
}

// invalidMessage translates one field error.
func invalidMessage(tr web.Translator, fe FieldError) (input, message string) {
	input, base, row := formField(fe.Field)
	rule, ok := ruleKeys[fe.format]
	key := "identity.invalid." + base + "." + rule
	if !ok || !tr.Has(key) {
		return input, tr.T("identity.invalid.other")
	}
	n := ""
	if len(fe.args) > 0 {
		n = fmt.Sprint(fe.args[0])
	}
	if rule == "too_short" {
		n = strconv.Itoa(minPasswordRunes)
	}
	return input, tr.T(key, "n", n, "row", strconv.Itoa(row))
}

// failFields puts every field error of a validation error on the form.
func failFields(form *web.Form, tr web.Translator, invalid *ValidationError) {
	for _, fe := range invalid.Fields {
		input, msg := invalidMessage(tr, fe)
		form.Fail(input, msg)
	}
}

// langName is a message language's name in the page's language.
func langName(tr web.Translator, lang string) string {
	if key := "identity.lang." + lang; tr.Has(key) {
		return tr.T(key)
	}
	return lang
}

func roleName(tr web.Translator, role string) string {
	if key := "identity.role." + role; tr.Has(key) {
		return tr.T(key)
	}
	return role
}

// timelineText says what a timeline entry means to its owner. Entries carry
// no actor, so a grant by staff reads as a grant, never as who made it.
func timelineText(tr web.Translator, e TimelineEntry) string {
	switch e.Kind {
	case "role_granted", "role_revoked":
		return tr.T("identity.timeline."+e.Kind, "role", roleName(tr, e.Role))
	case "language_chosen":
		return tr.T("identity.timeline.language_chosen", "lang", langName(tr, e.Lang))
	case "session_ended":
		if e.Reason == events.SessionRevokedReuse {
			return tr.T("identity.timeline.session_ended_reuse")
		}
		return tr.T("identity.timeline.session_ended")
	}
	if key := "identity.timeline." + e.Kind; tr.Has(key) {
		return tr.T(key)
	}
	return tr.T("identity.timeline.other")
}
