package alliance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Who is the caller of a command, as far as decisions need to know.
type Who struct {
	UserID    string
	Name      string
	Reviewer  bool
	Organizer bool
	RequestID string
}

func (w Who) staff() bool { return w.Reviewer || w.Organizer }

type aggregate interface{ Apply(p any, at time.Time) }

func occurred(e events.Event) time.Time {
	if !e.Metadata.OccurredAt.IsZero() {
		return e.Metadata.OccurredAt
	}
	return e.Recorded
}

// load folds a stream into agg and returns the revision to append at.
func (s *Service) load(ctx context.Context, stream string, agg aggregate) (events.ExpectedRevision, error) {
	evs, err := s.store.ReadStream(ctx, stream, events.ReadOptions{})
	if errors.Is(err, events.ErrStreamNotFound) {
		return events.NoStream, nil
	}
	if err != nil {
		return events.Any, err
	}
	for _, e := range evs {
		p, err := events.Types.Decode(e)
		if err != nil {
			return events.Any, err
		}
		agg.Apply(p, occurred(e))
	}
	return events.Exact(evs[len(evs)-1].Revision), nil
}

// propose stamps metadata on payloads. Events that carry the contact
// person name the applicant as their subject, for crypto-shredding.
func (s *Service) propose(who Who, subject, idKey string, now time.Time, payloads []any) ([]events.Proposed, error) {
	out := make([]events.Proposed, 0, len(payloads))
	for i, p := range payloads {
		m := events.Metadata{Actor: who.UserID, RequestID: who.RequestID, CorrelationID: who.RequestID,
			OccurredAt: now.UTC(), Visibility: visibility(p)}
		if m.Actor == "" {
			m.Actor = events.ActorSystem
		}
		switch p.(type) {
		case events.ApplicationDrafted, events.ApplicationEdited:
			m.Subject = subject
		}
		ev, err := events.Types.New(p, m)
		if err != nil {
			return nil, err
		}
		if idKey != "" {
			ev.ID = events.IDFromKey(idKey, i)
		}
		out = append(out, ev)
	}
	return out, nil
}

// maxTries bounds the load-decide-append loop under contention.
const maxTries = 5

// update runs one command against one stream with optimistic concurrency,
// deciding again on fresh state when another writer got in first.
func update[A aggregate](ctx context.Context, s *Service, stream string, who Who, idKey string, fresh func() A,
	decide func(A, time.Time) ([]any, error), subject func(A) string) (A, []any, events.Position, error) {
	var zero A
	for range maxTries {
		agg := fresh()
		rev, err := s.load(ctx, stream, agg)
		if err != nil {
			return zero, nil, events.Start, err
		}
		now := s.now()
		payloads, err := decide(agg, now)
		if err != nil || len(payloads) == 0 {
			return agg, nil, events.Start, err
		}
		proposed, err := s.propose(who, subject(agg), idKey, now, payloads)
		if err != nil {
			return zero, nil, events.Start, err
		}
		res, err := s.store.Append(ctx, stream, rev, proposed...)
		var wrong *events.WrongExpectedRevisionError
		if errors.As(err, &wrong) {
			continue
		}
		if err != nil {
			return zero, nil, events.Start, err
		}
		for _, p := range payloads {
			agg.Apply(p, now)
		}
		return agg, payloads, res.Position, nil
	}
	return zero, nil, events.Start, fmt.Errorf("%s: still contended after %d tries", stream, maxTries)
}

func applicant(a *Application) string { return a.Applicant }
func noSubject[A any](A) string       { return "" }

// CreateApplication saves a new draft and returns its id. A startup that
// is already a member, or already has a submitted application, is refused
// here already, so nobody fills in a form in vain.
func (s *Service) CreateApplication(ctx context.Context, who Who, profile events.StartupProfile, contact events.ApplicantContact, idKey string) (string, error) {
	id := events.NewID().String()
	if idKey != "" {
		id = events.IDFromKey(idKey, -1).String()
	}
	p, _ := normalise(profile, contact)
	if err := s.checkLogo(p.Logo); err != nil {
		return "", err
	}
	if err := s.checkClaims(ctx, who, id, p); err != nil {
		return "", err
	}
	_, _, pos, err := update(ctx, s, events.ApplicationStream(id), who, idKey, func() *Application { return &Application{} },
		func(a *Application, now time.Time) ([]any, error) {
			if a.Exists() && a.Applicant == who.UserID {
				return nil, nil // a retried request: the draft is there
			}
			return a.draft(Draft{ID: id, Applicant: who.UserID, Profile: profile, Contact: contact}, now)
		}, func(*Application) string { return who.UserID })
	if err != nil {
		return "", err
	}
	s.caughtUp(ctx, pos)
	return id, nil
}

