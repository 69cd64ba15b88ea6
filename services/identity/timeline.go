package identity

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// TimelineEntry is one thing that happened to an account, as its owner sees
// it. It never says who caused it: a role granted by staff shows as granted,
// not by whom.
type TimelineEntry struct {
	ID     string    `json:"id"` // the event's id, stable across rebuilds
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`             // registered, role_granted, role_revoked, profile_updated, session_started, session_ended, language_chosen, email_changed, email_verification_requested, email_verified
	Role   string    `json:"role,omitempty"`   // role_granted, role_revoked
	Reason string    `json:"reason,omitempty"` // session_ended: logout or reuse
	Lang   string    `json:"lang,omitempty"`   // language_chosen
	// Addresses and verification codes never appear: a timeline is shown
	// on screens others may see, and a code would verify the address.
}

// maxTimelineEntries bounds the projection's memory per person; older
// entries remain in the log.
const maxTimelineEntries = 1000

// timeline is the owner-timeline projection: it follows the user and
// session streams of the global log and keeps each person's entries in
// memory, rebuilt from the log at every start.
type timeline struct {
	mu     sync.RWMutex
	byUser map[string]*personTimeline
	// people is the organisers' directory of accounts (names, addresses,
	// roles), fed by the same events, for the staff page's search.
	people map[string]*Person
	// follower feeds apply and knows how far the projection has read, so
	// that a page can wait for the event it has just written to show.
	follower events.Follower
}

// personTimeline holds one person's newest entries; dropped counts the older
// ones let go, so that an entry's sequence number (dropped + index) stays
// fixed and pagination cursors stay valid while entries arrive.
type personTimeline struct {
	entries []TimelineEntry
	dropped int
}

func newTimeline(store events.Store, log *slog.Logger) *timeline {
	t := &timeline{byUser: map[string]*personTimeline{}, people: map[string]*Person{}}
	t.follower = events.Follower{
		Name:  "identity timelines",
		Store: store,
		Filter: events.Filter{StreamPrefixes: []string{
			events.CategoryUser + "-", events.CategoryAuthSession + "-",
		}},
		Apply:  func(e events.Event) { t.apply(e, log) },
		Logger: log,
	}
	return t
}

// apply adds the owner's view of one event. Only owner and public events
// reach a timeline; staff and system events (token rotations, claims) never
// do.
func (t *timeline) apply(e events.Event, log *slog.Logger) {
	if strings.HasPrefix(e.Stream, events.CategoryUser+"-") {
		t.directory(e)
	}
	switch e.Metadata.Visibility {
	case events.Owner, events.Public:
	default:
		return
	}
	owner := e.Metadata.Subject
	if owner == "" {
		return
	}
	p, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			log.Error("timeline: cannot decode event", "event", e.ID, "err", err)
		}
		return
	}
	entry := TimelineEntry{ID: e.ID.String(), At: e.Metadata.OccurredAt}
	if entry.At.IsZero() {
		entry.At = e.Recorded
	}
	switch p := p.(type) {
	case events.UserRegistered:
		entry.Kind = "registered"
	case events.RoleGranted:
		entry.Kind, entry.Role = "role_granted", p.Role
	case events.RoleRevoked:
		entry.Kind, entry.Role = "role_revoked", p.Role
	case events.ProfileUpdated:
		entry.Kind = "profile_updated"
	case events.SessionStarted:
		entry.Kind = "session_started"
	case events.SessionRevoked:
		entry.Kind, entry.Reason = "session_ended", p.Reason
	case events.LanguageChosen:
		entry.Kind, entry.Lang = "language_chosen", p.Lang
	case events.EmailChanged:
		entry.Kind = "email_changed"
	case events.EmailVerificationRequested:
		entry.Kind = "email_verification_requested"
	case events.EmailVerified:
		entry.Kind = "email_verified"
	default:
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.byUser[owner]
	if pt == nil {
		pt = &personTimeline{}
		t.byUser[owner] = pt
	}
	pt.entries = append(pt.entries, entry)
	if over := len(pt.entries) - maxTimelineEntries; over > 0 {
		pt.entries = append([]TimelineEntry(nil), pt.entries[over:]...)
		pt.dropped += over
	}
}

// page returns up to limit entries of a person's timeline, newest first,
// older than the entry with sequence number before (all when before < 0),
// and the cursor of the next page (-1 at the end).
func (t *timeline) page(userID string, before, limit int) ([]TimelineEntry, int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := []TimelineEntry{}
	pt := t.byUser[userID]
	if pt == nil {
		return out, -1
	}
	i := len(pt.entries) - 1
	if before >= 0 {
		i = min(i, before-pt.dropped-1)
	}
	for ; i >= 0 && len(out) < limit; i-- {
		out = append(out, pt.entries[i])
	}
	if i < 0 {
		return out, -1
	}
	return out, pt.dropped + i + 1
}

// directory keeps the organisers' view of one account event.
func (t *timeline) directory(e events.Event) {
	p, err := events.Types.Decode(e)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch p := p.(type) {
	case events.UserRegistered:
		t.people[p.UserID] = &Person{ID: p.UserID, DisplayName: p.Personal.DisplayName, Email: p.Personal.Email, Roles: []string{"member"}}
	case events.ProfileUpdated:
		if pe := t.people[p.UserID]; pe != nil && p.Personal.DisplayName != "" {
			pe.DisplayName = p.Personal.DisplayName
		}
	case events.EmailChanged:
		if pe := t.people[p.UserID]; pe != nil {
			pe.Email = p.Personal.Email
		}
	case events.RoleGranted:
		if pe := t.people[p.UserID]; pe != nil && !slices.Contains(pe.Roles, p.Role) {
			pe.Roles = append(pe.Roles, p.Role)
			slices.Sort(pe.Roles)
		}
	case events.AccountErased:
		delete(t.people, p.UserID)
		delete(t.byUser, p.UserID)
	case events.RoleRevoked:
		if pe := t.people[p.UserID]; pe != nil {
			pe.Roles = slices.DeleteFunc(pe.Roles, func(r string) bool { return r == p.Role })
		}
	}
}

// findPeople finds accounts by their whole email address or a part of
// their name or address, best matches first, at most limit.
func (t *timeline) findPeople(q string, limit int) []Person {
	q = strings.ToLower(strings.TrimSpace(q))
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := []Person{}
	if q == "" {
		return out
	}
	for _, pe := range t.people {
		if strings.Contains(strings.ToLower(pe.DisplayName), q) || strings.Contains(strings.ToLower(pe.Email), q) {
			c := *pe
			c.Roles = slices.Clone(pe.Roles)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Person) int {
		if ea, eb := strings.EqualFold(a.Email, q), strings.EqualFold(b.Email, q); ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return strings.Compare(a.DisplayName+a.Email, b.DisplayName+b.Email)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// timelineCaughtUp waits (briefly) until the projections show position p,
// so that the page after a change shows it.
func (s *Service) timelineCaughtUp(ctx context.Context, p events.Position) {
	ctx, cancel := context.WithTimeout(ctx, timelineWait)
	defer cancel()
	s.timeline.follower.WaitFor(ctx, p)
}
