package blog

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// WordPress exports (WXR) are RSS 2.0 with WordPress's elements in
// namespaces whose URIs carry the format version (…/export/1.2/), so the
// fields below match on local names, except where two namespaces share
// one: content:encoded is the post, excerpt:encoded its excerpt.
type wxrDoc struct {
	Channel struct {
		Authors []wxrAuthor `xml:"author"`
		Items   []wxrItem   `xml:"item"`
	} `xml:"channel"`
}

type wxrAuthor struct {
	Login       string `xml:"author_login"`
	DisplayName string `xml:"author_display_name"`
}

type wxrItem struct {
	Title      string        `xml:"title"`
	Link       string        `xml:"link"`
	PubDate    string        `xml:"pubDate"`
	Creator    string        `xml:"creator"`
	Encoded    []wxrEncoded  `xml:"encoded"`
	PostName   string        `xml:"post_name"`
	PostType   string        `xml:"post_type"`
	Status     string        `xml:"status"`
	PostDate   string        `xml:"post_date"`
	PostDateGM string        `xml:"post_date_gmt"`
	Categories []wxrCategory `xml:"category"`
}

type wxrEncoded struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}

type wxrCategory struct {
	Domain   string `xml:"domain,attr"`
	Nicename string `xml:"nicename,attr"`
	Text     string `xml:",chardata"`
}

// parseWXR reads the posts of a WordPress export. Published posts become
// posts; drafts, private, pending, scheduled and trashed ones, and pages,
// are skipped with their reason; attachments, menu entries and other
// WordPress bookkeeping are ignored (only counted).
func parseWXR(data []byte) (items []parsed, ignored int, err error) {
	var doc wxrDoc
	dec := xml.NewDecoder(bytes.NewReader(data))
	// WordPress writes HTML entities (&nbsp;) that plain XML does not
	// define; let the decoder know them rather than fail the whole file.
	dec.Entity = xml.HTMLEntity
	if err := dec.Decode(&doc); err != nil {
		return nil, 0, err
	}
	names := map[string]string{}
	for _, a := range doc.Channel.Authors {
		if a.DisplayName != "" {
			names[a.Login] = strings.TrimSpace(a.DisplayName)
		}
	}
	for _, it := range doc.Channel.Items {
		typ := strings.TrimSpace(it.PostType)
		if typ != "" && typ != "post" && typ != "page" {
			ignored++
			continue
		}
		items = append(items, it.post(typ, names))
	}
	return items, ignored, nil
}

func (it wxrItem) post(typ string, names map[string]string) parsed {
	c := events.PostContent{
		Title:  strings.TrimSpace(it.Title),
		Format: events.FormatHTML,
		Source: strings.TrimSpace(it.Link),
	}
	for _, e := range it.Encoded {
		switch {
		case strings.Contains(e.XMLName.Space, "/excerpt/"):
			c.Summary = plainText(e.Text, summaryRunes)
		case strings.Contains(e.XMLName.Space, "purl.org/rss/1.0/modules/content"):
			c.Body = autoParagraphs(e.Text)
		}
	}
	slug := strings.TrimSpace(it.PostName)
	if s, err := url.PathUnescape(slug); err == nil {
		// WordPress stores non-ASCII slugs percent-encoded.
		slug = s
	}
	if slug == "" || ValidateSlug(slug) != nil {
		slug = feedSlug(it.Link, "", c.Title)
	}
	if c.Title == "" {
		c.Title = slug
	}
	switch status := strings.TrimSpace(it.Status); status {
	case "", "publish":
	case "draft", "auto-draft", "pending":
		return skipped(slug, "a draft (WordPress status %q)", status)
	default:
		return skipped(slug, "not published (WordPress status %q)", status)
	}
	if typ == "page" {
		return skipped(slug, "a WordPress page, not a post")
	}
	if creator := strings.TrimSpace(it.Creator); creator != "" {
		if name, ok := names[creator]; ok {
			creator = name
		}
		c.Authors = []string{creator}
	}
	for _, cat := range it.Categories {
		if t := strings.TrimSpace(html.UnescapeString(cat.Text)); t != "" && cat.Domain != "post_format" {
			c.Tags = appendUnique(c.Tags, t)
		}
	}
	c.Date = wxrDate(it)
	if len(c.Body) > MaxPostBytes {
		return skipped(slug, "%s", tooLarge(int64(len(c.Body)), MaxPostBytes))
	}
	return parsed{slug: slug, content: c}
}

// wxrDate prefers the GMT date, which WordPress writes as zeros for posts
// never published, then the site-local one (taken as UTC), then pubDate.
func wxrDate(it wxrItem) time.Time {
	for _, s := range []string{it.PostDateGM, it.PostDate} {
		s = strings.TrimSpace(s)
		if s == "" || strings.HasPrefix(s, "0000") {
			continue
		}
		if t, err := time.Parse("2006-01-02 15:04:05", s); err == nil {
			return t.UTC()
		}
	}
	for _, l := range []string{time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(l, strings.TrimSpace(it.PubDate)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// blockTag matches the start of HTML that is a block of its own, which
// WordPress does not wrap in a paragraph.
var blockTags = []string{"<p", "<div", "<h1", "<h2", "<h3", "<h4", "<h5", "<h6", "<ul", "<ol", "<li", "<pre",
	"<blockquote", "<table", "<figure", "<hr", "<!--", "<dl", "<section", "<iframe"}

// autoParagraphs does the part of WordPress's wpautop that matters for
// reading: the editor stores paragraphs as text separated by blank lines
// and line breaks as newlines, and WordPress adds <p> and <br> when it
// shows a post. Blocks that are HTML already are left alone.
func autoParagraphs(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if strings.TrimSpace(s) == "" {
		return ""
	}
	if lower := strings.ToLower(s); strings.Contains(lower, "<p>") || strings.Contains(lower, "<p ") {
		return s // the block editor stores its paragraphs as HTML already
	}
	var b strings.Builder
	for para := range strings.SplitSeq(s, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		lower := strings.ToLower(para)
		block := false
		for _, t := range blockTags {
			if strings.HasPrefix(lower, t) {
				block = true
				break
			}
		}
		if block {
			b.WriteString(para)
		} else {
			fmt.Fprintf(&b, "<p>%s</p>", strings.ReplaceAll(para, "\n", "<br>\n"))
		}
		b.WriteString("\n")
	}
	return b.String()
}
