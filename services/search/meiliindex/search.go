package meiliindex

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meilisearch/meilisearch-go"

	"github.com/yunqi-town/yunqi/services/search"
)

// notCheckpoint keeps the checkpoint document out of every search.
const notCheckpoint = attrType + ` != "` + checkpointType + `"`

// searchResponse is the part of Meilisearch's answer we read.
type searchResponse struct {
	Hits               []json.RawMessage         `json:"hits"`
	EstimatedTotalHits int                       `json:"estimatedTotalHits"`
	FacetDistribution  map[string]map[string]int `json:"facetDistribution"`
}

type rawHit struct {
	wireDoc
	Formatted formatted `json:"_formatted"`
}

// request turns a query into Meilisearch's search parameters.
func request(q search.Query) (string, *meilisearch.SearchRequest) {
	text := q.Q
	if utf8.RuneCountInString(text) > search.MaxQueryLength {
		// The service refuses such queries; an index asked directly
		// answers the first MaxQueryLength characters rather than fail.
		text = string([]rune(text)[:search.MaxQueryLength])
	}
	text = strings.ToValidUTF8(text, " ")
	text = foldQuery(text)
	filter := notCheckpoint
	if q.Filter != nil {
		filter += " AND (" + emptyIsMissing(q.Filter).String() + ")"
	}
	crop := q.CropLength
	if crop <= 0 {
		crop = search.DefaultCropLength
	}
	crop = min(crop, search.MaxCropLength)
	limit := min(max(q.Limit, 0), search.MaxLimit)
	r := &meilisearch.SearchRequest{
		Offset: int64(max(q.Offset, 0)),
		// The client drops a zero limit (omitempty) and Meilisearch would
		// then return 20 hits: ask for one and drop it (see Search).
		Limit:                 int64(max(limit, 1)),
		Filter:                filter,
		Facets:                q.Facets,
		AttributesToHighlight: highlightAttributes,
		HighlightPreTag:       markOpen,
		HighlightPostTag:      markClose,
		AttributesToCrop:      []string{"body:" + strconv.Itoa(crop)},
		CropMarker:            "…",
		MatchingStrategy:      meilisearch.Last,
	}
	if strings.TrimSpace(text) == "" {
		// A placeholder search: newest first.
		text = ""
		r.Sort = []string{attrSortTS + ":desc"}
	}
	r.Query = text
	return text, r
}

// Search asks Meilisearch and reshapes its answer; _formatted is escaped
// here, since Meilisearch returns document text as stored.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.closed {
		return search.Result{}, search.ErrClosed
	}
	text, req := request(q)
	raw, err := ix.idx.SearchRaw(ctx, text, req)
	if err != nil {
		return search.Result{}, ix.errf("search", err)
	}
	var resp searchResponse
	if err := json.Unmarshal(*raw, &resp); err != nil {
		return search.Result{}, ix.errf("search", fmt.Errorf("decoding the answer: %w", err))
	}
	res := search.Result{EstimatedTotalHits: resp.EstimatedTotalHits}
	if len(q.Facets) > 0 {
		res.FacetDistribution = make(map[string]map[string]int, len(q.Facets))
		for _, f := range q.Facets {
			res.FacetDistribution[f] = resp.FacetDistribution[f]
			if res.FacetDistribution[f] == nil {
				res.FacetDistribution[f] = map[string]int{}
			}
		}
	}
	if q.Limit <= 0 {
		return res, nil
	}
	res.Hits = make([]search.Hit, 0, len(resp.Hits))
	for _, h := range resp.Hits {
		var rh rawHit
		if err := json.Unmarshal(h, &rh); err != nil {
			return search.Result{}, ix.errf("search", fmt.Errorf("decoding a hit: %w", err))
		}
		d := rh.Document
		d.ID = rh.DocID
		f := rh.Formatted
		res.Hits = append(res.Hits, search.Hit{Document: d, Formatted: search.Formatted{
			Title: safeHTML(f.Title), TitleEN: safeHTML(f.TitleEN), Name: safeHTML(f.Name), NameZH: safeHTML(f.NameZH), NameEN: safeHTML(f.NameEN),
			Authors: safeAll(f.Authors), Tags: safeAll(f.Tags), Summary: safeHTML(f.Summary), Body: safeHTML(f.Body),
		}})
	}
	return res, nil
}

// emptyIsMissing widens IS EMPTY to fields that are missing: documents
// leave out the fields they do not use, and to a reader a post without
// tags has empty tags, while Meilisearch's IS EMPTY only matches a field
// present with "" or [].
func emptyIsMissing(e search.Expr) search.Expr {
	switch e := e.(type) {
	case search.And:
		out := make(search.And, len(e))
		for i, x := range e {
			out[i] = emptyIsMissing(x)
		}
		return out
	case search.Or:
		out := make(search.Or, len(e))
		for i, x := range e {
			out[i] = emptyIsMissing(x)
		}
		return out
	case search.Not:
		return search.Not{X: emptyIsMissing(e.X)}
	case search.Cond:
		if e.Op == search.OpIsEmpty {
			return search.Or{e, search.Not{X: search.Cond{Field: e.Field, Op: search.OpExists}}}
		}
	}
	return e
}
