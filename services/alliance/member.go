package alliance

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/yunqi-town/yunqi/events"
)

// Membership statuses.
const (
	MemberActive    = "active"
	MemberLapsed    = "lapsed"
	MemberWithdrawn = "withdrawn"
)

// Member is the aggregate of one member stream.
type Member struct {
	ID            string
	ApplicationID string
	Owner         string
	Tier          string
	JoinedOn      string
	Profile       events.StartupProfile
	Status        string
}

func (m *Member) Exists() bool { return m.Status != "" }

func (m *Member) Apply(p any, _ time.Time) {
	switch p := p.(type) {
	case events.MemberAdmitted:
		m.ID, m.ApplicationID, m.Owner, m.Tier, m.JoinedOn, m.Profile = p.MemberID, p.ApplicationID, p.Owner, p.Tier, p.JoinedOn, p.Profile
		m.Status = MemberActive
	case events.MemberProfileUpdated:
		m.Profile = p.Profile
	case events.MembershipLapsed:
		m.Status = MemberLapsed
	case events.MembershipWithdrawn:
		m.Status = MemberWithdrawn
	case events.MemberTierChanged:
		m.Tier = p.Tier
	case events.MembershipReinstated:
		m.Status = MemberActive
	}
}

// Tiers are the membership tiers organisers choose from.
var Tiers = []string{events.TierFounding, events.TierMember}

// changeTier moves an active membership to another tier (organisers only).
func (m *Member) changeTier(organizer bool, tier string) ([]any, error) {
	if !m.Exists() {
		return nil, ErrNotFound
	}
	if !organizer {
		return nil, ErrNotYours
	}
	tier = strings.TrimSpace(tier)
	if !slices.Contains(Tiers, tier) {
		return nil, &ValidationError{Fields: []FieldError{{Field: "tier", Code: "tier", Message: "must be founding or member"}}}
	}
	if m.Status == MemberWithdrawn {
		return nil, ErrMemberGone
	}
	if tier == m.Tier {
		return nil, nil
	}
	return []any{events.MemberTierChanged{MemberID: m.ID, From: m.Tier, Tier: tier}}, nil
}

// reinstate brings a lapsed membership back (organisers only); an active
// one is left as it is, so a repeated click writes nothing.
func (m *Member) reinstate(organizer bool, reason string) ([]any, error) {
	if !m.Exists() {
		return nil, ErrNotFound
	}
	if !organizer {
		return nil, ErrNotYours
	}
	var errs fieldErrors
	checkComment(&errs, "reason", reason, false)
	if err := errs.err(); err != nil {
		return nil, err
	}
	switch m.Status {
	case MemberActive:
		return nil, nil
	case MemberWithdrawn:
		return nil, ErrMemberGone
	}
	return []any{events.MembershipReinstated{MemberID: m.ID, Reason: strings.TrimSpace(reason)}}, nil
}

// updateProfile replaces the public profile. The contact person is not
// part of it: a member's profile carries nothing personal.
func (m *Member) updateProfile(actor string, organizer bool, p events.StartupProfile, now time.Time) ([]any, error) {
	if !m.Exists() {
		return nil, ErrNotFound
	}
	if actor != m.Owner && !organizer {
		return nil, ErrNotYours
	}
	if m.Status != MemberActive {
		return nil, ErrMemberGone
	}
	p, _ = normalise(p, events.ApplicantContact{})
	if err := validate(p, events.ApplicantContact{}, now, false); err != nil {
		return nil, err
	}
	changed := changedFields(m.Profile, p)
	if len(changed) == 0 {
		return nil, nil
	}
	return []any{events.MemberProfileUpdated{MemberID: m.ID, Profile: p, Changed: changed}}, nil
}

// end lapses (organisers only) or withdraws (the owner or an organiser) a
// membership.
func (m *Member) end(actor string, organizer, lapse bool, reason string) ([]any, error) {
	if !m.Exists() {
		return nil, ErrNotFound
	}
	if lapse && !organizer || !lapse && actor != m.Owner && !organizer {
		return nil, ErrNotYours
	}
	var errs fieldErrors
	checkComment(&errs, "reason", reason, false)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if m.Status != MemberActive {
		return nil, ErrMemberGone
	}
	reason = strings.TrimSpace(reason)
	if lapse {
		return []any{events.MembershipLapsed{MemberID: m.ID, Reason: reason}}, nil
	}
	return []any{events.MembershipWithdrawn{MemberID: m.ID, Reason: reason}}, nil
}

// claim is the state of one startup name's claim stream.
type claim struct {
	ApplicationID string
	MemberID      string
	Held          bool
}

func (c *claim) Apply(p any, _ time.Time) {
	switch p := p.(type) {
	case events.StartupNameClaimed:
		c.ApplicationID, c.MemberID, c.Held = p.ApplicationID, p.MemberID, true
	}
}

// nameKey folds a startup name so that spellings of the same name meet:
// Unicode compatibility forms (full-width letters), case, spaces and
// punctuation do not make a different startup.
func nameKey(name string) string {
	var b strings.Builder
	for _, r := range norm.NFKC.String(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// claimKeys are the claim streams of a profile: one per name it has, so
// that neither its Chinese nor its English name can be applied for twice.
func claimKeys(p events.StartupProfile) []string {
	var keys []string
	for _, n := range []string{p.NameZH, p.NameEN} {
		if k := nameKey(n); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func claimStream(key string) string {
	sum := sha256.Sum256([]byte(key))
	return events.StartupClaimStream(hex.EncodeToString(sum[:16]))
}
