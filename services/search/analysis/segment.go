package analysis

import (
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-ego/gse"
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

// dictionary is loaded on first use and shared. gse's own segmenter keeps
// about 150 MB of token structures for its 350,000 words; we read its
// embedded simplified Chinese dictionary once, keep the words in one map
// whose keys share a single string (about 20 MB), and let gse's copy go.
var dictionary = sync.OnceValue(loadDictionary)

// DictionaryStats reports the dictionary's size, loading it if needed.
func DictionaryStats() (words int) { return len(dictionary().words) }

func loadDictionary() *dict {
	// gse's parse makes a great deal of short-lived garbage; collecting
	// it eagerly keeps the process's peak memory near what is live
	// instead of twice that.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	var seg gse.Segmenter
	seg.SkipLog = true
	if err := seg.LoadDictEmbed("zh_s"); err != nil {
		// The dictionary is compiled into the binary; failing to read it
		// is a build defect, and without it Chinese text would still be
		// indexed character by character.
		slog.Error("search analysis: cannot load the Chinese dictionary; Chinese is indexed by character", "err", err)
		return &dict{words: map[string]entry{}, unknown: -20}
	}
	total := 0.0
	var sb strings.Builder
	type word struct {
		from, to int
		freq     float64
	}
	var list []word
	for i := range seg.Dict.Tokens {
		t := &seg.Dict.Tokens[i]
		text := t.Text()
		n := utf8.RuneCountInString(text)
		if n == 0 || n > maxWordRunes || !allHan(text) {
			continue
		}
		total += t.Freq()
		list = append(list, word{from: sb.Len(), to: sb.Len() + len(text), freq: t.Freq()})
		sb.WriteString(text)
	}
	all := sb.String()
	d := &dict{words: make(map[string]entry, len(list)*3/2)}
	logTotal := math.Log(total)
	for _, w := range list {
		text := all[w.from:w.to]
		e := d.words[text]
		e.flags |= flagWord
		e.logp = float32(math.Log(w.freq) - logTotal)
		d.words[text] = e
		// Mark every proper prefix of two or more characters.
		first := true
		for i := range text {
			if first {
				first = false
				continue
			}
			p := text[:i]
			if utf8.RuneCountInString(p) < 2 {
				continue
			}
			pe := d.words[p]
			pe.flags |= flagPrefix
			d.words[p] = pe
		}
	}
	// An unknown character is as unlikely as the rarest word, so that
	// known words win wherever they fit.
	d.unknown = float32(math.Log(1) - logTotal)
	seg = gse.Segmenter{}
	debug.FreeOSMemory() // gse's copy is garbage now; give it back
	return d
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
