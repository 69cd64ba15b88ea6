package blog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// Post is the aggregate: one post of one blog as its stream tells it. It
// holds only what the decisions need: the newest revision's content (its
// hash above all), whether readers see it, and whether it was withdrawn.
type Post struct {
	Blog      string
	Slug      string
	Exists    bool
	Withdrawn bool
	// Authored: the post was written in Yunqi, not imported.
	Authored bool
	// Published: readers see the post; imported posts are, from the start.
	Published bool
	// Content is the newest revision's, Revision its number (from 1).
	Content  events.PostContent
	Revision int
	// PublishedAt is when the post first went out to readers.
	PublishedAt time.Time
	// Version is what an append after a decision on this state expects:
	// NoStream for a new post, else the revision of the last event read.
	Version events.ExpectedRevision
}

// Errors of the decisions.
var (
	// ErrWithdrawn: the post was taken off the archive by a person; an
	// import does not bring it back behind their back.
	ErrWithdrawn = errors.New("the post was withdrawn")
	// ErrWrittenHere: the post was written in Yunqi; an import of an
	// archive with the same slug does not overwrite it.
	ErrWrittenHere = errors.New("the post was written in Yunqi")
	// ErrInvalidPost wraps every reason a post cannot be stored.
	ErrInvalidPost = errors.New("invalid post")
)

// apply folds one event into the state; e is the event as read, for the
// revision numbers of events written before they were numbered.
func (p *Post) apply(e events.Event, payload any) {
	switch v := payload.(type) {
	case events.PostImported:
		p.Blog, p.Slug, p.Exists, p.Withdrawn, p.Published = v.Blog, v.Slug, true, false, true
		p.Content, p.Revision = v.PostContent, events.RevisionOf(v.Revision, e.Revision)
		if p.PublishedAt.IsZero() {
			p.PublishedAt = e.Metadata.OccurredAt
		}
	case events.PostRevised:
		p.Content, p.Withdrawn, p.Published = v.PostContent, false, true
		p.Revision = events.RevisionOf(v.Revision, e.Revision)
	case events.PostDrafted:
		p.Blog, p.Slug, p.Exists, p.Authored = v.Blog, v.Slug, true, true
		p.Content, p.Revision = v.PostContent, v.Revision
	case events.PostPublished:
		p.Blog, p.Slug, p.Exists, p.Authored, p.Published = v.Blog, v.Slug, true, true, true
		p.Content, p.Revision = v.PostContent, v.Revision
		if p.PublishedAt.IsZero() {
			p.PublishedAt = v.Published
		}
	case events.PostUnpublished:
		p.Published = false
	case events.PostWithdrawn:
		p.Withdrawn, p.Published = true, false
	}
}

// Import decides what importing content as blog/slug means for this post:
// a PostImported for a new post, a PostRevised when what readers see has
// changed, nothing when it has not. The content's hash is set here, so
// callers cannot store a hash that does not match.
func (p Post) Import(blog, slug string, c events.PostContent) ([]any, error) {
	if err := ValidateBlogName(blog); err != nil {
		return nil, err
	}
	if err := ValidateSlug(slug); err != nil {
		return nil, err
	}
	c = normalise(c)
	if err := validateContent(c); err != nil {
		return nil, err
	}
	c.ContentHash = ContentHash(c)
	switch {
	case !p.Exists:
		return []any{events.PostImported{Blog: blog, Slug: slug, PostContent: c}}, nil
	case p.Withdrawn:
		return nil, ErrWithdrawn
	case p.Authored:
		return nil, ErrWrittenHere
	case p.Content.ContentHash == c.ContentHash:
		return nil, nil
	}
	return []any{events.PostRevised{Blog: blog, Slug: slug, Revision: p.Revision + 1, PostContent: c}}, nil
}

