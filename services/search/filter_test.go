package search

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`blog = "goblog" AND tags = "generics"`, `(blog = "goblog") AND (tags = "generics")`},
		{`blog = goblog OR blog = 'gobook-zh' AND NOT year < 2020`, `(blog = "goblog") OR ((blog = "gobook-zh") AND (NOT (year < 2020)))`},
		{`(blog = a OR blog = b) AND year 2010 TO 2015`, `((blog = "a") OR (blog = "b")) AND (year 2010 TO 2015)`},
		{`tags IN [go, "type parameters",]`, `tags IN ["go", "type parameters"]`},
		{`tags NOT IN [draft]`, `NOT (tags IN ["draft"])`},
		{`tags EXISTS and not authors is empty`, `(tags EXISTS) AND (NOT (authors IS EMPTY))`},
		{`tags IS NOT EMPTY`, `NOT (tags IS EMPTY)`},
		{`tags NOT EXISTS OR slug != "a \"b\""`, `(NOT (tags EXISTS)) OR (slug != "a \"b\"")`},
		{`year >= 2020.5`, `year >= 2020.5`},
		{`title = "a"`, ``},
	} {
		e, err := ParseFilter(c.in, map[string]bool{"blog": false, "tags": false, "slug": false, "authors": false, "year": true})
		if c.want == "" {
			if err == nil {
				t.Errorf("ParseFilter(%q) = %v, want an error", c.in, e)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("ParseFilter(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseFilterErrorsNameThePosition(t *testing.T) {
	fields := FilterableFields
	for _, c := range []struct {
		in     string
		column int
		says   string
	}{
		{`blog ~ goblog`, 6, "operator"},
		{`blog = "goblog`, 8, "not closed"},
		{`blog = goblog AND`, 18, "field name"},
		{`blog = goblog tags = x`, 15, "AND, OR"},
		{`(blog = a`, 10, "`)`"},
		{`nope = 1`, 1, "cannot be filtered"},
		{`year > soon`, 8, "numbers"},
		{`blog > a`, 8, "holds text"},
		{`tags IN [a b]`, 12, "`,` or `]`"},
		{`blog ! a`, 6, "`!`"},
		{`année = 1`, 1, "cannot be filtered"},
		{`blog = 名字 AND year = x`, 22, "numbers"},
		{strings.Repeat("(", 100) + "blog = a" + strings.Repeat(")", 100), 34, "deeper"},
	} {
		_, err := ParseFilter(c.in, fields)
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFilter(%q) = %v, want a FilterError", c.in, err)
			continue
		}
		if fe.Column != c.column || !strings.Contains(fe.Message, c.says) {
			t.Errorf("ParseFilter(%q): column %d %q, want column %d saying %q", c.in, fe.Column, fe.Message, c.column, c.says)
		}
	}
	if e, err := ParseFilter("  ", fields); e != nil || err != nil {
		t.Errorf("a blank filter = %v, %v", e, err)
	}
	if _, err := ParseFilter(strings.Repeat("x", MaxFilterLength+1), fields); err == nil {
		t.Error("an overlong filter parsed")
	}
}
