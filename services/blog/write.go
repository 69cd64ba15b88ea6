package blog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// PostInput is a post as a writer saves it.
type PostInput struct {
	Slug     string   `json:"slug"`
	Title    string   `json:"title"`
	Markdown string   `json:"markdown"`
	Tags     []string `json:"tags"`
	Summary  string   `json:"summary"`
	// Published says whether readers see the post after this save.
	Published bool `json:"published"`
	// BaseRevision, when set, is the revision the writer edited; a save
	// against an older one is refused rather than overwriting another
	// writer's revision unseen.
	BaseRevision int `json:"base_revision"`
}

// Saved is what a save did.
type Saved struct {
	Blog      string `json:"blog"`
	Slug      string `json:"slug"`
	Revision  int    `json:"revision"`
	Published bool   `json:"published"`
	// Changed is false when the save wrote nothing (the same text and
	// state again).
	Changed bool `json:"changed"`
}

// maxTagsPerWrittenPost keeps a written post's tags a list, not a text.
const maxTagsPerWrittenPost = 20

// content validates a writer's input as post content, field by field.
func (in *PostInput) content(ps *problems) events.PostContent {
	in.Title = strings.TrimSpace(in.Title)
	in.Summary = strings.TrimSpace(in.Summary)
	if in.Title == "" {
		ps.add("title", "required", "give the post a title")
	}
	checkText(ps, "title", in.Title, maxTitleRunes)
	checkText(ps, "summary", in.Summary, maxSummaryRunes)
	switch {
	case len(in.Markdown) > MaxPostBytes:
		ps.add("markdown", "post_too_large", fmt.Sprintf("the text is %s; a post may be at most %s (the event log takes 1 MiB per write)",
			byteSize(len(in.Markdown)), byteSize(MaxPostBytes)), "size", byteSize(len(in.Markdown)), "max", byteSize(MaxPostBytes))
	case strings.TrimSpace(in.Markdown) == "":
		ps.add("markdown", "required", "write the post's text")
	default:
		checkText(ps, "markdown", in.Markdown, MaxPostBytes)
	}
	var tags []string
	for _, t := range in.Tags {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(tags, t) {
			continue
		}
		checkText(ps, "tags", t, 50)
		tags = append(tags, t)
	}
	if len(tags) > maxTagsPerWrittenPost {
		ps.add("tags", "too_many_tags", fmt.Sprintf("a post may have at most %d tags", maxTagsPerWrittenPost), "max", fmt.Sprint(maxTagsPerWrittenPost))
	}
	return events.PostContent{Title: in.Title, Summary: in.Summary, Body: in.Markdown, Tags: tags}
}

