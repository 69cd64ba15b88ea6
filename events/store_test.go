package events

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPositionCompare(t *testing.T) {
	ordered := []Position{Start, {0, 1}, {1, 0}, {1, 1}, {1, 7}, {2, 2}, {1 << 40, 3}}
	for i, p := range ordered {
		for j, q := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := p.Compare(q); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", p, q, got, want)
			}
		}
	}
	if !Start.IsStart() || !(Position{}).IsStart() || (Position{0, 1}).IsStart() {
		t.Error("IsStart is wrong")
	}
}

func TestParsePosition(t *testing.T) {
	good := map[string]Position{
		"0/0":                    Start,
		"12/7":                   {12, 7},
		"42":                     {42, 42},
		" 5/6 ":                  {5, 6},
		"18446744073709551615/1": {1<<64 - 1, 1},
	}
	for in, want := range good {
		got, err := ParsePosition(in)
		if err != nil || got != want {
			t.Errorf("ParsePosition(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", "1/", "/1", "a/1", "1/b", "-1/2", "1/2/3", "18446744073709551616", "1 /2"} {
		if p, err := ParsePosition(in); err == nil {
			t.Errorf("ParsePosition(%q) = %v, want an error", in, p)
		}
	}
}

func TestPositionTextRoundTrip(t *testing.T) {
	for _, p := range []Position{Start, {1, 1}, {1234, 1200}, {1<<64 - 1, 1<<64 - 1}} {
		if q, err := ParsePosition(p.String()); err != nil || q != p {
			t.Errorf("ParsePosition(%q) = %v, %v", p.String(), q, err)
		}
		b, err := json.Marshal(struct{ At Position }{p})
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ At Position }
		if err := json.Unmarshal(b, &back); err != nil || back.At != p {
			t.Errorf("JSON %s read back as %v, %v", b, back.At, err)
		}
	}
	var p Position
	if err := p.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText accepted garbage")
	}
	if want := `"3/2"`; mustJSON(t, Position{3, 2}) != want {
		t.Errorf("Position JSON = %s, want %s (checkpoints are stored in this form)", mustJSON(t, Position{3, 2}), want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExpectedRevision(t *testing.T) {
	var zero ExpectedRevision
	if zero != Any || !zero.IsAny() {
		t.Fatal("the zero ExpectedRevision is not Any")
	}
	cases := []struct {
		e                     ExpectedRevision
		str                   string
		any, none, exists, ex bool
		rev                   uint64
	}{
		{Any, "any", true, false, false, false, 0},
		{NoStream, "no stream", false, true, false, false, 0},
		{StreamExists, "stream exists", false, false, true, false, 0},
		{Exact(0), "0", false, false, false, true, 0},
		{Exact(41), "41", false, false, false, true, 41},
	}
	for _, c := range cases {
		rev, ex := c.e.Revision()
		if c.e.String() != c.str || c.e.IsAny() != c.any || c.e.IsNoStream() != c.none || c.e.IsStreamExists() != c.exists || ex != c.ex || rev != c.rev {
			t.Errorf("%s: got any=%v none=%v exists=%v exact=%v,%d", c.str, c.e.IsAny(), c.e.IsNoStream(), c.e.IsStreamExists(), ex, rev)
		}
	}
	if Exact(0) == NoStream || Exact(0) == Any || Exact(1) == Exact(2) {
		t.Fatal("distinct expectations compare equal")
	}
}

func TestErrorsCarryState(t *testing.T) {
	err := error(&WrongExpectedRevisionError{Stream: "registration-1", Expected: Exact(3), Actual: StreamState{Exists: true, Revision: 5}})
	if got := err.Error(); got != `stream "registration-1": expected revision 3, actual 5` {
		t.Errorf("Error() = %s", got)
	}
	if got := (StreamState{}).String(); got != "no stream" {
		t.Errorf("StreamState{}.String() = %s", got)
	}
	var wer *WrongExpectedRevisionError
	if !errors.As(wrap(err), &wer) || wer.Actual.Revision != 5 {
		t.Error("WrongExpectedRevisionError is lost when wrapped")
	}
	var del *StreamDeletedError
	if !errors.As(wrap(&StreamDeletedError{Stream: "s-1"}), &del) || del.Stream != "s-1" {
		t.Error("StreamDeletedError is lost when wrapped")
	}
}

func wrap(err error) error { return errors.Join(errors.New("context"), err) }

func TestFilter(t *testing.T) {
	valid := []Filter{
		{},
		{StreamPrefixes: []string{"registration-"}},
		{StreamPrefixes: []string{"registration-", "session-"}},
		{TypePrefixes: []string{"conference."}},
	}
	for _, f := range valid {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v", f, err)
		}
	}
	invalid := []Filter{
		{StreamPrefixes: []string{"a-"}, TypePrefixes: []string{"a."}},
		{StreamPrefixes: []string{""}},
		{StreamPrefixes: []string{"a-", ""}},
		{TypePrefixes: []string{""}},
	}
	for _, f := range invalid {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v.Validate() accepted it", f)
		}
	}

	cases := []struct {
		f            Filter
		stream, typ  string
		wantDelivery bool
	}{
		{Filter{}, "registration-1", "conference.RegistrationPlaced", true},
		{Filter{}, "registration-1", "$metadata", false},
		{Filter{StreamPrefixes: []string{"registration-"}}, "registration-1", "conference.RegistrationPlaced", true},
		{Filter{StreamPrefixes: []string{"registration-"}}, "registrations-1", "conference.RegistrationPlaced", false},
		{Filter{StreamPrefixes: []string{"registration-"}}, "session-1", "conference.RegistrationPlaced", false},
		{Filter{StreamPrefixes: []string{"member-", "application-"}}, "application-9", "alliance.Applied", true},
		{Filter{StreamPrefixes: []string{"registration-"}}, "registration-1", "$streamDeleted", false},
		{Filter{TypePrefixes: []string{"conference."}}, "anything-1", "conference.SessionAdded", true},
		{Filter{TypePrefixes: []string{"conference."}}, "registration-1", "contest.Entered", false},
		{Filter{TypePrefixes: []string{"contest.", "blog.Post"}}, "post-1", "blog.PostPublished", true},
		{Filter{TypePrefixes: []string{"$"}}, "x-1", "$metadata", false},
	}
	for _, c := range cases {
		if got := c.f.Match(c.stream, c.typ); got != c.wantDelivery {
			t.Errorf("%+v.Match(%q, %q) = %v", c.f, c.stream, c.typ, got)
		}
	}
}

func TestValidateAppend(t *testing.T) {
	ok := func() Proposed {
		return Proposed{ID: NewID(), Type: "conference.RegistrationPlaced", Data: json.RawMessage(`{"a":1}`),
			Metadata: Metadata{Actor: "user-1", Visibility: Owner, OccurredAt: time.Now()}}
	}
	with := func(change func(*Proposed)) []Proposed {
		p := ok()
		change(&p)
		return []Proposed{p}
	}
	two := ok()
	dup := []Proposed{two, two}

	metas, err := ValidateAppend("registration-1", []Proposed{ok(), ok()})
	if err != nil {
		t.Fatal(err)
	}
	var m Metadata
	if len(metas) != 2 || json.Unmarshal(metas[0], &m) != nil || m.Actor != "user-1" || m.Visibility != Owner {
		t.Fatalf("encoded metadata %s", metas)
	}
	if _, err := ValidateAppend("registration-1", with(func(p *Proposed) { p.Metadata = Metadata{} })); err != nil {
		t.Fatalf("empty metadata refused: %v", err)
	}
	if _, err := ValidateAppend("registration-1", with(func(p *Proposed) { p.Data = json.RawMessage(`null`) })); err != nil {
		t.Fatalf("null data refused: %v", err)
	}
	justFits := []Proposed{ok()}
	justFits[0].Data = json.RawMessage(`"` + strings.Repeat("x", MaxAppendSize-len(mustJSON(t, justFits[0].Metadata))-2) + `"`)
	if _, err := ValidateAppend("registration-1", justFits); err != nil {
		t.Fatalf("an append of exactly MaxAppendSize refused: %v", err)
	}

	invalid := map[string]struct {
		stream string
		evs    []Proposed
	}{
		"no events":         {"registration-1", nil},
		"zero id":           {"registration-1", with(func(p *Proposed) { p.ID = [16]byte{} })},
		"duplicate id":      {"registration-1", dup},
		"empty type":        {"registration-1", with(func(p *Proposed) { p.Type = "" })},
		"spaced type":       {"registration-1", with(func(p *Proposed) { p.Type = "conference.X " })},
		"long type":         {"registration-1", with(func(p *Proposed) { p.Type = strings.Repeat("x", MaxTypeLength+1) })},
		"dollar type":       {"registration-1", with(func(p *Proposed) { p.Type = "$metadata" })},
		"non-UTF-8 type":    {"registration-1", with(func(p *Proposed) { p.Type = "conference.\xff" })},
		"malformed data":    {"registration-1", with(func(p *Proposed) { p.Data = json.RawMessage(`{"a":`) })},
		"empty data":        {"registration-1", with(func(p *Proposed) { p.Data = nil })},
		"two JSON values":   {"registration-1", with(func(p *Proposed) { p.Data = json.RawMessage(`{} {}`) })},
		"bad visibility":    {"registration-1", with(func(p *Proposed) { p.Metadata.Visibility = "Public" })},
		"unencodable time":  {"registration-1", with(func(p *Proposed) { p.Metadata.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		"bad stream":        {"$all", []Proposed{ok()}},
		"empty stream":      {"", []Proposed{ok()}},
		"second one broken": {"registration-1", append([]Proposed{ok()}, with(func(p *Proposed) { p.Data = json.RawMessage(`x`) })...)},
	}
	for name, c := range invalid {
		if _, err := ValidateAppend(c.stream, c.evs); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: got %v, want ErrInvalidEvent", name, err)
		}
	}

	big := []Proposed{ok(), ok()}
	for i := range big {
		big[i].Data = json.RawMessage(`"` + strings.Repeat("x", MaxAppendSize/2) + `"`)
	}
	_, err = ValidateAppend("registration-1", big)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Stream != "registration-1" || tl.Limit != MaxAppendSize || tl.Size <= MaxAppendSize {
		t.Fatalf("oversized append: %v", err)
	}
}
