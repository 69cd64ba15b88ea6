package bleveindex

import (
	"cmp"
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
	"github.com/blevesearch/vellum"

	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/analysis"
)

// The two passes read Bleve's segments directly rather than through its
// searchers. Bleve scores a disjunction document by document, merging
// hundreds of postings iterators in a heap and allocating a match per
// document and clause; a query word here has up to 44 forms in six
// fields. Reading each postings list once, term by term, into one array
// per segment is several times cheaper, and the filter, the deleted
// documents and (in the second pass) everything outside the pool are
// skipped by the postings lists themselves (zap's "except" bitmaps)
// instead of being visited and dropped.

// view is one snapshot of the index, read by one search throughout.
type view struct {
	r    *scorch.IndexSnapshot
	segs []segView
	live uint64 // documents, deleted ones excluded
}

type segView struct {
	ss   *scorch.SegmentSnapshot
	seg  segment.Segment
	off  uint64 // the segment's first global document number
	n    uint64
	del  *roaring.Bitmap
	lens *segLengths
	// dicts are the segment's dictionaries by field, opened once per
	// search. A search reads a segment from one goroutine at a time.
	dicts map[string]segment.TermDictionary
}

// dict is the segment's dictionary of a field.
func (s *segView) dict(field string) (segment.TermDictionary, error) {
	if d, ok := s.dicts[field]; ok {
		return d, nil
	}
	d, err := s.seg.Dictionary(field)
	if err != nil {
		return nil, err
	}
	if s.dicts == nil {
		s.dicts = map[string]segment.TermDictionary{}
	}
	s.dicts[field] = d
	return d, nil
}

func (ix *Index) openView() (*view, error) {
	is, err := ix.snapshot()
	if err != nil {
		return nil, err
	}
	v := &view{r: is}
	off := uint64(0)
	for _, ss := range is.Segments() {
		seg := ss.Segment()
		lens, err := ix.lengths.get(seg)
		if err != nil {
			is.Close()
			return nil, err
		}
		n := seg.Count()
		v.segs = append(v.segs, segView{ss: ss, seg: seg, off: off, n: n, del: ss.Deleted(), lens: lens})
		off += n
	}
	if v.live, err = is.DocCount(); err != nil {
		is.Close()
		return nil, err
	}
	ix.lengths.keep(v.segs)
	return v, nil
}

func (v *view) close() { v.r.Close() }

// lensOf are a document's field lengths in words (pinyin counts as the
// authors).
func (s *segView) lensOf(local uint64) *[maxRankFields]float64 {
	var out [maxRankFields]float64
	for f := range search.SearchableFields {
		out[f] = float64(s.lens.n[f][local])
	}
	out[fPinyin] = out[fAuthors]
	return &out
}

// averages are the mean lengths of the searchable fields, which BM25F
// measures each document's fields against.
func (v *view) averages() [maxRankFields]float64 {
	var sum, avg [maxRankFields]float64
	for _, s := range v.segs {
		for f := range search.SearchableFields {
			sum[f] += s.lens.sum[f]
		}
		if s.del == nil {
			continue
		}
		it := s.del.Iterator()
		for it.HasNext() {
			d := uint64(it.Next())
			if d >= s.n {
				break
			}
			for f := range search.SearchableFields {
				sum[f] -= float64(s.lens.n[f][d])
			}
		}
	}
	if v.live > 0 {
		for f := range search.SearchableFields {
			avg[f] = sum[f] / float64(v.live)
		}
	}
	avg[fPinyin] = avg[fAuthors]
	return avg
}

var fAuthors = fieldNumber("authors")

// lengthCache holds each segment's field lengths (the n_* doc values),
// read once per segment: segments never change, and reading doc values
// per hit decompresses a chunk of a thousand documents per field, which
// made up half of a search's time.
type lengthCache struct {
	mu   sync.Mutex
	segs map[segment.Segment]*segLengths
}

type segLengths struct {
	once sync.Once
	err  error
	n    [maxRankFields][]float32
	sum  [maxRankFields]float64
}

func (c *lengthCache) get(seg segment.Segment) (*segLengths, error) {
	c.mu.Lock()
	if c.segs == nil {
		c.segs = map[segment.Segment]*segLengths{}
	}
	l := c.segs[seg]
	if l == nil {
		l = &segLengths{}
		c.segs[seg] = l
	}
	c.mu.Unlock()
	l.once.Do(func() { l.err = l.load(seg) })
	return l, l.err
}