// EditApplication replaces a draft's or a returned application's content.
func (s *Service) EditApplication(ctx context.Context, who Who, id string, profile events.StartupProfile, contact events.ApplicantContact) (*Application, error) {
	p, _ := normalise(profile, contact)
	if err := s.checkLogo(p.Logo); err != nil {
		return nil, err
	}
	a, _, pos, err := update(ctx, s, events.ApplicationStream(id), who, "", func() *Application { return &Application{} },
		func(a *Application, now time.Time) ([]any, error) { return a.edit(who.UserID, profile, contact, now) }, applicant)
	s.caughtUp(ctx, pos)
	return s.visible(a, who, err)
}

// visible hides an application from everyone but its applicant and staff:
// to anyone else it does not exist.
func (s *Service) visible(a *Application, who Who, err error) (*Application, error) {
	if errors.Is(err, ErrNotYours) && !who.staff() {
		return nil, ErrNotFound
	}
	return a, err
}

// SubmitApplication puts the application before the reviewers, first
// claiming the startup's names.
func (s *Service) SubmitApplication(ctx context.Context, who Who, id string) (*Application, error) {
	cur := &Application{}
	if _, err := s.load(ctx, events.ApplicationStream(id), cur); err != nil {
		return nil, err
	}
	if !cur.Exists() || cur.Applicant != who.UserID {
		return nil, ErrNotFound
	}
	if _, err := cur.submit(who.UserID, s.now()); err != nil {
		return nil, err
	}
	if err := s.claim(ctx, who, cur.Profile, events.StartupNameClaimed{ApplicationID: id}); err != nil {
		return nil, err
	}
	a, _, pos, err := update(ctx, s, events.ApplicationStream(id), who, "", func() *Application { return &Application{} },
		func(a *Application, now time.Time) ([]any, error) { return a.submit(who.UserID, now) }, applicant)
	s.caughtUp(ctx, pos)
	return s.visible(a, who, err)
}

// WithdrawApplication closes an open application at its applicant's wish.
func (s *Service) WithdrawApplication(ctx context.Context, who Who, id string) (*Application, error) {
	a, _, pos, err := update(ctx, s, events.ApplicationStream(id), who, "", func() *Application { return &Application{} },
		func(a *Application, _ time.Time) ([]any, error) { return a.withdraw(who.UserID) }, applicant)
	s.caughtUp(ctx, pos)
	return s.visible(a, who, err)
}

// VoteOnApplication records a reviewer's vote and what the policy makes of
// the votes; an approval opens the membership.
func (s *Service) VoteOnApplication(ctx context.Context, who Who, id string, v Vote) (*Application, error) {
	policy, err := s.Policy(ctx)
	if err != nil {
		return nil, err
	}
	v.Reviewer, v.ReviewerName = who.UserID, who.Name
	memberID := events.NewID().String()
	a, out, pos, err := update(ctx, s, events.ApplicationStream(id), who, "", func() *Application { return &Application{} },
		func(a *Application, _ time.Time) ([]any, error) { return a.vote(v, policy, memberID) }, applicant)
	if err != nil {
		return nil, err
	}
	return s.afterDecision(ctx, who, a, out, pos)
}

// DecideApplication is an organiser's outright decision.
func (s *Service) DecideApplication(ctx context.Context, who Who, id string, d Decision) (*Application, error) {
	policy, err := s.Policy(ctx)
	if err != nil {
		return nil, err
	}
	memberID := events.NewID().String()
	a, out, pos, err := update(ctx, s, events.ApplicationStream(id), who, "", func() *Application { return &Application{} },
		func(a *Application, _ time.Time) ([]any, error) { return a.decide(d, policy, memberID) }, applicant)
	if err != nil {
		return nil, err
	}
	return s.afterDecision(ctx, who, a, out, pos)
}

