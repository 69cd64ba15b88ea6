package bleveindex

import (
	"html"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	blevesearch "github.com/blevesearch/bleve/v2/search"

	"github.com/yunqi-town/yunqi/services/search"
)

type bleveMatch = blevesearch.DocumentMatch

// Highlighting. A hit's _formatted fields are safe HTML built here: the
// document's text escaped, with <em> around the characters where query
// words matched (from the offsets Bleve records per term), and the body
// cropped to the passage with the most distinct matches. Nothing from the
// document is ever written unescaped, so a post containing <script> shows
// it as text.

const (
	emOpen   = "<em>"
	emClose  = "</em>"
	cropMark = "…"
	maxSpans = 1000 // per field: enough to mark any excerpt
	// maxWindowSpans bounds the matches an excerpt is chosen among: the
	// first few hundred are as good a place to quote as any.
	maxWindowSpans = 300
	wordUnits      = 2 // a Latin word counts 2, a Chinese character 1
)

type span struct {
	start, end int
	term       string
}

// spans collects, per field and array element, where query words matched.
func spans(words []qword, locs blevesearch.FieldTermLocationMap) map[string]map[int][]span {
	out := map[string]map[int][]span{}
	for field, terms := range locs {
		if field == fieldPinyin {
			continue
		}
		for term, ls := range terms {
			ok := false
			for i := range words {
				if a, _, _ := words[i].accepts(term); a {
					ok = true
					break
				}
			}
			if !ok {
				continue
			}
			for _, l := range ls {
				elem := 0
				if len(l.ArrayPositions) > 0 {
					elem = int(l.ArrayPositions[0])
				}
				if out[field] == nil {
					out[field] = map[int][]span{}
				}
				if len(out[field][elem]) < maxSpans {
					out[field][elem] = append(out[field][elem], span{int(l.Start), int(l.End), term})
				}
			}
		}
	}
	return out
}

func format(d search.Document, words []qword, locs blevesearch.FieldTermLocationMap, cropLength int) search.Formatted {
	if cropLength <= 0 {
		cropLength = search.DefaultCropLength
	}
	sp := spans(words, locs)
	f := search.Formatted{
		Summary: highlight(d.Summary, sp["summary"][0], 0, len(d.Summary)),
		Body:    crop(d.Body, sp["body"][0], cropLength),
	}
	// Titles and names are indexed once each (see Document.Titles and
	// Document.Names); each field takes the highlights of the value it
	// holds.
	element := func(values []string, field string) func(string) string {
		return func(v string) string {
			if i := slices.Index(values, v); i >= 0 {
				return highlight(v, sp[field][i], 0, len(v))
			}
			return html.EscapeString(v)
		}
	}
	title := element(d.Titles(), "title")
	f.Title, f.TitleEN = title(d.Title), title(d.TitleEN)
	name := element(d.Names(), "name")
	f.Name, f.NameZH, f.NameEN = name(d.Name), name(d.NameZH), name(d.NameEN)
	for i, a := range d.Authors {
		f.Authors = append(f.Authors, highlight(a, sp["authors"][i], 0, len(a)))
	}
	for i, t := range d.Tags {
		f.Tags = append(f.Tags, highlight(t, sp["tags"][i], 0, len(t)))
	}
	return f
}

// highlight escapes text[from:to] and marks the spans within it.
// Overlapping spans (a word and its sub-words) merge into one mark.
func highlight(text string, spans []span, from, to int) string {
	ss := merge(spans)
	var b strings.Builder
	at := from
	for _, s := range ss {
		start, end := max(s.start, from), min(s.end, to)
		if start >= end || start < at {
			continue
		}
		b.WriteString(html.EscapeString(squash(text[at:start])))
		b.WriteString(emOpen)
		b.WriteString(html.EscapeString(squash(text[start:end])))
		b.WriteString(emClose)
		at = end
	}
	b.WriteString(html.EscapeString(squash(text[at:to])))
	return b.String()
}

