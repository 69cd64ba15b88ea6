package events

import (
	"errors"
	"strings"
	"testing"
)

func TestStreamNames(t *testing.T) {
	cases := []struct{ category, id, name string }{
		{"registration", "0193a1b2", "registration-0193a1b2"},
		{"session", "yunqi2015-bigdata", "session-yunqi2015-bigdata"},
		{"member", "", "member-"},
	}
	for _, c := range cases {
		name := StreamName(c.category, c.id)
		if name != c.name || Category(name) != c.category || StreamID(name) != c.id {
			t.Errorf("StreamName(%q, %q) = %q → category %q, id %q", c.category, c.id, name, Category(name), StreamID(name))
		}
	}
	if Category("plain") != "plain" || StreamID("plain") != "" {
		t.Error("a name without '-' is all category")
	}
}

func TestValidateStreamName(t *testing.T) {
	for _, ok := range []string{"registration-1", "session-yunqi2015-bigdata", "博客-进展", "a", strings.Repeat("s", MaxStreamNameLength)} {
		if err := ValidateStreamName(ok); err != nil {
			t.Errorf("ValidateStreamName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "$all", "$$registration-1", "registration 1", "registration-1\n", "tab\there", "nbsp\u00a0x", "bell\x07", "bad-\xff", strings.Repeat("s", MaxStreamNameLength+1)} {
		if err := ValidateStreamName(bad); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("ValidateStreamName(%q) = %v, want ErrInvalidEvent", bad, err)
		}
	}
}
