package search

import (
	"strings"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// TypePost is the document type of blog posts.
const TypePost = "post"

// PostID is the index id of a post: slugs are unique only within a blog.
func PostID(blog, slug string) string { return TypePost + ":" + blog + "/" + slug }

// PostDocument is the search document of a post's content. Every field is
// public by the blog's own rules (see events.PostImported); the body is
// indexed as plain text.
func PostDocument(blog, slug string, c events.PostContent) Document {
	clean := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	list := func(in []string) []string {
		var out []string
		for _, s := range in {
			if s = strings.TrimSpace(clean(s)); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	body := PlainText(clean(c.Body), c.Format)
	if len(body) > MaxBodyText {
		cut := MaxBodyText
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	d := Document{
		ID:      PostID(blog, slug),
		Type:    TypePost,
		Blog:    blog,
		Slug:    slug,
		Title:   strings.TrimSpace(clean(c.Title)),
		Authors: list(c.Authors),
		Tags:    list(c.Tags),
		Summary: strings.TrimSpace(clean(c.Summary)),
		Body:    body,
	}
	if !c.Date.IsZero() {
		d.Date = c.Date.UTC()
		d.Year = d.Date.Year()
	}
	return d
}
