package bleveindex

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/vellum"
	lev "github.com/blevesearch/vellum/levenshtein"
)

// The vocabulary. Typo and prefix forms are looked up in the _all field's
// dictionary, which Bleve keeps per segment: each fuzzy or prefix lookup
// searched every segment's FST, read a postings list per candidate term
// and segment to count it, and merged the segments' answers in a heap,
// so its cost grew with the number of segments and made up a third of a
// search at 100,000 posts. The vocabulary is that dictionary merged once,
// in memory, each term with its document count, for the set of segments
// it was built from (by their scorch ids). Segments never change, so it
// stays right for them; segments written since (after Apply) and those
// merged from others are looked up in their own dictionaries as before,
// until they hold enough of the index for a new vocabulary to be built,
// in the background. A term of a document deleted since may still be
// found: its postings are then empty, which costs nothing but the slot.
//
// It holds no query and no answer: every query gains alike.

type vocabCache struct {
	mu       sync.Mutex
	cur      *vocab
	building bool
	wg       sync.WaitGroup // the build under way
}

// A vocabulary is built again when the segments it does not cover hold
// more than this share of the documents, or number more than
// maxUncovered.
const (
	rebuildShare = 0.125
	maxUncovered = 6
)

// vocabFor returns the vocabulary for the view's segments (nil before
// the first is built) and the view's segments it does not cover. It has
// a new one built, in the background, when those hold too much of the
// index; the search goes on with what there is.
func (ix *Index) vocabFor(v *view) (*vocab, []int) {
	c := &ix.vocab
	c.mu.Lock()
	defer c.mu.Unlock()
	voc := c.cur
	unc, share := voc.uncovered(v)
	if (voc == nil || share > rebuildShare || len(unc) > maxUncovered) && !c.building {
		c.building = true
		c.wg.Add(1)
		go ix.rebuildVocab()
	}
	return voc, unc
}

// rebuildVocab builds the vocabulary from the index's newest snapshot.
func (ix *Index) rebuildVocab() {
	c := &ix.vocab
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		c.building = false
		c.mu.Unlock()
	}()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return
	}
	is, err := ix.snapshot()
	if err != nil {
		ix.log.Warn("search index: vocabulary not built", "err", err)
		return
	}
	defer is.Close()
	nv, err := buildVocab(is)
	if err != nil {
		ix.log.Warn("search index: vocabulary not built", "err", err)
		return
	}
	c.mu.Lock()
	c.cur = nv
	c.mu.Unlock()
}

// snapshot opens the index's newest snapshot.
func (ix *Index) snapshot() (*scorch.IndexSnapshot, error) {
	adv, err := ix.idx.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	is, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		r.Close()
		return nil, errors.New("not a scorch index")
	}
	return is, nil
}

// uncovered lists the view's segments the vocabulary does not cover, and
// their share of the view's documents.
func (voc *vocab) uncovered(v *view) ([]int, float64) {
	var out []int
	var all, unc uint64
	for i := range v.segs {
		s := &v.segs[i]
		all += s.n
		if voc == nil || !voc.segs[s.ss.Id()] {
			out = append(out, i)
			unc += s.n
		}
	}
	if all == 0 {
		return out, 0
	}
	return out, float64(unc) / float64(all)
}

// vocab is the merged _all dictionary of a set of segments: the terms in
// order, packed in one array (no pointers for the collector to follow),
// each with its document count, and the term numbers ordered by their
// bytes read backwards, to find the words that end alike.
type vocab struct {
	blob     []byte
	off      []uint32 // term i is blob[off[i]:off[i+1]]
	count    []uint32
	bySuffix []uint32
	segs     map[uint64]bool // the scorch ids of the segments it covers
}

func (voc *vocab) len() int { return len(voc.count) }

func (voc *vocab) term(i int) []byte { return voc.blob[voc.off[i]:voc.off[i+1]] }

// size is the vocabulary's memory in bytes, roughly.
func (voc *vocab) size() int {
	return cap(voc.blob) + 4*(cap(voc.off)+cap(voc.count)+cap(voc.bySuffix)) + 16*len(voc.segs)
}

