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

// Search answers a query as Meilisearch would; see search.Query.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
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
	var main query.Query
	if len(words) == 0 {
		main = bleve.NewMatchAllQuery()
	} else {
		main = candidateQuery(words)
	}
	if q.Filter != nil {
		f, err := filterQuery(q.Filter)
		if err != nil {
			return search.Result{}, err
		}
		main = bleve.NewConjunctionQuery(main, f)
	}
	if len(words) > 0 {
		avg, err := ix.averages(ctx)
		if err != nil {
			return search.Result{}, fmt.Errorf("search index: %w", err)
		}
		s := &scorer{words: words, avg: avg}
		main = query.NewCustomScoreQueryWithScorer(main, s.score, lengthFields, nil)
	}

	// Meilisearch stops at maxTotalHits; so do we.
	size := min(offset+limit, search.MaxLimit)
	req := bleve.NewSearchRequestOptions(main, size, 0, false)
	if len(words) == 0 {
		// A placeholder search lists the newest first.
		req.SortBy([]string{"-" + fieldDate, "_id"})
	} else {
		req.IncludeLocations = true
		// Equal scores (the same text twice) keep a stable order.
		req.SortBy([]string{"-_score", "_id"})
	}
	for _, f := range q.Facets {
		req.AddFacet(f, bleve.NewFacetRequest(facetPrefix+f, maxFacetValues))
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return search.Result{}, fmt.Errorf("search index: %w", err)
	}

	out := search.Result{EstimatedTotalHits: int(res.Total)}
	if offset < len(res.Hits) {
		for _, h := range res.Hits[offset:] {
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
