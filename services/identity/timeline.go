package identity

import (
	"errors"
	"log/slog"
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
	Kind   string    `json:"kind"`             // registered, role_granted, role_revoked, profile_updated, session_started, session_ended
	Role   string    `json:"role,omitempty"`   // role_granted, role_revoked
	Reason string    `json:"reason,omitempty"` // session_ended: logout or reuse
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
	t := &timeline{byUser: map[string]*personTimeline{}}
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