// keep forgets the segments merged away, once there are a few.
func (c *lengthCache) keep(segs []segView) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.segs) <= len(segs)+8 {
		return
	}
	live := make(map[segment.Segment]bool, len(segs))
	for _, s := range segs {
		live[s.seg] = true
	}
	for seg := range c.segs {
		if !live[seg] {
			delete(c.segs, seg)
		}
	}
}

var lengthFieldNumbers = func() map[string]int {
	m := map[string]int{}
	for i, f := range search.SearchableFields {
		m[lengthPrefix+f] = i
	}
	return m
}()

func (l *segLengths) load(seg segment.Segment) error {
	n := seg.Count()
	for f := range search.SearchableFields {
		l.n[f] = make([]float32, n)
	}
	dv, ok := seg.(segment.DocValueVisitable)
	if !ok {
		return errors.New("segment without doc values")
	}
	var doc uint64
	visit := func(field string, term []byte) {
		f, ok := lengthFieldNumbers[field]
		if !ok {
			return
		}
		pc := numeric.PrefixCoded(term)
		if shift, err := pc.Shift(); err != nil || shift != 0 {
			return
		}
		if i, err := pc.Int64(); err == nil {
			l.n[f][doc] = float32(numeric.Int64ToFloat64(i))
		}
	}
	var st segment.DocVisitState
	var err error
	for doc = 0; doc < n; doc++ {
		if st, err = dv.VisitDocValues(doc, lengthFields, visit, st); err != nil {
			return err
		}
	}
	for f := range search.SearchableFields {
		for _, x := range l.n[f] {
			l.sum[f] += float64(x)
		}
	}
	return nil
}

// filterBits are, per segment, the documents a filter admits (nil: all),
// deleted ones possibly among them. Conditions on a keyword's value read
// its postings bitmaps directly; the others (numbers, existence) go
// through Bleve's searchers.
func (ix *Index) filterBits(ctx context.Context, v *view, e search.Expr) ([]*roaring.Bitmap, error) {
	if e == nil {
		return make([]*roaring.Bitmap, len(v.segs)), nil
	}
	return ix.evalFilter(ctx, v, e)
}

func (ix *Index) evalFilter(ctx context.Context, v *view, e search.Expr) ([]*roaring.Bitmap, error) {
	switch e := e.(type) {
	case search.And, search.Or:
		var parts []search.Expr
		and := false
		if a, ok := e.(search.And); ok {
			parts, and = a, true
		} else {
			parts = e.(search.Or)
		}
		if len(parts) == 0 {
			break
		}
		var out []*roaring.Bitmap
		for i, p := range parts {
			bs, err := ix.evalFilter(ctx, v, p)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				out = bs
				continue
			}
			for si := range out {
				if and {
					out[si].And(bs[si])
				} else {
					out[si].Or(bs[si])
				}
			}
		}
		return out, nil
	case search.Not:
		bs, err := ix.evalFilter(ctx, v, e.X)
		if err != nil {
			return nil, err
		}
		for si := range bs {
			bs[si].Flip(0, v.segs[si].n)
		}
		return bs, nil
	case search.Cond:
		if len(e.Numbers) == 0 {
			switch e.Op {
			case search.OpEq:
				return v.termBits(filterPrefix+e.Field, e.Values[:1])
			case search.OpIn:
				return v.termBits(filterPrefix+e.Field, e.Values)
			case search.OpNe:
				bs, err := v.termBits(filterPrefix+e.Field, e.Values[:1])
				if err != nil {
					return nil, err
				}
				for si := range bs {
					bs[si].Flip(0, v.segs[si].n)
				}
				return bs, nil
			}
		}
	}
	q, err := filterQuery(e)
	if err != nil {
		return nil, err
	}
	return ix.searcherBits(ctx, v, q)
}

type orInto interface{ OrInto(*roaring.Bitmap) }

// termBits are, per segment, the documents with any of the values
// (lowercased, as the keyword fields index them) in a field.
func (v *view) termBits(field string, values []string) ([]*roaring.Bitmap, error) {
	out := make([]*roaring.Bitmap, len(v.segs))
	for si := range v.segs {
		s := &v.segs[si]
		bm := roaring.New()
		out[si] = bm
		d, err := s.dict(field)
		if err != nil {
			return nil, err
		}
		for _, val := range values {
			pl, err := d.PostingsList([]byte(strings.ToLower(val)), nil, nil)
			if err != nil {
				return nil, err
			}
			if o, ok := pl.(orInto); ok {
				o.OrInto(bm)
				continue
			}
			it := pl.Iterator(false, false, false, nil)
			for {
				p, err := it.Next()
				if err != nil {
					return nil, err
				}
				if p == nil {
					break
				}
				bm.Add(uint32(p.Number()))
			}
		}
	}
	return out, nil
}

