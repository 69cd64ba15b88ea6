package search

import (
	"context"
	"fmt"
	"net/url"

	"github.com/yunqi-town/yunqi/events"
)

// Alliance members are searchable as startups. Only member-<id> streams
// are read: applications (with the contact person and the reviewers'
// notes), name claims and the decision policy never reach this code, and
// a member event's owner and application id are not copied.

// StartupID is the index id of an alliance member.
func StartupID(memberID string) string { return TypeStartup + ":" + memberID }

// StartupDocument is the search document of a member's public profile.
// The profile's team size is left out: it is not something people search
// or filter by.
func StartupDocument(memberID, tier, joinedOn string, p events.StartupProfile) Document {
	d := Document{
		ID:          StartupID(memberID),
		Type:        TypeStartup,
		URL:         "/alliance/members/" + url.PathEscape(memberID),
		MemberID:    memberID,
		NameZH:      cleanText(p.NameZH),
		NameEN:      cleanText(p.NameEN),
		City:        cleanText(p.City),
		Industry:    cleanText(p.Industry),
		Tier:        cleanText(tier),
		FoundedYear: max(p.FoundedYear, 0),
		Body:        capText(cleanText(p.Description)),
		JoinedOn:    cleanText(joinedOn),
		Website:     cleanText(p.Website),
	}
	d.Name = d.NameZH
	if d.Name == "" {
		d.Name = d.NameEN
	}
	if p.Logo != "" {
		d.LogoURL = "/api/alliance/logos/" + url.PathEscape(p.Logo)
	}
	return d
}

// The member events the index follows, by wire name: nothing else in a
// member stream is decoded.
const (
	typeMemberAdmitted       = "alliance.MemberAdmitted"
	typeMemberProfileUpdated = "alliance.MemberProfileUpdated"
	typeMembershipLapsed     = "alliance.MembershipLapsed"
	typeMembershipWithdrawn  = "alliance.MembershipWithdrawn"
	typeMemberTierChanged    = "alliance.MemberTierChanged"
	typeMembershipReinstated = "alliance.MembershipReinstated"
)

func isMemberEvent(t string) bool {
	switch t {
	case typeMemberAdmitted, typeMemberProfileUpdated, typeMembershipLapsed, typeMembershipWithdrawn,
		typeMemberTierChanged, typeMembershipReinstated:
		return true
	}
	return false
}

// projectMember maps a member event. Admission indexes the profile; an
// update replaces the profile (which it carries whole) and keeps the tier
// and join date, which only the admission records, so the member's stream
// is read up to the update for them; a lapse or withdrawal takes the
// startup out. A member event that is not public takes it out too, as a
// post's does.
func (p *projection) projectMember(ctx context.Context, e events.Event) (op, error) {
	if !isMemberEvent(e.Type) {
		return op{ignore: true}, nil
	}
	payload, ok := p.decode(e)
	if !ok {
		return op{ignore: true}, nil
	}
	public := e.Metadata.Visibility == events.Public
	switch v := payload.(type) {
	case events.MemberAdmitted:
		if !public || v.MemberID == "" {
			return op{id: StartupID(v.MemberID)}, nil
		}
		d := StartupDocument(v.MemberID, v.Tier, v.JoinedOn, v.Profile)
		return op{id: d.ID, doc: &d}, nil
	case events.MemberProfileUpdated:
		id := StartupID(v.MemberID)
		if !public || v.MemberID == "" {
			return op{id: id}, nil
		}
		m, err := p.membership(ctx, e)
		if err != nil {
			return op{}, err
		}
		if !m.active {
			// An update without a public admission before it, or after
			// the membership ended, publishes nothing.
			return op{id: id}, nil
		}
		d := StartupDocument(v.MemberID, m.tier, m.joinedOn, v.Profile)
		return op{id: id, doc: &d}, nil
	case events.MembershipLapsed:
		return op{id: StartupID(v.MemberID)}, nil
	case events.MembershipWithdrawn:
		return op{id: StartupID(v.MemberID)}, nil
	case events.MemberTierChanged, events.MembershipReinstated:
		// Neither carries the profile: the stream before it does. A tier
		// change of a lapsed member publishes nothing; a reinstatement
		// brings the profile back as it was.
		id := StartupID(memberIDOf(v))
		m, err := p.membership(ctx, e)
		if err != nil {
			return op{}, err
		}
		if t, ok := v.(events.MemberTierChanged); ok {
			m.tier = t.Tier
		} else {
			m.active = m.admitted
		}
		if !public || !m.active {
			return op{id: id}, nil
		}
		d := StartupDocument(memberIDOf(v), m.tier, m.joinedOn, m.profile)
		return op{id: id, doc: &d}, nil
	}
	return op{ignore: true}, nil
}

// membershipState is what a member's stream says before one of its events.
type membershipState struct {
	active, admitted bool
	tier, joinedOn   string
	profile          events.StartupProfile
}

func memberIDOf(v any) string {
	switch e := v.(type) {
	case events.MemberTierChanged:
		return e.MemberID
	case events.MembershipReinstated:
		return e.MemberID
	}
	return ""
}

// membership folds the member's stream up to (not including) event e.
func (p *projection) membership(ctx context.Context, e events.Event) (membershipState, error) {
	var m membershipState
	if e.Revision == 0 {
		return m, nil
	}
	evs, err := p.store.ReadStream(ctx, e.Stream, events.ReadOptions{Count: int(e.Revision)})
	if err != nil {
		return m, fmt.Errorf("search projector: read %s for its tier and join date: %w", e.Stream, err)
	}
	for _, prev := range evs {
		if prev.Revision >= e.Revision || !isMemberEvent(prev.Type) {
			continue
		}
		payload, ok := p.decode(prev)
		if !ok {
			continue
		}
		switch v := payload.(type) {
		case events.MemberAdmitted:
			if prev.Metadata.Visibility == events.Public {
				m = membershipState{active: true, admitted: true, tier: v.Tier, joinedOn: v.JoinedOn, profile: v.Profile}
			}
		case events.MemberProfileUpdated:
			m.profile = v.Profile
		case events.MemberTierChanged:
			m.tier = v.Tier
		case events.MembershipLapsed:
			m.active = false
		case events.MembershipWithdrawn:
			m.active, m.admitted = false, false // a withdrawal is final
		case events.MembershipReinstated:
			m.active = m.admitted
		}
	}
	return m, nil
}
