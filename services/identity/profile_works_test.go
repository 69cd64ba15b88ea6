package identity

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// publishElsewhere appends a public event of another context, as the
// contest or blog service would, and waits until the profiles have read it.
func (f *fixture) publishElsewhere(stream string, payload any) {
	f.t.Helper()
	ev, err := events.Types.New(payload, events.Metadata{Actor: "system", OccurredAt: time.Now().UTC(), Visibility: events.Public})
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.store.Append(context.Background(), stream, events.Any, ev)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !f.svc.works.follower.WaitFor(ctx, res.Position) {
		f.t.Fatalf("the profiles never read %T", payload)
	}
}

// publishProfile signs a person up and publishes the fields of pub.
func (f *fixture) publishProfile(email, name string, pub events.ProfilePublish) string {
	f.t.Helper()
	id := f.signUp(email, name)
	s := f.logIn(email)
	doc := profileDoc{DisplayName: name, City: "杭州", Publish: pub}
	if res := f.do("PUT", "/api/identity/me/profile", doc, bearer(s.access)); res.status != http.StatusOK {
		f.t.Fatalf("publish profile of %s: %d %s", email, res.status, res.body)
	}
	return id
}

func (f *fixture) person(id string) publicProfile {
	f.t.Helper()
	res := f.do("GET", "/api/identity/people/"+id, nil)
	if res.status != http.StatusOK {
		f.t.Fatalf("profile %s: %d %s", id, res.status, res.body)
	}
	var p publicProfile
	res.decode(f.t, &p)
	if p.Entries == nil || p.Posts == nil {
		f.t.Fatalf("profile %s lacks its works lists: %s", id, res.body)
	}
	return p
}

func galleryEntry(team string, members ...events.GalleryMember) events.EntryPublished {
	return events.EntryPublished{
		ContestID: "yunqi2013", ContestNameZH: "2013 云栖开发者大赛", ContestNameEN: "Yunqi Developer Contest 2013", Year: 2013,
		TeamID: team, TeamName: "西溪观鸟", Members: members, Title: "西溪观鸟 · Xixi Birdwatch", Summary: "demo",
		Track: "mobile", TrackNameZH: "移动应用", TrackNameEN: "Mobile", Award: "gold", AwardNameZH: "金奖", AwardNameEN: "Gold award",
		Rank: 1, Finalist: true, PublishedAt: time.Date(2013, 10, 24, 11, 30, 0, 0, time.UTC), SubmissionRevision: 2,
	}
}

