package contest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/keystore"
	"github.com/yunqi-town/yunqi/events/keystore/sqlitekeys"
	"github.com/yunqi-town/yunqi/events/sealing"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// TestPublishNamesEachShownMember: publishing writes each entry without
// names, followed in the same append by one GalleryMemberNamed per
// member who chose a public name, with that member as its subject, and
// none for a member who did not.
func TestPublishNamesEachShownMember(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	if err := SeedDemo(ctx, store); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadStream(ctx, events.ContestStream(DemoContestID), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := newContest()
	for _, e := range evs {
		if err := applyEvent(c, e); err != nil {
			t.Fatal(err)
		}
	}
	entries, named := 0, 0
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		if e.Type == "contest.GalleryMemberNamed" {
			t.Fatalf("a GalleryMemberNamed (revision %d) does not follow its entry", e.Revision)
		}
		if e.Type != "contest.EntryPublished" {
			continue
		}
		entries++
		if e.Metadata.SchemaVersion != 2 || bytes.Contains(e.Data, []byte("display_name")) {
			t.Errorf("entry at revision %d is v%d: %s", e.Revision, e.Metadata.SchemaVersion, e.Data)
		}
		p, _ := events.Types.Decode(e)
		entry := p.(events.EntryPublished)
		var want []string // the roster's public names, in its order
		for _, m := range c.Teams[entry.TeamID].Members {
			if m.PublicName {
				want = append(want, m.ID+"="+m.DisplayName)
			}
		}
		var listed, got []string
		for _, m := range entry.Members {
			listed = append(listed, m.MemberID)
		}
		for i+1 < len(evs) && evs[i+1].Type == "contest.GalleryMemberNamed" {
			i++
			n := evs[i]
			p, err := events.Types.Decode(n)
			if err != nil {
				t.Fatal(err)
			}
			v := p.(events.GalleryMemberNamed)
			if n.Metadata.Subject != v.MemberID || n.Metadata.Visibility != events.Public || v.TeamID != entry.TeamID || v.ContestID != DemoContestID {
				t.Errorf("GalleryMemberNamed %+v has subject %q, visibility %q", v, n.Metadata.Subject, n.Metadata.Visibility)
			}
			got = append(got, v.MemberID+"="+v.Personal.DisplayName)
			named++
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("team %s: named %v, want %v", entry.TeamID, got, want)
		}
		if len(listed) != len(got) {
			t.Errorf("team %s: the entry lists %v but %d are named", entry.TeamID, listed, len(got))
		}
		if strings.Contains(strings.Join(got, ","), "Leo Zhang") {
			t.Errorf("team %s: a member who kept their name private is named", entry.TeamID)
		}
	}
	if entries != 5 || named < entries {
		t.Fatalf("%d entries and %d names published, want the 5 finalists and their members", entries, named)
	}

	// An erased member is neither listed nor named: there is no name to
	// show, and no key left to seal one with.
	const erased = "demo-xixi-birdwatch-2"
	c.erased = func(id string) bool { return id == erased }
	c.forget(erased)
	team := c.Teams["xixi-birdwatch"]
	entry, names := c.galleryEntry(team, *team.Result, time.Now())
	if slices.ContainsFunc(entry.Members, func(m events.GalleryMember) bool { return m.MemberID == erased }) ||
		slices.ContainsFunc(names, func(n events.GalleryMemberNamed) bool { return n.MemberID == erased }) {
		t.Errorf("an erased member is published: %+v %+v", entry.Members, names)
	}
	if len(names) != len(entry.Members) || len(names) == 0 {
		t.Errorf("the other members are not all named: %+v %+v", entry.Members, names)
	}
}

