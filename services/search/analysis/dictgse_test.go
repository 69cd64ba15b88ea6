package analysis

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

// loadDictionaryWithGse builds the dictionary the way we used to, through
// gse's own segmenter, so that reading gse's text ourselves can be checked
// against gse's understanding of it (its line format, its minimum
// frequency, its treatment of duplicates and of single characters).
func loadDictionaryWithGse(t *testing.T) *dict {
	var seg gse.Segmenter
	seg.SkipLog = true
	if err := seg.LoadDictEmbed("zh_s"); err != nil {
		t.Fatal(err)
	}
	total := 0.0
	var sb strings.Builder
	type word struct {
		from, to int
		freq     float64
	}
	var list []word
	for i := range seg.Dict.Tokens {
		tok := &seg.Dict.Tokens[i]
		text := tok.Text()
		n := utf8.RuneCountInString(text)
		if n == 0 || n > maxWordRunes || !allHan(text) {
			continue
		}
		total += tok.Freq()
		list = append(list, word{from: sb.Len(), to: sb.Len() + len(text), freq: tok.Freq()})
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
	d.unknown = float32(math.Log(1) - logTotal)
	return d
}

func TestDictionaryText(t *testing.T) {
	if len(gseSimplified) < 1<<20 {
		t.Fatalf("gse's dictionary text is %d bytes: has gse renamed the variable?", len(gseSimplified))
	}
	if n := DictionaryStats(); n < 300_000 {
		t.Errorf("%d entries read from gse's dictionary text", n)
	}
}

func TestDictionaryMatchesGse(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gse's own segmenter (about 2 s and 500 MB of allocation); skipped with -short")
	}
	got, want := loadDictionary(), loadDictionaryWithGse(t)
	if got.unknown != want.unknown {
		t.Errorf("unknown = %v, gse's reading gives %v", got.unknown, want.unknown)
	}
	if len(got.words) != len(want.words) {
		t.Errorf("%d entries, gse's reading gives %d", len(got.words), len(want.words))
	}
	bad := 0
	for k, w := range want.words {
		if g, ok := got.words[k]; !ok || g != w {
			if bad++; bad <= 10 {
				t.Errorf("%q: %+v (present %v), gse's reading gives %+v", k, g, ok, w)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d entries differ", bad)
	}
}
