package blog

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/yunqi-town/yunqi/events"
)

// markdownSlug is a Markdown file's slug: its name without folders and
// without .md, always, so that links between the files of an archive
// ("01.1.md") lead to their posts.
func markdownSlug(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	return strings.TrimSuffix(base, path.Ext(base))
}

// parseMarkdown reads one Markdown post. With a YAML front matter block,
// its title, date, by/authors/author, tags and summary (or description)
// describe the post; a redirect key marks a stub that only points at
// another page, and draft: true (or published: false) a post not meant to
// be read yet; both are skipped. Without front matter the title is the
// first "# " heading. A file with neither gets its slug as title (a table
// of contents such as SUMMARY.md), except README.md, which is then notes
// about the folder rather than a post.
//
// The body is kept exactly as written (line endings made LF): template
// directives such as {{code "x.go"}} and HTML are text to the importer,
// and only the sanitising renderer decides what of it reaches a page.
func parseMarkdown(name string, data []byte) parsed {
	slug := markdownSlug(name)
	text, problem := decodeText(data)
	if problem != "" {
		return skipped(slug, "%s", problem)
	}
	c := events.PostContent{Format: events.FormatMarkdown}
	body := text
	fm, rest, has, problem := splitFrontMatter(text)
	if problem != "" {
		return skipped(slug, "%s", problem)
	}
	if has {
		body = rest
		skip, err := readFrontMatter(fm, &c)
		if err != "" {
			return skipped(slug, "broken front matter: %s", err)
		}
		if skip != "" {
			return skipped(slug, "%s", skip)
		}
	}
	c.Body = body
	if c.Title == "" {
		c.Title = firstHeading(body)
	}
	if c.Title == "" {
		if strings.EqualFold(slug, "readme") {
			return skipped(slug, "a README without a title (no front matter title, no \"# \" heading) is notes about the folder, not a post")
		}
		c.Title = slug
	}
	return parsed{slug: slug, content: c}
}

// decodeText checks that data is UTF-8 text and returns it without a byte
// order mark and with LF line endings; otherwise it says what is wrong.
func decodeText(data []byte) (string, string) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return "", "the file is UTF-16; save it as UTF-8 and import it again"
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		line := bytes.Count(data[:off], []byte("\n")) + 1
		return "", fmt.Sprintf("the file is not valid UTF-8 (byte 0x%02X at offset %d, line %d); save it as UTF-8 (a GBK or Big5 file must be converted first)", data[off], off, line)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return "", "the file contains NUL bytes, so it is not a text file"
	}
	s := string(data)
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s, ""
}

// splitFrontMatter separates a leading "---" block from the body. A block
// that opens and never closes is reported rather than read as text, since
// its keys would otherwise appear as the post's first paragraph.
func splitFrontMatter(s string) (fm, body string, has bool, problem string) {
	if strings.HasPrefix(s, "+++\n") {
		return "", "", false, "TOML front matter (+++) is not supported; use YAML between --- lines"
	}
	if !strings.HasPrefix(s, "---\n") {
		return "", s, false, ""
	}
	rest := s[len("---\n"):]
	for off := 0; off <= len(rest); {
		end := strings.IndexByte(rest[off:], '\n')
		line := rest[off:]
		if end >= 0 {
			line = rest[off : off+end]
		}
		if l := strings.TrimRight(line, " \t"); l == "---" || l == "..." {
			after := ""
			if end >= 0 {
				after = rest[off+end+1:]
			}
			return rest[:off], after, true, ""
		}
		if end < 0 {
			break
		}
		off += end + 1
	}
	return "", "", false, "broken front matter: it starts with --- but no closing --- line follows"
}