// searcherBits are, per segment, the documents a Bleve query matches.
func (ix *Index) searcherBits(ctx context.Context, v *view, fq query.Query) ([]*roaring.Bitmap, error) {
	out := make([]*roaring.Bitmap, len(v.segs))
	s, err := fq.Searcher(ctx, v.r, ix.idx.Mapping(), blevesearch.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for i := range out {
		out[i] = roaring.New()
	}
	sctx := &blevesearch.SearchContext{DocumentMatchPool: blevesearch.NewDocumentMatchPool(s.DocumentMatchPoolSize()+1, 0), IndexReader: v.r}
	seg := 0
	for {
		d, err := s.Next(sctx)
		if err != nil {
			return nil, err
		}
		if d == nil {
			break
		}
		g := d.IndexInternalID.Value()
		if g < v.segs[seg].off || seg+1 < len(v.segs) && g >= v.segs[seg+1].off {
			seg = v.segOf(g)
		}
		out[seg].Add(uint32(g - v.segs[seg].off))
		sctx.DocumentMatchPool.Put(d)
	}
	return out, nil
}

func (v *view) segOf(g uint64) int {
	i, _ := slices.BinarySearchFunc(v.segs, g, func(s segView, g uint64) int {
		if g < s.off {
			return 1
		}
		if g >= s.off+s.n {
			return -1
		}
		return 0
	})
	return min(i, len(v.segs)-1)
}

// denseShare: a term in more than 1/denseShare of the documents (its idf
// under ln(denseShare), about 2) is read by the first pass as matched or
// not (see firstPass). Against the full ranking, the pool agreed as well
// or a little better with 8 as with 2 or 4 (0.849, 0.834, 0.834 at
// 100,000 posts), and the first pass reads less.
const denseShare = 8

// clause is one term query of the first pass: a query word's form in one
// field (or the pinyin terms a word begins), boosted by field and form as
// the scorer weighs them.
type clause struct {
	word  int
	field string
	terms []string
	boost float64
	idf   []float64 // per term
	// dense: per term, whether it is in more than 1/denseShare of the
	// documents (see firstPass).
	dense []bool
	// in: per term, the segments (by number in the view) whose live
	// documents have it, so that neither pass opens a postings list
	// that is empty.
	in  []segSet
	avg float64 // Bleve's mean field length for BM25
}

// segSet is a set of a view's segments by number.
type segSet []uint64

func (s *segSet) add(i int) {
	for len(*s) <= i/64 {
		*s = append(*s, 0)
	}
	(*s)[i/64] |= 1 << (i % 64)
}

func (s segSet) has(i int) bool { return i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0 }

func (s *segSet) union(o segSet) {
	for i, w := range o {
		if i < len(*s) {
			(*s)[i] |= w
		} else {
			*s = append(*s, w)
		}
	}
}

// clauses lists the first pass's term queries for the words.
func (v *view) clauses(words []qword) ([]clause, error) {
	var out []clause
	for i := range words {
		w := &words[i]
		for _, field := range search.SearchableFields {
			for _, f := range w.forms {
				_, typos, form := w.accepts(f)
				out = append(out, clause{word: i, field: field, terms: []string{f}, boost: fieldWeight[field] * form / float64(1+typos)})
			}
		}
		if w.Kind == analysis.Latin {
			out = append(out, clause{word: i, field: fieldPinyin, terms: []string{w.Term}, boost: fieldWeight[fieldPinyin]})
			if w.prefix {
				terms, err := v.prefixTerms(fieldPinyin, w.Term)
				if err != nil {
					return nil, err
				}
				out = append(out, clause{word: i, field: fieldPinyin, terms: terms, boost: fieldWeight[fieldPinyin]})
			}
		}
		// A clause is not boosted by the number of its word's clauses,
		// as it was to undo Bleve's coordination factor: a word of many
		// forms (the prefix program: programs, programming,
		// programmer…) then outweighed the others, and the pool missed
		// what the full ranking puts first. Without it the pool agrees
		// more with the full ranking (see pool_test.go).
	}
	// Terms absent from a field (most words are in no author's name)
	// are dropped, and clauses left without terms: they would match
	// nothing, yet cost a dictionary lookup per segment in both passes.
	n := float64(v.live)
	avg := map[string]float64{}
	kept := out[:0]
	var pl segment.PostingsList
	for i := range out {
		c := out[i]
		a, ok := avg[c.field]
		if !ok {
			card, err := v.r.FieldCardinality(c.field)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				a = float64(card) / n
			}
			avg[c.field] = a
		}
		c.avg = a
		terms := c.terms[:0]
		for _, t := range c.terms {
			var df uint64
			var in segSet
			for si := range v.segs {
				s := &v.segs[si]
				d, err := s.dict(c.field)
				if err != nil {
					return nil, err
				}
				if pl, err = d.PostingsList([]byte(t), s.del, pl); err != nil {
					return nil, err
				}
				if k := pl.Count(); k > 0 {
					df += k
					in.add(si)
				}
			}
			if df == 0 {
				continue
			}
			terms = append(terms, t)
			c.in = append(c.in, in)
			c.idf = append(c.idf, math.Log(1+(n-float64(df)+0.5)/(float64(df)+0.5)))
			c.dense = append(c.dense, denseShare*float64(df) > n)
		}
		if len(terms) > 0 {
			c.terms = terms
			kept = append(kept, c)
		}
	}
	return kept, nil
}

