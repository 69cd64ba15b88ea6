package bleveindex

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
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
}

func (ix *Index) openView() (*view, error) {
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

// filterBits are, per segment, the documents a filter admits (nil: all).
func (ix *Index) filterBits(ctx context.Context, v *view, fq query.Query) ([]*roaring.Bitmap, error) {
	out := make([]*roaring.Bitmap, len(v.segs))
	if fq == nil {
		return out, nil
	}
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

// excluded is what a segment's postings skip: deleted documents and those
// outside the filter.
func (s *segView) excluded(filter *roaring.Bitmap) *roaring.Bitmap {
	if filter == nil {
		return s.del
	}
	ex := roaring.Flip(filter, 0, s.n)
	if s.del != nil {
		ex.Or(s.del)
	}
	return ex
}

// clause is one term query of the first pass: a query word's form in one
// field (or the pinyin terms a word begins), boosted by field and form as
// the scorer weighs them.
type clause struct {
	word  int
	field string
	terms []string
	boost float64
	idf   []float64 // per term
	avg   float64   // Bleve's mean field length for BM25
}

// clauses lists the first pass's term queries for the words.
func (v *view) clauses(words []qword) ([]clause, error) {
	var out []clause
	for i := range words {
		w := &words[i]
		start := len(out)
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
		// Bleve's disjunctions multiplied each clause by the share of
		// clauses matched; the boost by their number undid it, and the
		// first pass keeps that scale.
		for j := start; j < len(out); j++ {
			out[j].boost *= float64(len(out) - start)
		}
	}
	n := float64(v.live)
	for i := range out {
		c := &out[i]
		card, err := v.r.FieldCardinality(c.field)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			c.avg = float64(card) / n
		}
		for _, t := range c.terms {
			df, err := v.docFreq(c.field, t)
			if err != nil {
				return nil, err
			}
			c.idf = append(c.idf, math.Log(1+(n-float64(df)+0.5)/(float64(df)+0.5)))
		}
	}
	return out, nil
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
		d, err := s.seg.Dictionary(field)
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
// matched. It returns the best keep matches in order (all when keep is
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
}

var accumPool = sync.Pool{New: func() any { return &accum{} }}

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
	a := accumPool.Get().(*accum)
	defer accumPool.Put(a)
	if wantMatched {
		res.matched = make([]*roaring.Bitmap, len(v.segs))
	}
	h := &topHeap{keep: keep}
	nwords := float64(len(words))
	var pl segment.PostingsList
	var it segment.PostingsIterator
	for si := range v.segs {
		s := &v.segs[si]
		pl, it = nil, nil // zap reuses them only within a segment
		a.grow(s.n)
		ex := s.excluded(filter[si])
		if filter[si] != nil && filter[si].IsEmpty() {
			continue
		}
		dicts := map[string]segment.TermDictionary{}
		a.touched = a.touched[:0]
		ci := 0
		for wi := range words {
			a.touchedW = a.touchedW[:0]
			for ; ci < len(cls) && cls[ci].word == wi; ci++ {
				c := &cls[ci]
				d := dicts[c.field]
				if d == nil {
					var err error
					if d, err = s.seg.Dictionary(c.field); err != nil {
						return res, err
					}
					dicts[c.field] = d
				}
				for ti, t := range c.terms {
					var err error
					if pl, err = d.PostingsList([]byte(t), ex, nil); err != nil {
						return res, err
					}
					it = pl.Iterator(true, true, false, it)
					weight := c.boost * c.idf[ti] * c.idf[ti] * blevesearch.BM25_k1
					for {
						p, err := it.Next()
						if err != nil {
							return res, err
						}
						if p == nil {
							break
						}
						doc := p.Number()
						tf := math.Sqrt(float64(p.Frequency()))
						sc := weight * tf
						if c.avg > 0 {
							norm := p.Norm()
							length := 1 / (norm * norm)
							sc /= tf + blevesearch.BM25_k1*(1-blevesearch.BM25_b+blevesearch.BM25_b*length/c.avg)
						}
						// A clause of several terms (pinyin prefixes)
						// counts once.
						if a.stamp[doc] != int32(ci+1) {
							if a.wcnt[doc] == 0 {
								a.touchedW = append(a.touchedW, uint32(doc))
							}
							a.stamp[doc] = int32(ci + 1)
							a.wcnt[doc]++
						}
						a.wsum[doc] += sc
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
		res.total += len(a.touched)
		if wantMatched {
			bm := roaring.New()
			bm.AddMany(a.touched)
			res.matched[si] = bm
		}
	}
	res.top = h.sorted()
	return res, nil
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

// locate reads the term locations of the query's forms for the given
// documents, in their order, with their ids.
func (v *view) locate(words []qword, cls []clause, cands []candidate) ([]*blevesearch.DocumentMatch, error) {
	out := make([]*blevesearch.DocumentMatch, len(cands))
	at := make(map[uint64]int, len(cands))
	bySeg := make([]*roaring.Bitmap, len(v.segs))
	for i, c := range cands {
		si := v.segOf(c.doc)
		s := &v.segs[si]
		id, err := s.ss.DocID(c.doc - s.off)
		if err != nil {
			return nil, err
		}
		out[i] = &blevesearch.DocumentMatch{ID: string(id), Score: c.score}
		at[c.doc] = i
		if bySeg[si] == nil {
			bySeg[si] = roaring.New()
		}
		bySeg[si].Add(uint32(c.doc - s.off))
	}
	// Each (field, term) once, though several words or clauses share it.
	type ft struct{ field, term string }
	seen := map[ft]bool{}
	var fts []ft
	for _, c := range cls {
		for _, t := range c.terms {
			k := ft{c.field, t}
			if !seen[k] {
				seen[k] = true
				fts = append(fts, k)
			}
		}
	}
	var pl segment.PostingsList
	var it segment.PostingsIterator
	for si, docs := range bySeg {
		if docs == nil {
			continue
		}
		s := &v.segs[si]
		pl, it = nil, nil
		ex := roaring.Flip(docs, 0, s.n)
		dicts := map[string]segment.TermDictionary{}
		for _, k := range fts {
			d := dicts[k.field]
			if d == nil {
				var err error
				if d, err = s.seg.Dictionary(k.field); err != nil {
					return nil, err
				}
				dicts[k.field] = d
			}
			var err error
			if pl, err = d.PostingsList([]byte(k.term), ex, nil); err != nil {
				return nil, err
			}
			it = pl.Iterator(true, true, true, it)
			for {
				p, err := it.Next()
				if err != nil {
					return nil, err
				}
				if p == nil {
					break
				}
				dm := out[at[s.off+p.Number()]]
				for _, l := range p.Locations() {
					var ap blevesearch.ArrayPositions
					if a := l.ArrayPositions(); len(a) > 0 {
						ap = slices.Clone(a)
					}
					dm.FieldTermLocations = append(dm.FieldTermLocations, blevesearch.FieldTermLocation{
						Field: k.field, Term: k.term,
						Location: blevesearch.Location{Pos: l.Pos(), Start: l.Start(), End: l.End(), ArrayPositions: ap},
					})
				}
			}
		}
	}
	return out, nil
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
			d, err := s.seg.Dictionary(facetPrefix + f)
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
	d, err := v.r.FieldDict(fieldDate)
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
			dict, err := s.seg.Dictionary(fieldDate)
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