func TestProfileListsPublishedEntriesOfListedMembers(t *testing.T) {
	s := newSite(t)
	f := s.fixture
	listed := f.publishProfile("listed@example.com", "Listed", events.ProfilePublish{DisplayName: true, City: true})
	absent := f.publishProfile("absent@example.com", "Absent", events.ProfilePublish{DisplayName: true, City: true})
	nameless := f.publishProfile("nameless@example.com", "Nameless", events.ProfilePublish{City: true})
	hidden := f.signUp("hidden@example.com", "Hidden") // publishes nothing

	// The absent member is on the team but chose no public name, so the
	// event does not list them.
	f.publishElsewhere(events.ContestStream("yunqi2013"), galleryEntry("team-1",
		events.GalleryMember{MemberID: listed},
		events.GalleryMember{MemberID: hidden},
		events.GalleryMember{MemberID: nameless}))

	p := f.person(listed)
	if len(p.Entries) != 1 {
		t.Fatalf("listed member's entries = %+v", p.Entries)
	}
	e := p.Entries[0]
	if e.ContestID != "yunqi2013" || e.Title != "西溪观鸟 · Xixi Birdwatch" || e.Award != "gold" || e.Rank != 1 ||
		e.Link != "/contest/yunqi2013/gallery" || e.ContestNameEN != "Yunqi Developer Contest 2013" {
		t.Fatalf("entry = %+v", e)
	}
	if p := f.person(absent); len(p.Entries) != 0 {
		t.Fatalf("a member the event does not list has entries: %+v", p.Entries)
	}
	// The gallery shows a name its owner keeps off the profile: listing the
	// entry there would tie that name to the account.
	if p := f.person(nameless); len(p.Entries) != 0 {
		t.Fatalf("a profile without a published name lists entries: %+v", p.Entries)
	}
	// Being in a gallery publishes nothing of the profile: it stays a 404
	// that does not tell the person exists.
	res := f.do("GET", "/api/identity/people/"+hidden, nil)
	problemOf(t, res, http.StatusNotFound)
	if strings.Contains(string(res.body), "yunqi2013") {
		t.Fatalf("a hidden profile's 404 tells of its entries: %s", res.body)
	}
	if pg := s.browser("en").get("/identity/people/" + hidden); pg.status != http.StatusNotFound || pg.has("Birdwatch") {
		t.Fatalf("hidden profile page: %d", pg.status)
	}

	for lang, want := range map[string][]string{
		"en":    {"Contest entries", "Yunqi Developer Contest 2013", "Gold award", "rank 1", "24 October 2013", `href="/contest/yunqi2013/gallery"`},
		"zh-CN": {"参赛作品", "2013 云栖开发者大赛", "金奖", "第 1 名", "2013年10月24日"},
	} {
		pg := s.browser(lang).get("/identity/people/" + listed)
		if pg.status != http.StatusOK {
			t.Fatalf("%s page: %d", lang, pg.status)
		}
		for _, w := range want {
			if !pg.has(w) {
				t.Errorf("%s profile page lacks %q", lang, w)
			}
		}
	}

	// Published again with other members, the entry moves with them.
	f.publishElsewhere(events.ContestStream("yunqi2013"), galleryEntry("team-1",
		events.GalleryMember{MemberID: absent}))
	if p := f.person(listed); len(p.Entries) != 0 {
		t.Fatalf("entry stayed with a member no longer listed: %+v", p.Entries)
	}
	if p := f.person(absent); len(p.Entries) != 1 {
		t.Fatalf("entry did not reach the newly listed member: %+v", p.Entries)
	}
}

func postImported(slug, title string, authors ...string) events.PostImported {
	return events.PostImported{Blog: "progress", Slug: slug, PostContent: events.PostContent{
		Title: title, Authors: authors, Date: time.Date(2015, 3, 9, 8, 0, 0, 0, time.UTC), Body: "…", ContentHash: slug,
	}}
}

func TestProfileListsPostsByPublishedName(t *testing.T) {
	s := newSite(t)
	f := s.fixture
	author := f.publishProfile("duyong@example.com", "杜勇", events.ProfilePublish{DisplayName: true, City: true})
	// The same name, kept private: a name nobody published links nothing.
	private := f.publishProfile("other@example.com", "杜勇", events.ProfilePublish{City: true})

	stream := events.PostStream("progress", "01")
	f.publishElsewhere(stream, postImported("01", "上云一年", "杜勇", "Ada"))
	f.publishElsewhere(events.PostStream("progress", "02"), postImported("02", "Near miss", "杜 勇", "duyong"))

	p := f.person(author)
	if len(p.Posts) != 1 || p.PostsTotal != 1 || p.Posts[0].Title != "上云一年" || p.Posts[0].Link != "/blog/progress/01" {
		t.Fatalf("posts = %+v (total %d)", p.Posts, p.PostsTotal)
	}
	if p := f.person(private); len(p.Posts) != 0 || p.PostsTotal != 0 {
		t.Fatalf("an unpublished display name linked posts: %+v", p.Posts)
	}
	for lang, want := range map[string][]string{
		"en":    {"Blog posts", "does not prove who wrote them", "9 March 2015", `href="/blog/progress/01"`},
		"zh-CN": {"博客文章", "并不能证明", "2015年3月9日"},
	} {
		pg := s.browser(lang).get("/identity/people/" + author)
		for _, w := range want {
			if !pg.has(w) {
				t.Errorf("%s profile page lacks %q", lang, w)
			}
		}
	}

	// A revision that drops the name drops the post; one that restores it
	// brings it back.
	revised := events.PostRevised{Blog: "progress", Slug: "01", PostContent: postImported("01", "上云一年（修订）", "Ada").PostContent}
	f.publishElsewhere(stream, revised)
	if p := f.person(author); len(p.Posts) != 0 {
		t.Fatalf("a revision without the name kept the post: %+v", p.Posts)
	}
	revised.Authors = []string{"杜勇"}
	f.publishElsewhere(stream, revised)
	if p := f.person(author); len(p.Posts) != 1 || p.Posts[0].Title != "上云一年（修订）" {
		t.Fatalf("after the name came back: %+v", p.Posts)
	}

	f.publishElsewhere(stream, events.PostWithdrawn{Blog: "progress", Slug: "01"})
	if p := f.person(author); len(p.Posts) != 0 || p.PostsTotal != 0 {
		t.Fatalf("a withdrawn post is still listed: %+v", p.Posts)
	}
	if pg := s.browser("en").get("/identity/people/" + author); pg.has("Blog posts") {
		t.Fatal("the page keeps a posts heading with no posts")
	}

	// The projection is rebuilt from the log at start.
	f.publishElsewhere(events.PostStream("progress", "03"), postImported("03", "After restart", "杜勇"))
	s.restart()
	eventually(t, "profile works after restart", func() bool { return f.svc.works.follower.Ready() })
	if p := f.person(author); len(p.Posts) != 1 || p.Posts[0].Slug != "03" {
		t.Fatalf("after restart: %+v", p.Posts)
	}
}