func (s *Service) afterDecision(ctx context.Context, who Who, a *Application, out []any, pos events.Position) (*Application, error) {
	for _, p := range out {
		if ok, isApproval := p.(events.ApplicationApproved); isApproval {
			mpos, err := s.admit(ctx, who, a, ok)
			if err != nil {
				return nil, err
			}
			pos = mpos
		}
	}
	s.caughtUp(ctx, pos)
	return a, nil
}

// admit opens the membership an approval names. Its event id derives from
// the application, so a repeated admit writes nothing twice.
func (s *Service) admit(ctx context.Context, who Who, a *Application, ok events.ApplicationApproved) (events.Position, error) {
	now := s.now()
	adm := events.MemberAdmitted{MemberID: ok.MemberID, ApplicationID: a.ID, Owner: a.Applicant, Tier: events.TierMember,
		JoinedOn: dateOf(now), Profile: a.Profile}
	proposed, err := s.propose(who, "", "alliance-admit\x00"+a.ID, now, []any{adm})
	if err != nil {
		return events.Start, err
	}
	res, err := s.store.Append(ctx, events.MemberStream(ok.MemberID), events.NoStream, proposed...)
	if err != nil {
		return events.Start, fmt.Errorf("admit %s: %w", ok.MemberID, err)
	}
	if err := s.claim(ctx, who, a.Profile, events.StartupNameClaimed{MemberID: ok.MemberID}); err != nil {
		var dup *DuplicateError
		if !errors.As(err, &dup) {
			return events.Start, err
		}
		// Another member holds one of the names (an organiser approved
		// two applications of the same name): both stay members.
		s.log.Warn("approved startup shares a name with a member", "member", ok.MemberID, "other", dup.MemberID)
	}
	return res.Position, nil
}

// checkClaims refuses a startup whose names are held by a live holder
// other than the application itself.
func (s *Service) checkClaims(ctx context.Context, who Who, self string, p events.StartupProfile) error {
	for _, key := range claimKeys(p) {
		c := &claim{}
		if _, err := s.load(ctx, claimStream(key), c); err != nil {
			return err
		}
		if err := s.liveHolder(ctx, who, c, self, key); err != nil {
			return err
		}
	}
	return nil
}

// liveHolder returns a DuplicateError when the claim's holder still holds it.
func (s *Service) liveHolder(ctx context.Context, who Who, c *claim, self, name string) error {
	switch {
	case !c.Held:
		return nil
	case c.MemberID != "":
		m := &Member{}
		if _, err := s.load(ctx, events.MemberStream(c.MemberID), m); err != nil {
			return err
		}
		if m.Status == MemberActive {
			return &DuplicateError{Name: name, MemberID: c.MemberID}
		}
	case c.ApplicationID != "" && c.ApplicationID != self:
		a := &Application{}
		if _, err := s.load(ctx, events.ApplicationStream(c.ApplicationID), a); err != nil {
			return err
		}
		if a.Open() && a.Status != StatusDraft {
			return &DuplicateError{Name: name, ApplicationID: a.ID, Mine: a.Applicant == who.UserID}
		}
	}
	return nil
}

// claim takes every name of a profile for holder, unless a live holder has
// one. Names are claimed one by one: a failure half-way leaves claims
// that the next claimant takes over once this holder is closed.
func (s *Service) claim(ctx context.Context, who Who, p events.StartupProfile, holder events.StartupNameClaimed) error {
	self := holder.ApplicationID
	for _, key := range claimKeys(p) {
		holder.Name = key
		_, _, _, err := update(ctx, s, claimStream(key), who, "", func() *claim { return &claim{} },
			func(c *claim, _ time.Time) ([]any, error) {
				if c.Held && c.ApplicationID == holder.ApplicationID && c.MemberID == holder.MemberID {
					return nil, nil
				}
				if holder.MemberID == "" {
					if err := s.liveHolder(ctx, who, c, self, displayName(p)); err != nil {
						return nil, err
					}
				} else if c.MemberID != "" && c.MemberID != holder.MemberID {
					if err := s.liveHolder(ctx, who, c, self, displayName(p)); err != nil {
						return nil, err
					}
				}
				return []any{holder}, nil
			}, noSubject[*claim])
		if err != nil {
			return err
		}
	}
	return nil
}

