package search_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// appendTo writes one event to a stream as its service would.
func (f *fixture) appendTo(stream string, payload any, vis events.Visibility) events.Position {
	f.t.Helper()
	ev, err := events.Types.New(payload, events.Metadata{Actor: events.ActorSystem, Visibility: vis, OccurredAt: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.store.Append(context.Background(), stream, events.Any, ev)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Position
}

// raw is a search's response body, for checking what it does not contain.
func (f *fixture) raw(u string) string {
	f.t.Helper()
	w := f.get(u)
	if w.Code != 200 {
		f.t.Fatalf("GET %s = %d %s", u, w.Code, w.Body)
	}
	return w.Body.String()
}

// stored are the documents of one type as the index holds them (the
// stored source and body).
func (f *fixture) stored(typ string) []search.Document {
	f.t.Helper()
	e, err := search.ParseFilter("type = "+typ, search.FilterableFields)
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.svc.Index().Search(context.Background(), search.Query{Filter: e, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []search.Document
	for _, h := range res.Hits {
		out = append(out, h.Document)
	}
	return out
}

func TestStartupsFollowTheMembership(t *testing.T) {
	f := newFixture(t)
	profile := events.StartupProfile{NameZH: "博客园", NameEN: "cnblogs", City: "杭州", Industry: "开发者社区", FoundedYear: 2004,
		Description: "面向开发者的技术博客社区。<script>alert(1)</script>", Logo: "ab12.png", TeamSize: 40}
	// The application, with its contact person, is never read.
	f.appendTo(events.ApplicationStream("app1"), events.ApplicationDrafted{ApplicationID: "app1", Applicant: "u-owner",
		Profile: events.StartupProfile{NameZH: "申请中的公司"}, Personal: events.ApplicantContact{Name: "联系人甲", Email: "contact.person@example.com"}}, events.Owner)
	f.appendTo(events.MemberStream("cnblogs"), events.MemberAdmitted{MemberID: "cnblogs", ApplicationID: "app1", Owner: "u-owner",
		Tier: events.TierFounding, JoinedOn: "2013-10-24", Profile: profile}, events.Public)
	f.wait(f.appendTo(events.MemberStream("other"), events.MemberAdmitted{MemberID: "other", Tier: events.TierMember, JoinedOn: "2020-01-02",
		Profile: events.StartupProfile{NameEN: "TeamCola"}}, events.Public))

	for _, q := range []string{"boke", "bky", "博客", "cnblogs"} {
		r := f.search("/api/search?type=startup&q=" + url.QueryEscape(q))
		if len(r.Hits) == 0 || r.Hits[0].Type != search.TypeStartup || !strings.Contains(f.raw("/api/search?type=startup&q="+url.QueryEscape(q)), "博客园") {
			t.Errorf("q=%s finds %+v, want 博客园", q, r.Hits)
		}
	}
	if r := f.search("/api/search?type=startup&q=teamcola"); len(r.Hits) != 1 {
		t.Errorf("teamcola finds %+v", r.Hits)
	}
	body := f.raw("/api/search?type=startup&q=bky")
	for _, want := range []string{`"member_id":"cnblogs"`, `"tier":"founding"`, `"joined_on":"2013-10-24"`, `"founded_year":2004`,
		`"logo_url":"/api/alliance/logos/ab12.png"`, `"url":"/alliance/members/cnblogs"`, `"name":"博客园"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the hit lacks %s: %s", want, body)
		}
	}
	for _, never := range []string{"u-owner", "app1", "team_size", "<script>"} {
		if strings.Contains(body, never) {
			t.Errorf("the hit carries %q: %s", never, body)
		}
	}
	for _, q := range []string{"申请中的公司", "contact.person@example.com", "联系人甲"} {
		if r := f.search("/api/search?q=" + url.QueryEscape(q)); len(r.Hits) != 0 {
			t.Errorf("an application's %q is searchable: %+v", q, r.Hits)
		}
	}
	// A placeholder search with a facet filter lists the founders.
	r := f.search("/api/search?type=startup&limit=50&facets=tier,city&filter=" + url.QueryEscape(`tier = "founding"`))
	if len(r.Hits) != 1 || r.FacetDistribution["city"]["杭州"] != 1 {
		t.Errorf("founders: %+v %v", r.Hits, r.FacetDistribution)
	}

	// An update replaces the profile and keeps the tier and join date.
	f.wait(f.appendTo(events.MemberStream("cnblogs"), events.MemberProfileUpdated{MemberID: "cnblogs",
		Profile: events.StartupProfile{NameZH: "博客园", City: "上海", Industry: "开发者社区", Description: "新的介绍"}, Changed: []string{"city"}}, events.Public))
	docs := f.stored(search.TypeStartup)
	var got search.Document
	for _, d := range docs {
		if d.MemberID == "cnblogs" {
			got = d
		}
	}
	if got.City != "上海" || got.Tier != events.TierFounding || got.JoinedOn != "2013-10-24" || got.NameEN != "" || got.LogoURL != "" || got.Body != "新的介绍" {
		t.Errorf("after the update: %+v", got)
	}

	// A withdrawal takes it out; an update after that publishes nothing.
	f.appendTo(events.MemberStream("cnblogs"), events.MembershipWithdrawn{MemberID: "cnblogs"}, events.Public)
	f.wait(f.appendTo(events.MemberStream("cnblogs"), events.MemberProfileUpdated{MemberID: "cnblogs", Profile: profile}, events.Public))
	if r := f.search("/api/search?type=startup&q=bky"); len(r.Hits) != 0 {
		t.Errorf("a withdrawn member is still found: %+v", r.Hits)
	}
	f.wait(f.appendTo(events.MemberStream("other"), events.MembershipLapsed{MemberID: "other"}, events.Public))
	if r := f.search("/api/search?type=startup"); len(r.Hits) != 0 {
		t.Errorf("lapsed and withdrawn members are still listed: %+v", r.Hits)
	}

	// A lapsed member's tier change publishes nothing; reinstated, it is
	// found again with its profile and the new tier.
	f.wait(f.appendTo(events.MemberStream("other"), events.MemberTierChanged{MemberID: "other", From: events.TierMember, Tier: events.TierFounding}, events.Public))
	if r := f.search("/api/search?type=startup&q=teamcola"); len(r.Hits) != 0 {
		t.Errorf("a lapsed member's tier change listed it: %+v", r.Hits)
	}
	f.wait(f.appendTo(events.MemberStream("other"), events.MembershipReinstated{MemberID: "other"}, events.Public))
	if body := f.raw("/api/search?type=startup&q=teamcola"); !strings.Contains(body, `"tier":"founding"`) || !strings.Contains(body, `"joined_on":"2020-01-02"`) {
		t.Errorf("the reinstated member is not found with its new tier: %s", body)
	}
	// A withdrawn member is not brought back.
	f.wait(f.appendTo(events.MemberStream("cnblogs"), events.MembershipReinstated{MemberID: "cnblogs"}, events.Public))
	if r := f.search("/api/search?type=startup&q=bky"); len(r.Hits) != 0 {
		t.Errorf("a withdrawn member came back: %+v", r.Hits)
	}
}

func TestPublishedContestEntries(t *testing.T) {
	f := newFixture(t)
	stream := events.ContestStream("yunqi-2013")
	// A draft is the team's business, never the index's.
	f.appendTo(stream, events.SubmissionSaved{ContestID: "yunqi-2013", TeamID: "t1", Title: "秘密草稿 secretdraft", Summary: "draft"}, events.Owner)
	entry := events.EntryPublished{ContestID: "yunqi-2013", ContestNameZH: "2013 云栖开发者大赛", Year: 2013, TeamID: "t1", TeamName: "西湖队",
		Members: []events.GalleryMember{{MemberID: "u-member-1"}}, Title: "城市交通大脑", Summary: "用数据疏导城市交通。",
		Track: "smart-city", TrackNameZH: "智慧城市", TrackNameEN: "Smart city", Rank: 3, Finalist: true,
		PublishedAt: time.Date(2013, 10, 23, 20, 0, 0, 0, time.UTC)}
	f.appendTo(stream, entry, events.Public)
	f.appendTo(stream, events.GalleryMemberNamed{ContestID: "yunqi-2013", TeamID: "t1", MemberID: "u-member-1",
		Personal: events.GalleryMemberPersonal{DisplayName: "王小明"}}, events.Public)
	gold := entry
	gold.TeamID, gold.TeamName, gold.Title, gold.Members, gold.Award, gold.AwardNameZH, gold.AwardNameEN = "t2", "钱塘队", "农田物联网", nil, "gold", "金奖", "Gold"
	f.wait(f.appendTo(stream, gold, events.Public))

	r := f.search("/api/search?type=submission&limit=20&facets=contest,track,award,year")
	if len(r.Hits) != 2 || r.Hits[0].Type != search.TypeSubmission {
		t.Fatalf("submissions: %+v", r.Hits)
	}
	for facet, want := range map[string]string{"contest": "yunqi-2013", "track": "smart-city", "year": "2013"} {
		if r.FacetDistribution[facet][want] != 2 {
			t.Errorf("facet %s: %v", facet, r.FacetDistribution[facet])
		}
	}
	if r.FacetDistribution["award"]["finalist"] != 1 || r.FacetDistribution["award"]["gold"] != 1 {
		t.Errorf("award facet: %v", r.FacetDistribution["award"])
	}
	for _, q := range []string{"交通大脑", "wangxiaoming", "西湖队", "Smart city", "金奖"} {
		if r := f.search("/api/search?type=submission&q=" + url.QueryEscape(q)); len(r.Hits) == 0 {
			t.Errorf("q=%s finds no entry", q)
		}
	}
	body := f.raw("/api/search?type=submission&q=" + url.QueryEscape("交通"))
	for _, want := range []string{`"contest":"yunqi-2013"`, `"team_id":"t1"`, `"url":"/contest/yunqi-2013/gallery"`, `"authors":["王小明"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("the hit lacks %s: %s", want, body)
		}
	}
	if strings.Contains(body, "u-member-1") {
		t.Errorf("a member id reached the index: %s", body)
	}
	if r := f.search("/api/search?q=secretdraft"); len(r.Hits) != 0 {
		t.Errorf("a draft is searchable: %+v", r.Hits)
	}
}

// TestDeveloperProfilesOnlyPublishedFields proves that of the identity
// streams nothing but the published profile fields reach the index: not
// the email, not the registration's name, not a field left unpublished,
// and nothing at all for someone who publishes nothing.
func TestDeveloperProfilesOnlyPublishedFields(t *testing.T) {
	f := newFixture(t)
	const (
		user  = "00000000-0000-7000-8000-0000000000aa"
		quiet = "00000000-0000-7000-8000-0000000000bb"
		email = "hidden.person@example.com"
	)
	secrets := []string{email, "hidden.person", "example.com", "Registeredname", "Unpublishedbio", "Secretville", "hash-of-password"}
	f.appendTo(events.UserStream(user), events.UserRegistered{UserID: user,
		Personal: events.UserPersonal{Email: email, PasswordHash: "hash-of-password", DisplayName: "Registeredname"}}, events.Owner)
	f.appendTo(events.UserStream(user), events.ProfileUpdated{UserID: user,
		Personal: events.ProfileFields{DisplayName: "杜勇", Bio: "Unpublishedbio text", City: "杭州", Skills: []string{"Go", "Kubernetes"},
			Links: []events.ProfileLink{{URL: "https://example.com/secret"}}},
		Publish: events.ProfilePublish{DisplayName: true, City: true, Skills: true}}, events.Owner)
	// Someone who publishes nothing leaves no trace.
	f.appendTo(events.UserStream(quiet), events.UserRegistered{UserID: quiet, Personal: events.UserPersonal{Email: "quiet@example.org"}}, events.Owner)
	f.wait(f.appendTo(events.UserStream(quiet), events.ProfileUpdated{UserID: quiet,
		Personal: events.ProfileFields{DisplayName: "Quietperson", City: "Secretville", Skills: []string{"Rust"}}}, events.Owner))

	for _, q := range []string{"duyong", "杜勇", "kubernetes"} {
		r := f.search("/api/search?type=developer&q=" + url.QueryEscape(q))
		if len(r.Hits) != 1 || r.Hits[0].Type != search.TypeDeveloper {
			t.Errorf("q=%s finds %+v, want the developer", q, r.Hits)
		}
	}
	r := f.search("/api/search?type=developer&facets=city,skills&filter=" + url.QueryEscape("skills = go AND city = 杭州"))
	if len(r.Hits) != 1 || r.FacetDistribution["skills"]["Kubernetes"] != 1 {
		t.Errorf("facets of developers: %+v %v", r.Hits, r.FacetDistribution)
	}
	for _, q := range append(secrets, "Quietperson", "rust", "quiet@example.org") {
		if r := f.search("/api/search?q=" + url.QueryEscape(q)); len(r.Hits) != 0 {
			t.Errorf("q=%q finds %+v: unpublished data reached the index", q, r.Hits)
		}
	}
	docs := f.stored(search.TypeDeveloper)
	if len(docs) != 1 {
		t.Fatalf("stored developer documents: %+v, want only the one with published fields", docs)
	}
	d := docs[0]
	src, _ := json.Marshal(d)
	stored := string(src) + d.Body + d.ID
	for _, s := range append(secrets, "https://", "Quietperson") {
		if strings.Contains(stored, s) {
			t.Errorf("the stored document holds %q: %s", s, stored)
		}
	}
	if d.Name != "杜勇" || d.City != "杭州" || len(d.Skills) != 2 || d.Summary != "" || d.URL != "/identity/people/"+user {
		t.Errorf("stored document %+v", d)
	}

	// Unpublishing a field takes it out; unpublishing everything takes
	// the document out.
	f.wait(f.appendTo(events.UserStream(user), events.ProfileUpdated{UserID: user,
		Personal: events.ProfileFields{DisplayName: "杜勇", City: "杭州", Skills: []string{"Go"}},
		Publish:  events.ProfilePublish{Skills: true}}, events.Owner))
	if r := f.search("/api/search?q=duyong"); len(r.Hits) != 0 {
		t.Errorf("an unpublished name is still found: %+v", r.Hits)
	}
	if docs := f.stored(search.TypeDeveloper); len(docs) != 1 || docs[0].Name != "" || docs[0].City != "" {
		t.Errorf("after unpublishing name and city: %+v", docs)
	}
	f.wait(f.appendTo(events.UserStream(user), events.ProfileUpdated{UserID: user,
		Personal: events.ProfileFields{DisplayName: "杜勇", Skills: []string{"Go"}}}, events.Owner))
	if docs := f.stored(search.TypeDeveloper); len(docs) != 0 {
		t.Errorf("after unpublishing everything: %+v", docs)
	}
}

// TestGalleryNamesFromTheirEvents: an entry's authors are the names of
// its GalleryMemberNamed events, for the members it lists, and only
// public ones; a name that reads as null (its person erased) names
// nobody; an entry written at version 1 is indexed without the names it
// carried, which its upcaster drops.
func TestGalleryNamesFromTheirEvents(t *testing.T) {
	f := newFixture(t)
	stream := events.ContestStream("c")
	named := func(member, name string) events.GalleryMemberNamed {
		return events.GalleryMemberNamed{ContestID: "c", TeamID: "kites", MemberID: member, Personal: events.GalleryMemberPersonal{DisplayName: name}}
	}
	f.appendTo(stream, events.EntryPublished{ContestID: "c", TeamID: "kites", TeamName: "Kites", Title: "风筝 kiteword", Finalist: true,
		Members: []events.GalleryMember{{MemberID: "u-ada"}, {MemberID: "u-bo"}, {MemberID: "u-cy"}}}, events.Public)
	f.appendTo(stream, named("u-bo", "Bo Lee"), events.Public)
	f.appendTo(stream, named("u-ada", "Ada Wong"), events.Public)
	f.appendTo(stream, named("u-cy", "Cy Hidden"), events.Owner)
	f.appendTo(stream, named("u-dee", "Dee Stranger"), events.Public)
	f.wait(f.appendTo(stream, events.GalleryMemberNamed{ContestID: "c", TeamID: "kites", MemberID: "u-cy"}, events.Public))
	authors := func(q string) []string {
		t.Helper()
		res, err := f.svc.Index().Search(context.Background(), search.Query{Q: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].Type != search.TypeSubmission {
			t.Fatalf("q=%s finds %+v, want the one entry", q, res.Hits)
		}
		return res.Hits[0].Authors
	}
	if got := authors("kiteword"); strings.Join(got, ",") != "Ada Wong,Bo Lee" {
		t.Errorf("authors %v, want Ada Wong and Bo Lee in the entry's order", got)
	}
	for _, q := range []string{"Hidden", "Stranger"} {
		if r := f.search("/api/search?q=" + q); len(r.Hits) != 0 {
			t.Errorf("q=%s finds %+v: a name that is not public or not the entry's is indexed", q, r.Hits)
		}
	}

	// A name that reads as null replaces the one before: the document is
	// written again without it.
	f.wait(f.appendTo(stream, events.GalleryMemberNamed{ContestID: "c", TeamID: "kites", MemberID: "u-ada"}, events.Public))
	if got := authors("kiteword"); strings.Join(got, ",") != "Bo Lee" {
		t.Errorf("after Ada's name reads as null the authors are %v, want Bo Lee", got)
	}

	v1 := events.Proposed{ID: events.NewID(), Type: "contest.EntryPublished", Metadata: events.Metadata{SchemaVersion: 1, Visibility: events.Public},
		Data: json.RawMessage(`{"contest_id":"old","team_id":"t","team_name":"Old","title":"旧作品 oldword","finalist":true,` +
			`"members":[{"member_id":"u-ed","display_name":"Edwardclear"}]}`)}
	res, err := f.store.Append(context.Background(), events.ContestStream("old"), events.Any, v1)
	if err != nil {
		t.Fatal(err)
	}
	f.wait(res.Position)
	if got := authors("oldword"); len(got) != 0 {
		t.Errorf("a version 1 entry is indexed with authors %v", got)
	}
	if r := f.search("/api/search?q=Edwardclear"); len(r.Hits) != 0 {
		t.Errorf("a version 1 entry's clear name is indexed: %+v", r.Hits)
	}
}
