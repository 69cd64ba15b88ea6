package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// v1Entry is an EntryPublished as version 1 wrote it, members' names in
// clear.
const v1Entry = `{"contest_id":"c","contest_name_zh":"大赛","contest_name_en":"Contest","year":2013,"team_id":"kites","team_name":"Kites",` +
	`"members":[{"member_id":"u-ada","display_name":"Ada Wong"},{"member_id":"u-bo","display_name":"Bo Lee","badge":"mvp"}],` +
	`"title":"风筝","summary":"kiteword","track":"data","track_name_zh":"数据","track_name_en":"Data","rank":1,"finalist":true,` +
	`"published_at":"2013-10-24T12:00:00Z","submission_revision":3}`

func TestEntryPublishedV1UpcastDropsNames(t *testing.T) {
	for _, version := range []int{0, 1} { // 0: written before versions were recorded
		e := Event{ID: NewID(), Stream: ContestStream("c"), Type: "contest.EntryPublished", Data: json.RawMessage(v1Entry),
			Metadata: Metadata{SchemaVersion: version, Visibility: Public}}
		up, err := Types.Upcast(e)
		if err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		if up.Metadata.SchemaVersion != 2 {
			t.Errorf("v%d upcasts to v%d, want 2", version, up.Metadata.SchemaVersion)
		}
		for _, name := range []string{"display_name", "Ada Wong", "Bo Lee"} {
			if bytes.Contains(up.Data, []byte(name)) {
				t.Errorf("v%d upcast still holds %q: %s", version, name, up.Data)
			}
		}
		if !bytes.Contains(up.Data, []byte(`"badge":"mvp"`)) {
			t.Errorf("v%d upcast lost a member field it does not know: %s", version, up.Data)
		}
		if string(e.Data) != v1Entry {
			t.Errorf("upcasting changed the event it was given: %s", e.Data)
		}
		p, err := Types.Decode(e)
		if err != nil {
			t.Fatalf("v%d: decode: %v", version, err)
		}
		want := EntryPublished{ContestID: "c", ContestNameZH: "大赛", ContestNameEN: "Contest", Year: 2013, TeamID: "kites", TeamName: "Kites",
			Members: []GalleryMember{{MemberID: "u-ada"}, {MemberID: "u-bo"}}, Title: "风筝", Summary: "kiteword", Track: "data",
			TrackNameZH: "数据", TrackNameEN: "Data", Rank: 1, Finalist: true, PublishedAt: time.Date(2013, 10, 24, 12, 0, 0, 0, time.UTC),
			SubmissionRevision: 3}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("v%d decodes to\n%+v, want\n%+v", version, p, want)
		}
	}

	// An entry without members stays one.
	e := Event{Type: "contest.EntryPublished", Data: json.RawMessage(`{"team_id":"t","members":null}`), Metadata: Metadata{SchemaVersion: 1}}
	if p, err := Types.Decode(e); err != nil || p.(EntryPublished).Members != nil {
		t.Errorf("a v1 entry with null members decodes to %+v, %v", p, err)
	}
	e.Data = json.RawMessage(`{"team_id":"t","members":"Ada"}`)
	if _, err := Types.Decode(e); err == nil {
		t.Error("a v1 entry whose members are not a list decodes without an error")
	}
}

// TestGalleryNamesAreSealable: new entries are written at version 2, and
// each name in its own event whose personal member is an object.
func TestGalleryNamesAreSealable(t *testing.T) {
	p, err := Types.New(EntryPublished{TeamID: "t", Members: []GalleryMember{{MemberID: "u-ada"}}}, Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Metadata.SchemaVersion != 2 || bytes.Contains(p.Data, []byte("display_name")) {
		t.Errorf("a new entry is v%d: %s", p.Metadata.SchemaVersion, p.Data)
	}
	p, err = Types.New(GalleryMemberNamed{ContestID: "c", TeamID: "t", MemberID: "u-ada", Personal: GalleryMemberPersonal{DisplayName: "Ada Wong"}}, Metadata{Subject: "u-ada"})
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(p.Data, &data); err != nil {
		t.Fatal(err)
	}
	if string(data[PersonalMember]) != `{"display_name":"Ada Wong"}` {
		t.Errorf("the name is not alone in the personal member: %s", p.Data)
	}
	// After an erasure the personal member reads as null: the event still
	// decodes, to no name.
	p.Data = json.RawMessage(`{"contest_id":"c","team_id":"t","member_id":"u-ada","personal":null}`)
	got, err := Types.Decode(Event{Type: p.Type, Data: p.Data, Metadata: p.Metadata})
	if err != nil || got != (GalleryMemberNamed{ContestID: "c", TeamID: "t", MemberID: "u-ada"}) {
		t.Errorf("an erased name decodes to %+v, %v", got, err)
	}
}
