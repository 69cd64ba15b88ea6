package search

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// FuzzParseFilter: a filter from the address bar parses or is refused
// with a FilterError that says where; it never panics or hangs.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`type = post AND year >= 2015`, `tags IN [go, "cloud native"] OR NOT (blog = goblog)`,
		`(((((year > 1`, `authors = "未闭合`, `year >= 99999999999999999999`, `NOT NOT NOT x = y`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s, FilterableFields)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Message == "" || fe.Column < 1 {
				t.Fatalf("filter %q refused without a position and message: %v", s, err)
			}
			return
		}
		if e == nil {
			return // blank: no filter
		}
		// What the filter means is handed to Meilisearch as e.String(): it
		// must read back as the same filter, or the two engines would
		// answer different questions.
		again, err := ParseFilter(e.String(), FilterableFields)
		if err != nil {
			var fe *FilterError
			if errors.As(err, &fe) && (strings.Contains(fe.Message, "deep") || strings.Contains(fe.Message, "limit")) {
				return // the parenthesised form of a filter at the limits
			}
			t.Fatalf("filter %q gives %q, which does not parse: %v", s, e.String(), err)
		}
		if again.String() != e.String() {
			t.Fatalf("filter %q gives %q, which reads back as %q", s, e.String(), again.String())
		}
	})
}

// FuzzParseRequest: any query string is a search or a 400/422 problem
// naming fields.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"q=go+1.22&limit=5&facets=type,tags", "q=%FF&limit=-1&offset=x", "q=a&filter=year%3E%3D2015&cropLength=0",
		"facets=*&sort=date:desc", "q=" + string(make([]byte, 300))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := parseRequest(v)
		if err != nil {
			var p *httpserver.Problem
			if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 {
				t.Fatalf("query %q refused without a 4xx problem: %v", raw, err)
			}
			return
		}
		if req.Limit < 0 || req.Limit > MaxLimit || req.Offset < 0 {
			t.Fatalf("query %q gave limit %d offset %d", raw, req.Limit, req.Offset)
		}
	})
}
