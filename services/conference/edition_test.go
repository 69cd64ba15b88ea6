package conference

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

var (
	t0  = time.Date(2015, 10, 14, 9, 0, 0, 0, time.UTC)
	day = time.Date(2015, 10, 15, 9, 0, 0, 0, time.UTC)
)

// Given events, when a command, then events or an error: the aggregate's
// behaviour as a table.
func given(evs ...any) *Edition {
	ed := newEdition()
	for _, e := range evs {
		ed.Apply(e, t0)
	}
	return ed
}

func scheduled(capacity int) []any {
	return []any{
		events.EditionScheduled{EditionID: "y", NameEN: "Yunqi", Capacity: capacity, StartsOn: "2015-10-15", EndsOn: "2015-10-16"},
		events.PolicySet{EditionID: "y", OfferWindowSeconds: 3600},
		events.TicketTypeDefined{EditionID: "y", TicketType: "general"},
		events.TicketTypeDefined{EditionID: "y", TicketType: "student", Quota: 1},
		events.TicketTypeDefined{EditionID: "y", TicketType: "invited", InviteOnly: true},
		events.InviteCodeIssued{EditionID: "y", CodeHash: hashCode("FEITIAN-5K"), TicketType: "invited", MaxUses: 1},
		events.SessionScheduled{EditionID: "y", SessionID: "bigdata", Title: "大数据", StartsAt: day, EndsAt: day.Add(time.Hour), Capacity: 1},
		events.SessionScheduled{EditionID: "y", SessionID: "storage", Title: "大规模存储", StartsAt: day.Add(30 * time.Minute), EndsAt: day.Add(2 * time.Hour), Capacity: 5},
		events.SessionScheduled{EditionID: "y", SessionID: "network", Title: "云网络", StartsAt: day.Add(3 * time.Hour), EndsAt: day.Add(4 * time.Hour), Capacity: 5},
	}
}

func with(base []any, more ...any) []any { return append(append([]any{}, base...), more...) }

func placed(id, member, status string, sessions ...events.SessionChoice) events.RegistrationPlaced {
	if sessions == nil {
		sessions = []events.SessionChoice{}
	}
	return events.RegistrationPlaced{EditionID: "y", RegistrationID: id, MemberID: member, TicketType: "general", Status: status, Sessions: sessions}
}

func seat(id, status string) events.SessionChoice {
	return events.SessionChoice{SessionID: id, Status: status}
}

const (
	ok = events.StatusConfirmed
	wl = events.StatusWaitlisted
)