// ContentHash is the SHA-256 of the canonical JSON of what readers see of
// c: every field but Source and ContentHash. encoding/json writes struct
// fields in declaration order, so the same content always hashes the same.
func ContentHash(c events.PostContent) string {
	c = normalise(c)
	c.Source, c.ContentHash = "", ""
	b, err := json.Marshal(c)
	if err != nil {
		// PostContent holds strings, string slices and a time; none of
		// them can fail to encode.
		panic(fmt.Sprintf("blog: encode post content: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// normalise gives equal content one form: a UTC date, no empty lists, the
// Markdown format spelt as the default.
func normalise(c events.PostContent) events.PostContent {
	if !c.Date.IsZero() {
		c.Date = c.Date.UTC()
	}
	if len(c.Authors) == 0 {
		c.Authors = nil
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if c.Format == events.FormatMarkdown {
		c.Format = ""
	}
	return c
}

// Limits on a post's fields besides its body (see MaxPostBytes). They keep
// lists and pages readable and are far above what real archives hold.
const (
	maxTitleRunes   = 500
	maxSummaryRunes = 5000
	maxNameRunes    = 200 // an author or a tag
	maxAuthors      = 50
	maxTags         = 100
)

func validateContent(c events.PostContent) error {
	var problems []string
	if strings.TrimSpace(c.Title) == "" {
		problems = append(problems, "it has no title")
	}
	if n := utf8.RuneCountInString(c.Title); n > maxTitleRunes {
		problems = append(problems, fmt.Sprintf("its title is %d characters, above the limit of %d", n, maxTitleRunes))
	}
	if n := utf8.RuneCountInString(c.Summary); n > maxSummaryRunes {
		problems = append(problems, fmt.Sprintf("its summary is %d characters, above the limit of %d", n, maxSummaryRunes))
	}
	if len(c.Authors) > maxAuthors {
		problems = append(problems, fmt.Sprintf("it has %d authors, above the limit of %d", len(c.Authors), maxAuthors))
	}
	if len(c.Tags) > maxTags {
		problems = append(problems, fmt.Sprintf("it has %d tags, above the limit of %d", len(c.Tags), maxTags))
	}
	for _, names := range [][]string{c.Authors, c.Tags} {
		for _, n := range names {
			if strings.TrimSpace(n) == "" || utf8.RuneCountInString(n) > maxNameRunes {
				problems = append(problems, fmt.Sprintf("author and tag names must be 1 to %d characters, got %q", maxNameRunes, n))
			}
		}
	}
	switch c.Format {
	case "", events.FormatMarkdown, events.FormatHTML:
	default:
		problems = append(problems, fmt.Sprintf("format %q is neither markdown nor html", c.Format))
	}
	if len(c.Body) > MaxPostBytes {
		problems = append(problems, fmt.Sprintf("its body is %s, above the limit of %s per post", byteSize(len(c.Body)), byteSize(MaxPostBytes)))
	}
	for name, s := range map[string]string{"title": c.Title, "summary": c.Summary, "body": c.Body, "source": c.Source} {
		if !utf8.ValidString(s) {
			problems = append(problems, "its "+name+" is not valid UTF-8")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidPost, strings.Join(problems, "; "))
	}
	return nil
}

// blogName is what a blog may be called: it is a path segment of every
// address of the blog and the first part of its posts' stream names, where
// a '.' separates it from the slug and so may not appear in it.
var blogName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidateBlogName reports a name that cannot be a blog's.
func ValidateBlogName(name string) error {
	if !blogName.MatchString(name) {
		return fmt.Errorf("%w: blog name %q must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit", ErrInvalidPost, name)
	}
	return nil
}

// maxSlugBytes keeps post stream names well inside the store's limit.
const maxSlugBytes = 200

// ValidateSlug reports a slug that cannot name a post. Slugs are file names
// or the last part of a feed item's address, so most characters are
// allowed; what is refused would break the post's address or stream name.
func ValidateSlug(slug string) error {
	switch {
	case slug == "":
		return fmt.Errorf("%w: the slug is empty", ErrInvalidPost)
	case len(slug) > maxSlugBytes:
		return fmt.Errorf("%w: the slug is %d bytes, above the limit of %d", ErrInvalidPost, len(slug), maxSlugBytes)
	case !utf8.ValidString(slug):
		return fmt.Errorf("%w: the slug is not valid UTF-8", ErrInvalidPost)
	case slug == "." || slug == ".." || strings.HasPrefix(slug, "."):
		return fmt.Errorf("%w: slug %q may not start with '.'", ErrInvalidPost, slug)
	}
	for _, r := range slug {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`/\?#%"<>`, r) {
			return fmt.Errorf("%w: slug %q contains %q; slugs may not contain spaces, control characters or any of / \\ ? # %% \" < >", ErrInvalidPost, slug, r)
		}
	}
	return nil
}

// loadPost reads a post's stream into the aggregate. A post never written
// is the zero Post expecting NoStream.
func loadPost(ctx context.Context, store events.Store, blog, slug string) (Post, error) {
	p := Post{Blog: blog, Slug: slug, Version: events.NoStream}
	err := readStream(ctx, store, events.PostStream(blog, slug), func(e events.Event, payload any) {
		p.apply(e, payload)
		p.Version = events.Exact(e.Revision)
	})
	return p, err
}

// byteSize writes a size as people read it: 960 KiB, 50.0 MiB.
func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
