package blog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/mmcdole/gofeed"

	"github.com/yunqi-town/yunqi/events"
)

// expandFeed adds the posts of a feed file: RSS 2.0 or Atom (a cnblogs
// backup is RSS), or a WordPress export (WXR), which is RSS with
// WordPress's own elements and is read by parseWXR. A file that is none of
// these becomes one skipped entry with the reason.
func expandFeed(c *collection, name string, data []byte) {
	text, problem := decodeText(data)
	if problem != "" {
		c.fail(name, "%s", problem)
		return
	}
	head := strings.TrimLeftFunc(text, unicode.IsSpace)
	if !strings.HasPrefix(head, "<") {
		c.fail(name, "is not a feed: an RSS 2.0, Atom or WordPress export is XML and starts with '<', this file starts with %q", firstWords(head))
		return
	}
	if isWXR(head) {
		items, ignored, err := parseWXR([]byte(text))
		if err != nil {
			c.fail(name, "is not a readable WordPress export: %v", err)
			return
		}
		c.ignored += ignored
		for _, it := range items {
			c.add(candidate{source: it.source(name), slug: it.slug, load: func() parsed { return it }})
		}
		return
	}
	feed, err := gofeed.NewParser().Parse(strings.NewReader(text))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		c.fail(name, "is XML but not a feed: its root element is neither <rss> nor <feed> (Atom)")
		return
	}
	if err != nil {
		c.fail(name, "is not a readable feed: %v", err)
		return
	}
	for i, item := range feed.Items {
		it := feedItem(item)
		c.add(candidate{source: it.source(fmt.Sprintf("%s#%d", name, i+1)), slug: it.slug, load: func() parsed { return it }})
	}
	if len(feed.Items) == 0 {
		c.fail(name, "is a feed without items")
	}
}

// source names a feed item in the summary: its link, which a person can
// open, or its place in the file.
func (p parsed) source(fallback string) string {
	if p.content.Source != "" {
		return p.content.Source
	}
	return fallback
}

// feedItem turns one RSS or Atom item into a post. Feeds carry HTML, so the
// body is stored as HTML; the summary is plain text.
func feedItem(item *gofeed.Item) parsed {
	c := events.PostContent{
		Title:  plainText(item.Title, 0),
		Format: events.FormatHTML,
		Source: strings.TrimSpace(item.Link),
	}
	c.Body = item.Content
	if strings.TrimSpace(c.Body) == "" {
		c.Body = item.Description
	} else {
		c.Summary = plainText(item.Description, summaryRunes)
	}
	for _, a := range item.Authors {
		if a == nil {
			continue
		}
		name := strings.TrimSpace(a.Name)
		if name == "" {
			// An address alone is the author's choice to publish it,
			// but a page has no use for it; keep what precedes the @.
			name, _, _ = strings.Cut(strings.TrimSpace(a.Email), "@")
		}
		if name != "" {
			c.Authors = appendUnique(c.Authors, name)
		}
	}
	for _, t := range item.Categories {
		if t = strings.TrimSpace(t); t != "" {
			c.Tags = appendUnique(c.Tags, t)
		}
	}
	switch {
	case item.PublishedParsed != nil:
		c.Date = item.PublishedParsed.UTC()
	case item.UpdatedParsed != nil:
		c.Date = item.UpdatedParsed.UTC()
	}
	slug := feedSlug(item.Link, item.GUID, c.Title)
	if c.Title == "" {
		c.Title = slug
	}
	if len(c.Body) > MaxPostBytes {
		return skipped(slug, "%s", tooLarge(int64(len(c.Body)), MaxPostBytes))
	}
	return parsed{slug: slug, content: c}
}

// summaryRunes is how much of a feed's description becomes a summary.
const summaryRunes = 300

var textOnly = bluemonday.StrictPolicy()

// plainText strips the tags from an HTML fragment and shortens it to at
// most n runes (0: no limit) at a word boundary where there is one.
func plainText(fragment string, n int) string {
	s := html.UnescapeString(textOnly.Sanitize(fragment))
	s = strings.Join(strings.Fields(s), " ")
	if n > 0 && utf8.RuneCountInString(s) > n {
		r := []rune(s)[:n]
		cut := string(r)
		if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
			cut = cut[:i]
		}
		s = strings.TrimSpace(cut) + "…"
	}
	return s
}

// feedSlug derives a stable slug for a feed item: the last part of its
// link's path without a page extension (cnblogs' /p/12345.html gives
// 12345), else of its GUID, else its title made address-safe, else a hash.
// It must come out the same at every import of the same feed, so that a
// re-import finds the post it made before.
func feedSlug(link, guid, title string) string {
	for _, ref := range []string{link, guid} {
		if s := slugFromURL(ref); s != "" {
			return s
		}
	}
	if s := slugify(title); s != "" {
		return s
	}
	sum := sha256.Sum256([]byte(link + "\x00" + guid + "\x00" + title))
	return "post-" + hex.EncodeToString(sum[:6])
}

func slugFromURL(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return slugify(ref)
	}
	p := strings.TrimRight(u.Path, "/")
	for p != "" {
		seg := path.Base(p)
		ext := strings.ToLower(path.Ext(seg))
		switch ext {
		case ".html", ".htm", ".shtml", ".php", ".aspx", ".asp", ".jsp":
			seg = strings.TrimSuffix(seg, path.Ext(seg))
		}
		if seg != "index" && seg != "" && seg != "." {
			if s := slugify(seg); s != "" {
				return s
			}
		}
		p = path.Dir(p)
		if p == "." || p == "/" {
			break
		}
	}
	// Links such as ?p=123 name the post in the query.
	for _, key := range []string{"p", "id", "postid", "page_id"} {
		if v := u.Query().Get(key); v != "" {
			return slugify(key + "-" + v)
		}
	}
	if u.Opaque != "" {
		return slugify(u.Opaque) // urn:uuid:…
	}
	if u.Scheme == "" && u.Host == "" {
		return slugify(ref) // a GUID that is no URL at all
	}
	return ""
}

// slugify keeps letters (any script) and digits, lower-cases ASCII, and
// turns every run of anything else into one '-'.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
		if b.Len() >= maxSlugBytes-8 {
			break
		}
	}
	return strings.TrimLeft(b.String(), ".")
}

// firstWords quotes the start of a text for a message.
func firstWords(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return s
}

// isWXR reports whether an XML file is a WordPress export: RSS that
// declares WordPress's export namespace near its start.
func isWXR(head string) bool {
	if len(head) > 64<<10 {
		head = head[:64<<10]
	}
	return strings.Contains(head, "wordpress.org/export/") && bytes.Contains([]byte(head), []byte("<rss"))
}
