package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
)

// ErrUnknownType: an event's wire name is not registered. The event itself
// stays in the log and readable as raw JSON; only decoding into a Go value is
// impossible (a newer binary may have written it).
var ErrUnknownType = errors.New("unknown event type")

// Upcaster turns an event of schema version v into version v+1. It may change
// the payload and, for a renamed event, the type.
type Upcaster func(Event) (Event, error)

// Registry maps wire names to Go payload types and holds the upcaster chain
// of each type. Old events stay readable for ever: a reader upcasts them to
// the current version before decoding.
type Registry struct {
	mu        sync.RWMutex
	byName    map[string]registered
	byType    map[reflect.Type]string
	upcasters map[upcastKey]Upcaster
}

type registered struct {
	typ     reflect.Type
	version int
}

type upcastKey struct {
	name string
	from int
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		byName:    map[string]registered{},
		byType:    map[reflect.Type]string{},
		upcasters: map[upcastKey]Upcaster{},
	}
}

// Register binds a wire name ("conference.RegistrationPlaced") to the Go type
// of example (a struct value) at its current schema version (1 or more).
// Registering a name or a type twice is a programming error and panics at
// start-up rather than corrupting the log later.
func (r *Registry) Register(name string, example any, version int) {
	t := reflect.TypeOf(example)
	if t == nil || t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("events: register %q: payload must be a struct value, got %T", name, example))
	}
	if version < 1 {
		panic(fmt.Sprintf("events: register %q: schema version must be 1 or more", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[name]; dup {
		panic(fmt.Sprintf("events: wire name %q registered twice", name))
	}
	if other, dup := r.byType[t]; dup {
		panic(fmt.Sprintf("events: type %s registered as both %q and %q", t, other, name))
	}
	r.byName[name] = registered{typ: t, version: version}
	r.byType[t] = name
}

// RegisterUpcaster adds the step from schema version from to from+1 of the
// events named name (the name they had at that version).
func (r *Registry) RegisterUpcaster(name string, from int, up Upcaster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := upcastKey{name, from}
	if _, dup := r.upcasters[k]; dup {
		panic(fmt.Sprintf("events: upcaster %q v%d registered twice", name, from))
	}
	r.upcasters[k] = up
}

// Names lists the registered wire names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Known reports whether a wire name is registered.
func (r *Registry) Known(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.byName[name]
	return ok
}

// New builds a Proposed event from a registered payload, stamping its wire
// name and current schema version into the metadata.
func (r *Registry) New(payload any, meta Metadata) (Proposed, error) {
	t := reflect.TypeOf(payload)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.mu.RLock()
	name, ok := r.byType[t]
	reg := r.byName[name]
	r.mu.RUnlock()
	if !ok {
		return Proposed{}, fmt.Errorf("%w: Go type %v is not registered", ErrUnknownType, t)
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return Proposed{}, fmt.Errorf("encode %s: %w", name, err)
	}
	meta.SchemaVersion = reg.version
	if ps, ok := payload.(PersonalSubject); ok && meta.Subject == "" {
		meta.Subject = ps.PersonalSubject()
	}
	return Proposed{ID: NewID(), Type: name, Data: data, Metadata: meta}, nil
}

// Upcast applies the upcaster chain until the event reaches its type's
// current version. Events of unknown types, and events with no upcaster for
// their version, come back unchanged: a reader that does not decode them
// should still see them.
func (r *Registry) Upcast(e Event) (Event, error) {
	in := e
	if e.Metadata.SchemaVersion == 0 {
		// Events written before versions were recorded are version 1.
		e.Metadata.SchemaVersion = 1
	}
	for step := range 1000 { // a chain longer than this is a cycle
		r.mu.RLock()
		reg, known := r.byName[e.Type]
		up, hasUp := r.upcasters[upcastKey{e.Type, e.Metadata.SchemaVersion}]
		r.mu.RUnlock()
		if known && e.Metadata.SchemaVersion >= reg.version || !hasUp {
			if step == 0 && !known {
				// Not even the version is ours to fill in: a tool that
				// passes such an event on (tail, export) must not alter it.
				return in, nil
			}
			return e, nil
		}
		from, fromType := e.Metadata.SchemaVersion, e.Type
		next, err := up(e)
		if err != nil {
			return e, fmt.Errorf("upcast %s v%d (event %s): %w", fromType, from, e.ID, err)
		}
		next.Metadata.SchemaVersion = from + 1
		e = next
	}
	return e, fmt.Errorf("upcast %s: upcaster chain does not end", e.Type)
}

// Decode upcasts an event and decodes its payload into a new value of the
// registered type (returned as a value, not a pointer).
func (r *Registry) Decode(e Event) (any, error) {
	e, err := r.Upcast(e)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	reg, ok := r.byName[e.Type]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (event %s in %s)", ErrUnknownType, e.Type, e.ID, e.Stream)
	}
	if e.Metadata.SchemaVersion > reg.version {
		return nil, fmt.Errorf("event %s: %s schema v%d is newer than this binary's v%d", e.ID, e.Type, e.Metadata.SchemaVersion, reg.version)
	}
	v := reflect.New(reg.typ)
	if err := json.Unmarshal(e.Data, v.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s (event %s in %s): %w", e.Type, e.ID, e.Stream, err)
	}
	return v.Elem().Interface(), nil
}
