package analysis

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	_ "unsafe" // for go:linkname

	_ "github.com/go-ego/gse" // the dictionary text, see gseSimplified
)

// maxWordRunes bounds dictionary words; longer entries (idioms, names of
// institutions) are rare and would only slow every lookup down.
const maxWordRunes = 8

// entry is what the segmentation dictionary knows about a string: the log
// probability of the word, and whether longer words start with it (so a
// lookup can stop as soon as nothing can follow).
type entry struct {
	logp  float32
	flags uint8
}

const (
	flagWord   = 1
	flagPrefix = 2
)

func (e entry) isWord() bool   { return e.flags&flagWord != 0 }
func (e entry) isPrefix() bool { return e.flags&flagPrefix != 0 }

type dict struct {
	words map[string]entry
	// unknown is the log probability given to a character the
	// dictionary does not know.
	unknown float32
}

// dictionary is loaded on first use and shared.
var dictionary = sync.OnceValue(loadDictionary)

// gseSimplified is the text of gse's simplified Chinese dictionary
// (data/dict/zh/s_1.txt, embedded in gse's package), one line a word:
// "word frequency part-of-speech".
//
// gse exports it only through its segmenter, which turns the 5 MB of text
// into about 480 MB of allocations (tokens, a trie, each word's own
// segmentation) and two seconds of work, of which we kept only words and
// frequencies. Naming the variable through the linker (Go restricts such
// references only into the standard library) keeps the text in gse's
// module at the version go.mod pins, rather than a copy in this
// repository, and costs no heap: our map keys point into it. The linker
// does not notice if gse renames the variable (ours is then simply
// empty), so TestDictionaryText checks that it is there, and
// TestDictionaryMatchesGse that we read it as gse does.
//
// Licence: the text is gse's (Apache License 2.0), partly from jieba
// (MIT). It is linked in as before, so a distributed binary still owes
// both projects' licence notices.
//
//go:linkname gseSimplified github.com/go-ego/gse.zhS
var gseSimplified string

// DictionaryStats reports the dictionary's size, loading it if needed.
func DictionaryStats() (words int) { return len(dictionary().words) }

func loadDictionary() *dict {
	d, err := parseDictionary(gseSimplified)
	if err != nil {
		// The dictionary is compiled into the binary; failing to read it
		// is a build defect, and without it Chinese text would still be
		// indexed character by character.
		slog.Error("search analysis: cannot load the Chinese dictionary; Chinese is indexed by character", "err", err)
		return &dict{words: map[string]entry{}, unknown: -20}
	}
	return d
}

// minFreq is the frequency below which gse drops a word, and the
// frequency it gives every single character; we read its dictionary as
// it does, so that segmentation is what it was when gse read it.
const minFreq = 2

// parseDictionary reads dictionary text in gse's format. The map's keys
// are substrings of text, so a text that is static data costs no heap.
func parseDictionary(text string) (*dict, error) {
	type word struct {
		text string
		freq float64
	}
	lines := strings.Count(text, "\n") + 1
	list := make([]word, 0, lines)
	d := &dict{words: make(map[string]entry, lines*3/2)}
	total := 0.0
	for line := range strings.Lines(text) {
		// gse splits a line at single spaces: the word, then its
		// frequency; a line without a parsable frequency is skipped.
		w, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, _, _ := strings.Cut(rest, " ")
		w, f = strings.TrimSpace(w), strings.TrimSpace(f)
		freq, err := strconv.ParseFloat(f, 64)
		if err != nil || freq < minFreq {
			continue
		}
		n := utf8.RuneCountInString(w)
		if n == 0 || n > maxWordRunes || !allHan(w) {
			continue
		}
		if n == 1 {
			freq = minFreq
		}
		e := d.words[w]
		if e.isWord() {
			continue // gse keeps a word's first entry
		}
		e.flags |= flagWord
		d.words[w] = e
		total += freq
		list = append(list, word{w, freq})
		// Mark every proper prefix of two or more characters.
		for i := range w {
			if p := w[:i]; utf8.RuneCountInString(p) >= 2 {
				pe := d.words[p]
				pe.flags |= flagPrefix
				d.words[p] = pe
			}
		}
	}
	if len(list) == 0 {
		return nil, errors.New("no words in the dictionary text")
	}
	logTotal := math.Log(total)
	for _, w := range list {
		e := d.words[w.text]
		e.logp = float32(math.Log(w.freq) - logTotal)
		d.words[w.text] = e
	}
	// An unknown character is as unlikely as the rarest word, so that
	// known words win wherever they fit.
	d.unknown = float32(math.Log(1) - logTotal)
	return d, nil
}

func allHan(s string) bool {
	for _, r := range s {
		if !isHan(r) {
			return false
		}
	}
	return true
}

// span is where a rune of folded text came from in the original run.
type span struct{ start, end int }

// piece is a word of segmented text, as rune indexes [from, to).
type piece struct{ from, to int }

// segment splits a run of (simplified) Chinese into words by the most
// probable path through the dictionary, as jieba and gse do: each word
// costs the log of its frequency, an unknown character costs more than
// any word, and the cheapest cover of the run wins.
func segment(s string) []piece {
	d := dictionary()
	offs := make([]int, 0, len(s)/3+1)
	for i := range s {
		offs = append(offs, i)
	}
	n := len(offs)
	offs = append(offs, len(s))
	best := make([]float32, n+1)
	next := make([]int32, n+1)
	for i := n - 1; i >= 0; i-- {
		// A single character is always possible.
		one := d.unknown
		if e, ok := d.words[s[offs[i]:offs[i+1]]]; ok && e.isWord() {
			one = e.logp
		}
		best[i], next[i] = one+best[i+1], int32(i+1)
		for j := i + 2; j <= n && j-i <= maxWordRunes; j++ {
			e, ok := d.words[s[offs[i]:offs[j]]]
			if !ok {
				break
			}
			if e.isWord() {
				if v := e.logp + best[j]; v >= best[i] {
					best[i], next[i] = v, int32(j)
				}
			}
			if !e.isPrefix() {
				break
			}
		}
	}
	var out []piece
	for i := 0; i < n; i = int(next[i]) {
		out = append(out, piece{i, int(next[i])})
	}
	return out
}
