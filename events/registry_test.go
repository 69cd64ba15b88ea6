package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type placed struct {
	Attendee string `json:"attendee"`
	Track    string `json:"track"`
}

type cancelled struct {
	Reason string `json:"reason"`
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s did not panic", what)
		}
	}()
	f()
}

func TestRegistryRegister(t *testing.T) {
	r := NewRegistry()
	r.Register("conference.RegistrationPlaced", placed{}, 1)
	r.Register("conference.RegistrationCancelled", cancelled{}, 2)

	if got := r.Names(); !slices.Equal(got, []string{"conference.RegistrationCancelled", "conference.RegistrationPlaced"}) {
		t.Fatalf("Names() = %v", got)
	}
	if !r.Known("conference.RegistrationPlaced") || r.Known("conference.Nope") {
		t.Fatal("Known does not reflect the registrations")
	}

	mustPanic(t, "registering a name twice", func() { r.Register("conference.RegistrationPlaced", struct{ X int }{}, 1) })
	mustPanic(t, "registering a type twice", func() { r.Register("conference.Other", placed{}, 1) })
	mustPanic(t, "registering a pointer", func() { r.Register("conference.Ptr", &struct{ Y int }{}, 1) })
	mustPanic(t, "registering a non-struct", func() { r.Register("conference.Str", "text", 1) })
	mustPanic(t, "registering nil", func() { r.Register("conference.Nil", nil, 1) })
	mustPanic(t, "registering version 0", func() { r.Register("conference.V0", struct{ Z int }{}, 0) })
	mustPanic(t, "registering an upcaster twice", func() {
		r.RegisterUpcaster("conference.RegistrationCancelled", 1, func(e Event) (Event, error) { return e, nil })
		r.RegisterUpcaster("conference.RegistrationCancelled", 1, func(e Event) (Event, error) { return e, nil })
	})
	// A failed registration leaves the registry as it was.
	if got := r.Names(); len(got) != 2 {
		t.Fatalf("after refused registrations Names() = %v", got)
	}
}

func TestRegistryNewAndDecode(t *testing.T) {
	r := NewRegistry()
	r.Register("conference.RegistrationPlaced", placed{}, 3)
	meta := Metadata{Actor: "user-1", Visibility: Owner, SchemaVersion: 99}

	for _, payload := range []any{placed{"杜勇", "bigdata"}, &placed{"杜勇", "bigdata"}} {
		p, err := r.New(payload, meta)
		if err != nil {
			t.Fatalf("New(%T): %v", payload, err)
		}
		if p.Type != "conference.RegistrationPlaced" || p.Metadata.SchemaVersion != 3 || p.Metadata.Actor != "user-1" {
			t.Fatalf("New(%T) = type %q, version %d, actor %q", payload, p.Type, p.Metadata.SchemaVersion, p.Metadata.Actor)
		}
		if p.ID.Version() != 7 {
			t.Fatalf("New gave a version %d id, want a time-ordered UUIDv7", p.ID.Version())
		}
		if _, err := ValidateAppend("registration-1", []Proposed{p}); err != nil {
			t.Fatalf("New built an event the store refuses: %v", err)
		}
		got, err := r.Decode(Event{ID: p.ID, Type: p.Type, Data: p.Data, Metadata: p.Metadata})
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if got != (placed{"杜勇", "bigdata"}) {
			t.Fatalf("Decode = %#v", got)
		}
	}
	if meta.SchemaVersion != 99 {
		t.Fatal("New changed the caller's metadata")
	}

	if _, err := r.New(cancelled{}, Metadata{}); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("New of an unregistered type: %v, want ErrUnknownType", err)
	}
	if _, err := r.New(nil, Metadata{}); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("New(nil): %v, want ErrUnknownType", err)
	}

	bad := Event{Type: "conference.RegistrationPlaced", Data: json.RawMessage(`{"attendee": 5}`), Metadata: Metadata{SchemaVersion: 3}}
	if _, err := r.Decode(bad); err == nil {
		t.Fatal("Decode accepted a payload of the wrong shape")
	}
}

func TestRegistryUnknownType(t *testing.T) {
	r := NewRegistry()
	r.Register("conference.RegistrationPlaced", placed{}, 1)
	e := Event{
		ID: NewID(), Stream: "contest-1", Type: "contest.SubmissionJudged", Revision: 4,
		Data:     json.RawMessage(`{"score": 9.5}`),
		Metadata: Metadata{Actor: "judge-1"}, // no schema version: written before versions existed
	}
	orig := e
	origData := string(e.Data)

	if _, err := r.Decode(e); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("Decode of an unknown type: %v, want ErrUnknownType", err)
	}
	up, err := r.Upcast(e)
	if err != nil {
		t.Fatalf("Upcast: %v", err)
	}
	if !reflect.DeepEqual(up, orig) || !reflect.DeepEqual(e, orig) || string(e.Data) != origData {
		t.Fatalf("an unknown event changed on the way through the registry:\n got %+v\nwant %+v", up, orig)
	}
}

