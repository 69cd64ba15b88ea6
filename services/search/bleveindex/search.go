package bleveindex

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	blevesearch "github.com/blevesearch/bleve/v2/search"

	"github.com/yunqi-town/yunqi/services/search"
)

// maxFacetValues is how many values a facet reports, as Meilisearch's
// default maxValuesPerFacet.
const maxFacetValues = 100

var lengthFields = func() []string {
	var out []string
	for _, f := range search.SearchableFields {
		out = append(out, lengthPrefix+f)
	}
	return out
}()

// rerankPool is how many of Bleve's best-scored matches are ranked from
// their term locations (see passes.go). A few hundred keep the judged
// queries' top ten over the 100,000-post synthetic index (poolTest) while
// reading locations for a fraction of the matches of a common word.
const rerankPool = 300

// Search answers a query as Meilisearch would; see search.Query.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	return ix.search(ctx, q, rerankPool)
}

// search ranks the best pool matches of the first pass from their
// locations; beyond them (deep pages) the first pass's order stands. A
// pool of 0 ranks every match from its locations, the reference the two
// passes are measured against.
func (ix *Index) search(ctx context.Context, q search.Query, pool int) (search.Result, error) {
	return ix.searchTimed(ctx, q, pool, nil)
}

// stages are the times of a search's parts, for the benchmarks.
type stages struct {
	d                       [nStages]time.Duration
	clauses, forms, matched int
}

// The parts of a search stages times.
const (
	stExpand = iota
	stFirst
	stSecond
	stFacets
	stLoad
	stFormat
	nStages
)

// lap adds the time since *t to part i and restarts *t (st nil: nothing).
func (st *stages) lap(i int, t *time.Time) {
	if st == nil {
		return
	}
	now := time.Now()
	st.d[i] += now.Sub(*t)
	*t = now
}

// searchTimed is search, timing its parts into st (nil: not timed).
func (ix *Index) searchTimed(ctx context.Context, q search.Query, pool int, st *stages) (search.Result, error) {
	var t time.Time
	if st != nil {
		t = time.Now()
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.Result{}, search.ErrClosed
	}
	limit, offset := max(q.Limit, 0), max(q.Offset, 0)
	words := parseQuery(q.Q)

	if q.Filter != nil {
		// Checked before anything is read; filterBits evaluates it.
		if _, err := filterQuery(q.Filter); err != nil {
			return search.Result{}, err
		}
	}
	// Meilisearch stops at maxTotalHits; so do we.
	size := min(offset+limit, search.MaxLimit)
	if len(words) == 0 {
		return ix.placeholder(ctx, q, size, offset)
	}

	v, err := ix.openView()
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	defer v.close()
	if err := ix.expand(ctx, v, words); err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	st.lap(stExpand, &t)
	hits, total, facets, err := ix.twoPass(ctx, v, words, q.Filter, q.Facets, size, pool, st, &t)
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	out := search.Result{EstimatedTotalHits: total, FacetDistribution: facets}
	if offset < len(hits) {
		for _, h := range hits[offset:] {
			doc, err := ix.document(v.r, h.ID)
			if err != nil {
				return search.Result{}, err
			}
			st.lap(stLoad, &t)
			out.Hits = append(out.Hits, search.Hit{Document: doc, Formatted: format(doc, words, h.Locations, q.CropLength)})
			st.lap(stFormat, &t)
		}
	}
	if st != nil {
		for _, w := range words {
			st.forms += len(w.forms)
		}
		st.matched = total
	}
	return out, nil
}

// placeholder lists the documents a filter admits, newest first.
func (ix *Index) placeholder(ctx context.Context, q search.Query, size, offset int) (search.Result, error) {
	v, err := ix.openView()
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	defer v.close()
	fbits, err := ix.filterBits(ctx, v, q.Filter)
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	matched, total := v.admitted(fbits)
	out := search.Result{EstimatedTotalHits: total}
	if len(q.Facets) > 0 {
		if out.FacetDistribution, err = v.facetCounts(q.Facets, matched); err != nil {
			return search.Result{}, fmt.Errorf("search index: %w", err)
		}
	}
	ids, err := v.newest(matched, size)
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	if offset < len(ids) {
		for _, id := range ids[offset:] {
			doc, err := ix.document(v.r, id)
			if err != nil {
				return search.Result{}, err
			}
			out.Hits = append(out.Hits, search.Hit{Document: doc, Formatted: format(doc, nil, nil, q.CropLength)})
		}
	}
	return out, nil
}

// twoPass scores every match from its postings (which also gives the
// total and the facets over all matches), then ranks the best pool of
// them from their locations. It returns the hits up to size, with
// locations for highlighting.
func (ix *Index) twoPass(ctx context.Context, v *view, words []qword, filter search.Expr, facets []string, size, pool int, st *stages, t *time.Time) (blevesearch.DocumentMatchCollection, int, map[string]map[string]int, error) {
	fbits, err := ix.filterBits(ctx, v, filter)
	if err != nil {
		return nil, 0, nil, err
	}
	cls, err := v.clauses(words)
	if err != nil {
		return nil, 0, nil, err
	}
	keep := 0
	if pool > 0 {
		keep = max(size, pool)
	}
	fp, err := v.firstPass(words, cls, fbits, keep, len(facets) > 0)
	if err != nil {
		return nil, 0, nil, err
	}
	st.lap(stFirst, t)
	if st != nil {
		st.clauses = len(cls)
	}
	var dist map[string]map[string]int
	if len(facets) > 0 {
		if dist, err = v.facetCounts(facets, fp.matched); err != nil {
			return nil, 0, nil, err
		}
		st.lap(stFacets, t)
	}
	if size == 0 || len(fp.top) == 0 {
		return nil, fp.total, dist, nil
	}
	ranked := len(fp.top)
	if pool > 0 {
		ranked = min(pool, ranked)
	}
	cands := fp.top[:min(len(fp.top), max(size, ranked))]
	loc, err := v.locate(cls, cands)
	if err != nil {
		return nil, 0, nil, err
	}
	defer loc.release()
	s := newScorer(words, v.averages())
	s.terms(loc.fts)
	scores := make([]float64, len(cands))
	order := make([]int, len(cands))
	for i, c := range cands {
		order[i] = i
		if i >= ranked {
			scores[i] = c.score
			continue
		}
		sv := &v.segs[v.segOf(c.doc)]
		scores[i] = s.score(loc.of(i), sv.lensOf(c.doc-sv.off))
	}
	// Equal scores (the same text twice) keep a stable order; past the
	// pool (deep pages) the first pass's order stands, so that pages
	// never repeat or skip a document.
	slices.SortStableFunc(order[:ranked], func(a, b int) int {
		if scores[a] != scores[b] {
			return cmp.Compare(scores[b], scores[a])
		}
		return cmp.Compare(loc.ids[a], loc.ids[b])
	})
	hits := make(blevesearch.DocumentMatchCollection, 0, min(size, len(order)))
	for _, i := range order[:min(size, len(order))] {
		h := &blevesearch.DocumentMatch{ID: loc.ids[i], Score: scores[i], FieldTermLocations: loc.fieldTermLocations(i)}
		h.Complete(nil)
		hits = append(hits, h)
	}
	st.lap(stSecond, t)
	return hits, fp.total, dist, nil
}
