// Package analysis turns text into the terms the search index stores and
// queries look up: Latin words lowercased and stemmed, Chinese folded from
// traditional to simplified (Taiwan vocabulary included) and segmented by
// dictionary with the sub-words of long words, runs split where the script
// changes, and pinyin for name fields.
//
// Every backend that analyses text itself (the embedded Bleve index) uses
// this package for documents and queries alike, so that both sides of a
// match are made the same way. Dictionaries load once, on first use, and
// are shared by every caller.
package analysis

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"golang.org/x/text/width"
)

// Kind tells what script a token came from: typo tolerance applies to
// Latin words only, and Chinese words have no letters to mistype.
type Kind uint8

const (
	Latin  Kind = iota + 1 // letters of alphabetic scripts, possibly with digits
	Number                 // digits only ("2024", "1.22")
	CJK                    // a Chinese word or character
)

// Token is one term of analysed text.
type Token struct {
	Term string
	// Start and End are byte offsets of the term's source in the text
	// given to Analyze, so a highlighter can mark the original characters
	// (a traditional character, a fullwidth letter) rather than the
	// folded term.
	Start, End int
	// Position counts words from 1. Alternates of one word (a stem, the
	// sub-words of a Chinese word) share its position, so proximity sees
	// them as the same place.
	Position int
	Kind     Kind
	// Alt marks a derived form at the same position as the word it came
	// from; queries are made of words only.
	Alt bool
}

// Analyze returns the terms of text for indexing: every word, plus
// alternates at the same position (English stems, the letter and digit
// parts of mixed words such as go1.22, and the dictionary sub-words of
// Chinese words, so that 处理 finds 待处理).
func Analyze(text string) []Token {
	var a analyzer
	a.run(text, true)
	return a.out
}

// Word is one word of a query.
type Word struct {
	Term string // folded and lowercased
	// Stem is the English stem of a Latin word ("" when it is the term
	// itself or the word is not English-stemmable).
	Stem       string
	Kind       Kind
	Start, End int // byte offsets in the query
}

// QueryWords returns the words of a query in order, without alternates.
// Whether the last one is still being typed is the caller's business: it
// knows whether the query ended with a space.
func QueryWords(q string) []Word {
	var a analyzer
	a.run(q, false)
	words := make([]Word, 0, len(a.out))
	for _, t := range a.out {
		if t.Alt {
			continue
		}
		w := Word{Term: t.Term, Kind: t.Kind, Start: t.Start, End: t.End}
		if t.Kind == Latin {
			if s := Stem(t.Term); s != t.Term {
				w.Stem = s
			}
		}
		words = append(words, w)
	}
	return words
}

type analyzer struct {
	out  []Token
	pos  int
	alts bool
	buf  []byte
}

// class sorts runes into what a run is made of.
type class uint8

const (
	sep class = iota
	han
	word // letters, digits and marks of non-Han scripts
)

func classOf(r rune) class {
	switch {
	case isHan(r):
		return han
	case unicode.IsLetter(r), unicode.IsDigit(r), unicode.Is(unicode.Mn, r), unicode.IsNumber(r):
		return word
	}
	return sep
}

// isHan reports Chinese characters, including the compatibility block
// and the 〇 used in dates.
func isHan(r rune) bool {
	return r >= 0x2E80 && unicode.Is(unicode.Han, r) || r == '〇'
}

// run splits text into runs of one class and analyses each. A Chinese run
// next to a Latin or digit run is split there: "Go语言" is "go" and 语言.
func (a *analyzer) run(text string, alts bool) {
	a.alts = alts
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		c := classOf(r)
		if c == sep {
			i += n
			continue
		}
		j := i + n
		if c == han {
			for j < len(text) {
				r, n := utf8.DecodeRuneInString(text[j:])
				if classOf(r) != han {
					break
				}
				j += n
			}
			a.chinese(text, i, j)
			i = j
			continue
		}
		// A word runs on through letters and digits, through an
		// apostrophe between letters (don't, Go's) and through a point
		// between digits (1.22). Other punctuation ends it: http.Get is
		// two words, as a reader would search for them.
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if classOf(r) == word {
				j += n
				continue
			}
			if (r == '\'' || r == '’' || r == '.') && j+n < len(text) {
				prev, _ := utf8.DecodeLastRuneInString(text[:j])
				next, _ := utf8.DecodeRuneInString(text[j+n:])
				apostrophe := r != '.' && unicode.IsLetter(prev) && unicode.IsLetter(next)
				point := r == '.' && unicode.IsDigit(prev) && unicode.IsDigit(next)
				if apostrophe || point {
					j += n
					continue
				}
			}
			break
		}
		a.latin(text, i, j)
		i = j
	}
}

