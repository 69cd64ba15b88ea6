package bleveindex

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	blevesearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

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
// their term locations (see poolQuery). A few hundred keep the judged
// queries' top ten over the 100,000-post synthetic index (poolTest) while
// reading locations for a fraction of the matches of a common word.
const rerankPool = 300

// Search answers a query as Meilisearch would; see search.Query.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	return ix.search(ctx, q, rerankPool)
}

// search ranks the best pool matches of Bleve's first pass from their
// locations; beyond them (deep pages) Bleve's order stands. A pool of 0
// ranks every match from its locations in one pass, the reference the
// two passes are measured against.
func (ix *Index) search(ctx context.Context, q search.Query, pool int) (search.Result, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.Result{}, search.ErrClosed
	}
	limit, offset := max(q.Limit, 0), max(q.Offset, 0)
	words := parseQuery(q.Q)

	if err := ix.expand(ctx, words); err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}
	var filter query.Query
	if q.Filter != nil {
		f, err := filterQuery(q.Filter)
		if err != nil {
			return search.Result{}, err
		}
		filter = f
	}
	// Meilisearch stops at maxTotalHits; so do we.
	size := min(offset+limit, search.MaxLimit)
	var (
		res  *bleve.SearchResult
		hits blevesearch.DocumentMatchCollection
		err  error
	)
	switch {
	case len(words) == 0:
		req := bleve.NewSearchRequestOptions(filtered(bleve.NewMatchAllQuery(), filter), size, 0, false)
		// A placeholder search lists the newest first.
		req.SortBy([]string{"-" + fieldDate, "_id"})
		addFacets(req, q.Facets)
		res, err = ix.idx.SearchInContext(ctx, req)
		if res != nil {
			hits = res.Hits
		}
	case pool <= 0:
		var s *scorer
		if s, err = ix.newScorer(ctx, words); err != nil {
			break
		}
		main := query.NewCustomScoreQueryWithScorer(filtered(candidateQuery(words), filter), s.score, lengthFields, nil)
		req := bleve.NewSearchRequestOptions(main, size, 0, false)
		req.IncludeLocations = true
		// Equal scores (the same text twice) keep a stable order.
		req.SortBy([]string{"-_score", "_id"})
		addFacets(req, q.Facets)
		res, err = ix.idx.SearchInContext(ctx, req)
		if res != nil {
			hits = res.Hits
		}
	default:
		res, hits, err = ix.twoPass(ctx, words, filter, q.Facets, size, pool)
	}
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}

	out := search.Result{EstimatedTotalHits: int(res.Total)}
	if offset < len(hits) {
		for _, h := range hits[offset:] {
			doc, err := ix.document(h.ID)
			if err != nil {
				return search.Result{}, err
			}
			out.Hits = append(out.Hits, search.Hit{Document: doc, Formatted: format(doc, words, h.Locations, q.CropLength)})
		}
	}
	if len(q.Facets) > 0 {
		out.FacetDistribution = map[string]map[string]int{}
		for _, f := range q.Facets {
			dist := map[string]int{}
			if fr := res.Facets[f]; fr != nil && fr.Terms != nil {
				for _, t := range fr.Terms.Terms() {
					dist[t.Term] = t.Count
				}
			}
			out.FacetDistribution[f] = dist
		}
	}
	return out, nil
}