func TestDecisions(t *testing.T) {
	now := day.Add(-24 * time.Hour)
	until := now.Add(time.Hour)
	tests := []struct {
		name    string
		given   []any
		when    func(ed *Edition, emit emit) error
		then    []any
		wantErr any // an error value to match with errors.Is, or a pointer type for errors.As
	}{
		{
			name:  "a seat in a session with room",
			given: scheduled(10),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r1", Member: "m1", Sessions: []string{"bigdata"}}, emit)
				return err
			},
			then: []any{placed("r1", "m1", ok, seat("bigdata", ok))},
		},
		{
			name:  "a full session waitlists, the edition still admits",
			given: with(scheduled(10), placed("r1", "m1", ok, seat("bigdata", ok))),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m2", Sessions: []string{"bigdata", "network"}}, emit)
				return err
			},
			then: []any{placed("r2", "m2", ok, seat("bigdata", wl), seat("network", ok))},
		},
		{
			name:  "overlapping slots are refused naming both",
			given: scheduled(10),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r1", Member: "m1", Sessions: []string{"bigdata", "storage"}}, emit)
				var v *ValidationError
				if errors.As(err, &v) && v.Fields[0].Message != `"大数据" and "大规模存储" take place at the same time; choose one of them` {
					t.Errorf("message %q", v.Fields[0].Message)
				}
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name:  "an unknown session is a field error",
			given: scheduled(10),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r1", Member: "m1", Sessions: []string{"yunos"}}, emit)
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name:  "a second registration by the same member points to the first",
			given: with(scheduled(10), placed("r1", "m1", ok)),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m1"}, emit)
				var d *DuplicateError
				if errors.As(err, &d) && d.Existing != "r1" {
					t.Errorf("points to %s", d.Existing)
				}
				return err
			},
			wantErr: new(*DuplicateError),
		},
		{
			name:  "a retried idempotency key answers again and writes nothing",
			given: with(scheduled(10), events.RegistrationPlaced{EditionID: "y", RegistrationID: "r1", MemberID: "m1", TicketType: "general", Status: ok, Sessions: []events.SessionChoice{}, IdempotencyKey: "k"}),
			when: func(ed *Edition, emit emit) error {
				p, err := ed.register(Register{RegistrationID: "r9", Member: "m1", IdempotencyKey: "k"}, emit)
				if p.ID != "r1" {
					t.Errorf("answered %s", p.ID)
				}
				return err
			},
		},
		{
			name:  "a full edition without a waitlist refuses",
			given: with(scheduled(1), placed("r1", "m1", ok)),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m2"}, emit)
				return err
			},
			wantErr: ErrEditionFull,
		},
		{
			name:  "a full edition with a waitlist waitlists",
			given: with(scheduled(1), events.PolicySet{EditionID: "y", OfferWindowSeconds: 3600, EditionWaitlist: 10}, placed("r1", "m1", ok)),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m2", Sessions: []string{"network"}}, emit)
				return err
			},
			then: []any{placed("r2", "m2", wl, seat("network", wl))},
		},
		{
			name:  "a ticket type quota is kept",
			given: with(scheduled(10), events.RegistrationPlaced{EditionID: "y", RegistrationID: "r1", MemberID: "m1", TicketType: "student", Status: ok, Sessions: []events.SessionChoice{}}),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m2", TicketType: "student"}, emit)
				return err
			},
			wantErr: ErrTicketTypeFull,
		},
		{
			name:  "an invite-only ticket needs its code",
			given: scheduled(10),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m2", TicketType: "invited"}, emit)
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name:  "an invite code past its use limit is refused",
			given: with(scheduled(10), events.RegistrationPlaced{EditionID: "y", RegistrationID: "r1", MemberID: "m1", TicketType: "invited", InviteCodeHash: hashCode("FEITIAN-5K"), Status: ok, Sessions: []events.SessionChoice{}}),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r2", Member: "m2", TicketType: "invited", InviteCode: "FEITIAN-5K"}, emit)
				return err
			},
			wantErr: new(*ValidationError),
		},
		{
			name:  "cancelling a seat offers it to the first waitlisted",
			given: with(scheduled(10), placed("r1", "m1", ok, seat("bigdata", ok)), placed("r2", "m2", ok, seat("bigdata", wl)), placed("r3", "m3", ok, seat("bigdata", wl))),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.cancel("r1", "m1", now, emit)
				return err
			},
			then: []any{
				events.RegistrationCancelled{EditionID: "y", RegistrationID: "r1"},
				events.SeatOffered{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: until},
			},
		},
		{
			name: "an expired offer moves on to the next",
			given: with(scheduled(10), placed("r1", "m1", ok, seat("bigdata", ok)), placed("r2", "m2", ok, seat("bigdata", wl)), placed("r3", "m3", ok, seat("bigdata", wl)),
				events.RegistrationCancelled{EditionID: "y", RegistrationID: "r1"},
				events.SeatOffered{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: now}),
			when: func(ed *Edition, emit emit) error { ed.expire(now, emit); return nil },
			then: []any{
				events.OfferExpired{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata"},
				events.SeatOffered{EditionID: "y", RegistrationID: "r3", SessionID: "bigdata", ExpiresAt: until},
			},
		},
		{
			name: "an accepted offer confirms the seat",
			given: with(scheduled(10), placed("r2", "m2", ok, seat("bigdata", wl)),
				events.SeatOffered{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: until}),
			when: func(ed *Edition, emit emit) error { _, err := ed.accept("r2", "m2", now, emit); return err },
			then: []any{events.OfferAccepted{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata"}},
		},
		{
			name:  "someone else's registration is not found",
			given: with(scheduled(10), placed("r1", "m1", ok)),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.cancel("r1", "m2", now, emit)
				return err
			},
			wantErr: ErrRegistrationNotFound,
		},
		{
			name:  "no cancelling after the deadline",
			given: with(scheduled(10), events.PolicySet{EditionID: "y", OfferWindowSeconds: 3600, CancellationDeadline: now.Add(-time.Minute)}, placed("r1", "m1", ok)),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.cancel("r1", "m1", now, emit)
				return err
			},
			wantErr: ErrCancellationClosed,
		},
		{
			name:  "a capacity below the seats taken is refused",
			given: with(scheduled(10), placed("r1", "m1", ok, seat("storage", ok)), placed("r2", "m2", ok, seat("storage", ok))),
			when: func(ed *Edition, emit emit) error {
				return ed.changeCapacity(ChangeCapacity{Session: "storage", Capacity: 1}, now, emit)
			},
			wantErr: new(*ValidationError),
		},
		{
			name:  "an absurd capacity is refused",
			given: scheduled(10),
			when: func(ed *Edition, emit emit) error {
				return ed.changeCapacity(ChangeCapacity{Capacity: -5}, now, emit)
			},
			wantErr: new(*ValidationError),
		},
		{
			name:  "raising a capacity offers the new seats in order",
			given: with(scheduled(10), placed("r1", "m1", ok, seat("bigdata", ok)), placed("r2", "m2", ok, seat("bigdata", wl))),
			when: func(ed *Edition, emit emit) error {
				return ed.changeCapacity(ChangeCapacity{Session: "bigdata", Capacity: 2}, now, emit)
			},
			then: []any{
				events.SessionCapacityChanged{EditionID: "y", SessionID: "bigdata", Capacity: 2},
				events.SeatOffered{EditionID: "y", RegistrationID: "r2", SessionID: "bigdata", ExpiresAt: until},
			},
		},
		{
			name:  "the first scan checks in",
			given: with(scheduled(10), placed("r1", "m1", ok)),
			when: func(ed *Edition, emit emit) error {
				return wantScan(ed.scan("r1", "east", "d1", now, emit), ScanCheckedIn, "")
			},
			then: []any{events.TicketCheckedIn{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1", ScannedAt: now}},
		},
		{
			name:  "the same gate and device again is a flagged repeat",
			given: with(scheduled(10), placed("r1", "m1", ok), events.TicketCheckedIn{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1"}),
			when: func(ed *Edition, emit emit) error {
				return wantScan(ed.scan("r1", "east", "d1", now.Add(time.Minute), emit), ScanDuplicate, "east")
			},
			then: []any{events.TicketScanRefused{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1", Reason: events.ScanRepeat, ScannedAt: now.Add(time.Minute)}},
		},
		{
			name:  "a scan at another gate is a flagged second entry, recorded",
			given: with(scheduled(10), placed("r1", "m1", ok), events.TicketCheckedIn{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1"}),
			when: func(ed *Edition, emit emit) error {
				return wantScan(ed.scan("r1", "west", "d2", now, emit), ScanDuplicate, "east")
			},
			then: []any{events.TicketScanRefused{EditionID: "y", RegistrationID: "r1", Gate: "west", Device: "d2", Reason: events.ScanElsewhere, ScannedAt: now}},
		},
		{
			name: "the same scan uploaded again records nothing and answers as before",
			given: with(scheduled(10), placed("r1", "m1", ok), events.TicketCheckedIn{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1", ScannedAt: now},
				events.TicketScanRefused{EditionID: "y", RegistrationID: "r1", Gate: "west", Device: "d2", Reason: events.ScanElsewhere, ScannedAt: now.Add(time.Minute)}),
			when: func(ed *Edition, emit emit) error {
				if err := wantScan(ed.scan("r1", "east", "d1", now, emit), ScanCheckedIn, ""); err != nil {
					return err
				}
				return wantScan(ed.scan("r1", "west", "d2", now.Add(time.Minute), emit), ScanDuplicate, "east")
			},
		},
		{
			name:  "a cancelled registration's ticket is revoked, and the scan recorded",
			given: with(scheduled(10), placed("r1", "m1", ok), events.RegistrationCancelled{EditionID: "y", RegistrationID: "r1"}),
			when: func(ed *Edition, emit emit) error {
				return wantScan(ed.scan("r1", "east", "d1", now, emit), ScanIsRevoked, "")
			},
			then: []any{events.TicketScanRefused{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1", Reason: events.ScanRevoked, ScannedAt: now}},
		},
		{
			name:  "a revoked device's scans are refused",
			given: with(scheduled(10), placed("r1", "m1", ok), events.GateDeviceRevoked{EditionID: "y", Device: "d1"}),
			when: func(ed *Edition, emit emit) error {
				return wantScan(ed.scan("r1", "east", "d1", now, emit), ScanIsRevoked, "")
			},
			then: []any{events.TicketScanRefused{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1", Reason: events.ScanDeviceRevoked, ScannedAt: now}},
		},
		{
			name:  "a checked-in registration cannot be cancelled",
			given: with(scheduled(10), placed("r1", "m1", ok), events.TicketCheckedIn{EditionID: "y", RegistrationID: "r1", Gate: "east", Device: "d1"}),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.cancel("r1", "m1", now, emit)
				return err
			},
			wantErr: ErrCheckedIn,
		},
		{
			name:  "registration outside the window is refused",
			given: with(scheduled(10), events.RegistrationWindowSet{EditionID: "y", Closes: now.Add(-time.Hour)}),
			when: func(ed *Edition, emit emit) error {
				_, err := ed.register(Register{RegistrationID: "r1", Member: "m1", At: now}, emit)
				return err
			},
			wantErr: new(*WindowError),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ed := given(tt.given...)
			var got []any
			err := tt.when(ed, func(p any) { got = append(got, p); ed.Apply(p, now) })
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
			case error:
				if !errors.Is(err, want) {
					t.Fatalf("error %v, want %v", err, want)
				}
			default:
				if err == nil || !errors.As(err, want) {
					t.Fatalf("error %v, want a %T", err, want)
				}
			}
			if !reflect.DeepEqual(got, tt.then) {
				t.Errorf("events\n got %#v\nwant %#v", got, tt.then)
			}
		})
	}
}

// wantScan checks a scan's answer: its status and, for a second entry,
// the gate of the first.
func wantScan(got ScanResult, status, firstGate string) error {
	if got.Status != status {
		return fmt.Errorf("scan answered %+v, want status %s", got, status)
	}
	if firstGate != "" && (got.First == nil || got.First.Gate != firstGate) {
		return fmt.Errorf("scan answered %+v, want the first entry at %s", got, firstGate)
	}
	return nil
}