// search is the number of the first term at or after key.
func (voc *vocab) search(key []byte) int {
	i, _ := slices.BinarySearchFunc(voc.off[:voc.len()], key, func(o uint32, key []byte) int {
		return 0 // replaced below
	})
	_ = i
	lo, hi := 0, voc.len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(voc.term(m), key) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// prefixRange are the numbers of the terms that begin with p.
func (voc *vocab) prefixRange(p []byte) (lo, hi int) {
	lo = voc.search(p)
	if end := prefixEnd(p); end != nil {
		hi = voc.search(end)
	} else {
		hi = voc.len()
	}
	return lo, hi
}

// find is the number of a term, or -1.
func (voc *vocab) find(t []byte) int {
	if i := voc.search(t); i < voc.len() && bytes.Equal(voc.term(i), t) {
		return i
	}
	return -1
}

// compareBackwards orders byte strings by their bytes read from the end.
func compareBackwards(a, b []byte) int {
	i, j := len(a)-1, len(b)-1
	for ; i >= 0 && j >= 0; i, j = i-1, j-1 {
		if a[i] != b[j] {
			return int(a[i]) - int(b[j])
		}
	}
	return (i + 1) - (j + 1)
}

// endingWith calls fn with the number of each term that ends with s.
func (voc *vocab) endingWith(s []byte, fn func(int)) {
	lo, hi := 0, len(voc.bySuffix)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareBackwards(voc.term(int(voc.bySuffix[m])), s) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for ; lo < len(voc.bySuffix) && bytes.HasSuffix(voc.term(int(voc.bySuffix[lo])), s); lo++ {
		fn(int(voc.bySuffix[lo]))
	}
}

// typoForms calls fn with the number of each term within w's typo budget
// as Meilisearch counts it (see typosTo): the terms that begin with the
// word's first letter, found by walking the sorted terms as a trie with
// the rows of the edit distance table, pruning a prefix as soon as no row
// entry is within budget; and, for a word of two typos, those whose one
// typo is on the first letter: the word without it, with its first two
// letters swapped, or with another letter before or in its place (found
// by their ending).
func (voc *vocab) typoForms(w *qword, fn func(i int)) {
	q := []rune(w.Term)
	if len(q) == 0 {
		return
	}
	_, n := utf8.DecodeRuneInString(w.Term)
	lo, hi := voc.prefixRange([]byte(w.Term[:n]))
	voc.walk(q, w.typos, lo, hi, fn)
	if w.typos < 2 || len(q) < 2 {
		return
	}
	seen := map[int]bool{}
	other := func(i int) {
		if !seen[i] {
			seen[i] = true
			if t := voc.term(i); !bytes.HasPrefix(t, []byte(w.Term[:n])) {
				fn(i)
			}
		}
	}
	rest := []byte(w.Term[n:])
	if i := voc.find(rest); i >= 0 {
		other(i)
	}
	swapped := append([]byte(string(q[1])), w.Term[:n]...)
	swapped = append(swapped, w.Term[n+utf8.RuneLen(q[1]):]...)
	if i := voc.find(swapped); i >= 0 {
		other(i)
	}
	voc.endingWith(rest, func(i int) {
		// One more letter at the start, or another in the first's place.
		if k := utf8.RuneCount(voc.term(i)) - len(q); k == 0 || k == 1 {
			other(i)
		}
	})
}

// walk calls fn with the number of each term in [lo, hi) within k edits
// of q (optimal string alignment over runes, as typoDistance).
func (voc *vocab) walk(q []rune, k, lo, hi int, fn func(int)) {
	m := len(q)
	maxDepth := m + k
	rows := make([][]int32, maxDepth+1)
	for d := range rows {
		rows[d] = make([]int32, m+1)
	}
	for j := range rows[0] {
		rows[0][j] = int32(j)
	}
	var path []rune // the term whose rows are computed, up to valid
	valid := 0
	var tr []rune
	var ends []int // byte offsets of the ends of tr's runes
	for i := lo; i < hi; {
		t := voc.term(i)
		tr, ends = tr[:0], ends[:0]
		for b := 0; b < len(t); {
			r, size := utf8.DecodeRune(t[b:])
			b += size
			tr, ends = append(tr, r), append(ends, b)
		}
		c := 0
		for c < valid && c < len(tr) && path[c] == tr[c] {
			c++
		}
		dead := 0
		for d := c + 1; d <= len(tr); d++ {
			if d > maxDepth {
				dead = d
				break
			}
			prev, cur := rows[d-1], rows[d]
			cur[0] = int32(d)
			rowMin := cur[0]
			for j := 1; j <= m; j++ {
				cost := int32(1)
				if tr[d-1] == q[j-1] {
					cost = 0
				}
				x := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
				if d > 1 && j > 1 && tr[d-1] == q[j-2] && tr[d-2] == q[j-1] {
					x = min(x, rows[d-2][j-2]+1)
				}
				cur[j] = x
				rowMin = min(rowMin, x)
			}
			if rowMin > int32(k) {
				dead = d
				break
			}
		}
		if dead == 0 {
			if len(tr) > 0 && rows[len(tr)][m] <= int32(k) {
				fn(i)
			}
			path, valid = append(path[:0], tr...), len(tr)
			i++
			continue
		}
		// No term that begins with tr[:dead] is within reach.
		if end := prefixEnd(t[:ends[dead-1]]); end != nil {
			j, h := i+1, hi
			for j < h {
				mid := int(uint(j+h) >> 1)
				if bytes.Compare(voc.term(mid), end) < 0 {
					j = mid + 1
				} else {
					h = mid
				}
			}
			i = j
		} else {
			i = hi
		}
		path, valid = append(path[:0], tr[:dead-1]...), dead-1
	}
}

// Levenshtein automaton builders (with transpositions, as Meilisearch
// counts typos), made on first use: the one for two typos takes a while.
var levBuilders struct {
	once   sync.Once
	b1, b2 *lev.LevenshteinAutomatonBuilder
	err    error
}

func levAutomaton(term string, typos int) (vellum.Automaton, error) {
	lb := &levBuilders
	lb.once.Do(func() {
		if lb.b1, lb.err = lev.NewLevenshteinAutomatonBuilder(1, true); lb.err != nil {
			return
		}
		lb.b2, lb.err = lev.NewLevenshteinAutomatonBuilder(2, true)
	})
	if lb.err != nil {
		return nil, lb.err
	}
	if typos == 1 {
		return lb.b1.BuildDfa(term, 1)
	}
	return lb.b2.BuildDfa(term, 2)
}

// prefixEnd is the first key after every key that begins with prefix
// (nil: none).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func buildVocab(is *scorch.IndexSnapshot) (*vocab, error) {
	voc := newVocab()
	for _, ss := range is.Segments() {
		voc.segs[ss.Id()] = true
	}
	d, err := is.FieldDict(fieldAll)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	for {
		e, err := d.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		voc.add(e.Term, e.Count)
	}
	voc.finish()
	return voc, nil
}