// latin adds one word of an alphabetic script.
func (a *analyzer) latin(text string, start, end int) {
	raw := text[start:end]
	term := fold(raw, &a.buf)
	// English possessives: Go's → go.
	if t, ok := strings.CutSuffix(term, "'s"); ok && t != "" {
		term = t
	}
	term = strings.ReplaceAll(term, "'", "")
	if term == "" {
		return
	}
	kind := Latin
	if isNumber(term) {
		kind = Number
	}
	a.pos++
	a.out = append(a.out, Token{Term: term, Start: start, End: end, Position: a.pos, Kind: kind})
	if !a.alts {
		return
	}
	if kind == Latin {
		if s := Stem(term); s != term {
			a.out = append(a.out, Token{Term: s, Start: start, End: end, Position: a.pos, Kind: Latin, Alt: true})
		}
	}
	// A word mixing letters and digits (go1.22, base64, utf8) is also
	// its parts, so that "go 1.22" finds it; the parts keep its place.
	if kind == Latin && strings.ContainsFunc(term, unicode.IsDigit) {
		from := 0
		runes := []rune(term)
		for k := 1; k <= len(runes); k++ {
			if k == len(runes) || unicode.IsDigit(runes[k]) != unicode.IsDigit(runes[k-1]) && runes[k] != '.' && runes[k-1] != '.' {
				part := string(runes[from:k])
				if part != term && strings.Trim(part, ".") != "" {
					pk := Latin
					if isNumber(part) {
						pk = Number
					}
					a.out = append(a.out, Token{Term: part, Start: start, End: end, Position: a.pos, Kind: pk, Alt: true})
				}
				from = k
			}
		}
	}
}

func isNumber(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '.' {
			return false
		}
	}
	return true
}

// fold lowercases and narrows fullwidth forms (ＳＱＬ is sql).
func fold(s string, buf *[]byte) string {
	b := (*buf)[:0]
	for _, r := range s {
		if r >= 0xFF00 && r <= 0xFFEF {
			if n := []rune(width.Narrow.String(string(r))); len(n) == 1 {
				r = n[0]
			}
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	*buf = b
	return string(b)
}

// Stem is the English (Porter2) stem of a lowercased word. Short words and
// words with digits are left alone: "go" and "go1" are names, not English.
func Stem(term string) string {
	if len(term) < 4 || strings.ContainsFunc(term, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) }) {
		return term
	}
	env := snowballstem.NewEnv(term)
	english.Stem(env)
	if s := env.Current(); s != "" {
		return s
	}
	return term
}

// chinese adds the words of a run of Han characters text[start:end].
func (a *analyzer) chinese(text string, start, end int) {
	folded, spans := foldChinese(text[start:end])
	words := segment(folded)
	// runeStart[i] is the byte offset of folded rune i.
	runeStart := make([]int, 0, len(spans)+1)
	for i := range folded {
		runeStart = append(runeStart, i)
	}
	runeStart = append(runeStart, len(folded))
	src := func(from, to int) (int, int) { // folded runes [from,to) → bytes of text
		return start + spans[from].start, start + spans[to-1].end
	}
	d := dictionary()
	for _, w := range words {
		a.pos++
		s, e := src(w.from, w.to)
		term := folded[runeStart[w.from]:runeStart[w.to]]
		a.out = append(a.out, Token{Term: term, Start: s, End: e, Position: a.pos, Kind: CJK})
		if !a.alts || w.to-w.from < 3 {
			continue
		}
		// Sub-words: every dictionary word of two or more characters
		// inside a longer word, so that 处理 finds 待处理 and 数据 finds
		// 数据库.
		for i := w.from; i < w.to; i++ {
			for j := i + 2; j <= w.to && j-i <= maxWordRunes; j++ {
				if i == w.from && j == w.to {
					continue
				}
				sub := folded[runeStart[i]:runeStart[j]]
				e, ok := d.words[sub]
				if !ok {
					break // no dictionary word starts with sub
				}
				if e.isWord() {
					s, en := src(i, j)
					a.out = append(a.out, Token{Term: sub, Start: s, End: en, Position: a.pos, Kind: CJK, Alt: true})
				}
			}
		}
	}
}

// ApproxWords estimates how many words text has, cheaply (no segmentation):
// Latin words and numbers count one each, and Chinese characters count
// 1/1.6 each, the mean length of a Chinese word. Rankers use it to weigh a
// match in a long field less than one in a short field.
func ApproxWords(text string) int {
	latin, chinese := 0, 0
	inWord := false
	for _, r := range text {
		switch classOf(r) {
		case han:
			chinese++
			inWord = false
		case word:
			if !inWord {
				latin++
			}
			inWord = true
		default:
			inWord = false
		}
	}
	return latin + (chinese*5+7)/8
}