// The v1→v2→v3 chain of a renamed event: v1 was "conference.Registered"
// with a single name field; v2 renamed the event and split the name; v3
// added the track with a default.
func upcastRegistry(t *testing.T) *Registry {
	t.Helper()
	type v3 struct {
		Given  string `json:"given"`
		Family string `json:"family"`
		Track  string `json:"track"`
	}
	r := NewRegistry()
	r.Register("conference.RegistrationPlaced", v3{}, 3)
	r.RegisterUpcaster("conference.Registered", 1, func(e Event) (Event, error) {
		var v1 struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(e.Data, &v1); err != nil {
			return e, err
		}
		given, family, _ := strings.Cut(v1.Name, " ")
		data, err := json.Marshal(map[string]string{"given": given, "family": family})
		e.Type, e.Data = "conference.RegistrationPlaced", data
		return e, err
	})
	r.RegisterUpcaster("conference.RegistrationPlaced", 2, func(e Event) (Event, error) {
		var m map[string]any
		if err := json.Unmarshal(e.Data, &m); err != nil {
			return e, err
		}
		m["track"] = "general"
		data, err := json.Marshal(m)
		e.Data = data
		return e, err
	})
	return r
}

func TestRegistryUpcastChain(t *testing.T) {
	r := upcastRegistry(t)
	cases := []struct {
		name string
		in   Event
		want string // decoded value, %v
	}{
		{"v1_renamed", Event{Type: "conference.Registered", Data: []byte(`{"name":"Yong Du"}`), Metadata: Metadata{SchemaVersion: 1}}, "{Yong Du general}"},
		{"v1_unversioned", Event{Type: "conference.Registered", Data: []byte(`{"name":"Yong Du"}`)}, "{Yong Du general}"},
		{"v2", Event{Type: "conference.RegistrationPlaced", Data: []byte(`{"given":"Jian","family":"Wang"}`), Metadata: Metadata{SchemaVersion: 2}}, "{Jian Wang general}"},
		{"v3", Event{Type: "conference.RegistrationPlaced", Data: []byte(`{"given":"Jian","family":"Wang","track":"storage"}`), Metadata: Metadata{SchemaVersion: 3}}, "{Jian Wang storage}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.ID, c.in.Stream, c.in.Revision = NewID(), "registration-1", 7
			up, err := r.Upcast(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if up.Type != "conference.RegistrationPlaced" || up.Metadata.SchemaVersion != 3 {
				t.Fatalf("upcast to %s v%d, want conference.RegistrationPlaced v3", up.Type, up.Metadata.SchemaVersion)
			}
			if up.ID != c.in.ID || up.Stream != c.in.Stream || up.Revision != c.in.Revision {
				t.Fatal("upcasting changed the envelope")
			}
			got, err := r.Decode(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprintf("%v", got); s != c.want {
				t.Fatalf("Decode = %s, want %s", s, c.want)
			}
		})
	}
}

func TestRegistryUpcastFailures(t *testing.T) {
	r := upcastRegistry(t)
	// Written by a newer binary: this one must not guess.
	newer := Event{Type: "conference.RegistrationPlaced", Data: []byte(`{"given":"A"}`), Metadata: Metadata{SchemaVersion: 4}}
	if up, err := r.Upcast(newer); err != nil || up.Metadata.SchemaVersion != 4 {
		t.Fatalf("Upcast of a newer event = v%d, %v; want it untouched", up.Metadata.SchemaVersion, err)
	}
	_, err := r.Decode(newer)
	if err == nil || errors.Is(err, ErrUnknownType) || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Decode of a newer version: %v, want a refusal naming the version", err)
	}

	broken := Event{Type: "conference.Registered", Data: []byte(`{"name":`), Metadata: Metadata{SchemaVersion: 1}}
	if _, err := r.Decode(broken); err == nil || !strings.Contains(err.Error(), "upcast conference.Registered v1") {
		t.Fatalf("Decode with a failing upcaster: %v", err)
	}

	// Ping v1 → Pong v2 → Ping v3 → …: every step exists, none ends.
	loop := NewRegistry()
	for v := 1; v <= 1100; v++ {
		from, to := "a.Ping", "a.Pong"
		if v%2 == 0 {
			from, to = to, from
		}
		loop.RegisterUpcaster(from, v, func(e Event) (Event, error) { e.Type = to; return e, nil })
	}
	if _, err := loop.Upcast(Event{Type: "a.Ping", Metadata: Metadata{SchemaVersion: 1}}); err == nil {
		t.Fatal("an upcaster chain that never ends was accepted")
	}
}