func newVocab() *vocab { return &vocab{segs: map[uint64]bool{}, off: []uint32{0}} }

// add appends a term, after those before it in order.
func (voc *vocab) add(term string, count uint64) {
	voc.blob = append(voc.blob, term...)
	voc.off = append(voc.off, uint32(len(voc.blob)))
	voc.count = append(voc.count, uint32(min(count, math.MaxUint32)))
}

// finish orders the terms by their endings.
func (voc *vocab) finish() {
	voc.blob = slices.Clip(voc.blob)
	voc.off = slices.Clip(voc.off)
	voc.count = slices.Clip(voc.count)
	voc.bySuffix = make([]uint32, voc.len())
	for i := range voc.bySuffix {
		voc.bySuffix[i] = uint32(i)
	}
	slices.SortFunc(voc.bySuffix, func(a, b uint32) int {
		return compareBackwards(voc.term(int(a)), voc.term(int(b)))
	})
}

// dictEntry is a term with its document count.
type dictEntry struct {
	term  string
	count uint64
}

// lookup adds to out the terms an automaton accepts within [start, end)
// (nil: unbounded) in the dictionaries of the given segments.
func (v *view) lookup(segs []int, a vellum.Automaton, start, end []byte, out []dictEntry) ([]dictEntry, error) {
	for _, si := range segs {
		d, err := v.segs[si].dict(fieldAll)
		if err != nil {
			return nil, err
		}
		di := d.AutomatonIterator(a, start, end)
		for {
			e, err := di.Next()
			if err != nil {
				return nil, err
			}
			if e == nil {
				break
			}
			out = append(out, dictEntry{e.Term, e.Count})
		}
	}
	return out, nil
}
