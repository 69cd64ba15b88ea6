package alliance

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// FieldError is one invalid field. Code is stable and is what pages
// translate; Message is the English text the API answers with.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError lists every invalid field of a command at once.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return "invalid: " + strings.Join(parts, "; ")
}

type fieldErrors []FieldError

func (f *fieldErrors) add(field, code, message string) {
	*f = append(*f, FieldError{Field: field, Code: code, Message: message})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

// Limits of the profile's fields.
const (
	maxName        = 100
	maxShort       = 60 // city, industry
	maxWebsite     = 300
	maxDescription = 4000
	maxTeamSize    = 1_000_000
	minFoundedYear = 1850
)

var logoPattern = regexp.MustCompile(`^[0-9a-f]{64}\.(png|jpg|gif|webp)$`)

func clean(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "")) }

// normalise trims what people type; everything else is kept as typed.
func normalise(p events.StartupProfile, c events.ApplicantContact) (events.StartupProfile, events.ApplicantContact) {
	p.NameZH, p.NameEN, p.Website = clean(p.NameZH), clean(p.NameEN), clean(p.Website)
	p.City, p.Industry, p.Logo = clean(p.City), clean(p.Industry), clean(p.Logo)
	p.Description = strings.TrimSpace(strings.ToValidUTF8(strings.ReplaceAll(p.Description, "\r\n", "\n"), ""))
	c.Name, c.Email, c.Phone = clean(c.Name), clean(c.Email), clean(c.Phone)
	return p, c
}

// validate checks a profile and contact. complete is for submission, when
// every field reviewers need must be there; a draft only has to be well
// formed where it is filled in.
func validate(p events.StartupProfile, c events.ApplicantContact, now time.Time, complete bool) error {
	var errs fieldErrors
	long := func(field, v string, n int) {
		if utf8.RuneCountInString(v) > n {
			errs.add(field, "too_long", fmt.Sprintf("must be at most %d characters", n))
		}
	}
	need := func(field, v string) bool {
		if v == "" {
			if complete {
				errs.add(field, "required", "is required")
			}
			return false
		}
		return true
	}
	if p.NameZH == "" && p.NameEN == "" {
		// Even a draft needs a name: it is how the applicant finds it again.
		errs.add("name_zh", "name_required", "a Chinese or an English name is required")
	}
	long("name_zh", p.NameZH, maxName)
	long("name_en", p.NameEN, maxName)
	if need("website", p.Website) {
		if u, err := url.Parse(p.Website); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(p.Website) > maxWebsite {
			errs.add("website", "url", "must be an http:// or https:// address, like https://example.com")
		}
	}
	if need("city", p.City) {
		long("city", p.City, maxShort)
	}
	if need("industry", p.Industry) {
		long("industry", p.Industry, maxShort)
	}
	if p.FoundedYear == 0 {
		if complete {
			errs.add("founded_year", "required", "is required")
		}
	} else if p.FoundedYear < minFoundedYear || p.FoundedYear > now.In(hangzhou).Year() {
		errs.add("founded_year", "year", fmt.Sprintf("must be a year from %d to %d; a company cannot be founded in the future", minFoundedYear, now.In(hangzhou).Year()))
	}
	if p.TeamSize == 0 {
		if complete {
			errs.add("team_size", "required", "is required")
		}
	} else if p.TeamSize < 1 || p.TeamSize > maxTeamSize {
		errs.add("team_size", "team_size", fmt.Sprintf("must be a whole number from 1 to %d", maxTeamSize))
	}
	if need("description", p.Description) {
		long("description", p.Description, maxDescription)
	}
	if p.Logo != "" && !logoPattern.MatchString(p.Logo) {
		errs.add("logo", "logo", "must be the name of an uploaded logo")
	}
	if need("contact_name", c.Name) {
		long("contact_name", c.Name, maxName)
	}
	if need("contact_email", c.Email) {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || len(c.Email) > 254 {
			errs.add("contact_email", "email", "must be an email address, like name@example.com")
		}
	}
	long("contact_phone", c.Phone, 40)
	return errs.err()
}

// changedFields names the profile fields that differ, for histories.
func changedFields(a, b events.StartupProfile) []string {
	var out []string
	check := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	check("name_zh", a.NameZH == b.NameZH)
	check("name_en", a.NameEN == b.NameEN)
	check("website", a.Website == b.Website)
	check("city", a.City == b.City)
	check("industry", a.Industry == b.Industry)
	check("founded_year", a.FoundedYear == b.FoundedYear)
	check("team_size", a.TeamSize == b.TeamSize)
	check("description", a.Description == b.Description)
	check("logo", a.Logo == b.Logo)
	return out
}

// hangzhou is the alliance's calendar: join dates and the wall's dates are
// days in Hangzhou, whatever the server's zone.
var hangzhou = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	// Machines without a zone database: China has kept UTC+8 without
	// daylight saving since 1991.
	return time.FixedZone("CST", 8*3600)
}()

// dateOf is the Hangzhou day of t, as YYYY-MM-DD.
func dateOf(t time.Time) string { return t.In(hangzhou).Format(time.DateOnly) }

// displayName is the name to show: Chinese first, as the alliance's stones
// carry it.
func displayName(p events.StartupProfile) string {
	if p.NameZH != "" {
		return p.NameZH
	}
	return p.NameEN
}
