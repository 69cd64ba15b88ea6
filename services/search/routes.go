package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// Mount adds the JSON API, GET /api/search.
func (s *Service) Mount(r chi.Router) {
	r.With(web.Protect).Get("/api/search", s.handleSearch)
}

// Problem types of the search API.
const (
	TypeInvalidFilter = httpserver.ProblemBase + "invalid-filter"
	TypeInvalidQuery  = httpserver.ProblemBase + "invalid-search"
)

// Types are the document types a search may ask for; a search without a
// type finds documents of every type.
var Types = []string{TypePost, TypeCollection, TypeStartup, TypeDeveloper, TypeSubmission}

// request is a parsed, checked search request.
type request struct {
	Query
}

// parseRequest reads a search from URL parameters, as the API and the page
// take them. Its errors are *httpserver.Problem values.
func parseRequest(v url.Values) (request, error) {
	var errs []httpserver.FieldError
	bad := func(field, msg string, args ...any) {
		errs = append(errs, httpserver.FieldError{Field: field, Message: fmt.Sprintf(msg, args...)})
	}
	req := request{Query: Query{Limit: DefaultLimit}}
	q := v.Get("q")
	switch {
	case !utf8.ValidString(q):
		bad("q", "is not valid UTF-8")
	case utf8.RuneCountInString(q) > MaxQueryLength:
		bad("q", "is %d characters long; a search may be at most %d characters (only its first %d words count)",
			utf8.RuneCountInString(q), MaxQueryLength, MaxQueryWords)
	default:
		req.Q = q
	}
	num := func(name string, def, lo, hi int) int {
		s := v.Get(name)
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			bad(name, "must be a whole number from %d to %d", lo, hi)
			return def
		}
		return n
	}
	req.Limit = num("limit", DefaultLimit, 0, MaxLimit)
	req.Offset = num("offset", 0, 0, MaxLimit)
	req.CropLength = num("cropLength", DefaultCropLength, 1, MaxCropLength)
	for _, f := range strings.Split(v.Get("facets"), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "*" {
			for name := range FilterableFields {
				req.Facets = append(req.Facets, name)
			}
			continue
		}
		if _, ok := FilterableFields[f]; !ok {
			bad("facets", "%q cannot be a facet; facets are %s", f, strings.Join(filterableNames(), ", "))
			continue
		}
		if !slices.Contains(req.Facets, f) {
			req.Facets = append(req.Facets, f)
		}
	}
	slices.Sort(req.Facets)
	req.Facets = slices.Compact(req.Facets)
	var parts []Expr
	if t := strings.TrimSpace(v.Get("type")); t != "" {
		if !slices.Contains(Types, t) {
			bad("type", "%q is not a document type; types are %s", t, strings.Join(Types, ", "))
		} else {
			parts = append(parts, Cond{Field: "type", Op: OpEq, Values: []string{t}})
		}
	}
	var filterErr *FilterError
	if f := v.Get("filter"); f != "" {
		e, err := ParseFilter(f, FilterableFields)
		switch {
		case errors.As(err, &filterErr):
		case err != nil:
			bad("filter", "%v", err)
		case e != nil:
			parts = append(parts, e)
		}
	}
	if filterErr != nil {
		p := httpserver.NewProblem(http.StatusBadRequest, TypeInvalidFilter, "Invalid filter", filterErr.Error())
		p.Errors = append([]httpserver.FieldError{{Field: "filter", Message: filterErr.Error()}}, errs...)
		return req, p
	}
	if len(errs) > 0 {
		p := httpserver.NewProblem(http.StatusBadRequest, TypeInvalidQuery, "Invalid search", "Some parameters are not valid; see errors.")
		p.Errors = errs
		return req, p
	}
	switch len(parts) {
	case 0:
	case 1:
		req.Filter = parts[0]
	default:
		req.Filter = And(parts)
	}
	return req, nil
}

func filterableNames() []string {
	var names []string
	for f := range FilterableFields {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

// response is Meilisearch's search response, without its echo of the
// query: what a person typed may be someone's name, and the answer (and
// every cache and log of it) need not carry it back.
type response struct {
	Hits               []hitJSON                 `json:"hits"`
	ProcessingTimeMs   int64                     `json:"processingTimeMs"`
	Limit              int                       `json:"limit"`
	Offset             int                       `json:"offset"`
	EstimatedTotalHits int                       `json:"estimatedTotalHits"`
	FacetDistribution  map[string]map[string]int `json:"facetDistribution,omitempty"`
}

type hitJSON struct {
	Document
	Formatted Formatted `json:"_formatted"`
}

// search runs a request on the index in use. A rebuild may close the
// index between loading it and searching; then the new one answers.
func (s *Service) search(ctx context.Context, q Query) (Result, error) {
	res, err := s.Index().Search(ctx, q)
	if errors.Is(err, ErrClosed) {
		res, err = s.Index().Search(ctx, q)
	}
	return res, err
}

func (s *Service) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req, err := parseRequest(r.URL.Query())
	if err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	res, err := s.search(r.Context(), req.Query)
	if err != nil {
		if r.Context().Err() != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	out := response{
		Hits:               make([]hitJSON, 0, len(res.Hits)),
		Limit:              req.Limit,
		Offset:             req.Offset,
		EstimatedTotalHits: res.EstimatedTotalHits,
		FacetDistribution:  res.FacetDistribution,
	}
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, hitJSON{Document: h.Document, Formatted: h.Formatted})
	}
	out.ProcessingTimeMs = time.Since(start).Milliseconds()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(out)
}