func (v *view) prefixTerms(field, prefix string) ([]string, error) {
	d, err := v.r.FieldDictPrefix(field, []byte(prefix))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var out []string
	for e, err := d.Next(); e != nil && err == nil; e, err = d.Next() {
		out = append(out, e.Term)
	}
	return out, nil
}

func (v *view) docFreq(field, term string) (uint64, error) {
	var df uint64
	for i := range v.segs {
		s := &v.segs[i]
		d, err := s.dict(field)
		if err != nil {
			return 0, err
		}
		pl, err := d.PostingsList([]byte(term), s.del, nil)
		if err != nil {
			return 0, err
		}
		df += pl.Count()
	}
	return df, nil
}

// candidate is a match of the first pass.
type candidate struct {
	score float64
	doc   uint64 // global document number
}

// better orders candidates by score, then by document number.
func better(a, b candidate) int {
	if a.score != b.score {
		return cmp.Compare(b.score, a.score)
	}
	return cmp.Compare(a.doc, b.doc)
}

// firstPass scores every match from its postings (frequencies and norms,
// no locations) with Bleve's BM25 in the clause structure the ranking
// had when Bleve ran it: per word, the sum over its matched clauses times
// their number; over the words, the sum times the share of words
// matched (a term in many documents is read as matched or not, see
// denseShare). It returns the best keep matches in order (all when keep is
// 0), the number of matches and, per segment, the matched documents when
// facets need them.
type firstPassResult struct {
	top     []candidate
	total   int
	matched []*roaring.Bitmap
}

type accum struct {
	acc, wsum []float64
	nw        []uint8
	wcnt      []uint16
	stamp     []int32
	touched   []uint32
	touchedW  []uint32
	buf       [256]uint32
	allow     []uint64
}

var accumPool = sync.Pool{New: func() any { return &accum{} }}

// bits are the documents of f, below n, as a bitset.
func (a *accum) bits(f *roaring.Bitmap, n uint64) []uint64 {
	words := max(int((n+63)/64), int(f.DenseSize()))
	if cap(a.allow) < words {
		a.allow = make([]uint64, words)
	}
	b := a.allow[:words]
	clear(b)
	f.WriteDenseTo(b)
	return b
}

// add scores a match of clause ci: a clause of several terms (pinyin
// prefixes) counts once.
func (a *accum) add(doc uint32, ci int, sc float64) {
	if a.stamp[doc] != int32(ci+1) {
		if a.wcnt[doc] == 0 {
			a.touchedW = append(a.touchedW, doc)
		}
		a.stamp[doc] = int32(ci + 1)
		a.wcnt[doc]++
	}
	a.wsum[doc] += sc
}

func (a *accum) grow(n uint64) {
	if uint64(len(a.acc)) < n {
		a.acc = make([]float64, n)
		a.wsum = make([]float64, n)
		a.nw = make([]uint8, n)
		a.wcnt = make([]uint16, n)
		a.stamp = make([]int32, n)
	}
}

func (v *view) firstPass(words []qword, cls []clause, filter []*roaring.Bitmap, keep int, wantMatched bool) (firstPassResult, error) {
	var res firstPassResult
	if wantMatched {
		res.matched = make([]*roaring.Bitmap, len(v.segs))
	}
	groups := v.split()
	heaps := make([]*topHeap, len(groups))
	totals := make([]int, len(groups))
	err := parallel(len(groups), func(g int) error {
		heaps[g] = &topHeap{keep: keep}
		a := accumPool.Get().(*accum)
		n, err := v.firstPassSegments(groups[g], words, cls, filter, a, heaps[g], res.matched)
		if err != nil {
			return err // a is left dirty: not back in the pool
		}
		accumPool.Put(a)
		totals[g] = n
		return nil
	})
	if err != nil {
		return res, err
	}
	h := heaps[0]
	for g := 1; g < len(groups); g++ {
		for _, c := range heaps[g].c {
			h.push(c)
		}
	}
	for _, n := range totals {
		res.total += n
	}
	res.top = h.sorted()
	return res, nil
}