// Write decides a writer's save of the post: its first save, an edit, a
// publish or an unpublish, or several of these at once. A save of a
// published post is a new public revision; a save of one that is not
// published stays with the writers.
func (p Post) Write(c events.PostContent, publish bool, editor auth.Principal, now time.Time) ([]visible, Saved, error) {
	out := Saved{Blog: p.Blog, Slug: p.Slug, Revision: p.Revision, Published: p.Published}
	if p.Withdrawn {
		return nil, out, ErrWithdrawn
	}
	c.Authors = p.Content.Authors
	if name := strings.TrimSpace(editor.DisplayName); name != "" && (p.Authored || !p.Exists) && !slices.Contains(c.Authors, name) {
		c.Authors = append(slices.Clone(c.Authors), name)
	}
	c.Source, c.Format = p.Content.Source, ""
	if p.Content.Format == events.FormatHTML && !p.Authored && c.Body == p.Content.Body {
		c.Format = events.FormatHTML // an imported HTML post whose body was not touched
	}
	pubAt := p.PublishedAt
	if pubAt.IsZero() && publish {
		pubAt = now
	}
	if p.Authored || !p.Exists {
		c.Date = pubAt // a written post is dated by its first publication
	} else {
		c.Date = p.Content.Date
	}
	c = normalise(c)
	c.ContentHash = ContentHash(c)
	changed := !p.Exists || c.ContentHash != p.Content.ContentHash
	next := p.Revision + 1
	var evs []visible
	switch {
	case !p.Exists && publish:
		evs = append(evs, public(events.PostPublished{Blog: p.Blog, Slug: p.Slug, Revision: 1, Published: pubAt,
			Editor: editor.UserID, EditorPersonal: events.EditorPersonal{EditorName: editor.DisplayName}, PostContent: c}))
	case !p.Exists:
		evs = append(evs, writersOnly(events.PostDrafted{Blog: p.Blog, Slug: p.Slug, Revision: 1,
			Editor: editor.UserID, EditorPersonal: events.EditorPersonal{EditorName: editor.DisplayName}, PostContent: c}))
	case p.Published && publish && changed:
		evs = append(evs, public(events.PostRevised{Blog: p.Blog, Slug: p.Slug, Revision: next,
			Editor: editor.UserID, EditorPersonal: events.EditorPersonal{EditorName: editor.DisplayName}, PostContent: c}))
	case p.Published && !publish:
		evs = append(evs, public(events.PostUnpublished{Blog: p.Blog, Slug: p.Slug}))
		if changed {
			evs = append(evs, writersOnly(events.PostDrafted{Blog: p.Blog, Slug: p.Slug, Revision: next,
				Editor: editor.UserID, EditorPersonal: events.EditorPersonal{EditorName: editor.DisplayName}, PostContent: c}))
		}
	case !p.Published && publish:
		rev, who, name := p.Revision, "", ""
		if changed && !sameText(c, p.Content) {
			rev, who, name = next, editor.UserID, editor.DisplayName
		}
		evs = append(evs, public(events.PostPublished{Blog: p.Blog, Slug: p.Slug, Revision: rev, Published: pubAt,
			Editor: who, EditorPersonal: events.EditorPersonal{EditorName: name}, PostContent: c}))
	case !p.Published && changed:
		evs = append(evs, writersOnly(events.PostDrafted{Blog: p.Blog, Slug: p.Slug, Revision: next,
			Editor: editor.UserID, EditorPersonal: events.EditorPersonal{EditorName: editor.DisplayName}, PostContent: c}))
	}
	for _, e := range evs {
		var tmp Post = p
		tmp.apply(events.Event{}, e.payload)
		out.Revision, out.Published = tmp.Revision, tmp.Published
		p = tmp
	}
	out.Changed = len(evs) > 0
	return evs, out, nil
}

// sameText: two contents differ at most in their date, which the first
// publication sets; that is no new revision of the text.
func sameText(a, b events.PostContent) bool {
	a.Date, b.Date, a.ContentHash, b.ContentHash = time.Time{}, time.Time{}, "", ""
	return ContentHash(a) == ContentHash(b)
}

// maxWriteAttempts bounds the retries of a save that lost a race with
// another writer of the same post.
const maxWriteAttempts = 5

// CreatePost writes a new post on a blog the caller writes on.
func (s *Service) CreatePost(ctx context.Context, who auth.Principal, blog string, in PostInput, key string) (Saved, error) {
	var ps problems
	in.Slug = strings.TrimSpace(in.Slug)
	if err := ValidateSlug(in.Slug); err != nil {
		ps.add("slug", "slug", reasonOf(err))
	}
	c := in.content(&ps)
	if err := ps.err(); err != nil {
		return Saved{}, err
	}
	if _, err := s.WritableBlog(ctx, who, blog); err != nil {
		return Saved{}, err
	}
	p, err := loadPost(ctx, s.store, blog, in.Slug)
	if err != nil {
		return Saved{}, err
	}
	if p.Exists {
		if key != "" && p.Authored {
			// A retried create: the same key proposes the same event ids,
			// which the store takes as a replay when they match.
			if saved, ok := s.replayed(ctx, who, blog, in.Slug, key, p); ok {
				return saved, nil
			}
		}
		href := postPath(blog, in.Slug)
		if !p.Published {
			href = ""
		}
		return Saved{}, conflict("slug", "slug_taken", href, "the blog has a post %q already (%q)", in.Slug, p.Content.Title)
	}
	p.Blog, p.Slug = blog, in.Slug
	evs, saved, err := p.Write(c, in.Published, who, s.cfg.Clock().UTC())
	if err != nil {
		return Saved{}, err
	}
	if err := s.write(ctx, events.PostStream(blog, in.Slug), events.NoStream, command{who: who, key: key}, evs...); err != nil {
		var wrong *events.WrongExpectedRevisionError
		if errors.As(err, &wrong) {
			return Saved{}, conflict("slug", "slug_taken", "", "the blog has a post %q already", in.Slug)
		}
		return Saved{}, err
	}
	return saved, nil
}

