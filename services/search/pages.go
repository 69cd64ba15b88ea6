package search

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

//go:embed templates i18n
var pageFiles embed.FS

//go:embed assets/search.js
var searchJS []byte

//go:embed assets/search.css
var searchCSS []byte

// Pages are the search page under /search/. It works as a plain form
// (GET /search/?q=…); search.js adds results as you type on top.
type Pages struct {
	s  *Service
	ui *web.UI
	t  *web.Templates
}

// Pages parses the search page into ui's layout; a template or catalogue
// mistake fails here, at start-up.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("search pages: %w", err)
	}
	return &Pages{s: s, ui: ui, t: t}, nil
}

// Mount adds the pages to r. session recognises a logged-in visitor for the
// page frame.
func (p *Pages) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	r.Route("/search", func(r chi.Router) {
		r.Use(p.ui.Middleware)
		r.Use(session...)
		r.Use(httpserver.LimitBody(4 << 10))
		r.NotFound(p.ui.NotFound)
		r.Get("/", p.search)
		r.Get("/search.js", asset("text/javascript; charset=utf-8", searchJS))
		r.Get("/search.css", asset("text/css; charset=utf-8", searchCSS))
	})
}

// asset serves one of the page's embedded files.
func asset(contentType string, b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(b)
	}
}

// pageData is what the search page shows.
type pageData struct {
	Q, Blog, Tag string
	Searched     bool
	Error        string
	Total        int
	Hits         []pageHit
	Blogs, Tags  []facetLink
}

type pageHit struct {
	Href    string
	Title   template.HTML // built escaped by the index; see Formatted
	Blog    string
	Authors string
	Date    string
	Excerpt template.HTML
}

type facetLink struct {
	Value   string
	Count   int
	Href    string
	Current bool
}

// pageSize is how many hits the page shows.
const pageSize = 20

func (p *Pages) search(w http.ResponseWriter, r *http.Request) {
	tr := p.t.Translator(web.LanguageOf(r))
	in := r.URL.Query()
	d := pageData{Q: in.Get("q"), Blog: strings.TrimSpace(in.Get("blog")), Tag: strings.TrimSpace(in.Get("tag"))}
	v := url.Values{"q": {d.Q}, "facets": {"blog,tags"}, "limit": {fmt.Sprint(pageSize)}}
	var conds []string
	if d.Blog != "" {
		conds = append(conds, fmt.Sprintf("blog = %q", d.Blog))
	}
	if d.Tag != "" {
		conds = append(conds, fmt.Sprintf("tags = %q", d.Tag))
	}
	v.Set("filter", strings.Join(conds, " AND "))
	status := http.StatusOK
	req, err := parseRequest(v)
	var res Result
	if err == nil {
		res, err = p.s.search(r.Context(), req.Query)
	}
	var prob *httpserver.Problem
	switch {
	case errors.As(err, &prob):
		status = http.StatusBadRequest
		reason := prob.Detail
		if len(prob.Errors) > 0 {
			reason = prob.Errors[0].Field + " " + prob.Errors[0].Message
		}
		d.Error = tr.T("search.invalid", "reason", reason)
	case err != nil:
		p.ui.Error(w, r, err)
		return
	default:
		d.Searched = d.Q != "" || d.Blog != "" || d.Tag != ""
		d.Total = res.EstimatedTotalHits
		for _, h := range res.Hits {
			ph := pageHit{
				Href:    "/blog/" + url.PathEscape(h.Blog) + "/" + url.PathEscape(h.Slug),
				Title:   template.HTML(h.Formatted.Title),
				Blog:    h.Blog,
				Authors: strings.Join(h.Authors, ", "),
				Excerpt: template.HTML(h.Formatted.Body),
			}
			if ph.Excerpt == "" {
				ph.Excerpt = template.HTML(h.Formatted.Summary)
			}
			if !h.Date.IsZero() {
				ph.Date = tr.Date(h.Date)
			}
			d.Hits = append(d.Hits, ph)
		}
		d.Blogs = facetLinks(res.FacetDistribution["blog"], d, "blog", d.Blog)
		d.Tags = facetLinks(res.FacetDistribution["tags"], d, "tag", d.Tag)
	}
	p.t.Render(w, r, status, "search", web.Page{Title: "search.title", Data: d})
}

// facetLinks lists a facet's values, most frequent first, each a link
// that selects it (or, when selected, clears it).
func facetLinks(dist map[string]int, d pageData, param, current string) []facetLink {
	var out []facetLink
	for value, n := range dist {
		q := url.Values{}
		if d.Q != "" {
			q.Set("q", d.Q)
		}
		if d.Blog != "" && param != "blog" {
			q.Set("blog", d.Blog)
		}
		if d.Tag != "" && param != "tag" {
			q.Set("tag", d.Tag)
		}
		sel := strings.EqualFold(value, current)
		if !sel {
			q.Set(param, value)
		}
		href := "/search/"
		if len(q) > 0 {
			href += "?" + q.Encode()
		}
		out = append(out, facetLink{Value: value, Count: n, Href: href, Current: sel})
	}
	slices.SortFunc(out, func(a, b facetLink) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
	if len(out) > 15 {
		out = out[:15]
	}
	return out
}