// UpdateMemberProfile replaces a member's public profile.
func (s *Service) UpdateMemberProfile(ctx context.Context, who Who, id string, p events.StartupProfile) (*Member, error) {
	if err := s.checkLogo(clean(p.Logo)); err != nil {
		return nil, err
	}
	m, _, pos, err := update(ctx, s, events.MemberStream(id), who, "", func() *Member { return &Member{} },
		func(m *Member, now time.Time) ([]any, error) {
			return m.updateProfile(who.UserID, who.Organizer, p, now)
		}, noSubject[*Member])
	s.caughtUp(ctx, pos)
	return m, err
}

// EndMembership lapses or withdraws a membership.
func (s *Service) EndMembership(ctx context.Context, who Who, id string, lapse bool, reason string) (*Member, error) {
	m, _, pos, err := update(ctx, s, events.MemberStream(id), who, "", func() *Member { return &Member{} },
		func(m *Member, _ time.Time) ([]any, error) { return m.end(who.UserID, who.Organizer, lapse, reason) }, noSubject[*Member])
	s.caughtUp(ctx, pos)
	return m, err
}

// ChangeTier moves a membership to another tier.
func (s *Service) ChangeTier(ctx context.Context, who Who, id, tier string) (*Member, error) {
	m, _, pos, err := update(ctx, s, events.MemberStream(id), who, "", func() *Member { return &Member{} },
		func(m *Member, _ time.Time) ([]any, error) { return m.changeTier(who.Organizer, tier) }, noSubject[*Member])
	s.caughtUp(ctx, pos)
	return m, err
}

// ReinstateMembership brings a lapsed membership back.
func (s *Service) ReinstateMembership(ctx context.Context, who Who, id, reason string) (*Member, error) {
	m, _, pos, err := update(ctx, s, events.MemberStream(id), who, "", func() *Member { return &Member{} },
		func(m *Member, _ time.Time) ([]any, error) { return m.reinstate(who.Organizer, reason) }, noSubject[*Member])
	s.caughtUp(ctx, pos)
	return m, err
}

// Application loads one application for who: its applicant or staff.
func (s *Service) Application(ctx context.Context, who Who, id string) (*Application, error) {
	a := &Application{}
	if _, err := s.load(ctx, events.ApplicationStream(id), a); err != nil {
		return nil, err
	}
	if !a.Exists() || a.Applicant != who.UserID && !who.staff() {
		return nil, ErrNotFound
	}
	s.forgetErased(a)
	return a, nil
}

// forgetErased drops what an application read from the log holds of
// erased accounts: once their key is gone the log reads as nothing there
// anyway, and this keeps it so however the log reads.
func (s *Service) forgetErased(a *Application) {
	if s.view.isErased(a.Applicant) {
		a.Contact = events.ApplicantContact{}
	}
	for i := range a.Votes {
		if s.view.isErased(a.Votes[i].Reviewer) {
			a.Votes[i].ReviewerName = ""
		}
	}
}

// ApplicantErased reports whether the application's applicant has been
// erased: its contact person then reads as nothing.
func (s *Service) ApplicantErased(a *Application) bool { return s.view.isErased(a.Applicant) }

// Policy is the decision rule in force.
func (s *Service) Policy(ctx context.Context) (events.DecisionPolicy, error) {
	evs, err := s.store.ReadStream(ctx, events.AlliancePolicyStream, events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
	if errors.Is(err, events.ErrStreamNotFound) {
		return DefaultPolicy, nil
	}
	if err != nil {
		return DefaultPolicy, err
	}
	p, err := events.Types.Decode(evs[0])
	if err != nil {
		return DefaultPolicy, err
	}
	return p.(events.DecisionPolicySet).Policy, nil
}

// SetPolicy records a new decision rule.
func (s *Service) SetPolicy(ctx context.Context, who Who, p events.DecisionPolicy) error {
	if err := validatePolicy(p); err != nil {
		return err
	}
	proposed, err := s.propose(who, "", "", s.now(), []any{events.DecisionPolicySet{Policy: p}})
	if err != nil {
		return err
	}
	_, err = s.store.Append(ctx, events.AlliancePolicyStream, events.Any, proposed...)
	return err
}
