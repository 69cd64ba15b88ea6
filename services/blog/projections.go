package blog

import (
	"cmp"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// PostInfo is a post as lists and the API show it: everything but the
// body, which stays in the log and is read (and rendered) per post page,
// so that the read model of a large archive stays small.
type PostInfo struct {
	Blog        string    `json:"blog"`
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Authors     []string  `json:"authors"`
	Date        time.Time `json:"date,omitzero"`
	Tags        []string  `json:"tags"`
	Summary     string    `json:"summary,omitempty"`
	Source      string    `json:"source,omitempty"`
	ContentHash string    `json:"-"`
	Revision    uint64    `json:"revision"` // of the post's stream: how many times it changed, from 0
	// Imported is when the post first reached the archive; Updated when it
	// last changed.
	Imported time.Time `json:"imported"`
	Updated  time.Time `json:"updated"`
}

// BlogInfo is a blog as the list of blogs shows it.
type BlogInfo struct {
	Name    string    `json:"name"`
	Posts   int       `json:"posts"`
	Newest  time.Time `json:"newest,omitzero"`  // the date of its newest dated post
	Updated time.Time `json:"updated,omitzero"` // when a post of it last changed
}

// archive is the read model: every blog and its posts, rebuilt from the
// post streams of the global log at every start and kept current by
// following it.
type archive struct {
	mu    sync.RWMutex
	blogs map[string]*blogPosts
	// follower feeds apply from the log and knows how far it has read:
	// readiness, and the wait that lets an upload's answer agree with the
	// lists.
	follower *events.Follower
}

type blogPosts struct {
	bySlug map[string]*PostInfo
	sorted []*PostInfo // newest first; nil when it must be sorted again
}

func newArchive(store events.Store, log *slog.Logger) *archive {
	a := &archive{blogs: map[string]*blogPosts{}}
	a.follower = &events.Follower{
		Name:   "blog archive",
		Store:  store,
		Filter: events.Filter{StreamPrefixes: []string{events.CategoryPost + "-"}},
		Apply:  func(e events.Event) { a.apply(e, log) },
		Logger: log,
	}
	return a
}

// apply folds one event of a post stream into the read model. Only public
// events are shown; posts are public by nature, so anything else is a
// mistake that must not leak.
func (a *archive) apply(e events.Event, log *slog.Logger) {
	if e.Metadata.Visibility != events.Public {
		return
	}
	payload, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			log.Error("blog archive: cannot decode event", "event", e.ID, "stream", e.Stream, "err", err)
		}
		return
	}
	at := e.Metadata.OccurredAt
	if at.IsZero() {
		at = e.Recorded
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch p := payload.(type) {
	case events.PostImported:
		a.put(p.Blog, p.Slug, p.PostContent, e.Revision, at, true)
	case events.PostRevised:
		a.put(p.Blog, p.Slug, p.PostContent, e.Revision, at, false)
	case events.PostWithdrawn:
		if b := a.blogs[p.Blog]; b != nil {
			delete(b.bySlug, p.Slug)
			b.sorted = nil
			if len(b.bySlug) == 0 {
				delete(a.blogs, p.Blog)
			}
		}
	}
}

func (a *archive) put(blog, slug string, c events.PostContent, rev uint64, at time.Time, first bool) {
	b := a.blogs[blog]
	if b == nil {
		b = &blogPosts{bySlug: map[string]*PostInfo{}}
		a.blogs[blog] = b
	}
	info := &PostInfo{
		Blog: blog, Slug: slug, Title: c.Title,
		Authors: nonNil(c.Authors), Date: c.Date, Tags: nonNil(c.Tags), Summary: c.Summary, Source: c.Source,
		ContentHash: c.ContentHash, Revision: rev, Imported: at, Updated: at,
	}
	if old := b.bySlug[slug]; old != nil && !first {
		info.Imported = old.Imported
	}
	b.bySlug[slug] = info
	b.sorted = nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// posts returns the blog's posts, newest first; ok is false for a blog
// with none. Posts without a date come last, in natural order of their
// slugs, which is a book's chapter order (01.1, 01.2 … 14.7).
func (a *archive) posts(blog string) ([]*PostInfo, bool) {
	a.mu.RLock()
	b := a.blogs[blog]
	if b == nil {
		a.mu.RUnlock()
		return nil, false
	}
	if b.sorted != nil {
		defer a.mu.RUnlock()
		return b.sorted, true
	}
	a.mu.RUnlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if b = a.blogs[blog]; b == nil {
		return nil, false
	}
	if b.sorted == nil {
		sorted := make([]*PostInfo, 0, len(b.bySlug))
		for _, p := range b.bySlug {
			sorted = append(sorted, p)
		}
		sortPosts(sorted)
		b.sorted = sorted
	}
	// The slice is replaced, never changed, so callers may keep it.
	return b.sorted, true
}

func sortPosts(posts []*PostInfo) { slices.SortFunc(posts, newestFirst) }

func newestFirst(x, y *PostInfo) int {
	switch {
	case x.Date.IsZero() != y.Date.IsZero():
		if x.Date.IsZero() {
			return 1
		}
		return -1
	case !x.Date.Equal(y.Date):
		return y.Date.Compare(x.Date)
	}
	return naturalCompare(x.Slug, y.Slug)
}

// post returns one post's info.
func (a *archive) post(blog, slug string) (PostInfo, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if b := a.blogs[blog]; b != nil {
		if p := b.bySlug[slug]; p != nil {
			return *p, true
		}
	}
	return PostInfo{}, false
}

// blogList returns every blog, by name.
func (a *archive) blogList() []BlogInfo {
	a.mu.RLock()
	names := make([]string, 0, len(a.blogs))
	for n := range a.blogs {
		names = append(names, n)
	}
	a.mu.RUnlock()
	slices.Sort(names)
	out := make([]BlogInfo, 0, len(names))
	for _, n := range names {
		posts, ok := a.posts(n)
		if !ok {
			continue
		}
		info := BlogInfo{Name: n, Posts: len(posts)}
		for _, p := range posts {
			if p.Date.After(info.Newest) {
				info.Newest = p.Date
			}
			if p.Updated.After(info.Updated) {
				info.Updated = p.Updated
			}
		}
		out = append(out, info)
	}
	return out
}

// naturalCompare orders strings with their digit runs compared as numbers,
// so that 2.10 comes after 2.9.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			na, nb := trimZeros(da), trimZeros(db)
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