func merge(spans []span) []span {
	ss := slices.Clone(spans)
	slices.SortFunc(ss, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// squash folds runs of white space (the body's line breaks) into one
// space, as an excerpt is read on one line.
func squash(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '\n' || r == '\t' || r == '\r' }) && !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// crop returns the passage of text around its best matches, about
// cropLength words long, highlighted, with … where text was cut. Without
// matches it is the start of the text.
func crop(text string, spans []span, cropLength int) string {
	if text == "" {
		return ""
	}
	budget := cropLength * wordUnits
	ss := merge(spans)
	from, to := 0, 0
	if len(ss) > 0 {
		// The window of matches, from one match onwards, that holds the
		// most distinct terms within the budget. Gaps between matches are
		// measured once each, so this stays linear in the matches.
		if len(ss) > maxWindowSpans {
			ss = ss[:maxWindowSpans]
		}
		gap := make([]int, len(ss)) // units from the end of match j-1 to the end of match j
		for j := range ss {
			if j == 0 {
				gap[j] = units(text[ss[j].start:ss[j].end])
			} else {
				gap[j] = units(text[ss[j-1].end:ss[j].end])
			}
		}
		bestI, bestJ, bestN := 0, 0, 0
		for i := range ss {
			seen := map[string]bool{}
			used := units(text[ss[i].start:ss[i].end])
			j := i
			for ; j < len(ss); j++ {
				if j > i {
					used += gap[j]
				}
				if used > budget && j > i {
					break
				}
				seen[text[ss[j].start:ss[j].end]] = true
			}
			if len(seen) > bestN {
				bestI, bestJ, bestN = i, max(j-1, i), len(seen)
			}
		}
		from, to = ss[bestI].start, ss[bestJ].end
		// Centre the window: spend half the rest before it.
		from = extendLeft(text, from, (budget-units(text[from:to]))/2)
	}
	to = extendRight(text, to, budget-units(text[from:to]))
	from, to = trimSpace(text, from, to)
	var b strings.Builder
	if from > 0 {
		b.WriteString(cropMark)
	}
	b.WriteString(highlight(text, ss, from, to))
	if to < len(text) {
		b.WriteString(cropMark)
	}
	return b.String()
}

// units measures text for cropping: a Latin word (or number) counts
// wordUnits, a Chinese character one.
func units(s string) int {
	n, inWord := 0, false
	for _, r := range s {
		switch {
		case isHan(r):
			n++
			inWord = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !inWord {
				n += wordUnits
			}
			inWord = true
		default:
			inWord = false
		}
	}
	return n
}

func isHan(r rune) bool { return r >= 0x2E80 && unicode.Is(unicode.Han, r) }

// extendLeft moves from back by up to budget units, stopping at the start
// of a word or a Chinese character.
func extendLeft(text string, from, budget int) int {
	for from > 0 && budget > 0 {
		r, n := utf8.DecodeLastRuneInString(text[:from])
		if r == '\n' && strings.HasSuffix(text[:from-n], "\n") {
			break // a paragraph boundary: the passage starts after it
		}
		if isHan(r) {
			budget--
			from -= n
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			// Take the whole word.
			start := from
			for start > 0 {
				r, n := utf8.DecodeLastRuneInString(text[:start])
				if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || isHan(r) {
					break
				}
				start -= n
			}
			budget -= wordUnits
			if budget < 0 {
				break
			}
			from = start
			continue
		}
		from -= n
	}
	return from
}

// extendRight moves to forward by up to budget units, ending after a word
// or a Chinese character.
func extendRight(text string, to, budget int) int {
	for to < len(text) && budget > 0 {
		r, n := utf8.DecodeRuneInString(text[to:])
		if isHan(r) {
			budget--
			to += n
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			end := to
			for end < len(text) {
				r, n := utf8.DecodeRuneInString(text[end:])
				if !(unicode.IsLetter(r) || unicode.IsDigit(r)) || isHan(r) {
					break
				}
				end += n
			}
			budget -= wordUnits
			if budget < 0 {
				break
			}
			to = end
			continue
		}
		to += n
	}
	return to
}

func trimSpace(text string, from, to int) (int, int) {
	for from < to {
		r, n := utf8.DecodeRuneInString(text[from:])
		if !unicode.IsSpace(r) {
			break
		}
		from += n
	}
	for to > from {
		r, n := utf8.DecodeLastRuneInString(text[:to])
		if !unicode.IsSpace(r) {
			break
		}
		to -= n
	}
	return from, to
}