// firstPassSegments scores the matches in the given segments into h and
// returns their number; matched (when not nil) gets each segment's.
func (v *view) firstPassSegments(segs []int, words []qword, cls []clause, filter []*roaring.Bitmap, a *accum, h *topHeap, matched []*roaring.Bitmap) (int, error) {
	total := 0
	nwords := float64(len(words))
	var pl segment.PostingsList
	var it segment.PostingsIterator
	for _, si := range segs {
		s := &v.segs[si]
		pl, it = nil, nil // zap reuses them only within a segment
		a.grow(s.n)
		// The postings skip the deleted documents; those outside the
		// filter are dropped from a bitset as they come. (Skipping
		// them too costs more: zap decodes a skipped document's
		// frequency and norm all the same, after an AndNot of the
		// postings with all the documents the filter leaves out.)
		ex := s.del
		f := filter[si]
		var allow []uint64
		if f != nil {
			if f.IsEmpty() {
				continue
			}
			allow = a.bits(f, s.n)
		}
		a.touched = a.touched[:0]
		ci := 0
		for wi := range words {
			a.touchedW = a.touchedW[:0]
			for ; ci < len(cls) && cls[ci].word == wi; ci++ {
				c := &cls[ci]
				d, err := s.dict(c.field)
				if err != nil {
					return 0, err
				}
				for ti, t := range c.terms {
					if !c.in[ti].has(si) {
						continue
					}
					var err error
					if pl, err = d.PostingsList([]byte(t), ex, nil); err != nil {
						return 0, err
					}
					weight := c.boost * c.idf[ti] * c.idf[ti] * blevesearch.BM25_k1
					// A term in many documents (go in a Go archive)
					// weighs little (see denseShare) and costs the
					// most to read: its postings are read as a
					// bitmap, frequencies and norms not decoded, each
					// match counted as one occurrence in a field of
					// average length.
					if c.dense[ti] {
						it = pl.Iterator(false, false, false, it)
						if o, ok := it.(segment.OptimizablePostingsIterator); ok {
							if bm := o.ActualBitmap(); bm != nil {
								if f != nil {
									bm = roaring.And(bm, f)
								}
								sc := weight
								if c.avg > 0 {
									sc /= 1 + blevesearch.BM25_k1
								}
								mi := bm.ManyIterator()
								for {
									n := mi.NextMany(a.buf[:])
									if n == 0 {
										break
									}
									for _, doc := range a.buf[:n] {
										a.add(doc, ci, sc)
									}
								}
								continue
							}
						}
					} else {
						it = pl.Iterator(true, true, false, it)
					}
					for {
						p, err := it.Next()
						if err != nil {
							return 0, err
						}
						if p == nil {
							break
						}
						doc := p.Number()
						if allow != nil && allow[doc>>6]&(1<<(doc&63)) == 0 {
							continue
						}
						var sc float64
						if c.dense[ti] {
							sc = weight
							if c.avg > 0 {
								sc /= 1 + blevesearch.BM25_k1
							}
						} else {
							tf := math.Sqrt(float64(p.Frequency()))
							sc = weight * tf
							if c.avg > 0 {
								norm := p.Norm()
								length := 1 / (norm * norm)
								sc /= tf + blevesearch.BM25_k1*(1-blevesearch.BM25_b+blevesearch.BM25_b*length/c.avg)
							}
						}
						a.add(uint32(doc), ci, sc)
					}
				}
			}
			for _, doc := range a.touchedW {
				if a.nw[doc] == 0 {
					a.touched = append(a.touched, doc)
				}
				a.acc[doc] += float64(a.wcnt[doc]) * a.wsum[doc]
				a.nw[doc]++
				a.wsum[doc], a.wcnt[doc] = 0, 0
			}
		}
		// Every document a clause touched is in touched: clear it for
		// the next segment or search.
		for _, doc := range a.touched {
			h.push(candidate{a.acc[doc] * float64(a.nw[doc]) / nwords, s.off + uint64(doc)})
			a.acc[doc], a.nw[doc], a.stamp[doc] = 0, 0, 0
		}
		total += len(a.touched)
		if matched != nil {
			bm := roaring.New()
			bm.AddMany(a.touched)
			matched[si] = bm
		}
	}
	return total, nil
}

