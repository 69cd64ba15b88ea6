package events

import "time"

// Blog streams: one stream per post, named by blog and slug, so that
// re-importing the same archive finds the post it wrote before.
const CategoryPost = "post"

// PostStream names the stream of the post slug of blog; a slug is unique
// only within its blog (two archives may both have "01.1").
func PostStream(blog, slug string) string { return StreamName(CategoryPost, blog+"."+slug) }

// PostContent is what an archive says about a post. Body is as written, in
// Format; template directives and HTML in it are text, and renderers
// sanitise what they produce. ContentHash is the hash of the canonical JSON
// of what readers see (every field but Source and the hash itself), so a
// re-import can tell "unchanged" from the post's current state alone, and
// the same archive imported from another place is still unchanged.
type PostContent struct {
	Title   string    `json:"title"`
	Authors []string  `json:"authors,omitempty"`
	Date    time.Time `json:"date,omitzero"`
	Tags    []string  `json:"tags,omitempty"`
	Summary string    `json:"summary,omitempty"`
	Body    string    `json:"body"`
	// Format is how Body is written: FormatMarkdown (also when empty) or
	// FormatHTML, which feeds and WordPress exports carry.
	Format      string `json:"format,omitempty"`
	Source      string `json:"source,omitempty"` // where it came from: a file name, a feed item link
	ContentHash string `json:"content_hash"`
}

// Body formats of PostContent.
const (
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
)

// PostImported opens a post stream. Posts are public: nothing personal
// beyond the authors' published names is ever in them.
type PostImported struct {
	Blog string `json:"blog"`
	Slug string `json:"slug"`
	PostContent
}

// PostRevised replaces the content of a post with a newer version.
type PostRevised struct {
	Blog string `json:"blog"`
	Slug string `json:"slug"`
	PostContent
}

// PostWithdrawn takes a post off the archive (and out of search); its
// history stays in the log.
type PostWithdrawn struct {
	Blog   string `json:"blog"`
	Slug   string `json:"slug"`
	Reason string `json:"reason,omitempty"`
}

func registerBlog(r *Registry) {
	r.Register("blog.PostImported", PostImported{}, 1)
	r.Register("blog.PostRevised", PostRevised{}, 1)
	r.Register("blog.PostWithdrawn", PostWithdrawn{}, 1)
}
