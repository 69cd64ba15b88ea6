package bleveindex

import (
	"github.com/blevesearch/bleve/v2"
	blevanalysis "github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"

	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/analysis"
)

// Analyzer names as the index mapping records them. The index stores only
// the names, so these must stay registered (under the same meaning) for
// as long as an index built with them may be opened; a change of meaning
// bumps schemaVersion, which makes the service rebuild.
const (
	textAnalyzer    = "yunqi_text"
	keywordAnalyzer = "yunqi_keyword_lower"
)

// schemaVersion names the mapping and analysis an index was built with.
// An index of another version is rebuilt from the log rather than searched
// with mismatched terms.
//
// Version 6 added startups, developers and contest entries: besides the
// new fields, an older index never read their streams, so it must be
// built again from the start of the log.
//
// Version 7 added collections (and a second, English title) and posts
// written in Yunqi (PostPublished): an older index skipped those events,
// so it too is built again.
const schemaVersion = "7"

func init() {
	// The registry panics on a duplicate name, which only a second copy of
	// this package in one binary could cause.
	err := registry.RegisterAnalyzer(textAnalyzer, func(map[string]any, *registry.Cache) (blevanalysis.Analyzer, error) {
		return textAnalysis{}, nil
	})
	if err != nil {
		panic(err)
	}
}

// textAnalysis adapts analysis.Analyze to Bleve.
type textAnalysis struct{}

func (textAnalysis) Analyze(input []byte) blevanalysis.TokenStream {
	toks := analysis.Analyze(string(input))
	out := make(blevanalysis.TokenStream, len(toks))
	for i, t := range toks {
		typ := blevanalysis.AlphaNumeric
		switch t.Kind {
		case analysis.CJK:
			typ = blevanalysis.Ideographic
		case analysis.Number:
			typ = blevanalysis.Numeric
		}
		out[i] = &blevanalysis.Token{Term: []byte(t.Term), Start: t.Start, End: t.End, Position: t.Position, Type: typ}
	}
	return out
}

// Index fields. Searchable text is analysed with textAnalyzer and keeps
// term vectors (positions and offsets) for ranking and highlighting. Each
// filterable attribute has a lowercased keyword field (f_…) for filters,
// which compare case-insensitively as Meilisearch's do, and an exact one
// (facet_…) whose values facets report as written. The document itself
// is stored once, as JSON in _source, for hits and highlighting.
const (
	fieldSource  = "_source"
	fieldBody    = "_body" // the body as stored, apart from _source so hits need not decode it as JSON
	fieldAll     = "_all"
	fieldPinyin  = "names_py" // pinyin of authors and names
	fieldDate    = "date"
	filterPrefix = "f_"
	facetPrefix  = "facet_"
	// lengthPrefix names the numeric fields holding each searchable
	// field's length in words, which ranking reads as doc values.
	lengthPrefix = "n_"
)

func newMapping() mapping.IndexMapping {
	im := bleve.NewIndexMapping()
	im.ScoringModel = "bm25"
	if err := im.AddCustomAnalyzer(keywordAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		panic(err) // a constant configuration
	}
	im.DefaultAnalyzer = textAnalyzer
	doc := bleve.NewDocumentStaticMapping()

	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = textAnalyzer
		f.Store = false
		f.DocValues = false
		// The composite _all field gathers every searchable term once
		// (from the tokens already made, without analysing again): its
		// dictionary is where typo and prefix forms are looked up, once
		// per query word instead of once per field, and its postings
		// give each word's document frequency.
		f.IncludeInAll = true
		f.IncludeTermVectors = true
		return f
	}
	for _, name := range search.SearchableFields {
		doc.AddFieldMappingsAt(name, text())
	}
	py := bleve.NewTextFieldMapping()
	py.Analyzer = keywordAnalyzer
	py.Store, py.DocValues, py.IncludeInAll = false, false, false
	doc.AddFieldMappingsAt(fieldPinyin, py)

	src := bleve.NewTextFieldMapping()
	src.Index, src.Store, src.DocValues, src.IncludeTermVectors, src.IncludeInAll = false, true, false, false, false
	doc.AddFieldMappingsAt(fieldSource, src)
	body := bleve.NewTextFieldMapping()
	body.Index, body.Store, body.DocValues, body.IncludeTermVectors, body.IncludeInAll = false, true, false, false, false
	doc.AddFieldMappingsAt(fieldBody, body)

	for name, numeric := range search.FilterableFields {
		if numeric {
			// Comparisons and ranges on a numeric attribute use a
			// numeric field of its own name (see condQuery).
			n := bleve.NewNumericFieldMapping()
			n.Store, n.IncludeInAll = false, false
			doc.AddFieldMappingsAt(name, n)
		}
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keywordAnalyzer
		f.Store, f.DocValues, f.IncludeTermVectors, f.IncludeInAll = false, false, false, false
		doc.AddFieldMappingsAt(filterPrefix+name, f)
		g := bleve.NewKeywordFieldMapping()
		g.Analyzer = keyword.Name
		g.Store, g.DocValues, g.IncludeTermVectors, g.IncludeInAll = false, true, false, false
		doc.AddFieldMappingsAt(facetPrefix+name, g)
	}
	for _, name := range search.SearchableFields {
		n := bleve.NewNumericFieldMapping()
		n.Store, n.IncludeInAll, n.DocValues = false, false, true
		doc.AddFieldMappingsAt(lengthPrefix+name, n)
	}
	date := bleve.NewDateTimeFieldMapping()
	date.Store, date.IncludeInAll = false, false
	doc.AddFieldMappingsAt(fieldDate, date)

	im.DefaultMapping = doc
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}
