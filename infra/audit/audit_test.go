package audit

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

func appendOne(t *testing.T, s events.Store, stream string, p any, actor string, at time.Time) {
	t.Helper()
	ev, err := events.Types.New(p, events.Metadata{Actor: actor, OccurredAt: at, Visibility: events.Staff})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), stream, events.Any, ev); err != nil {
		t.Fatal(err)
	}
}

func TestReadSelectsStaffActionsWithNames(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "log.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	appendOne(t, s, events.UserStream("u-org"), events.UserRegistered{UserID: "u-org", Personal: events.UserPersonal{DisplayName: "杜勇"}}, "u-org", day)
	appendOne(t, s, events.MemberStream("m1"), events.MemberAdmitted{MemberID: "m1", Tier: events.TierMember}, "u-org", day)
	appendOne(t, s, events.MemberStream("m1"), events.MembershipLapsed{MemberID: "m1"}, "u-org", day.Add(48*time.Hour))
	appendOne(t, s, events.MemberStream("m1"), events.MembershipWithdrawn{MemberID: "m1"}, "u-owner", day.Add(72*time.Hour))
	appendOne(t, s, events.AlliancePolicyStream, events.DecisionPolicySet{Policy: events.DecisionPolicy{ApprovalsRequired: 2}}, "u-org", day.Add(24*time.Hour))
	appendOne(t, s, events.ApplicationStream("a1"), events.ApplicationWithdrawn{ApplicationID: "a1"}, "u-owner", day)

	sel := Selector{
		Kinds: map[string]string{"alliance.MembershipLapsed": "lapsed", "alliance.MembershipWithdrawn": "withdrawn", "alliance.DecisionPolicySet": "policy"},
		// A withdrawal by its owner is not a staff action.
		Keep: func(e events.Event, _ any) bool { return e.Metadata.Actor != "u-owner" },
	}
	got, err := Read(ctx, s, Source{Streams: []string{events.AlliancePolicyStream}, Prefixes: []string{events.CategoryMember + "-"}}, sel, LogNames(s))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != "policy" || got[1].Kind != "lapsed" {
		t.Fatalf("entries = %+v, want the policy change then the lapse, oldest first", got)
	}
	if got[1].Name != "杜勇" || got[1].Actor != "u-org" {
		t.Errorf("lapse by %q (%q), want 杜勇 (u-org)", got[1].Name, got[1].Actor)
	}

	only, err := Read(ctx, s, Source{Streams: []string{events.AlliancePolicyStream}}, sel, nil)
	if err != nil || len(only) != 1 || only[0].Kind != "policy" || only[0].Name != "" {
		t.Fatalf("one stream: %+v, %v", only, err)
	}
}

func TestFilter(t *testing.T) {
	day := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	entries := []Entry{
		{ID: "1", At: day, Actor: "a", Name: "Alice Wong", Kind: "policy"},
		{ID: "2", At: day.Add(24 * time.Hour), Actor: "b", Name: "杜勇", Kind: "lapsed"},
		{ID: "3", At: day.Add(48 * time.Hour), Actor: "a", Name: "Alice Wong", Kind: "lapsed"},
	}
	kinds := []string{"policy", "lapsed"}
	cases := []struct {
		query string
		want  []string
		bad   []string
	}{
		{"", []string{"3", "2", "1"}, nil},
		{"kind=lapsed", []string{"3", "2"}, nil},
		{"actor=a", []string{"3", "1"}, nil},
		{"actor=alice", []string{"3", "1"}, nil},
		{"actor=杜", []string{"2"}, nil},
		{"from=2026-03-02", []string{"3", "2"}, nil},
		{"to=2026-03-02", []string{"2", "1"}, nil},
		{"from=2026-03-02&to=2026-03-02", []string{"2"}, nil},
		{"kind=nonsense&from=March&to=2026-02-01", []string{"3", "2", "1"}, []string{"kind", "from"}},
		{"from=2026-03-03&to=2026-03-01", nil, []string{"to"}},
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.query)
		f, errs := ParseFilter(q, kinds, time.UTC)
		var bad []string
		for _, e := range errs {
			bad = append(bad, e.Field)
		}
		if len(bad) != len(c.bad) || len(bad) > 0 && bad[0] != c.bad[0] {
			t.Errorf("%q: errors %v, want %v", c.query, bad, c.bad)
		}
		if len(c.bad) > 0 {
			continue
		}
		var ids []string
		for _, e := range f.Apply(entries) {
			ids = append(ids, e.ID)
		}
		if len(ids) != len(c.want) {
			t.Errorf("%q: %v, want %v", c.query, ids, c.want)
			continue
		}
		for i := range ids {
			if ids[i] != c.want[i] {
				t.Errorf("%q: %v, want %v", c.query, ids, c.want)
				break
			}
		}
	}
	if a := Actors(entries); len(a) != 2 || a[0].Name != "Alice Wong" {
		t.Errorf("actors = %+v", a)
	}
}
