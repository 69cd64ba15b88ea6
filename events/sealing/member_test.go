package sealing

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decoderMember is findMember written with encoding/json, the reference
// the hand-written scanner must agree with.
func decoderMember(data []byte) (start, end int, ok bool) {
	if !json.Valid(data) {
		return 0, 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if name, _ := t.(string); name == Member {
			end = int(dec.InputOffset())
			return end - len(raw), end, true
		}
	}
	return 0, 0, false
}

var memberSeeds = []string{
	`{"user_id":"u","personal":{"email":"a@b","name":"x \"y\" }"},"lang":"en"}`,
	`{"personal":null}`,
	`{ "a" : [1, {"personal": 2}], "personal" : "yq1.abc" }`,
	`{"a":"\\\\","personal":{"n":[1,2,{"x":"]}"}]}}`,
	`{"a":1}`,
	`[{"personal":1}]`,
	`{"personal\u0000":1,"personal":true}`,
	`{"a":-1.5e3,"personal":{}}`,
}

func TestFindMemberAgreesWithTheDecoder(t *testing.T) {
	for _, s := range memberSeeds {
		s1, e1, ok1 := findMember([]byte(s))
		s2, e2, ok2 := decoderMember([]byte(s))
		if ok1 != ok2 || (ok1 && (s1 != s2 || e1 != e2)) {
			t.Errorf("%s: scanner %d:%d %v, decoder %d:%d %v", s, s1, e1, ok1, s2, e2, ok2)
		}
	}
}

// FuzzFindMember: on every valid JSON object the scanner finds what the
// decoder finds; on anything else it never panics.
func FuzzFindMember(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s1, e1, ok1 := findMember(data)
		if ok1 && (s1 < 0 || e1 > len(data) || s1 >= e1) {
			t.Fatalf("out of range %d:%d of %d", s1, e1, len(data))
		}
		if !json.Valid(data) {
			return
		}
		s2, e2, ok2 := decoderMember(data)
		if ok1 != ok2 || (ok1 && (s1 != s2 || e1 != e2)) {
			t.Fatalf("%q: scanner %d:%d %v, decoder %d:%d %v", data, s1, e1, ok1, s2, e2, ok2)
		}
	})
}
