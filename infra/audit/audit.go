// Package audit reads the staff actions of a part of the event log for the
// organisers' audit views: which events count as staff actions is each
// service's to say (a Selector); reading, resolving who acted and
// filtering are the same everywhere and live here.
package audit

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Entry is one staff action.
type Entry struct {
	ID    string
	At    time.Time
	Actor string // user id, or events.ActorSystem
	Name  string // the actor's display name; "" when unknown or the system
	// Erased: the actor's account was erased, so they have no name any
	// more; views say "erased person" rather than that they are unknown.
	Erased  bool
	Kind    string // the service's action kind, e.g. "tier_changed"
	Stream  string
	Type    string
	Payload any
}

// Selector says which events of the part read are staff actions, and of
// what kind.
type Selector struct {
	// Kinds maps an event type's wire name to its action kind; other types
	// are not staff actions.
	Kinds map[string]string
	// Keep, when set, refines the choice for events whose payload alone
	// says whether staff acted (a member updating their own profile is not
	// an audit entry, an organiser doing it is).
	Keep func(e events.Event, payload any) bool
}

// Source is what is read: whole streams by name, and every stream whose
// name starts with one of the prefixes (a category, or a category's
// streams of one edition).
type Source struct {
	Streams  []string
	Prefixes []string
}

func (src Source) match(stream string) bool {
	if slices.Contains(src.Streams, stream) {
		return true
	}
	for _, p := range src.Prefixes {
		if strings.HasPrefix(stream, p) {
			return true
		}
	}
	return false
}

// Read returns the staff actions of src, oldest first. Streams named
// exactly are read by themselves; prefixes need the global log, read page
// by page, since a category has no stream of its own on every backend.
func Read(ctx context.Context, store events.Store, src Source, sel Selector, names Names) ([]Entry, error) {
	var out []Entry
	take := func(e events.Event) error {
		kind, ok := sel.Kinds[e.Type]
		if !ok {
			return nil
		}
		p, err := events.Types.Decode(e)
		if err != nil {
			if errors.Is(err, events.ErrUnknownType) {
				return nil
			}
			return err
		}
		if sel.Keep != nil && !sel.Keep(e, p) {
			return nil
		}
		at := e.Metadata.OccurredAt
		if at.IsZero() {
			at = e.Recorded
		}
		actor := e.Metadata.Actor
		if actor == "" {
			actor = events.ActorSystem
		}
		out = append(out, Entry{ID: e.ID.String(), At: at, Actor: actor, Kind: kind, Stream: e.Stream, Type: e.Type, Payload: p})
		return nil
	}
	if len(src.Prefixes) == 0 {
		for _, s := range src.Streams {
			evs, err := store.ReadStream(ctx, s, events.ReadOptions{})
			if errors.Is(err, events.ErrStreamNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				if err := take(e); err != nil {
					return nil, err
				}
			}
		}
	} else {
		after := events.Start
		for {
			evs, err := store.ReadAll(ctx, events.ReadAllOptions{After: after})
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				if src.match(e.Stream) {
					if err := take(e); err != nil {
						return nil, err
					}
				}
			}
			if len(evs) == 0 {
				break
			}
			after = evs[len(evs)-1].Position
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.At.Compare(b.At) })
	if names != nil {
		for i := range out {
			if out[i].Actor != events.ActorSystem {
				out[i].Name = names(ctx, out[i].Actor)
			}
		}
	}
	erased := map[string]bool{}
	for i := range out {
		a := out[i].Actor
		if a == events.ActorSystem {
			continue
		}
		e, ok := erased[a]
		if !ok {
			var err error
			if e, err = accountErased(ctx, store, a); err != nil {
				return nil, err
			}
			erased[a] = e
		}
		if e {
			out[i].Erased, out[i].Name = true, ""
		}
	}
	return out, nil
}

// accountErased reports whether the user's stream records the account's
// erasure; an actor without an account stream (a judge known by name
// only, an operator) is not erased.
func accountErased(ctx context.Context, store events.Store, user string) (bool, error) {
	evs, err := store.ReadStream(ctx, events.UserStream(user), events.ReadOptions{})
	if errors.Is(err, events.ErrStreamNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		if e.Type == "identity.AccountErased" {
			return true, nil
		}
	}
	return false, nil
}

// Names resolves a user id to the display name the person goes by; "" when
// there is no such person.
type Names func(ctx context.Context, userID string) string

// LogNames resolves names from the account streams of the log, which every
// service of this binary shares in one process or many, so the audit view
// needs no call to the identity service. Names are remembered for the
// resolver's life, so make one per page: a page resolves the same few
// staff members many times.
func LogNames(store events.Store) Names {
	var mu sync.Mutex
	known := map[string]string{}
	return func(ctx context.Context, id string) string {
		mu.Lock()
		n, ok := known[id]
		mu.Unlock()
		if ok {
			return n
		}
		evs, err := store.ReadStream(ctx, events.UserStream(id), events.ReadOptions{})
		if err != nil {
			return ""
		}
		for _, e := range evs {
			p, err := events.Types.Decode(e)
			if err != nil {
				continue
			}
			switch p := p.(type) {
			case events.UserRegistered:
				n = p.Personal.DisplayName
			case events.ProfileUpdated:
				if p.Personal.DisplayName != "" {
					n = p.Personal.DisplayName
				}
			}
		}
		mu.Lock()
		known[id] = n
		mu.Unlock()
		return n
	}
}

// Filter narrows a list of entries; zero fields do not filter.
type Filter struct {
	Kind  string
	Actor string    // a user id, or a part of a display name
	From  time.Time // inclusive
	To    time.Time // exclusive
}

// FieldError names a query parameter that could not be read; Code is
// stable, for pages to translate.
type FieldError struct {
	Field, Code string
}

// ParseFilter reads kind, actor, from and to (dates, YYYY-MM-DD, in loc;
// to is the last day included). kinds are the kinds the view knows.
func ParseFilter(q url.Values, kinds []string, loc *time.Location) (Filter, []FieldError) {
	var f Filter
	var errs []FieldError
	if k := strings.TrimSpace(q.Get("kind")); k != "" {
		if !slices.Contains(kinds, k) {
			errs = append(errs, FieldError{Field: "kind", Code: "kind"})
		} else {
			f.Kind = k
		}
	}
	f.Actor = strings.TrimSpace(q.Get("actor"))
	day := func(field string) time.Time {
		v := strings.TrimSpace(q.Get(field))
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			errs = append(errs, FieldError{Field: field, Code: "date"})
			return time.Time{}
		}
		return t
	}
	f.From = day("from")
	if to := day("to"); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		errs = append(errs, FieldError{Field: "to", Code: "range"})
	}
	return f, errs
}

// Apply returns the entries that pass f, newest first: an audit is read
// from what happened last.
func (f Filter) Apply(entries []Entry) []Entry {
	out := []Entry{}
	actor := strings.ToLower(f.Actor)
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		switch {
		case f.Kind != "" && e.Kind != f.Kind:
		case actor != "" && e.Actor != f.Actor && !strings.Contains(strings.ToLower(e.Name), actor):
		case !f.From.IsZero() && e.At.Before(f.From):
		case !f.To.IsZero() && !e.At.Before(f.To):
		default:
			out = append(out, e)
		}
	}
	return out
}

// Actors are the distinct staff members of entries with their names, for
// a filter's choices, in order of name.
func Actors(entries []Entry) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for _, e := range entries {
		if !seen[e.Actor] {
			seen[e.Actor] = true
			out = append(out, Entry{Actor: e.Actor, Name: e.Name, Erased: e.Erased})
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}