// replayed recognises a create retried with the same Idempotency-Key: the
// post's first event has the id the key derives.
func (s *Service) replayed(ctx context.Context, who auth.Principal, blog, slug, key string, p Post) (Saved, bool) {
	evs, err := s.store.ReadStream(ctx, events.PostStream(blog, slug), events.ReadOptions{Count: 1})
	if err != nil || len(evs) == 0 {
		return Saved{}, false
	}
	want := events.IDFromKey(strings.Join([]string{"blog", who.UserID, events.PostStream(blog, slug), key}, "\x00"), 0)
	if evs[0].ID != want {
		return Saved{}, false
	}
	return Saved{Blog: blog, Slug: slug, Revision: p.Revision, Published: p.Published}, true
}

// EditPost saves a post of a blog the caller writes on.
func (s *Service) EditPost(ctx context.Context, who auth.Principal, blog, slug string, in PostInput) (Saved, error) {
	var ps problems
	c := in.content(&ps)
	if err := ps.err(); err != nil {
		return Saved{}, err
	}
	if _, err := s.WritableBlog(ctx, who, blog); err != nil {
		return Saved{}, err
	}
	for range maxWriteAttempts {
		p, err := loadPost(ctx, s.store, blog, slug)
		if err != nil {
			return Saved{}, err
		}
		if !p.Exists {
			return Saved{}, ErrPostNotFound
		}
		if in.BaseRevision > 0 && in.BaseRevision != p.Revision {
			return Saved{}, &ConflictError{Field: "base_revision", Code: "stale_revision",
				Args:    []string{"base", fmt.Sprint(in.BaseRevision), "current", fmt.Sprint(p.Revision)},
				Message: fmt.Sprintf("revision %d was saved since you started from revision %d; look at it before you save", p.Revision, in.BaseRevision),
				Href:    writeRevisionsPath(blog, slug), Current: map[string]int{"revision": p.Revision}}
		}
		// A revision written after an author's erasure does not name them.
		p.Content.Authors = s.archive.redactForWrite(blog, slug, p.Content.Authors)
		evs, saved, err := p.Write(c, in.Published, who, s.cfg.Clock().UTC())
		if err != nil {
			return Saved{}, err
		}
		err = s.write(ctx, events.PostStream(blog, slug), p.Version, command{who: who}, evs...)
		var wrong *events.WrongExpectedRevisionError
		if errors.As(err, &wrong) {
			continue // another writer saved first; decide again on their revision
		}
		if err != nil {
			return Saved{}, err
		}
		return saved, nil
	}
	return Saved{}, fmt.Errorf("post %s/%s: still contended after %d attempts", blog, slug, maxWriteAttempts)
}

// WithdrawPost takes a post off the blog for good.
func (s *Service) WithdrawPost(ctx context.Context, who auth.Principal, blog, slug, reason string) error {
	var ps problems
	reason = strings.TrimSpace(reason)
	checkText(&ps, "reason", reason, 500)
	if err := ps.err(); err != nil {
		return err
	}
	if _, err := s.WritableBlog(ctx, who, blog); err != nil {
		return err
	}
	p, err := loadPost(ctx, s.store, blog, slug)
	if err != nil {
		return err
	}
	if !p.Exists {
		return ErrPostNotFound
	}
	if p.Withdrawn {
		return nil
	}
	return s.write(ctx, events.PostStream(blog, slug), p.Version, command{who: who},
		public(events.PostWithdrawn{Blog: blog, Slug: slug, Reason: reason}))
}

