package identity

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// profileDoc is the owner's view of their profile, and what they send to
// change it: every field, and per field whether the public may see it.
type profileDoc struct {
	ID          string                `json:"id,omitempty"`
	DisplayName string                `json:"display_name"`
	Bio         string                `json:"bio"`
	City        string                `json:"city"`
	Skills      []string              `json:"skills"`
	Links       []events.ProfileLink  `json:"links"`
	Publish     events.ProfilePublish `json:"publish"`
}

func ownerProfile(u User) profileDoc {
	return profileDoc{
		ID:          u.ID,
		DisplayName: u.Profile.DisplayName,
		Bio:         u.Profile.Bio,
		City:        u.Profile.City,
		Skills:      nonNil(u.Profile.Skills),
		Links:       nonNil(u.Profile.Links),
		Publish:     u.Publish,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// publicProfile is what anyone may see: only the published fields, and never
// the email address, which is not a profile field at all.
type publicProfile struct {
	ID          string               `json:"id"`
	DisplayName string               `json:"display_name,omitempty"`
	Bio         string               `json:"bio,omitempty"`
	City        string               `json:"city,omitempty"`
	Skills      []string             `json:"skills,omitempty"`
	Links       []events.ProfileLink `json:"links,omitempty"`
	// The works (see profile_works.go) are always present, empty or not:
	// they are lists a client iterates, not fields the owner withholds.
	Entries    []PublicEntry `json:"entries"`
	Posts      []PublicPost  `json:"posts"`
	PostsTotal int           `json:"posts_total"`
}

// publicView returns the public profile without its works; ok is false
// when nothing is published, so that a person who publishes nothing cannot
// be told apart from one who does not exist. Works do not count: listing
// them would tell that the person exists.
func publicView(u User) (publicProfile, bool) {
	p := publicProfile{ID: u.ID}
	pub := u.Publish
	if pub.DisplayName {
		p.DisplayName = u.Profile.DisplayName
	}
	if pub.Bio {
		p.Bio = u.Profile.Bio
	}
	if pub.City {
		p.City = u.Profile.City
	}
	if pub.Skills {
		p.Skills = u.Profile.Skills
	}
	if pub.Links {
		p.Links = u.Profile.Links
	}
	ok := p.DisplayName != "" || p.Bio != "" || p.City != "" || len(p.Skills) > 0 || len(p.Links) > 0
	return p, ok
}

// validate cleans a profile update (trimming, dropping empty list entries)
// or reports every invalid field.
func (d profileDoc) validate() (events.ProfileFields, error) {
	var errs fieldErrors
	var f events.ProfileFields
	var ok bool

	f.DisplayName, ok = cleanText(d.DisplayName, false)
	switch n := utf8.RuneCountInString(f.DisplayName); {
	case !ok:
		errs.add("display_name", "contains characters that are not allowed")
	case n == 0:
		errs.add("display_name", "is required")
	case n > maxDisplayName:
		errs.add("display_name", "must be at most %d characters", maxDisplayName)
	}
	f.Bio, ok = cleanText(d.Bio, true)
	if !ok {
		errs.add("bio", "contains characters that are not allowed")
	} else if utf8.RuneCountInString(f.Bio) > maxBio {
		errs.add("bio", "must be at most %d characters", maxBio)
	}
	f.City, ok = cleanText(d.City, false)
	if !ok {
		errs.add("city", "contains characters that are not allowed")
	} else if utf8.RuneCountInString(f.City) > maxCity {
		errs.add("city", "must be at most %d characters", maxCity)
	}

	if len(d.Skills) > maxSkills {
		errs.add("skills", "must be at most %d skills", maxSkills)
	}
	seen := map[string]bool{}
	for i, s := range d.Skills {
		field := fmt.Sprintf("skills[%d]", i)
		s, ok := cleanText(s, false)
		switch {
		case !ok:
			errs.add(field, "contains characters that are not allowed")
		case s == "":
			// An empty row of a form is not a skill.
		case utf8.RuneCountInString(s) > maxSkill:
			errs.add(field, "must be at most %d characters", maxSkill)
		case !seen[strings.ToLower(s)]:
			seen[strings.ToLower(s)] = true
			f.Skills = append(f.Skills, s)
		}
	}

	if len(d.Links) > maxLinks {
		errs.add("links", "must be at most %d links", maxLinks)
	}
	for i, l := range d.Links {
		label, ok := cleanText(l.Label, false)
		if !ok {
			errs.add(fmt.Sprintf("links[%d].label", i), "contains characters that are not allowed")
		} else if utf8.RuneCountInString(label) > maxLinkLabel {
			errs.add(fmt.Sprintf("links[%d].label", i), "must be at most %d characters", maxLinkLabel)
		}
		raw := strings.TrimSpace(l.URL)
		if raw == "" && label == "" {
			continue
		}
		u, msg, args := checkLink(raw)
		if msg != "" {
			errs.addRule(fmt.Sprintf("links[%d].url", i), msg, args)
			continue
		}
		f.Links = append(f.Links, events.ProfileLink{Label: label, URL: u})
	}
	return f, errs.err()
}

// checkLink accepts absolute http and https URLs only: anything else
// (javascript:, data:, relative paths) could run or mislead on the public
// page that shows it. Credentials in a URL are refused as a phishing trick.
func checkLink(raw string) (clean, format string, args []any) {
	if raw == "" {
		return "", "is required", nil
	}
	if len(raw) > maxLinkURLBytes {
		return "", "must be at most %d bytes", []any{maxLinkURLBytes}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "is not a valid URL", nil
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", "must start with http:// or https://", nil
	case u.Hostname() == "":
		return "", "must name a host", nil
	case u.User != nil:
		return "", "must not contain a user name or password", nil
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return "", "must not contain spaces or control characters", nil
		}
	}
	u.Scheme = scheme
	return u.String(), "", nil
}

// updateProfile replaces the owner's profile.
func (s *Service) updateProfile(ctx context.Context, userID string, d profileDoc, wi writeInfo) (User, error) {
	fields, err := d.validate()
	if err != nil {
		return User{}, err
	}
	for range maxAttempts {
		u, rev, err := loadUser(ctx, s.store, userID)
		if err != nil {
			return User{}, err
		}
		evs, err := u.updateProfile(fields, d.Publish)
		if err != nil || len(evs) == 0 {
			return u, err
		}
		wi.actor = userID
		_, err = appendPayloads(ctx, s.store, events.UserStream(userID), rev, userID, wi, s.now(), evs...)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return User{}, err
		}
		for _, e := range evs {
			u.apply(e)
		}
		return u, nil
	}
	return User{}, fmt.Errorf("update profile of %s: still contended after %d attempts", userID, maxAttempts)
}