// minParallelDocs is the smallest index whose searches read their
// segments in parallel, one goroutine per processor.
const minParallelDocs = 10_000

// split deals the view's segments out to one group per processor (only
// one for a small index), the largest first to the group with the
// fewest documents.
func (v *view) split() [][]int {
	var docs uint64
	for _, s := range v.segs {
		docs += s.n
	}
	n := min(runtime.GOMAXPROCS(0), len(v.segs))
	if docs < minParallelDocs || n <= 1 {
		all := make([]int, len(v.segs))
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	}
	order := make([]int, len(v.segs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(v.segs[b].n, v.segs[a].n) })
	groups := make([][]int, n)
	load := make([]uint64, n)
	for _, si := range order {
		g := 0
		for j := range load {
			if load[j] < load[g] {
				g = j
			}
		}
		groups[g] = append(groups[g], si)
		load[g] += v.segs[si].n
	}
	return groups
}

// parallel runs f(0) … f(n-1) at once and returns the first error.
func parallel(n int, f func(int) error) error {
	if n == 1 {
		return f(0)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = f(i) })
	}
	errs[0] = f(0)
	wg.Wait()
	return errors.Join(errs...)
}

// topHeap keeps the best keep candidates (all when keep is 0).
type topHeap struct {
	keep int
	c    []candidate // a min-heap by better when full
}

func (h *topHeap) push(c candidate) {
	if h.keep <= 0 || len(h.c) < h.keep {
		h.c = append(h.c, c)
		if h.keep > 0 && len(h.c) == h.keep {
			// heapify: worst at the root
			for i := len(h.c)/2 - 1; i >= 0; i-- {
				h.down(i)
			}
		}
		return
	}
	if better(c, h.c[0]) >= 0 {
		return
	}
	h.c[0] = c
	h.down(0)
}

// down restores the heap below i, the worst candidate at the root.
func (h *topHeap) down(i int) {
	n := len(h.c)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		w := l
		if r := l + 1; r < n && better(h.c[r], h.c[l]) > 0 {
			w = r
		}
		if better(h.c[w], h.c[i]) <= 0 {
			return
		}
		h.c[i], h.c[w] = h.c[w], h.c[i]
		i = w
	}
}

func (h *topHeap) sorted() []candidate {
	slices.SortFunc(h.c, better)
	return h.c
}

// located are the term locations of the pooled candidates, compact: the
// pool's locations are many (a common word hundreds of times per post),
// and only the page's hits need them as Bleve's structures, to highlight.
type located struct {
	ids   []string    // per candidate
	fts   []fieldTerm // the (field, term) pairs read
	recs  []locRec    // by candidate: cands[i]'s are recs[start[i]:start[i+1]]
	start []int32
	extra map[int][]uint64 // array positions of more than one level, by record
	bufs  []*locBuf
}

type fieldTerm struct{ field, term string }

// locRec is one location of a (field, term) pair in a candidate.
type locRec struct {
	cand            int32
	ft              int32 // in fts
	pos, start, end uint32
	ap              int32 // the array position (-1: none)
}

// locBuf is a worker's records, kept for later searches.
type locBuf struct {
	recs  []locRec
	extra map[int][]uint64 // by record, see located
}

var locBufPool = sync.Pool{New: func() any { return &locBuf{} }}

func (l *located) of(i int) []locRec { return l.recs[l.start[i]:l.start[i+1]] }

// fieldTermLocations are candidate i's locations as Bleve has them.
func (l *located) fieldTermLocations(i int) []blevesearch.FieldTermLocation {
	recs := l.of(i)
	out := make([]blevesearch.FieldTermLocation, len(recs))
	for j, r := range recs {
		var ap blevesearch.ArrayPositions
		if x, ok := l.extra[int(l.start[i])+j]; ok {
			ap = x
		} else if r.ap >= 0 {
			ap = blevesearch.ArrayPositions{uint64(r.ap)}
		}
		ft := l.fts[r.ft]
		out[j] = blevesearch.FieldTermLocation{Field: ft.field, Term: ft.term,
			Location: blevesearch.Location{Pos: uint64(r.pos), Start: uint64(r.start), End: uint64(r.end), ArrayPositions: ap}}
	}
	return out
}

// release returns the buffers for later searches.
func (l *located) release() {
	for _, b := range l.bufs {
		clear(b.extra)
		b.recs = b.recs[:0]
		locBufPool.Put(b)
	}
	l.bufs = nil
}

