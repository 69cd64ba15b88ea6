package conference

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// gateFixture is a service with one edition, three confirmed registrants
// (one of them cancelled) and their tickets.
type gateFixture struct {
	svc                *Service
	ok, other, revoked string // tickets
	okReg              string
}

func newGateFixture(t testing.TB) gateFixture {
	t.Helper()
	v, err := auth.NewVerifier(auth.KeySetFunc(func(context.Context) (auth.JWKS, error) { return auth.JWKS{}, nil }),
		auth.VerifierConfig{Issuer: "yunqi-test", Audience: "yunqi-test"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{DataDir: t.TempDir(), Verifier: v}, openStore(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx := context.Background()
	m := events.Metadata{Actor: "org"}
	if _, err := svc.exec(ctx, "gate-ed", true, m, "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		return nil, ed.createEdition(CreateEdition{ID: "gate-ed", NameEN: "Gate", Capacity: 10}, emit)
	}); err != nil {
		t.Fatal(err)
	}
	var f gateFixture
	f.svc = svc
	tickets := make([]string, 3)
	for i, member := range []string{"m1", "m2", "m3"} {
		id := "gate-ed." + events.NewID().String()
		if _, err := svc.exec(ctx, "gate-ed", false, m, "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
			return ed.register(Register{RegistrationID: id, Member: member, Name: member}, emit)
		}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		tok, err := svc.tickets.sign("gate-ed", id, member, now.Add(-time.Hour), now.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tickets[i] = tok
		if i == 0 {
			f.okReg = id
		}
		if i == 2 {
			if _, err := svc.exec(ctx, "gate-ed", false, m, "", func(ed *Edition, now time.Time, emit emit) (any, error) {
				return ed.cancel(id, member, now, emit)
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.ok, f.other, f.revoked = tickets[0], tickets[1], tickets[2]
	return f
}

func statuses(rs []ScanResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Status + "/" + r.Reason
	}
	return out
}

// TestCheckInBatch: every scan of an upload is answered on its own — a
// forged, a revoked, a future-dated and a repeated ticket do not fail the
// batch — and a resent batch records nothing and answers as before.
func TestCheckInBatch(t *testing.T) {
	f := newGateFixture(t)
	ctx := context.Background()
	m := events.Metadata{Actor: "gate-staff"}
	t0 := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	batch := []Scan{
		{Token: f.ok, ScannedAt: t0},
		{Token: f.ok[:len(f.ok)-4] + "AAAA", ScannedAt: t0},
		{Token: f.revoked, ScannedAt: t0},
		{Token: f.other, ScannedAt: time.Now().Add(time.Hour)},
		{Token: f.ok, ScannedAt: t0.Add(time.Minute)},
		{Token: "", ScannedAt: t0},
		{Token: f.other},
	}
	want := []string{"checked_in/", "invalid/signature", "revoked/revoked", "invalid/scanned_in_future",
		"duplicate/repeat", "invalid/token_missing", "invalid/scanned_at_missing"}
	got, err := f.svc.CheckInBatch(ctx, m, "east", "d1", batch)
	if err != nil {
		t.Fatal(err)
	}
	if g := statuses(got); !slices.Equal(g, want) {
		t.Fatalf("first upload answered %v, want %v", g, want)
	}
	if got[4].First == nil || got[4].First.Device != "d1" || !got[4].First.At.Equal(t0) {
		t.Errorf("the repeat does not name the first entry: %+v", got[4].First)
	}
	head, _ := f.svc.store.Head(ctx)
	again, err := f.svc.CheckInBatch(ctx, m, "east", "d1", batch)
	if err != nil {
		t.Fatal(err)
	}
	if g := statuses(again); !slices.Equal(g, want) {
		t.Errorf("the resent upload answered %v, want the first answers %v", g, want)
	}
	if h, _ := f.svc.store.Head(ctx); h != head {
		t.Error("the resent upload wrote to the log")
	}

	// A second device, offline at the same time, scanned the same ticket.
	second, err := f.svc.CheckInBatch(ctx, m, "west", "d2", []Scan{{Token: f.ok, ScannedAt: t0.Add(30 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if second[0].Status != ScanDuplicate || second[0].Reason != events.ScanElsewhere || second[0].First == nil || second[0].First.Gate != "east" {
		t.Errorf("the second device's scan is not flagged with the first entry: %+v", second[0])
	}
	conflicts, err := f.svc.Conflicts(ctx, "gate-ed")
	if err != nil {
		t.Fatal(err)
	}
	if len(conflicts) != 1 || conflicts[0].Registration != f.okReg || len(conflicts[0].Scans) != 3 {
		t.Fatalf("conflict report %+v, want the ticket with its three entries", conflicts)
	}
	counts, _ := f.svc.GateCounts(ctx, "gate-ed")
	if counts.CheckedIn != 1 || len(counts.Gates) != 1 || counts.Gates[0] != (GateCount{Gate: "east", CheckedIn: 1}) {
		t.Errorf("gate counts %+v, want one check-in at east", counts)
	}

	// A revoked device's later uploads are refused, each listed.
	if err := f.svc.RevokeDevice(ctx, events.Metadata{Actor: "org"}, "gate-ed", "d2"); err != nil {
		t.Fatal(err)
	}
	late, err := f.svc.CheckInBatch(ctx, m, "west", "d2", []Scan{{Token: f.other, ScannedAt: t0.Add(2 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	if late[0].Status != ScanIsRevoked || late[0].Reason != events.ScanDeviceRevoked {
		t.Errorf("a revoked device's scan answered %+v", late[0])
	}
	devices, _ := f.svc.Devices(ctx, "gate-ed")
	if len(devices) != 2 || !devices[1].Revoked || devices[1].Refused != 1 || devices[0].Scans != 2 {
		t.Errorf("devices %+v: want d1 with two entries, d2 revoked with one refusal", devices)
	} else if rf := devices[1].Refusals; len(rf) != 1 || rf[0].Name != "m2" || rf[0].Gate != "west" {
		t.Errorf("the revoked device's refused scan is not listed with its ticket: %+v", rf)
	}
	bundle, _ := f.svc.GateBundle(ctx, "gate-ed")
	if len(bundle.Revoked) != 1 || len(bundle.RevokedDevices) != 1 || bundle.RevokedDevices[0] != "d2" || len(bundle.Keys.Keys) != 1 {
		t.Errorf("gate bundle %+v", bundle)
	}

	// The batch as a whole is refused only for what concerns all of it.
	if _, err := f.svc.CheckInBatch(ctx, m, "", "d1", batch); err == nil {
		t.Error("a batch without a gate was accepted")
	}
	if _, err := f.svc.CheckInBatch(ctx, m, "east", "d1", make([]Scan, maxBatchScans+1)); err == nil {
		t.Error("an oversized batch was accepted")
	}
}