// RevisionInfo is one revision of a post as its history lists it.
type RevisionInfo struct {
	Revision int       `json:"revision"`
	Title    string    `json:"title"`
	Editor   string    `json:"editor,omitempty"` // the name the editor writes under
	At       time.Time `json:"at"`
	// Public: readers saw this revision (it was published when saved, or
	// published later).
	Public bool `json:"public"`
	Bytes  int  `json:"bytes"`
	// erased: an editor or author of the revision was an erased person,
	// whom Editor leaves out.
	erased bool
}

// postHistory is a post's stream read for its writers: every revision's
// content, in order.
type postHistory struct {
	post      Post
	revisions []RevisionInfo
	contents  map[int]events.PostContent
}

// loadHistory reads the history; shown names a revision's editor (the
// account and the name it wrote under) as the history may show them.
func loadHistory(ctx context.Context, store events.Store, blog, slug string, shown func(editor, name string) string) (postHistory, error) {
	h := postHistory{post: Post{Blog: blog, Slug: slug, Version: events.NoStream}, contents: map[int]events.PostContent{}}
	index := map[int]int{}
	add := func(rev int, c events.PostContent, editor string, erased bool, at time.Time, pub bool) {
		if i, ok := index[rev]; ok {
			if pub {
				h.revisions[i].Public = true
			}
			h.contents[rev] = c // the published form carries the publication date
			return
		}
		index[rev] = len(h.revisions)
		h.revisions = append(h.revisions, RevisionInfo{Revision: rev, Title: c.Title, Editor: editor, At: at, Public: pub, Bytes: len(c.Body), erased: erased})
		h.contents[rev] = c
	}
	err := readStream(ctx, store, events.PostStream(blog, slug), func(e events.Event, payload any) {
		at := e.Metadata.OccurredAt
		if at.IsZero() {
			at = e.Recorded
		}
		byline := func(authors []string) (string, bool) {
			var names []string
			var erased bool
			for _, n := range authors {
				if m := shown("", n); m != "" {
					names = append(names, m)
				} else {
					erased = erased || n != ""
				}
			}
			return strings.Join(names, ", "), erased
		}
		editor := func(id, name string, authors []string) (string, bool) {
			if n := shown(id, name); n != "" || name != "" {
				return n, n == ""
			}
			return byline(authors)
		}
		switch v := payload.(type) {
		case events.PostImported:
			n, erased := byline(v.Authors)
			add(events.RevisionOf(v.Revision, e.Revision), v.PostContent, n, erased, at, true)
		case events.PostRevised:
			n, erased := editor(v.Editor, v.EditorName, v.Authors)
			add(events.RevisionOf(v.Revision, e.Revision), v.PostContent, n, erased, at, true)
		case events.PostDrafted:
			n, erased := editor(v.Editor, v.EditorName, nil)
			add(v.Revision, v.PostContent, n, erased, at, false)
		case events.PostPublished:
			n, erased := editor(v.Editor, v.EditorName, nil)
			add(v.Revision, v.PostContent, n, erased, at, true)
		}
		h.post.apply(e, payload)
		h.post.Version = events.Exact(e.Revision)
	})
	return h, err
}