// locate reads the term locations of the clauses' terms in the given
// documents, with their ids.
func (v *view) locate(cls []clause, cands []candidate) (*located, error) {
	l := &located{ids: make([]string, len(cands))}
	at := make(map[uint64]int32, len(cands))
	bySeg := make([]*roaring.Bitmap, len(v.segs))
	for i, c := range cands {
		si := v.segOf(c.doc)
		s := &v.segs[si]
		id, err := s.ss.DocID(c.doc - s.off)
		if err != nil {
			return nil, err
		}
		l.ids[i] = string(id)
		at[c.doc] = int32(i)
		if bySeg[si] == nil {
			bySeg[si] = roaring.New()
		}
		bySeg[si].Add(uint32(c.doc - s.off))
	}
	// Each (field, term) once, though several words or clauses share it,
	// with the segments that have it.
	seen := map[fieldTerm]int{}
	var in []segSet
	for _, c := range cls {
		for ti, t := range c.terms {
			k := fieldTerm{c.field, t}
			if j, ok := seen[k]; ok {
				in[j].union(c.in[ti])
				continue
			}
			seen[k] = len(l.fts)
			l.fts = append(l.fts, k)
			in = append(in, slices.Clone(c.in[ti]))
		}
	}
	// Each segment's documents are distinct candidates: the segments
	// are read in parallel, each group into a buffer of its own.
	groups := v.split()
	l.bufs = make([]*locBuf, len(groups))
	for g := range groups {
		l.bufs[g] = locBufPool.Get().(*locBuf)
	}
	err := parallel(len(groups), func(g int) error {
		return v.locateSegments(groups[g], bySeg, l.fts, in, at, l.bufs[g])
	})
	if err != nil {
		l.release()
		return nil, err
	}
	// Order the records by candidate (counting sort: a candidate's keep
	// their order, term by term and position by position).
	l.start = make([]int32, len(cands)+1)
	n := 0
	for _, b := range l.bufs {
		for _, r := range b.recs {
			l.start[r.cand+1]++
		}
		n += len(b.recs)
	}
	for i := range cands {
		l.start[i+1] += l.start[i]
	}
	sorted := locBufPool.Get().(*locBuf)
	l.bufs = append(l.bufs, sorted)
	sorted.recs = slices.Grow(sorted.recs[:0], n)[:n]
	l.recs = sorted.recs
	next := slices.Clone(l.start[:len(cands)])
	for _, b := range l.bufs[:len(groups)] {
		for k, r := range b.recs {
			at := next[r.cand]
			next[r.cand]++
			l.recs[at] = r
			if x, ok := b.extra[k]; ok {
				if l.extra == nil {
					l.extra = map[int][]uint64{}
				}
				l.extra[int(at)] = x
			}
		}
	}
	return l, nil
}

func (v *view) locateSegments(segs []int, bySeg []*roaring.Bitmap, fts []fieldTerm, in []segSet, at map[uint64]int32, buf *locBuf) error {
	var pl segment.PostingsList
	var it segment.PostingsIterator
	for _, si := range segs {
		docs := bySeg[si]
		if docs == nil {
			continue
		}
		s := &v.segs[si]
		pl, it = nil, nil
		for fi, k := range fts {
			if !in[fi].has(si) {
				continue
			}
			d, err := s.dict(k.field)
			if err != nil {
				return err
			}
			if pl, err = d.PostingsList([]byte(k.term), nil, nil); err != nil {
				return err
			}
			it = pl.Iterator(true, true, true, it)
			// Only the pooled documents: their bitmap intersected with
			// the postings' (cheap, the pool is small), so that chunks
			// without them are skipped rather than decoded.
			if o, ok := it.(segment.OptimizablePostingsIterator); ok {
				if bm := o.ActualBitmap(); bm != nil {
					o.ReplaceActual(roaring.And(bm, docs))
				}
			}
			for {
				p, err := it.Next()
				if err != nil {
					return err
				}
				if p == nil {
					break
				}
				ci, ok := at[s.off+p.Number()]
				if !ok {
					continue
				}
				for _, loc := range p.Locations() {
					r := locRec{cand: ci, ft: int32(fi), pos: uint32(loc.Pos()), start: uint32(loc.Start()), end: uint32(loc.End()), ap: -1}
					switch a := loc.ArrayPositions(); {
					case len(a) == 1:
						r.ap = int32(a[0])
					case len(a) > 1:
						if buf.extra == nil {
							buf.extra = map[int][]uint64{}
						}
						buf.extra[len(buf.recs)] = slices.Clone(a)
					}
					buf.recs = append(buf.recs, r)
				}
			}
		}
	}
	return nil
}

