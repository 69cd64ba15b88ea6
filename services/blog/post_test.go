package blog

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

func content(title, body string) events.PostContent {
	return events.PostContent{Title: title, Body: body, Authors: []string{"Rob Pike"},
		Date: time.Date(2013, 10, 24, 0, 0, 0, 0, time.UTC), Tags: []string{"go"}, Summary: "s"}
}

func hashed(c events.PostContent) events.PostContent {
	c = normalise(c)
	c.ContentHash = ContentHash(c)
	return c
}

// TestPostImport is the aggregate's table: given the post's events, when
// content is imported, then these events, or this error.
func TestPostImport(t *testing.T) {
	v1, v2 := content("Go at Yunqi", "one"), content("Go at Yunqi", "two")
	imported := events.PostImported{Blog: "goblog", Slug: "yunqi", PostContent: hashed(v1)}
	revised := events.PostRevised{Blog: "goblog", Slug: "yunqi", Revision: 2, PostContent: hashed(v2)}
	withdrawn := events.PostWithdrawn{Blog: "goblog", Slug: "yunqi", Reason: "asked by the author"}
	moved := v1
	moved.Source = "elsewhere/yunqi.md"
	cases := []struct {
		name    string
		given   []any
		blog    string
		slug    string
		content events.PostContent
		then    []any
		err     error
		errText string
	}{
		{name: "a new post is imported", content: v1, then: []any{imported}},
		{name: "the same content again writes nothing", given: []any{imported}, content: v1},
		{name: "the same content from another place writes nothing", given: []any{imported}, content: moved},
		{name: "changed content is a revision", given: []any{imported}, content: v2, then: []any{revised}},
		{name: "a revision back to the first text", given: []any{imported, revised}, content: v1,
			then: []any{events.PostRevised{Blog: "goblog", Slug: "yunqi", Revision: 3, PostContent: hashed(v1)}}},
		{name: "a withdrawn post is not brought back", given: []any{imported, withdrawn}, content: v2, err: ErrWithdrawn},
		{name: "no title", content: content(" ", "x"), err: ErrInvalidPost, errText: "no title"},
		{name: "a slug with a slash", slug: "a/b", content: v1, err: ErrInvalidPost, errText: "may not contain"},
		{name: "a slug with a space", slug: "my post", content: v1, err: ErrInvalidPost, errText: "spaces"},
		{name: "a hidden slug", slug: ".env", content: v1, err: ErrInvalidPost, errText: "start with '.'"},
		{name: "a blog name with a dot", blog: "go.blog", content: v1, err: ErrInvalidPost, errText: "blog name"},
		{name: "a body above the limit", content: content("Big", strings.Repeat("x", MaxPostBytes+1)), err: ErrInvalidPost, errText: "above the limit"},
		{name: "a title that is not UTF-8", content: content("\xff", "x"), err: ErrInvalidPost, errText: "not valid UTF-8"},
		{name: "an unknown format", content: func() events.PostContent { c := v1; c.Format = "rst"; return c }(), err: ErrInvalidPost, errText: "format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p Post
			for _, e := range tc.given {
				p.apply(events.Event{}, e)
			}
			blog, slug := "goblog", "yunqi"
			if tc.blog != "" {
				blog = tc.blog
			}
			if tc.slug != "" {
				slug = tc.slug
			}
			got, err := p.Import(blog, slug, tc.content)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i] = withoutSource(got[i])
			}
			if len(got) != len(tc.then) || len(got) > 0 && !reflect.DeepEqual(got, tc.then) {
				t.Fatalf("events = %+v\nwant %+v", got, tc.then)
			}
		})
	}
}

func withoutSource(e any) any {
	switch e := e.(type) {
	case events.PostImported:
		e.Source = ""
		return e
	case events.PostRevised:
		e.Source = ""
		return e
	}
	return e
}

func TestContentHash(t *testing.T) {
	c := content("T", "body")
	h := ContentHash(c)
	if !strings.HasPrefix(h, "sha256:") || len(h) != len("sha256:")+64 {
		t.Fatalf("hash = %q", h)
	}
	same := c
	same.Source, same.ContentHash = "other.md", "whatever"
	same.Date = c.Date.In(time.FixedZone("UTC+8", 8*3600))
	same.Format = events.FormatMarkdown
	if ContentHash(same) != h {
		t.Error("source, stored hash, time zone or the spelt-out default format changed the hash")
	}
	for name, change := range map[string]func(*events.PostContent){
		"title":   func(c *events.PostContent) { c.Title = "U" },
		"body":    func(c *events.PostContent) { c.Body += "!" },
		"authors": func(c *events.PostContent) { c.Authors = nil },
		"tags":    func(c *events.PostContent) { c.Tags = append(c.Tags, "x") },
		"date":    func(c *events.PostContent) { c.Date = c.Date.Add(time.Second) },
		"summary": func(c *events.PostContent) { c.Summary = "" },
		"format":  func(c *events.PostContent) { c.Format = events.FormatHTML },
	} {
		d := content("T", "body")
		change(&d)
		if ContentHash(d) == h {
			t.Errorf("a change of %s left the hash as it was", name)
		}
	}
}

func TestNaturalOrder(t *testing.T) {
	in := []string{"10.1", "2.10", "2.9", "02.1", "SUMMARY", "preface", "README", "a10", "a9"}
	posts := make([]*PostInfo, len(in))
	for i, s := range in {
		posts[i] = &PostInfo{Slug: s}
	}
	posts = append(posts, &PostInfo{Slug: "zz", Date: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		&PostInfo{Slug: "yy", Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	sortPosts(posts)
	var got []string
	for _, p := range posts {
		got = append(got, p.Slug)
	}
	want := "yy zz 02.1 2.9 2.10 10.1 README SUMMARY a9 a10 preface"
	if strings.Join(got, " ") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
}
