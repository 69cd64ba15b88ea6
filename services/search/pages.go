package search

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	Q        string
	Type     string // the tab: "" for every type
	Searched bool
	Error    string
	Total    int
	Tabs     []pageTab
	Selected []selected // facet values chosen, kept as hidden fields
	Facets   string     // the facets the script asks for
	Groups   []facetGroup
	Hits     []pageHit
}

type pageTab struct {
	Label   string
	Href    string
	Current bool
}

type selected struct{ Param, Field, Value string }

type facetGroup struct {
	Label string
	Links []facetLink
}

type pageHit struct {
	Href    string
	Type    string
	Title   template.HTML // built escaped by the index; see Formatted
	Meta    string
	Excerpt template.HTML
}

type facetLink struct {
	Value   string
	Label   string
	Count   int
	Href    string
	Current bool
}

// pageFacet is a facet the page offers: the attribute it counts and
// filters, and the URL parameter that selects a value.
type pageFacet struct{ Field, Param string }

// pageFacets are the facets of each tab ("" is every type).
var pageFacets = map[string][]pageFacet{
	"":             {{"type", "type"}, {"blog", "blog"}, {"tags", "tag"}},
	TypePost:       {{"blog", "blog"}, {"tags", "tag"}},
	TypeCollection: {{"authors", "author"}, {"year", "year"}},
	TypeStartup:    {{"tier", "tier"}, {"city", "city"}, {"industry", "industry"}},
	TypeDeveloper:  {{"city", "city"}, {"skills", "skill"}},
	TypeSubmission: {{"contest", "contest"}, {"track", "track"}, {"award", "award"}, {"year", "year"}},
}

// pageSize is how many hits the page shows.
const pageSize = 20

func (p *Pages) search(w http.ResponseWriter, r *http.Request) {
	tr := p.t.Translator(web.LanguageOf(r))
	in := r.URL.Query()
	d := pageData{Q: in.Get("q"), Type: strings.TrimSpace(in.Get("type"))}
	if !slices.Contains(Types, d.Type) {
		d.Type = ""
	}
	facets := pageFacets[d.Type]
	var fields, conds []string
	for _, f := range facets {
		fields = append(fields, f.Field)
		if f.Field == "type" {
			continue // the tabs choose the type
		}
		if v := strings.TrimSpace(in.Get(f.Param)); v != "" {
			if FilterableFields[f.Field] {
				n, err := strconv.Atoi(v)
				if err != nil {
					continue // not a value this facet can have
				}
				conds = append(conds, fmt.Sprintf("%s = %d", f.Field, n))
			} else {
				conds = append(conds, fmt.Sprintf("%s = %q", f.Field, v))
			}
			d.Selected = append(d.Selected, selected{Param: f.Param, Field: f.Field, Value: v})
		}
	}
	d.Facets = strings.Join(fields, ",")
	for _, t := range append([]string{""}, Types...) {
		q := url.Values{}
		if d.Q != "" {
			q.Set("q", d.Q)
		}
		if t != "" {
			q.Set("type", t)
		}
		d.Tabs = append(d.Tabs, pageTab{Label: tr.T("search.type." + cmp.Or(t, "all")), Href: pageHref(q), Current: t == d.Type})
	}
	v := url.Values{"q": {d.Q}, "type": {d.Type}, "facets": {d.Facets}, "limit": {fmt.Sprint(pageSize)}}
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
		d.Searched = d.Q != "" || d.Type != "" || len(d.Selected) > 0
		d.Total = res.EstimatedTotalHits
		for _, h := range res.Hits {
			d.Hits = append(d.Hits, hitOnPage(h, tr))
		}
		for _, f := range facets {
			links := facetLinks(res.FacetDistribution[f.Field], d, f)
			if f.Field == "type" || f.Field == "tier" {
				for i := range links {
					links[i].Label = label(tr, "search."+f.Field+"."+links[i].Value, links[i].Value)
				}
			}
			if len(links) > 0 {
				d.Groups = append(d.Groups, facetGroup{Label: tr.T("search.facets." + f.Field), Links: links})
			}
		}
	}
	p.t.Render(w, r, status, "search", web.Page{Title: "search.title", Data: d})
}

