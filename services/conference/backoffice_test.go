package conference

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// TestBackOffice runs an organiser's day on one edition: edit it, add a
// track, a ticket type and a session, issue and revoke an invite code, list
// attendees with filters and as they stood before, preview a capacity
// change and confirm it — refused once the edition moved on.
func TestBackOffice(t *testing.T) {
	f := newGateFixture(t) // gate-ed: capacity 10, m1 m2 confirmed, m3 cancelled
	s, ctx := f.svc, context.Background()
	org := events.Metadata{Actor: "org"}
	do := func(decide func(ed *Edition, now time.Time, emit emit) (any, error)) error {
		_, err := s.exec(ctx, "gate-ed", false, org, "", decide)
		return err
	}
	if _, err := s.UpdateEdition(ctx, org, "gate-ed", func(u UpdateEdition) UpdateEdition {
		u.NameZH, u.StartsOn, u.EndsOn, u.Venue = "检票", "2026-10-20", "2026-10-21", "云栖小镇"
		return u
	}); err != nil {
		t.Fatal(err)
	}
	var v *ValidationError
	_, err := s.UpdateEdition(ctx, org, "gate-ed", func(u UpdateEdition) UpdateEdition { u.EndsOn = "2026-10-19"; return u })
	if !errors.As(err, &v) || v.Fields[0].Field != "ends_on" {
		t.Errorf("an edition ending before it starts: %v", err)
	}
	if err := do(func(ed *Edition, _ time.Time, emit emit) (any, error) {
		if err := ed.addTrack(Track{ID: "big-data", NameZH: "大数据"}, emit); err != nil {
			return nil, err
		}
		if err := ed.defineTicketType(TicketType{ID: "speaker", InviteOnly: true}, emit); err != nil {
			return nil, err
		}
		return nil, ed.issueInvite(IssueInvite{Code: "FEITIAN-5K", TicketType: "speaker", MaxUses: 2}, emit)
	}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 10, 20, 1, 30, 0, 0, time.UTC)
	err = do(func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.addSession(AddSession{ID: "wrong-year", Title: "x", StartsAt: day.AddDate(-1, 0, 0), EndsAt: day.AddDate(-1, 0, 0).Add(time.Hour), Capacity: 1}, emit)
	})
	if !errors.As(err, &v) || v.Fields[0].Field != "starts_at" {
		t.Errorf("a session a year before the edition: %v", err)
	}
	if err := do(func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.addSession(AddSession{ID: "keynote", Track: "big-data", Title: "Keynote", Speakers: []string{"王坚"},
			StartsAt: day, EndsAt: day.Add(time.Hour), Capacity: 1}, emit)
	}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	time.Sleep(5 * time.Millisecond)

	// The invite code admits until revoked.
	var inviteID string
	v2, _ := s.read(ctx, "gate-ed", func(ed *Edition) (any, error) { return ed.invites(), nil })
	if inv := v2.([]InviteView); len(inv) != 1 || inv[0].TicketType != "speaker" || inv[0].MaxUses != 2 {
		t.Fatalf("invites %+v", inv)
	} else {
		inviteID = inv[0].ID
	}
	reg := func(member string) error {
		return do(func(ed *Edition, now time.Time, emit emit) (any, error) {
			return ed.register(Register{RegistrationID: "gate-ed." + events.NewID().String(), Member: member, Name: member,
				TicketType: "speaker", InviteCode: "FEITIAN-5K", Sessions: []string{"keynote"}, At: now}, emit)
		})
	}
	if err := reg("speaker-1"); err != nil {
		t.Fatal(err)
	}
	if err := do(func(ed *Edition, _ time.Time, emit emit) (any, error) { return nil, ed.revokeInvite(inviteID, emit) }); err != nil {
		t.Fatal(err)
	}
	if err := reg("speaker-2"); !errors.As(err, &v) || v.Fields[0].Field != "invite_code" {
		t.Errorf("a revoked invite code admitted: %v", err)
	}
	// A fourth registrant waits for the keynote's one seat.
	if err := do(func(ed *Edition, now time.Time, emit emit) (any, error) {
		return ed.register(Register{RegistrationID: "gate-ed." + events.NewID().String(), Member: "m4", Name: "Ada", Sessions: []string{"keynote"}, At: now}, emit)
	}); err != nil {
		t.Fatal(err)
	}

	list, err := s.Attendees(ctx, "gate-ed", AttendeeFilter{Session: "keynote"}, time.Time{})
	if err != nil || len(list.Attendees) != 2 || list.Attendees[1].Name != "Ada" || list.Attendees[1].Status != events.StatusWaitlisted {
		t.Fatalf("keynote list %+v %v", list, err)
	}
	list, _ = s.Attendees(ctx, "gate-ed", AttendeeFilter{Query: "ADA"}, time.Time{})
	if len(list.Attendees) != 1 || list.Attendees[0].Member != "m4" {
		t.Errorf("search by name: %+v", list.Attendees)
	}
	list, _ = s.Attendees(ctx, "gate-ed", AttendeeFilter{Status: "cancelled"}, time.Time{})
	if len(list.Attendees) != 1 || list.Attendees[0].Member != "m3" {
		t.Errorf("cancelled filter: %+v", list.Attendees)
	}
	list, _ = s.Attendees(ctx, "gate-ed", AttendeeFilter{TicketType: "speaker"}, time.Time{})
	if len(list.Attendees) != 1 {
		t.Errorf("ticket type filter: %+v", list.Attendees)
	}
	past, err := s.Attendees(ctx, "gate-ed", AttendeeFilter{}, before)
	if err != nil || len(past.Attendees) != 2 || past.At.IsZero() {
		t.Errorf("the list before the speakers registered: %+v %v", past, err)
	}
	if _, err := s.Attendees(ctx, "gate-ed", AttendeeFilter{Status: "gone"}, time.Time{}); !errors.As(err, &v) {
		t.Errorf("an unknown status filter: %v", err)
	}

	// Raising the keynote to two seats offers Ada one; nothing is written
	// by the preview, and a confirmation against an older version fails.
	head, _ := s.store.Head(ctx)
	p, err := s.PreviewCapacity(ctx, "gate-ed", "keynote", 2)
	if err != nil || len(p.Offers) != 1 || p.Offers[0].Name != "Ada" || p.From != 1 || p.Taken != 1 {
		t.Fatalf("preview %+v %v", p, err)
	}
	if h, _ := s.store.Head(ctx); h != head {
		t.Error("the preview wrote to the log")
	}
	if low, _ := s.PreviewCapacity(ctx, "gate-ed", "keynote", 0); len(low.Problems) == 0 {
		t.Error("a preview below the seats taken has no problem")
	}
	stale := p.Revision - 1
	if _, err := s.ChangeCapacity(ctx, org, "gate-ed", "keynote", 2, &stale); err == nil {
		t.Error("a change confirmed against an older version went through")
	}
	if _, err := s.ChangeCapacity(ctx, org, "gate-ed", "keynote", 2, &p.Revision); err != nil {
		t.Fatal(err)
	}
	list, _ = s.Attendees(ctx, "gate-ed", AttendeeFilter{Session: "keynote"}, time.Time{})
	if list.Attendees[1].Status != events.StatusOffered || list.Attendees[1].OfferUntil.IsZero() {
		t.Errorf("Ada was not offered the seat the preview promised: %+v", list.Attendees[1])
	}
}
