package alliance

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

func TestMemberAdministration(t *testing.T) {
	admitted := events.MemberAdmitted{MemberID: memID, Owner: ada, Tier: events.TierMember, JoinedOn: "2024-05-01", Profile: complete}
	lapsed := events.MembershipLapsed{MemberID: memID}
	tests := []struct {
		name    string
		given   []any
		when    func(m *Member) ([]any, error)
		then    []any
		wantErr error
	}{
		{"an organiser makes a member founding", []any{admitted}, func(m *Member) ([]any, error) { return m.changeTier(true, "founding") },
			[]any{events.MemberTierChanged{MemberID: memID, From: events.TierMember, Tier: events.TierFounding}}, nil},
		{"the tier it has changes nothing", []any{admitted}, func(m *Member) ([]any, error) { return m.changeTier(true, "member") }, nil, nil},
		{"an unknown tier is refused", []any{admitted}, func(m *Member) ([]any, error) { return m.changeTier(true, "gold") }, nil, &ValidationError{}},
		{"the owner does not choose a tier", []any{admitted}, func(m *Member) ([]any, error) { return m.changeTier(false, "founding") }, nil, ErrNotYours},
		{"a lapsed member's tier can be corrected", []any{admitted, lapsed}, func(m *Member) ([]any, error) { return m.changeTier(true, "founding") },
			[]any{events.MemberTierChanged{MemberID: memID, From: events.TierMember, Tier: events.TierFounding}}, nil},
		{"a withdrawn member's tier cannot", []any{admitted, events.MembershipWithdrawn{MemberID: memID}},
			func(m *Member) ([]any, error) { return m.changeTier(true, "founding") }, nil, ErrMemberGone},
		{"an organiser reinstates a lapsed member", []any{admitted, lapsed}, func(m *Member) ([]any, error) { return m.reinstate(true, " 已缴费 ") },
			[]any{events.MembershipReinstated{MemberID: memID, Reason: "已缴费"}}, nil},
		{"reinstating an active member changes nothing", []any{admitted}, func(m *Member) ([]any, error) { return m.reinstate(true, "") }, nil, nil},
		{"a withdrawal is not undone", []any{admitted, events.MembershipWithdrawn{MemberID: memID}},
			func(m *Member) ([]any, error) { return m.reinstate(true, "") }, nil, ErrMemberGone},
		{"only organisers reinstate", []any{admitted, lapsed}, func(m *Member) ([]any, error) { return m.reinstate(false, "") }, nil, ErrNotYours},
		{"a reinstated member can lapse again", []any{admitted, lapsed, events.MembershipReinstated{MemberID: memID}},
			func(m *Member) ([]any, error) { return m.end(rev1, true, true, "") }, []any{lapsed}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Member{}
			for _, e := range tt.given {
				m.Apply(e, now)
			}
			got, err := tt.when(m)
			checkOutcome(t, got, err, tt.then, tt.wantErr)
		})
	}
}

// TestLapseShowsAndAuditNamesStaff runs the commands against the log: a
// lapsed member keeps its marked profile and leaves the wall, a
// reinstatement brings it back, and the audit names the organiser for
// each change but not the owner's own edit.
func TestLapseShowsAndAuditNamesStaff(t *testing.T) {
	ctx := context.Background()
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "log.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	names := map[string]string{"org-1": "杜勇"}
	s, err := New(Config{DataDir: t.TempDir(), Names: func(_ context.Context, id string) string { return names[id] }}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.Run(run) }()
	defer func() { cancel(); <-done }()
	if err := SeedDemo(ctx, store); err != nil {
		t.Fatal(err)
	}
	org := Who{UserID: "org-1", Organizer: true}
	if _, err := s.ChangeTier(ctx, org, "cnblogs", "member"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndMembership(ctx, org, "cnblogs", true, "未续费"); err != nil {
		t.Fatal(err)
	}
	p, _, status, ok := s.view.member("cnblogs")
	if !ok || status != MemberLapsed || p.Status != MemberLapsed || p.LapsedOn == "" || p.Tier != events.TierMember {
		t.Fatalf("lapsed member: %+v %s", p, status)
	}
	for _, m := range s.view.wall("", MemberFilter{}) {
		if m.ID == "cnblogs" {
			t.Fatal("a lapsed member is still on the wall")
		}
	}
	if l := s.view.lapsed(); len(l) != 1 || l[0].ID != "cnblogs" {
		t.Fatalf("lapsed list: %+v", l)
	}
	if _, err := s.ReinstateMembership(ctx, org, "cnblogs", strings.Repeat("长", maxComment+1)); err == nil {
		t.Fatal("an overlong reason was taken")
	}
	if _, err := s.ReinstateMembership(ctx, org, "cnblogs", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, status, _ := s.view.member("cnblogs"); status != MemberActive {
		t.Fatalf("after reinstating: %s", status)
	}
	if err := s.SetPolicy(ctx, org, events.DecisionPolicy{ApprovalsRequired: 3, RejectionsRequired: 2}); err != nil {
		t.Fatal(err)
	}

	entries, err := s.AuditEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Kind)
		if e.Name != "杜勇" {
			t.Errorf("%s by %q (%s), want 杜勇", e.Kind, e.Name, e.Actor)
		}
		if e.At.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s dated %s", e.Kind, e.At)
		}
	}
	// The demo's seeding is no staff action; the four changes are.
	if strings.Join(kinds, ",") != "tier,lapse,reinstate,policy" {
		t.Fatalf("audit kinds %v", kinds)
	}
}
