package search

import (
	"context"
	"errors"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Index is the port to a search engine: the embedded Bleve index
// (bleveindex) or Meilisearch. It lives here, with the service that uses
// it; every backend passes the conformance suite in searchtest.
//
// An index is a projection of the event log. It stores the position of the
// last event it reflects together with the documents, so that a restart
// resumes exactly there.
type Index interface {
	// Apply writes upserts and deletions and moves the checkpoint to
	// b.Checkpoint, all or nothing: after a crash the index holds either
	// the whole batch and its checkpoint, or neither.
	Apply(ctx context.Context, b Batch) error
	// Checkpoint is the position of the last event applied (events.Start
	// for an empty index).
	Checkpoint(ctx context.Context) (events.Position, error)
	// Search answers a query as Meilisearch would (see Query).
	Search(ctx context.Context, q Query) (Result, error)
	// Count is the number of documents.
	Count(ctx context.Context) (int, error)
	Close() error
}

// Batch is one atomic write to an index.
type Batch struct {
	Upserts []Document
	Deletes []string // document ids
	// Checkpoint is where the log stands once this batch is in.
	Checkpoint events.Position
}

// Document is what the index knows about one searchable thing. Only
// public data goes in: the projector builds documents from public events
// alone, and has no field for anything personal.
type Document struct {
	// ID is unique in the index: "post:<blog>/<slug>".
	ID   string `json:"-"`
	Type string `json:"type"` // "post"
	// Blog and Slug name a post.
	Blog string `json:"blog,omitempty"`
	Slug string `json:"slug,omitempty"`

	Title string `json:"title"`
	// Authors are published names; name fields are also searchable by
	// pinyin (duyong, dy for 杜勇).
	Authors []string  `json:"authors,omitempty"`
	Date    time.Time `json:"date,omitzero"`
	Year    int       `json:"year,omitempty"`
	Tags    []string  `json:"tags,omitempty"`
	Summary string    `json:"summary,omitempty"`
	// Body is plain text (Markdown and HTML stripped); hits carry only a
	// cropped, highlighted part of it.
	Body string `json:"-"`
}

// Searchable fields, in the order Meilisearch's attribute rule ranks them:
// a match in the title beats one in the tags or authors, which beats one
// in the summary, which beats one in the body.
var SearchableFields = []string{"title", "authors", "tags", "summary", "body"}

// FilterableFields are the attributes filters and facets may use, with
// whether they hold numbers.
var FilterableFields = map[string]bool{
	"type": false, "blog": false, "slug": false, "tags": false, "authors": false, "year": true,
}

// Query is a search as Meilisearch takes it.
type Query struct {
	// Q is the text; empty is a placeholder search: every document the
	// filter admits, newest first. Only the first MaxQueryWords words
	// count, as in Meilisearch.
	Q string
	// Filter restricts the documents (nil: all); see ParseFilter.
	Filter Expr
	// Facets lists the fields whose value counts the result reports.
	Facets []string
	// Limit and Offset page through the hits; Limit 0 returns none (but
	// still counts and facets).
	Limit, Offset int
	// CropLength is the body excerpt's length in words (a Chinese
	// character counts as half a word); 0 means DefaultCropLength.
	CropLength int
}

// Limits on queries.
const (
	MaxQueryWords = 10 // as Meilisearch: later words are ignored
	// MaxQueryLength bounds q in characters. Meilisearch truncates
	// silently; a query this long is a mistake or an attack, and saying
	// so is clearer than answering a different question.
	MaxQueryLength    = 1000
	MaxLimit          = 1000 // Meilisearch's default maxTotalHits
	DefaultLimit      = 20
	DefaultCropLength = 30
	MaxCropLength     = 200
)

// Result is a page of hits in Meilisearch's shape.
type Result struct {
	Hits []Hit
	// EstimatedTotalHits counts every document that matches.
	EstimatedTotalHits int
	// FacetDistribution maps each requested facet to its values' counts
	// among all matching documents.
	FacetDistribution map[string]map[string]int
}

// Hit is one matching document with its highlighted form.
type Hit struct {
	Document
	// Formatted holds the same fields as safe HTML: text escaped, query
	// matches wrapped in <em>, and the body cropped around the best
	// matches (with … where it was cut).
	Formatted Formatted
}

// Formatted is a hit's _formatted object.
type Formatted struct {
	Title   string   `json:"title"`
	Authors []string `json:"authors,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Body    string   `json:"body,omitempty"`
}

// ErrClosed is returned by an index used after Close.
var ErrClosed = errors.New("search index is closed")
