package search

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// Document types.
const (
	TypePost       = "post"       // a blog post
	TypeStartup    = "startup"    // an alliance member's public profile
	TypeDeveloper  = "developer"  // the published part of a developer profile
	TypeSubmission = "submission" // a contest entry in the public gallery
	TypeCollection = "collection" // the newest published edition of a collection
)

// PostID is the index id of a post: slugs are unique only within a blog.
func PostID(blog, slug string) string { return TypePost + ":" + blog + "/" + slug }

// cleanText makes text safe to index: valid UTF-8, trimmed.
func cleanText(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")) }

// cleanList cleans each value and drops the empty ones.
func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = cleanText(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// capText bounds a text field at MaxBodyText bytes, cut at a character.
func capText(s string) string {
	if len(s) <= MaxBodyText {
		return s
	}
	cut := MaxBodyText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// PostDocument is the search document of a post's content. Every field is
// public by the blog's own rules (see events.PostImported); the body is
// indexed as plain text.
func PostDocument(blog, slug string, c events.PostContent) Document {
	d := Document{
		ID:      PostID(blog, slug),
		Type:    TypePost,
		URL:     "/blog/" + url.PathEscape(blog) + "/" + url.PathEscape(slug),
		Blog:    blog,
		Slug:    slug,
		Title:   cleanText(c.Title),
		Authors: cleanList(c.Authors),
		Tags:    cleanList(c.Tags),
		Summary: cleanText(c.Summary),
		Body:    capText(PlainText(strings.ToValidUTF8(c.Body, "\uFFFD"), c.Format)),
	}
	if !c.Date.IsZero() {
		d.Date = c.Date.UTC()
		d.Year = d.Date.Year()
	}
	return d
}
