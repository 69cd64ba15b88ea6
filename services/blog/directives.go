package blog

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
)

// The Go Blog's posts were written for its own present-style tool, whose
// template directives ({{raw `…`}}, {{code "f.go"}}, {{image "p.png"}} …)
// stand at the start of a line (indented within a list item too), and
// {{raw "…"}} also within one. Posts keep them as written; rendering
// turns each into what it means, before goldmark sees the text, and
// executes nothing:
//   - {{raw `…`}}: the text, as one fenced code block (dedented);
//   - {{code …}} and {{play …}}: one code block naming the file, whose
//     text is not in the archive;
//   - {{image …}} and {{video …}}: a figure naming the missing file;
//   - control directives ({{if}}, {{range}}, {{end}} …): nothing.
// Lines inside fenced code blocks are left alone: there {{ is code.

var (
	directiveStart = regexp.MustCompile(`^[ \t]*\{\{\s*(raw|code|play|image|video|if|else|end|range|with|block|by|template|define)\b`)
	firstQuoted    = regexp.MustCompile("\"((?:[^\"\\\\]|\\\\.)*)\"|`([^`]*)`")
	fenceLine      = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	inlineRaw      = regexp.MustCompile(`\{\{\s*raw\s+("(?:[^"\\]|\\.)*")\s*\}\}`)
)

// expandDirectives rewrites the directives of a Markdown text.
func expandDirectives(src string) string {
	if !strings.Contains(src, "{{") {
		return src
	}
	lines := strings.SplitAfter(src, "\n")
	var out strings.Builder
	fence := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimRight(line, "\r\n")
		// {{raw "…"}} within a line (the Go Blog's way of writing "<" even
		// in code) is its text, in place, wherever it stands.
		if strings.Contains(line, "{{") {
			line = inlineRaw.ReplaceAllStringFunc(line, func(d string) string {
				if v, err := strconv.Unquote(inlineRaw.FindStringSubmatch(d)[1]); err == nil {
					return v
				}
				return d
			})
			trimmed = strings.TrimRight(line, "\r\n")
		}
		if m := fenceLine.FindStringSubmatch(trimmed); m != nil {
			switch {
			case fence == "":
				fence = m[1]
			case strings.HasPrefix(m[1], fence[:1]) && len(m[1]) >= len(fence):
				fence = ""
			}
			out.WriteString(line)
			continue
		}
		m := directiveStart.FindStringSubmatch(trimmed)
		if fence != "" {
			out.WriteString(line)
			continue
		}
		if m == nil {
			out.WriteString(line)
			continue
		}
		switch m[1] {
		case "raw":
			// The argument is a raw string that may span lines: read to
			// its closing backtick (or to the end of the text).
			text := trimmed
			for !rawClosed(text) && i+1 < len(lines) {
				i++
				text += "\n" + strings.TrimRight(lines[i], "\r\n")
			}
			out.WriteString(codeBlock(rawText(text)))
		case "code", "play":
			out.WriteString(codeBlock(fmt.Sprintf("// %s: example not included in this archive", argument(trimmed))))
		case "image", "video":
			what := "Image"
			if m[1] == "video" {
				what = "Video"
			}
			out.WriteString("\n<figure><figcaption>" + what + " not included: " + html.EscapeString(argument(trimmed)) + "</figcaption></figure>\n\n")
		default:
			// Control directives shape the template, not the text.
		}
	}
	return out.String()
}

// rawClosed: the {{raw …}} text has its closing backtick and braces.
func rawClosed(s string) bool {
	open := strings.IndexByte(s, '`')
	if open < 0 {
		return strings.Contains(s, "}}")
	}
	return strings.Contains(s[open+1:], "`}}")
}

// rawText is the raw string's content, dedented by its common indent.
func rawText(s string) string {
	open := strings.IndexByte(s, '`')
	if open < 0 {
		return argument(s)
	}
	body := s[open+1:]
	if end := strings.LastIndex(body, "`}}"); end >= 0 {
		body = body[:end]
	}
	body = strings.Trim(body, "\n")
	return dedent(body)
}

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
			continue
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	return strings.Join(lines, "\n")
}

// argument is a directive's first quoted argument: the file it names.
func argument(s string) string {
	m := firstQuoted.FindStringSubmatch(s)
	switch {
	case m == nil:
		return strings.TrimSpace(strings.Trim(s, "{} "))
	case m[1] != "":
		return strings.ReplaceAll(m[1], `\"`, `"`)
	}
	return m[2]
}

// codeBlock fences text with a fence longer than any backtick run in it.
func codeBlock(text string) string {
	n := 3
	for run := 0; ; {
		i := strings.Index(text[run:], "```")
		if i < 0 {
			break
		}
		j := run + i
		k := j
		for k < len(text) && text[k] == '`' {
			k++
		}
		n = max(n, k-j+1)
		run = k
	}
	f := strings.Repeat("`", n)
	return "\n" + f + "\n" + text + "\n" + f + "\n\n"
}
