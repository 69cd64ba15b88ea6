package conference

import (
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/yunqi-town/yunqi/events"
)

// pageIndex is the pages' read model of what no single ledger can answer:
// which editions exist, and which registrations each member has placed in
// any of them. Everything else a page shows (counts, statuses, timelines)
// is read from the edition's ledger, so it is never behind the decisions.
type pageIndex struct {
	follower *events.Follower

	mu       sync.RWMutex
	editions []string            // in the order they were scheduled
	byMember map[string][]string // member id → registration ids, oldest first
	// feeds maps a live calendar subscription token to its member, and
	// feedOf a member to their live token.
	feeds  map[string]string
	feedOf map[string]string
}

func newPageIndex(store events.Store, log *slog.Logger) *pageIndex {
	x := &pageIndex{byMember: map[string][]string{}, feeds: map[string]string{}, feedOf: map[string]string{}}
	x.follower = &events.Follower{
		Name:  "conference pages",
		Store: store,
		// Only the event types the index needs: a rush of check-ins or
		// offers costs it nothing.
		Filter: events.Filter{TypePrefixes: []string{"conference.EditionScheduled", "conference.RegistrationPlaced", "conference.CalendarFeed",
			"identity.AccountErased"}},
		Apply:  func(e events.Event) { x.apply(e, log) },
		Logger: log,
	}
	return x
}

func (x *pageIndex) apply(e events.Event, log *slog.Logger) {
	payload, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			log.Error("conference pages: cannot decode event", "event", e.ID, "stream", e.Stream, "err", err)
		}
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	switch p := payload.(type) {
	case events.EditionScheduled:
		if !slices.Contains(x.editions, p.EditionID) {
			x.editions = append(x.editions, p.EditionID)
		}
	case events.RegistrationPlaced:
		if p.MemberID == "" || p.RegistrationID == "" {
			return // nothing a page could look up
		}
		if !slices.Contains(x.byMember[p.MemberID], p.RegistrationID) {
			x.byMember[p.MemberID] = append(x.byMember[p.MemberID], p.RegistrationID)
		}
	case events.CalendarFeedIssued:
		x.setFeed(p.MemberID, p.Personal.Token)
	case events.CalendarFeedRevoked:
		x.setFeed(p.MemberID, "")
	case events.AccountErased:
		// The subscription URL is the person's secret and their
		// registrations are theirs alone to list: both go with them.
		x.setFeed(p.UserID, "")
		delete(x.feedOf, p.UserID)
		delete(x.byMember, p.UserID)
	}
}

// setFeed makes token (empty: none) the member's feed. A member's stream
// is read in order, so each change replaces the last; the old token is
// dropped with it, which is what makes a rotated URL stop working.
func (x *pageIndex) setFeed(member, token string) {
	if member == "" {
		return
	}
	if old, ok := x.feedOf[member]; ok {
		delete(x.feeds, old)
	}
	x.feedOf[member] = token
	if token != "" {
		x.feeds[token] = member
	}
}

// feedMember is the member whose live subscription token this is.
func (x *pageIndex) feedMember(token string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m, ok := x.feeds[token]
	return m, ok
}

func (x *pageIndex) editionIDs() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.editions)
}

func (x *pageIndex) registrationsOf(member string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.byMember[member])
}

// note records a registration the pages have just placed, so that "my
// registrations" shows it before the follower has read it back.
func (x *pageIndex) note(member, regID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !slices.Contains(x.byMember[member], regID) {
		x.byMember[member] = append(x.byMember[member], regID)
	}
}
