package identity

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
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
	mu       sync.RWMutex
	byUser   map[string]*personTimeline
	caughtUp atomic.Bool

	// seen is how far into the log the projection has read; moved is
	// closed (and replaced) whenever seen advances, so that a page can wait
	// for the event it has just written to show.
	posMu sync.Mutex
	seen  events.Position
	moved chan struct{}
}

// personTimeline holds one person's newest entries; dropped counts the older
// ones let go, so that an entry's sequence number (dropped + index) stays
// fixed and pagination cursors stay valid while entries arrive.
type personTimeline struct {
	entries []TimelineEntry
	dropped int
}

func newTimeline() *timeline {
	return &timeline{byUser: map[string]*personTimeline{}, moved: make(chan struct{})}
}

func (t *timeline) advance(p events.Position) {
	t.posMu.Lock()
	defer t.posMu.Unlock()
	if p.Compare(t.seen) > 0 {
		t.seen = p
		close(t.moved)
		t.moved = make(chan struct{})
	}
}

// waitFor waits until the projection has read the log up to p, or ctx
// ends; it reports whether p was reached.
func (t *timeline) waitFor(ctx context.Context, p events.Position) bool {
	for {
		t.posMu.Lock()
		reached, moved := p.Compare(t.seen) <= 0, t.moved
		t.posMu.Unlock()
		if reached {
			return true
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return false
		}
	}
}

func (t *timeline) ready() bool { return t.caughtUp.Load() }

// follow subscribes until ctx ends, resuming after the last event seen when
// the subscription fails.
func (t *timeline) follow(ctx context.Context, store events.Store, log *slog.Logger) {
	filter := events.Filter{StreamPrefixes: []string{
		events.CategoryUser + "-", events.CategoryAuthSession + "-",
	}}
	after := events.Start
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		for msg, err := range store.Subscribe(ctx, events.SubscribeOptions{After: after, Filter: filter}) {
			if err != nil {
				if ctx.Err() == nil {
					log.Error("timeline subscription failed; resubscribing", "after", after, "err", err)
				}
				break
			}
			backoff = 100 * time.Millisecond
			switch msg.Kind {
			case events.KindEvent:
				t.apply(msg.Event, log)
				after = msg.Event.Position
				t.advance(after)
			case events.KindCheckpoint:
				after = msg.Position
				t.advance(after)
			case events.KindCaughtUp:
				t.caughtUp.Store(true)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, 10*time.Second)
		}
	}
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