// editorShown names a revision's editor of blog as the history shows
// them: not at all when their account was erased.
func (s *Service) editorShown(blog string) func(editor, name string) string {
	return func(editor, name string) string { return s.archive.editorShown(blog, editor, name) }
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mayReadHistory: a blog's writers read its posts' histories; organisers
// read every post's, imported archives' included.
func (s *Service) mayReadHistory(ctx context.Context, who auth.Principal, blog string) error {
	if who.HasRole(auth.RoleOrganizer) {
		return nil
	}
	b, err := s.existingBlog(ctx, blog)
	if errors.Is(err, ErrBlogNotFound) {
		if _, imported := s.archive.posts(blog); imported {
			return ErrNotWriter // an imported archive: its history is the organisers'
		}
		return ErrBlogNotFound
	}
	if err != nil {
		return err
	}
	if !b.CanWrite(who.UserID) {
		return ErrNotWriter
	}
	return nil
}

// Revisions lists a post's revisions, newest first, to its writers.
func (s *Service) Revisions(ctx context.Context, who auth.Principal, blog, slug string) (Post, []RevisionInfo, error) {
	if err := s.mayReadHistory(ctx, who, blog); err != nil {
		return Post{}, nil, err
	}
	h, err := loadHistory(ctx, s.store, blog, slug, s.editorShown(blog))
	if err != nil {
		return Post{}, nil, err
	}
	if !h.post.Exists {
		return Post{}, nil, ErrPostNotFound
	}
	out := slices.Clone(h.revisions)
	slices.Reverse(out)
	return h.post, out, nil
}

// RevisionContent is the content of one revision, for its writers.
func (s *Service) RevisionContent(ctx context.Context, who auth.Principal, blog, slug string, rev int) (events.PostContent, error) {
	if err := s.mayReadHistory(ctx, who, blog); err != nil {
		return events.PostContent{}, err
	}
	h, err := loadHistory(ctx, s.store, blog, slug, s.editorShown(blog))
	if err != nil {
		return events.PostContent{}, err
	}
	c, ok := h.contents[rev]
	if !h.post.Exists || !ok {
		return events.PostContent{}, ErrPostNotFound
	}
	return c, nil
}

// PostDiff is the difference between two revisions of a post.
type PostDiff struct {
	From    int    `json:"from"`
	To      int    `json:"to"`
	Unified string `json:"unified"` // a unified diff of the title and the text
}

// Diff compares two revisions of a post, for its writers.
func (s *Service) Diff(ctx context.Context, who auth.Principal, blog, slug string, from, to int) (PostDiff, error) {
	if err := s.mayReadHistory(ctx, who, blog); err != nil {
		return PostDiff{}, err
	}
	h, err := loadHistory(ctx, s.store, blog, slug, s.editorShown(blog))
	if err != nil {
		return PostDiff{}, err
	}
	if !h.post.Exists {
		return PostDiff{}, ErrPostNotFound
	}
	var ps problems
	a, okA := h.contents[from]
	b, okB := h.contents[to]
	if !okA {
		ps.add("from", "no_revision", fmt.Sprintf("the post has no revision %d", from), "n", fmt.Sprint(from))
	}
	if !okB {
		ps.add("to", "no_revision", fmt.Sprintf("the post has no revision %d", to), "n", fmt.Sprint(to))
	}
	if err := ps.err(); err != nil {
		return PostDiff{}, err
	}
	return PostDiff{From: from, To: to, Unified: unifiedDiff(from, to, a, b)}, nil
}

// unifiedDiff compares what a writer edits of a revision: its title, tags
// and text, as lines.
func unifiedDiff(from, to int, a, b events.PostContent) string {
	text := func(c events.PostContent) string {
		body := c.Body
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		return "# " + c.Title + "\n" + "tags: " + strings.Join(c.Tags, ", ") + "\n\n" + body
	}
	return udiff.Unified(fmt.Sprintf("revision %d", from), fmt.Sprintf("revision %d", to), text(a), text(b))
}

// publishedContent is a revision readers saw (the only kind a book may
// pin), with false when the post never had that revision in public.
func publishedContent(ctx context.Context, store events.Store, blog, slug string, rev int) (events.PostContent, bool, error) {
	// Only the content is read: the editors' names are not shown here.
	h, err := loadHistory(ctx, store, blog, slug, func(_, name string) string { return name })
	if err != nil {
		return events.PostContent{}, false, err
	}
	for _, r := range h.revisions {
		if r.Revision == rev && r.Public {
			return h.contents[rev], true, nil
		}
	}
	return events.PostContent{}, false, nil
}