// readFrontMatter fills c from the YAML block. It returns a reason to skip
// the post (a redirect or a draft), or what is wrong with the block.
func readFrontMatter(fm string, c *events.PostContent) (skip, problem string) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(fm), &doc); err != nil {
		return "", strings.TrimPrefix(err.Error(), "yaml: ")
	}
	if len(doc.Content) == 0 {
		return "", "" // an empty block says nothing
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return "", "it is not a list of key: value lines"
	}
	var problems []string
	bad := func(key string, n *yaml.Node, want string) {
		problems = append(problems, fmt.Sprintf("line %d: %s must be %s", n.Line, key, want))
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, v := strings.ToLower(m.Content[i].Value), m.Content[i+1]
		switch key {
		case "redirect", "redirect_to", "redirect_url":
			target := v.Value
			if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
				target = v.Content[0].Value
			}
			return fmt.Sprintf("a redirect stub (to %s), not a post", target), ""
		case "draft":
			if isTrue(v) {
				return "a draft (draft: true in its front matter)", ""
			}
		case "published":
			if v.Kind == yaml.ScalarNode && strings.EqualFold(v.Value, "false") {
				return "a draft (published: false in its front matter)", ""
			}
		case "title":
			if v.Kind != yaml.ScalarNode {
				bad("title", v, "text")
				continue
			}
			c.Title = strings.TrimSpace(v.Value)
		case "summary", "description":
			if v.Kind != yaml.ScalarNode {
				bad(key, v, "text")
				continue
			}
			if key == "summary" || c.Summary == "" {
				c.Summary = strings.TrimSpace(v.Value)
			}
		case "date":
			if v.Kind != yaml.ScalarNode {
				bad("date", v, "a date")
				continue
			}
			t, ok := parseDate(v.Value)
			if !ok {
				bad("date", v, fmt.Sprintf("a date such as 2024-02-06 or 2024-02-06T12:00:00Z, not %q", v.Value))
				continue
			}
			c.Date = t
		case "by", "authors", "author":
			names, ok := textList(v)
			if !ok {
				bad(key, v, "a name or a list of names")
				continue
			}
			c.Authors = appendUnique(c.Authors, names...)
		case "tags", "tag", "keywords":
			names, ok := textList(v)
			if !ok {
				bad(key, v, "a tag or a list of tags")
				continue
			}
			c.Tags = appendUnique(c.Tags, names...)
		}
	}
	return "", strings.Join(problems, "; ")
}

func isTrue(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on":
		return true
	}
	return false
}

// textList reads a name or a list of names; a single string may also be
// comma-separated ("tags: go, generics").
func textList(n *yaml.Node) ([]string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, true
		}
		var out []string
		for part := range strings.SplitSeq(n.Value, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, true
	case yaml.SequenceNode:
		var out []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, false
			}
			if v := strings.TrimSpace(item.Value); v != "" {
				out = append(out, v)
			}
		}
		return out, true
	}
	return nil, false
}

func appendUnique(list []string, names ...string) []string {
	for _, n := range names {
		dup := false
		for _, have := range list {
			if strings.EqualFold(have, n) {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}

// dateLayouts are the ways archives write a post's date.
var dateLayouts = []string{
	time.RFC3339,
	"2006-01-02",
	"2006-1-2",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04",
	"2006/01/02",
	"2006/1/2",
}

// parseDate reads a date; one without a zone is taken as UTC.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// firstHeading is the text of the first level-1 ATX heading ("# Title")
// outside fenced code blocks, or "".
func firstHeading(body string) string {
	fence := ""
	for line := range strings.SplitSeq(body, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if len(line)-len(trimmed) > 3 {
			continue // indented code
		}
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		if title, ok := strings.CutPrefix(trimmed, "# "); ok || trimmed == "#" {
			title = strings.TrimSpace(title)
			// A closing sequence of #s is not part of the heading.
			if t := strings.TrimRight(title, "#"); t != title && (t == "" || strings.HasSuffix(t, " ")) {
				title = strings.TrimSpace(t)
			}
			if title != "" {
				return title
			}
		}
	}
	return ""
}