// TestGalleryNamesComeFromTheirEvents: the gallery takes each name from
// the member's GalleryMemberNamed, also where the contest has no roster
// to fall back on; a name that reads as null (the member's key is gone)
// leaves the member unnamed, and a reader holding the gallery before
// keeps what it read.
func TestGalleryNamesComeFromTheirEvents(t *testing.T) {
	c := newContest()
	c.Apply(events.EntryPublished{ContestID: "c", TeamID: "kites", Members: []events.GalleryMember{{MemberID: "u-ada"}, {MemberID: "u-bo"}}}, time.Now())
	named := func(member, name string) events.GalleryMemberNamed {
		return events.GalleryMemberNamed{ContestID: "c", TeamID: "kites", MemberID: member, Personal: events.GalleryMemberPersonal{DisplayName: name}}
	}
	c.Apply(named("u-ada", "Ada Wong"), time.Now())
	c.Apply(named("u-bo", "Bo Lee"), time.Now())
	c.Apply(named("u-cy", "Cy Stranger"), time.Now())
	want := []GalleryName{{"u-ada", "Ada Wong"}, {"u-bo", "Bo Lee"}}
	if len(c.Gallery) != 1 || !slices.Equal(c.Gallery[0].Members, want) {
		t.Fatalf("gallery = %+v, want members %+v", c.Gallery, want)
	}
	held := slices.Clone(c.Gallery)
	c.Apply(events.GalleryMemberNamed{ContestID: "c", TeamID: "kites", MemberID: "u-ada"}, time.Now())
	if got := c.Gallery[0].Members; !slices.Equal(got, []GalleryName{{"u-ada", ""}, {"u-bo", "Bo Lee"}}) {
		t.Errorf("after Ada's name reads as null the members are %+v", got)
	}
	if !slices.Equal(held[0].Members, want) {
		t.Errorf("a reader's copy of the gallery changed under it: %+v", held[0].Members)
	}
	// The API answers the shape it always had: names beside the ids.
	b, err := json.Marshal(c.Gallery[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"members":[{"member_id":"u-ada","display_name":""},{"member_id":"u-bo","display_name":"Bo Lee"}]`)) {
		t.Errorf("gallery entry as JSON: %s", b)
	}
}

// TestVersion1EntryNamedFromTheRoster: an entry written at version 1 had
// its names in the entry; the upcaster drops them and no
// GalleryMemberNamed exists, so the gallery names its members from the
// team's roster, as they were shown, and not once they are erased.
func TestVersion1EntryNamedFromTheRoster(t *testing.T) {
	raw := func(typ string, version int, data string) events.Event {
		return events.Event{ID: events.NewID(), Stream: events.ContestStream("c"), Type: typ, Data: json.RawMessage(data),
			Metadata: events.Metadata{SchemaVersion: version, Visibility: events.Public}}
	}
	log := []events.Event{
		raw("contest.ContestCreated", 1, `{"contest_id":"c","name_zh":"赛","name_en":"Contest","year":2013}`),
		raw("contest.TeamCreated", 1, `{"contest_id":"c","team_id":"kites","name":"Kites","owner_id":"u-ada","personal":{"display_name":"Ada Wong","public_name":true}}`),
		raw("contest.TeamMemberJoined", 1, `{"contest_id":"c","team_id":"kites","member_id":"u-bo","personal":{"display_name":"Bo Private"}}`),
		raw("contest.TeamMemberJoined", 1, `{"contest_id":"c","team_id":"kites","member_id":"u-cy","personal":{"display_name":"Cy Lin","public_name":true}}`),
		raw("contest.EntryPublished", 1, `{"contest_id":"c","team_id":"kites","team_name":"Kites","title":"风筝","finalist":true,`+
			`"members":[{"member_id":"u-ada","display_name":"Ada Wong"},{"member_id":"u-cy","display_name":"Cy Lin"}]}`),
	}
	fold := func(erased func(string) bool) *Contest {
		c := newContest()
		c.erased = erased
		for _, e := range log {
			if err := applyEvent(c, e); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	c := fold(nil)
	if want := []GalleryName{{"u-ada", "Ada Wong"}, {"u-cy", "Cy Lin"}}; len(c.Gallery) != 1 || !slices.Equal(c.Gallery[0].Members, want) {
		t.Fatalf("v1 gallery = %+v, want members %+v", c.Gallery, want)
	}
	if c.Gallery[0].EntryPublished.Members != nil {
		t.Errorf("the entry keeps a second list of members: %+v", c.Gallery[0].EntryPublished.Members)
	}

	c.forget("u-ada")
	if want := []GalleryName{{"u-ada", ""}, {"u-cy", "Cy Lin"}}; !slices.Equal(c.Gallery[0].Members, want) {
		t.Errorf("after the erasure the gallery shows %+v, want %+v", c.Gallery[0].Members, want)
	}
	// Folded after the erasure, from a log that still reads the roster's
	// name (not behind the sealing store).
	c = fold(func(id string) bool { return id == "u-ada" })
	if want := []GalleryName{{"u-ada", ""}, {"u-cy", "Cy Lin"}}; !slices.Equal(c.Gallery[0].Members, want) {
		t.Errorf("folded after the erasure the gallery shows %+v, want %+v", c.Gallery[0].Members, want)
	}
}

// TestSealedGalleryNamesAreErased runs the service on the sealing store:
// no gallery name is in the log in clear; once a member's key is gone
// their name reads as null, and a process folding the log then shows the
// entry with "erased person" in its place; a process that read the name
// before drops it on the AccountErased that follows.
func TestSealedGalleryNamesAreErased(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw, err := sqlitestore.Open(filepath.Join(dir, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	backend, err := sqlitekeys.Open(filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	master := make([]byte, keystore.MasterKeySize)
	rand.Read(master)
	keys, err := keystore.Open(ctx, backend, master, keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := sealing.New(raw, keys, nil)

	a := newTestAPIOn(t, store)
	if err := SeedDemo(ctx, store); err != nil {
		t.Fatal(err)
	}
	a.svc.public.follower.WaitFor(ctx, mustHead(t, a))
	const erased, name = "demo-xixi-birdwatch-2", "周观"
	evs, err := raw.ReadAll(ctx, events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if bytes.Contains(e.Data, []byte(name)) {
			t.Errorf("%s (%s) holds the name in clear: %s", e.Type, e.Stream, e.Data)
		}
	}
	gallery := "/contest/" + DemoContestID + "/gallery"
	shows := func(h http.Handler, lang string) string {
		w := page(h, "GET", gallery, "", "", lang, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("gallery: status %d", w.Code)
		}
		return w.Body.String()
	}
	if body := shows(pagesFor(t, a), "en"); !strings.Contains(body, name) || !strings.Contains(body, "林小溪") {
		t.Fatal("the sealed gallery does not name the members before the erasure")
	}
	gone := func(h http.Handler, api *testAPI) func() string {
		return func() string {
			body := shows(h, "en")
			switch {
			case strings.Contains(body, name):
				return "the gallery still names " + name
			case !strings.Contains(body, "erased person"):
				return "the gallery does not say erased person"
			case !strings.Contains(body, "林小溪") || !strings.Contains(body, "西溪观鸟"):
				return "the gallery lost the entry or its other members"
			}
			w := api.do("GET", base+"/"+DemoContestID+"/gallery", "", nil)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), name) || !strings.Contains(w.Body.String(), `"member_id":"`+erased+`","display_name":""`) {
				return "the gallery API: " + w.Body.String()
			}
			return ""
		}
	}

	if err := keys.Erase(ctx, erased); err != nil {
		t.Fatal(err)
	}
	b := newTestAPIOn(t, store)
	b.svc.public.follower.WaitFor(ctx, mustHead(t, b))
	within(t, "a process folding the log after the key is gone", gone(pagesFor(t, b), b))

	appendErasure(t, store, erased)
	within(t, "the process that read the name before", gone(pagesFor(t, a), a))
}