// facetCounts counts, per facet, the matched documents of each value: the
// postings of each value, less everything unmatched.
func (v *view) facetCounts(facets []string, matched []*roaring.Bitmap) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	for _, f := range facets {
		counts := map[string]int{}
		for si := range v.segs {
			s := &v.segs[si]
			if matched[si] == nil || matched[si].IsEmpty() {
				continue
			}
			ex := roaring.Flip(matched[si], 0, s.n)
			d, err := s.dict(facetPrefix + f)
			if err != nil {
				return nil, err
			}
			di := d.AutomatonIterator(&vellum.AlwaysMatch{}, nil, nil)
			var pl segment.PostingsList
			for e, err := di.Next(); e != nil && err == nil; e, err = di.Next() {
				if pl, err = d.PostingsList([]byte(e.Term), ex, nil); err != nil {
					return nil, err
				}
				if c := pl.Count(); c > 0 {
					counts[e.Term] += int(c)
				}
			}
		}
		// As Meilisearch's maxValuesPerFacet: the most frequent values.
		type tc struct {
			term  string
			count int
		}
		var all []tc
		for t, c := range counts {
			all = append(all, tc{t, c})
		}
		slices.SortFunc(all, func(a, b tc) int {
			if a.count != b.count {
				return b.count - a.count
			}
			return cmp.Compare(a.term, b.term)
		})
		dist := map[string]int{}
		for _, x := range all[:min(len(all), maxFacetValues)] {
			dist[x.term] = x.count
		}
		out[f] = dist
	}
	return out, nil
}

// newest lists the matched documents newest first (by the date field),
// equal dates by id, documents without a date last: the placeholder
// search's order. It walks the date field's terms from the newest down
// and stops once size documents are found, so it reads neither a date
// nor an id per matched document.
func (v *view) newest(matched []*roaring.Bitmap, size int) ([]string, error) {
	if size <= 0 {
		return nil, nil
	}
	// Full-precision terms (shift 0) all begin with the same byte; the
	// coarser ones, for ranges, are not read.
	d, err := v.r.FieldDictPrefix(fieldDate, []byte{numeric.ShiftStartInt64})
	if err != nil {
		return nil, err
	}
	var dates []string // shift-0 terms, ascending
	for e, err := d.Next(); e != nil && err == nil; e, err = d.Next() {
		if shift, err := numeric.PrefixCoded(e.Term).Shift(); err == nil && shift == 0 {
			dates = append(dates, e.Term)
		}
	}
	d.Close()
	except := make([]*roaring.Bitmap, len(v.segs))
	seen := make([]*roaring.Bitmap, len(v.segs))
	for si := range v.segs {
		except[si] = roaring.Flip(matched[si], 0, v.segs[si].n)
		seen[si] = roaring.New()
	}
	var out []string
	for i := len(dates) - 1; i >= 0 && len(out) < size; i-- {
		var ids []string
		for si := range v.segs {
			s := &v.segs[si]
			dict, err := s.dict(fieldDate)
			if err != nil {
				return nil, err
			}
			pl, err := dict.PostingsList([]byte(dates[i]), except[si], nil)
			if err != nil {
				return nil, err
			}
			it := pl.Iterator(false, false, false, nil)
			for p, err := it.Next(); p != nil && err == nil; p, err = it.Next() {
				id, err := s.ss.DocID(p.Number())
				if err != nil {
					return nil, err
				}
				seen[si].Add(uint32(p.Number()))
				ids = append(ids, string(id))
			}
		}
		slices.Sort(ids)
		out = append(out, ids...)
	}
	if len(out) < size {
		var ids []string
		for si := range v.segs {
			s := &v.segs[si]
			rest := roaring.AndNot(matched[si], seen[si])
			it := rest.Iterator()
			for it.HasNext() {
				id, err := s.ss.DocID(uint64(it.Next()))
				if err != nil {
					return nil, err
				}
				ids = append(ids, string(id))
			}
		}
		slices.Sort(ids)
		out = append(out, ids...)
	}
	return out[:min(len(out), size)], nil
}

// admitted are, per segment, the live documents a filter admits.
func (v *view) admitted(filter []*roaring.Bitmap) ([]*roaring.Bitmap, int) {
	out := make([]*roaring.Bitmap, len(v.segs))
	total := 0
	for si := range v.segs {
		s := &v.segs[si]
		if filter[si] != nil {
			out[si] = filter[si].Clone()
		} else {
			out[si] = roaring.New()
			out[si].AddRange(0, s.n)
		}
		if s.del != nil {
			out[si].AndNot(s.del)
		}
		total += int(out[si].GetCardinality())
	}
	return out, total
}
