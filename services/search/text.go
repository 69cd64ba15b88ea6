package search

import (
	"html"
	"regexp"
	"strings"

	nethtml "golang.org/x/net/html"

	"github.com/yunqi-town/yunqi/events"
)

// PlainText is what a reader sees of a post body, for indexing and
// excerpts: Markdown markup and HTML tags removed, link targets dropped,
// entities decoded. Code stays, since people search for identifiers.
// Nothing here is executed or rendered: template directives such as
// {{code "x.go"}} are dropped and the text inside {{raw `…`}} kept as
// text.
func PlainText(body, format string) string {
	if format == events.FormatHTML {
		return htmlText(body)
	}
	return markdownText(body)
}

// MaxBodyText bounds the text indexed per document. Posts are at most about
// a megabyte (the store's append limit); the cap keeps one odd document
// from dominating memory while a batch is analysed.
const MaxBodyText = 1 << 20

var (
	mdImage      = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink       = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)
	mdRefLink    = regexp.MustCompile(`\[([^\]]+)\]\[[^\]]*\]`)
	mdLinkDef    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s+\S+.*$`)
	mdAutolink   = regexp.MustCompile(`<((?:https?|mailto):[^>\s]+)>`)
	htmlComment  = regexp.MustCompile(`(?s)<!--.*?-->`)
	htmlTag      = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>`)
	directive    = regexp.MustCompile("\\{\\{\\s*(?:code|play|donotprint|img|video)\\b[^}]*\\}\\}")
	rawOpen      = regexp.MustCompile("\\{\\{\\s*raw\\s*`")
	rawClose     = regexp.MustCompile("`\\s*\\}\\}")
	emphasis     = regexp.MustCompile(`(\*\*|__|\*|~~)`)
	headingMark  = regexp.MustCompile(`^\s{0,3}#{1,6}\s+`)
	headingClose = regexp.MustCompile(`\s+#+\s*$`)
	listMark     = regexp.MustCompile(`^\s*(?:[-*+]|\d+[.)])\s+`)
	quoteMark    = regexp.MustCompile(`^\s*(?:>\s?)+`)
	ruleLine     = regexp.MustCompile(`^\s*(?:[-*_]\s*){3,}$`)
	tableRule    = regexp.MustCompile(`^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$`)
)

func markdownText(md string) string {
	md = htmlComment.ReplaceAllString(md, " ")
	md = directive.ReplaceAllString(md, " ")
	md = rawOpen.ReplaceAllString(md, " ")
	md = rawClose.ReplaceAllString(md, " ")
	var b strings.Builder
	fence := ""
	for line := range strings.SplitSeq(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
				continue
			}
			b.WriteString(line)
			b.WriteByte('\n')
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		if mdLinkDef.MatchString(line) || ruleLine.MatchString(line) || tableRule.MatchString(line) {
			b.WriteByte('\n')
			continue
		}
		l := headingMark.ReplaceAllString(line, "")
		if l != line {
			l = headingClose.ReplaceAllString(l, "")
		}
		l = quoteMark.ReplaceAllString(l, "")
		l = listMark.ReplaceAllString(l, "")
		l = mdImage.ReplaceAllString(l, "$1")
		l = mdLink.ReplaceAllString(l, "$1")
		l = mdRefLink.ReplaceAllString(l, "$1")
		l = mdAutolink.ReplaceAllString(l, "$1")
		l = htmlTag.ReplaceAllString(l, " ")
		l = emphasis.ReplaceAllString(l, "")
		l = strings.ReplaceAll(l, "`", "")
		l = strings.ReplaceAll(l, "|", " ")
		b.WriteString(html.UnescapeString(l))
		b.WriteByte('\n')
	}
	return strings.TrimSpace(b.String())
}

// htmlText is the text of an HTML fragment (a feed item), without scripts
// and styles, with block elements on lines of their own.
func htmlText(s string) string {
	z := nethtml.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			return strings.TrimSpace(b.String())
		case nethtml.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case nethtml.StartTagToken, nethtml.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "template", "noscript":
				if tt == nethtml.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			case "p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "tr", "section", "article":
				b.WriteByte('\n')
			default:
				b.WriteByte(' ')
			}
		}
	}
}