// twoPass finds every match with Bleve's scores (which also give the total
// and the facets over all matches), then ranks the best pool of them from
// their locations. It returns the first pass's result for the total and
// facets, and the hits up to size with locations for highlighting.
func (ix *Index) twoPass(ctx context.Context, words []qword, filter query.Query, facets []string, size, pool int) (*bleve.SearchResult, blevesearch.DocumentMatchCollection, error) {
	first := bleve.NewSearchRequestOptions(filtered(poolQuery(words), filter), max(size, pool), 0, false)
	addFacets(first, facets)
	res, err := ix.idx.SearchInContext(ctx, first)
	if err != nil || size == 0 || len(res.Hits) == 0 {
		return res, nil, err
	}
	ids := make([]string, 0, min(pool, len(res.Hits)))
	for _, h := range res.Hits[:min(pool, len(res.Hits))] {
		ids = append(ids, h.ID)
	}
	s, err := ix.newScorer(ctx, words)
	if err != nil {
		return nil, nil, err
	}
	second := bleve.NewSearchRequestOptions(query.NewCustomScoreQueryWithScorer(
		bleve.NewConjunctionQuery(bleve.NewDocIDQuery(ids), candidateQuery(words)), s.score, lengthFields, nil),
		min(size, len(ids)), 0, false)
	second.IncludeLocations = true
	// Equal scores (the same text twice) keep a stable order.
	second.SortBy([]string{"-_score", "_id"})
	ranked, err := ix.idx.SearchInContext(ctx, second)
	if err != nil {
		return nil, nil, err
	}
	hits := ranked.Hits
	if size <= len(ids) || len(res.Hits) <= len(ids) {
		return res, hits, nil
	}
	// A page past the pool keeps Bleve's order there, so that pages never
	// repeat or skip a document; it needs only the locations.
	rest := res.Hits[len(ids):min(size, len(res.Hits))]
	ids = ids[:0]
	for _, h := range rest {
		ids = append(ids, h.ID)
	}
	third := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(bleve.NewDocIDQuery(ids), candidateQuery(words)), len(ids), 0, false)
	third.IncludeLocations = true
	located, err := ix.idx.SearchInContext(ctx, third)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*blevesearch.DocumentMatch, len(located.Hits))
	for _, h := range located.Hits {
		byID[h.ID] = h
	}
	for _, h := range rest {
		if l := byID[h.ID]; l != nil {
			hits = append(hits, l)
		}
	}
	return res, hits, nil
}

// filtered restricts q to the filter's documents without letting the
// filter's terms add to the scores.
func filtered(q, filter query.Query) query.Query {
	if filter == nil {
		return q
	}
	b := bleve.NewBooleanQuery()
	b.AddMust(q)
	b.AddFilter(filter)
	return b
}

func addFacets(req *bleve.SearchRequest, facets []string) {
	for _, f := range facets {
		req.AddFacet(f, bleve.NewFacetRequest(facetPrefix+f, maxFacetValues))
	}
}

func (ix *Index) newScorer(ctx context.Context, words []qword) (*scorer, error) {
	avg, err := ix.averages(ctx)
	if err != nil {
		return nil, err
	}
	return newScorer(words, avg), nil
}

// averages are the mean lengths of the searchable fields, which BM25F
// measures each document's fields against. They change slowly, so they
// are recomputed (one pass over the length doc values) only when the
// number of documents has moved by more than a twentieth, or after a
// minute.
func (ix *Index) averages(ctx context.Context) (map[string]float64, error) {
	n, err := ix.idx.DocCount()
	if err != nil {
		return nil, err
	}
	ix.avgMu.Lock()
	defer ix.avgMu.Unlock()
	c := &ix.avgCache
	if c.avg != nil && time.Since(c.at) < time.Minute && absDiff(n, c.docs)*20 <= c.docs {
		return c.avg, nil
	}
	var mu sync.Mutex
	sums := map[string]float64{}
	count := 0.0
	sum := func(_ context.Context, d *blevesearch.DocumentMatch) (float64, error) {
		mu.Lock()
		defer mu.Unlock()
		count++
		for _, f := range lengthFields {
			if v, ok := d.Fields[f].(float64); ok {
				sums[f[len(lengthPrefix):]] += v
			}
		}
		return 0, nil
	}
	req := bleve.NewSearchRequestOptions(query.NewCustomScoreQueryWithScorer(bleve.NewMatchAllQuery(), sum, lengthFields, nil), 0, 0, false)
	if _, err := ix.idx.SearchInContext(ctx, req); err != nil {
		return nil, err
	}
	avg := map[string]float64{}
	for f, s := range sums {
		if count > 0 {
			avg[f] = s / count
		}
	}
	avg[fieldPinyin] = avg["authors"]
	c.avg, c.docs, c.at = avg, n, time.Now()
	return avg, nil
}

type avgCache struct {
	avg  map[string]float64
	docs uint64
	at   time.Time
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}
