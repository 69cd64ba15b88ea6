package search

import (
	"context"
	"errors"
	"slices"
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

// Compactor is an Index whose files keep the bytes of deleted documents
// until it is compacted (Bleve's segments do, until they are merged).
// After an erasure the projector compacts it, so that the person's name
// leaves the disk too, not only the answers.
type Compactor interface {
	Compact(ctx context.Context) error
}

// Dropper is an Index kept outside its generation directory (on a search
// server): when a rebuild retires it, Drop deletes it there, as removing
// the directory deletes an embedded one.
type Dropper interface {
	Drop(ctx context.Context) error
}

// Batch is one atomic write to an index.
type Batch struct {
	Upserts []Document
	Deletes []string // document ids
	// Checkpoint is where the log stands once this batch is in.
	Checkpoint events.Position
}

// Document is what the index knows about one searchable thing: a blog
// post, an alliance member (startup), a public developer profile, a
// published contest entry or a published collection. Only public data goes in: the projector builds
// documents from public events and published profile fields alone, and has
// no field for anything personal. Fields a type does not use stay empty
// and are left out of its JSON, so each hit carries its own type's keys.
type Document struct {
	// ID is unique in the index: "<type>:<key>" (see PostID, StartupID,
	// DeveloperID, SubmissionID, CollectionID).
	ID   string `json:"-"`
	Type string `json:"type"`
	// URL is the public page that shows the document.
	URL string `json:"url,omitempty"`
	// Blog and Slug name a post.
	Blog string `json:"blog,omitempty"`
	Slug string `json:"slug,omitempty"`
	// MemberID names a startup, UserID a developer, Contest and TeamID a
	// contest entry, Collection a collection (Edition is the edition
	// indexed, the newest published).
	MemberID   string `json:"member_id,omitempty"`
	UserID     string `json:"user_id,omitempty"`
	Contest    string `json:"contest,omitempty"`
	TeamID     string `json:"team_id,omitempty"`
	Collection string `json:"collection,omitempty"`
	Edition    int    `json:"edition,omitempty"`

	Title string `json:"title,omitempty"`
	// TitleEN is a second title in English (a collection's), searched as
	// the title is (see Document.Titles).
	TitleEN string `json:"title_en,omitempty"`
	// Name is what a startup or a developer is called: a startup's Chinese
	// name, or its English one when it has none. NameZH and NameEN are a
	// startup's names as it gives them. Name fields, like authors, are
	// also searchable by pinyin (bokeyuan, bky for 博客园).
	Name   string `json:"name,omitempty"`
	NameZH string `json:"name_zh,omitempty"`
	NameEN string `json:"name_en,omitempty"`
	// Authors are published names.
	Authors []string  `json:"authors,omitempty"`
	Date    time.Time `json:"date,omitzero"`
	Year    int       `json:"year,omitempty"`
	Tags    []string  `json:"tags,omitempty"`
	Summary string    `json:"summary,omitempty"`
	// Body is plain text (Markdown and HTML stripped); hits carry only a
	// cropped, highlighted part of it.
	Body string `json:"-"`

	// Facets of startups (city, industry, tier, founded_year), developers
	// (city, skills) and contest entries (track, award), as written.
	City        string   `json:"city,omitempty"`
	Industry    string   `json:"industry,omitempty"`
	Tier        string   `json:"tier,omitempty"`
	FoundedYear int      `json:"founded_year,omitempty"`
	Skills      []string `json:"skills,omitempty"`
	Track       string   `json:"track,omitempty"`
	Award       string   `json:"award,omitempty"`
	// JoinedOn is a member's join date, YYYY-MM-DD; placeholder searches
	// list newer members first.
	JoinedOn string `json:"joined_on,omitempty"`
	Website  string `json:"website,omitempty"`
	LogoURL  string `json:"logo_url,omitempty"`
}

// Names are the document's distinct names, which name fields index (with
// their pinyin): a startup's Chinese and English names, or a developer's.
func (d Document) Names() []string {
	var out []string
	for _, n := range []string{d.NameZH, d.NameEN, d.Name} {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Titles are the document's distinct titles, which the title field
// indexes: the title, and an English title beside it.
func (d Document) Titles() []string {
	var out []string
	for _, t := range []string{d.Title, d.TitleEN} {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Labels are the short descriptive values that are searchable as tags
// are: a post's tags, a developer's skills, a startup's industry and
// city. Tags come first, so that their positions match Document.Tags.
func (d Document) Labels() []string {
	out := slices.Clone(d.Tags)
	out = append(out, d.Skills...)
	for _, v := range []string{d.Industry, d.City} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Searchable fields, in the order Meilisearch's attribute rule ranks them:
// a match in the title or a name beats one in the authors or tags (labels,
// see Document.Labels), which beats one in the summary, which beats one in
// the body.
var SearchableFields = []string{"title", "name", "authors", "tags", "summary", "body"}

// FilterableFields are the attributes filters and facets may use, with
// whether they hold numbers.
var FilterableFields = map[string]bool{
	"type": false, "blog": false, "slug": false, "tags": false, "authors": false, "year": true,
	"city": false, "industry": false, "tier": false, "founded_year": true, "skills": false,
	"contest": false, "track": false, "award": false,
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
	Title   string   `json:"title,omitempty"`
	TitleEN string   `json:"title_en,omitempty"`
	Name    string   `json:"name,omitempty"`
	NameZH  string   `json:"name_zh,omitempty"`
	NameEN  string   `json:"name_en,omitempty"`
	Authors []string `json:"authors,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Body    string   `json:"body,omitempty"`
}

// ErrClosed is returned by an index used after Close.
var ErrClosed = errors.New("search index is closed")
