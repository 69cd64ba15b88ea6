package conference

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCreateEditionRefusesWhatWouldRepeatOrOverflow: one command never
// defines the same track or ticket type twice, and no text field takes
// more than a page can show; each refusal names its field.
func TestCreateEditionRefusesWhatWouldRepeatOrOverflow(t *testing.T) {
	base := CreateEdition{ID: "y", NameEN: "Y", Capacity: 10}
	for _, tc := range []struct {
		name  string
		edit  func(c *CreateEdition)
		field string
	}{
		{"duplicate ticket type", func(c *CreateEdition) {
			c.TicketTypes = []TicketType{{ID: "student"}, {ID: "student", Quota: 5}}
		}, "ticket_types[1].id"},
		{"duplicate track", func(c *CreateEdition) {
			c.Tracks = []Track{{ID: "big-data"}, {ID: "storage"}, {ID: "big-data"}}
		}, "tracks[2].id"},
		{"venue of a novel's length", func(c *CreateEdition) { c.Venue = strings.Repeat("v", 20000) }, "venue"},
		{"long name", func(c *CreateEdition) { c.NameZH = strings.Repeat("云", 201) }, "name.zh"},
		{"not text", func(c *CreateEdition) { c.Venue = "\xff" }, "venue"},
	} {
		c := base
		tc.edit(&c)
		err := c.validate()
		var v *ValidationError
		if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want one error on %s", tc.name, err, tc.field)
		}
	}
	testNow := time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC)
	ok := base
	ok.NameZH, ok.Venue = strings.Repeat("云", 200), "云栖小镇"
	if err := ok.validate(); err != nil {
		t.Errorf("a name at the limit was refused: %v", err)
	}
	ed := newEdition()
	if err := ed.createEdition(base, func(p any) { ed.Apply(p, testNow) }); err != nil {
		t.Fatal(err)
	}
	long := AddSession{ID: "s", Title: strings.Repeat("t", 5000), StartsAt: testNow, EndsAt: testNow.Add(1), Capacity: 1}
	var v *ValidationError
	if err := ed.addSession(long, func(any) {}); !errors.As(err, &v) || v.Fields[0].Field != "title" {
		t.Errorf("a 5,000-character session title: %v", err)
	}
}