func TestProfileWorksIgnoreNonPublicEvents(t *testing.T) {
	w := newWorks(nil, nil)
	for _, vis := range []events.Visibility{events.Owner, events.Staff, events.Public} {
		ev, err := events.Types.New(galleryEntry("t", events.GalleryMember{MemberID: string(vis)}), events.Metadata{Visibility: vis})
		if err != nil {
			t.Fatal(err)
		}
		w.apply(events.Event{ID: ev.ID, Type: ev.Type, Data: ev.Data, Metadata: ev.Metadata}, nil)
		if got, want := len(w.entriesOf(string(vis))), map[bool]int{true: 1}[vis == events.Public]; got != want {
			t.Errorf("%s event: %d entries listed, want %d", vis, got, want)
		}
	}
}

// TestProfileWorksListVersion1Entries: an entry written at version 1,
// with its members' names in it, is listed for the members it names by
// id; its upcaster drops only the names.
func TestProfileWorksListVersion1Entries(t *testing.T) {
	w := newWorks(nil, nil)
	w.apply(events.Event{ID: events.NewID(), Stream: events.ContestStream("old"), Type: "contest.EntryPublished",
		Data:     json.RawMessage(`{"contest_id":"old","team_id":"t","title":"Old entry","members":[{"member_id":"u-ada","display_name":"Ada Wong"}]}`),
		Metadata: events.Metadata{SchemaVersion: 1, Visibility: events.Public}}, nil)
	if got := w.entriesOf("u-ada"); len(got) != 1 || got[0].Title != "Old entry" {
		t.Errorf("a version 1 entry lists %+v for its member", got)
	}
}

func TestProfilePostsAreBounded(t *testing.T) {
	w := newWorks(nil, nil)
	for i := range maxProfilePosts + 5 {
		c := postImported("", "p", "Prolific").PostContent
		c.Date = c.Date.Add(time.Duration(i) * time.Hour)
		w.putPost("b", strings.Repeat("x", i+1), c)
	}
	posts, total := w.postsBy("Prolific", maxProfilePosts)
	if len(posts) != maxProfilePosts || total != maxProfilePosts+5 || !posts[0].Date.After(posts[1].Date) {
		t.Fatalf("got %d posts of %d, first %v", len(posts), total, posts[0].Date)
	}
}

// TestReadyWaitsForProfileWorks: /readyz must not report ready while the
// public profiles are still missing entries and posts.
func TestReadyWaitsForProfileWorks(t *testing.T) {
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(Config{DataDir: t.TempDir(), Argon2: fastArgon2, Claims: testClaims}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.timeline.follower.Run(ctx) }()
	eventually(t, "timelines caught up", svc.timeline.follower.Ready)
	if err := svc.Ready(ctx); err == nil || !strings.Contains(err.Error(), "entries and posts") {
		t.Fatalf("ready before the profile works caught up: %v", err)
	}
	cancel()
	<-done

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- svc.Run(ctx) }()
	eventually(t, "service ready", func() bool { return svc.Ready(ctx) == nil })
	cancel()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