// hitOnPage is how the page shows a hit of each type.
func hitOnPage(h Hit, tr web.Translator) pageHit {
	f := h.Formatted
	ph := pageHit{Href: h.URL, Type: h.Type, Title: template.HTML(f.Title), Excerpt: template.HTML(f.Body)}
	if ph.Excerpt == "" {
		ph.Excerpt = template.HTML(f.Summary)
	}
	var meta []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v != "" {
				meta = append(meta, v)
			}
		}
	}
	date := ""
	if !h.Date.IsZero() {
		date = tr.Date(h.Date)
	}
	switch h.Type {
	case TypeStartup:
		ph.Title = template.HTML(f.Name)
		if h.NameEN != "" && h.NameEN != h.Name {
			ph.Title += template.HTML(" · " + f.NameEN)
		}
		add(label(tr, "search.tier."+h.Tier, h.Tier), h.City, h.Industry)
		if h.FoundedYear != 0 {
			add(tr.T("search.founded", "year", h.FoundedYear))
		}
	case TypeDeveloper:
		ph.Title = template.HTML(f.Name)
		if ph.Title == "" {
			ph.Title = template.HTML(html.EscapeString(tr.T("search.type.developer")))
		}
		add(h.City, strings.Join(h.Skills, ", "))
	case TypeCollection:
		if h.TitleEN != "" {
			ph.Title += template.HTML(" · " + f.TitleEN)
		}
		// The subtitle says what the book is; the preface and chapter
		// list only when the words were found there.
		if f.Summary != "" && !strings.Contains(f.Body, "<em>") {
			ph.Excerpt = template.HTML(f.Summary)
		}
		add(authorList(h.Authors))
		if h.Edition > 1 {
			add(tr.T("search.edition", "n", h.Edition))
		}
		add(date)
	case TypeSubmission:
		award := tr.T("search.award.finalist")
		if h.Award != AwardFinalist {
			award = tr.T("search.award", "award", h.Award)
		}
		add(h.Contest, h.Track, award, strings.Join(h.Authors, ", "))
	default:
		add(h.Blog, strings.Join(h.Authors, ", "), date)
	}
	ph.Meta = strings.Join(meta, " · ")
	return ph
}

// maxListedAuthors bounds the authors a collection's hit names: a book
// of many contributors would otherwise fill the line.
const maxListedAuthors = 3

func authorList(authors []string) string {
	if len(authors) > maxListedAuthors {
		return strings.Join(authors[:maxListedAuthors], ", ") + " …"
	}
	return strings.Join(authors, ", ")
}

// label translates a value the catalogue knows and shows any other as it
// is (a tier added later, say).
func label(tr web.Translator, key, value string) string {
	if tr.Has(key) {
		return tr.T(key)
	}
	return value
}

func pageHref(q url.Values) string {
	if len(q) == 0 {
		return "/search/"
	}
	return "/search/?" + q.Encode()
}

// facetLinks lists a facet's values, most frequent first, each a link
// that selects it (or, when selected, clears it).
func facetLinks(dist map[string]int, d pageData, f pageFacet) []facetLink {
	var out []facetLink
	for value, n := range dist {
		q := url.Values{}
		if d.Q != "" {
			q.Set("q", d.Q)
		}
		if d.Type != "" {
			q.Set("type", d.Type)
		}
		sel := false
		for _, s := range d.Selected {
			if s.Param == f.Param {
				sel = strings.EqualFold(value, s.Value)
				continue
			}
			q.Set(s.Param, s.Value)
		}
		if f.Field == "type" {
			// A type value is a tab: choosing it starts that tab afresh.
			q = url.Values{"type": {value}}
			if d.Q != "" {
				q.Set("q", d.Q)
			}
		} else if !sel {
			q.Set(f.Param, value)
		}
		out = append(out, facetLink{Value: value, Label: value, Count: n, Href: pageHref(q), Current: sel})
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
