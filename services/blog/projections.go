package blog

import (
	"cmp"
	"errors"
	"log/slog"
	"net/url"
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
	// Revision is the number of the revision readers see, from 1.
	Revision int `json:"revision"`
	// Authored: written in Yunqi rather than imported.
	Authored bool `json:"authored,omitempty"`
	// Imported is when the post first reached readers (imported, or
	// first published); Updated when what they see last changed.
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

// archive is the read model: every blog and its posts as readers see
// them, the writers' desk (posts written in Yunqi in every state), the
// blogs' owners and co-authors, and the collections with their editions.
// It is rebuilt from the blog, post and collection streams of the global
// log at every start and kept current by following it.
type archive struct {
	mu    sync.RWMutex
	blogs map[string]*blogPosts
	// meta holds the blogs that have a blog stream (written in Yunqi, or
	// an archive given an owner).
	meta map[string]*blogMeta
	// desk holds, per blog, the posts written in Yunqi in every state,
	// drafts included: only writers' pages read it.
	desk        map[string]map[string]*DeskPost
	collections map[string]*Collection
	// all is every public post, newest first, for the site feed, the
	// tag and author pages and the sitemap; nil when it must be built
	// again.
	all []*PostInfo
	// changes counts the events applied: anything derived from the read
	// model (a feed, the sitemap) is current while it has not moved.
	changes uint64
	// names maps an account to the names it went by, per blog; erased
	// holds the accounts erased, erasedKeys the names of erased people (as
	// keys, see nameKey), hadErased the posts (blog/slug) that had an
	// erased author, and deleted the blogs their owners deleted (see erasure.go).
	names      map[string]map[string]map[string]bool
	erased     map[string]bool
	erasedKeys map[string]bool
	hadErased  map[string]bool
	deleted    map[string]bool
	// follower feeds apply from the log and knows how far it has read:
	// readiness, and the wait that lets an upload's answer agree with the
	// lists.
	follower *events.Follower
}

type blogPosts struct {
	bySlug map[string]*PostInfo
	sorted []*PostInfo // newest first; nil when it must be sorted again
}

// blogMeta is a blog's presentation and writers.
type blogMeta struct {
	Blog
	Created time.Time
}

// DeskPost is a post written in Yunqi as its writers' list shows it.
type DeskPost struct {
	Blog      string    `json:"blog"`
	Slug      string    `json:"slug"`
	Title     string    `json:"title"`
	Revision  int       `json:"revision"`
	Published bool      `json:"published"`
	Withdrawn bool      `json:"withdrawn"`
	Updated   time.Time `json:"updated"`
}

func newArchive(store events.Store, log *slog.Logger) *archive {
	a := &archive{blogs: map[string]*blogPosts{}, meta: map[string]*blogMeta{}, desk: map[string]map[string]*DeskPost{},
		collections: map[string]*Collection{}, names: map[string]map[string]map[string]bool{}, erased: map[string]bool{},
		erasedKeys: map[string]bool{}, hadErased: map[string]bool{}, deleted: map[string]bool{}}
	a.follower = &events.Follower{
		Name:  "blog archive",
		Store: store,
		// Every event of the post, blog and collection streams is a blog
		// one; the erasures come from identity.
		Filter: events.Filter{TypePrefixes: []string{"blog.", "identity.AccountErased"}},
		Apply:  func(e events.Event) { a.apply(e, log) },
		Logger: log,
	}
	return a
}

// apply folds one event into the read model. Only public events reach
// what readers see; the writers' desk and collections in progress also
// take the writers' own (owner) events, and nothing else is read.
func (a *archive) apply(e events.Event, log *slog.Logger) {
	vis := e.Metadata.Visibility
	erasure := e.Type == "identity.AccountErased"
	if vis != events.Public && vis != events.Owner && !erasure {
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
	a.changes++
	if v, ok := payload.(events.AccountErased); ok {
		a.erase(v.UserID)
		return
	}
	a.learn(payload)
	switch events.Category(e.Stream) {
	case events.CategoryBlog:
		if vis == events.Public {
			a.applyBlog(payload, e, at)
		}
		return
	case events.CategoryCollection:
		a.applyCollection(payload, e, at)
		return
	}
	a.applyDesk(payload, at)
	if vis != events.Public {
		return
	}
	switch p := payload.(type) {
	case events.PostImported:
		a.put(p.Blog, p.Slug, p.PostContent, events.RevisionOf(p.Revision, e.Revision), at, true)
	case events.PostRevised:
		a.put(p.Blog, p.Slug, p.PostContent, events.RevisionOf(p.Revision, e.Revision), at, false)
	case events.PostPublished:
		a.put(p.Blog, p.Slug, p.PostContent, p.Revision, at, false)
		if info := a.blogs[p.Blog].bySlug[p.Slug]; info != nil {
			info.Imported, info.Authored = p.Published, true
		}
	case events.PostWithdrawn:
		a.remove(p.Blog, p.Slug)
	case events.PostUnpublished:
		a.remove(p.Blog, p.Slug)
	}
}

func (a *archive) remove(blog, slug string) {
	if b := a.blogs[blog]; b != nil {
		delete(b.bySlug, slug)
		b.sorted = nil
		if len(b.bySlug) == 0 {
			delete(a.blogs, blog)
		}
	}
	a.all = nil
}

func (a *archive) applyBlog(payload any, e events.Event, at time.Time) {
	var name string
	switch v := payload.(type) {
	case events.BlogDeleted:
		a.deleteBlog(v.Name)
		return
	case events.BlogCreated:
		if a.deleted[v.Name] {
			return
		}
		name = v.Name
		a.meta[name] = &blogMeta{Blog: Blog{Name: name}, Created: at}
	case events.BlogUpdated:
		name = v.Name
	case events.BlogCoauthorAdded:
		name = v.Blog
	case events.BlogCoauthorRemoved:
		name = v.Blog
	case events.BlogAuthorLinked:
		name = v.Blog
	default:
		return
	}
	if m := a.meta[name]; m != nil {
		m.apply(payload)
		a.forgetIn(&m.Blog)
		m.Version = events.Exact(e.Revision)
	}
}

func (a *archive) applyDesk(payload any, at time.Time) {
	var blog, slug string
	switch v := payload.(type) {
	case events.PostDrafted:
		blog, slug = v.Blog, v.Slug
	case events.PostPublished:
		blog, slug = v.Blog, v.Slug
	case events.PostRevised:
		blog, slug = v.Blog, v.Slug
	case events.PostUnpublished:
		blog, slug = v.Blog, v.Slug
	case events.PostWithdrawn:
		blog, slug = v.Blog, v.Slug
	default:
		return
	}
	if a.deleted[blog] {
		return
	}
	posts := a.desk[blog]
	d := posts[slug]
	if d == nil {
		if _, ok := payload.(events.PostDrafted); !ok {
			if _, ok := payload.(events.PostPublished); !ok {
				return // an imported post: the desk lists what was written here
			}
		}
		if posts == nil {
			posts = map[string]*DeskPost{}
			a.desk[blog] = posts
		}
		d = &DeskPost{Blog: blog, Slug: slug}
		posts[slug] = d
	}
	d.Updated = at
	switch v := payload.(type) {
	case events.PostDrafted:
		d.Title, d.Revision = v.Title, v.Revision
	case events.PostPublished:
		d.Title, d.Revision, d.Published = v.Title, v.Revision, true
	case events.PostRevised:
		d.Title, d.Revision = v.Title, max(d.Revision, v.Revision)
	case events.PostUnpublished:
		d.Published = false
	case events.PostWithdrawn:
		d.Withdrawn, d.Published = true, false
	}
}

func (a *archive) put(blog, slug string, c events.PostContent, rev int, at time.Time, first bool) {
	if a.deleted[blog] {
		return
	}
	c.Authors, _ = a.redact(blog, slug, c.Authors)
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
		info.Imported, info.Authored = old.Imported, old.Authored
	}
	b.bySlug[slug] = info
	b.sorted = nil
	a.all = nil
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
	names := make([]string, 0, len(a.blogs)+len(a.meta))
	for n := range a.blogs {
		names = append(names, n)
	}
	for n := range a.meta {
		if a.blogs[n] == nil {
			names = append(names, n) // written in Yunqi, nothing published yet
		}
	}
	a.mu.RUnlock()
	slices.Sort(names)
	out := make([]BlogInfo, 0, len(names))
	for _, n := range names {
		posts, _ := a.posts(n)
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

// deskPosts lists a blog's posts written in Yunqi, every state, most
// recently changed first.
func (a *archive) deskPosts(blog string) []DeskPost {
	a.mu.RLock()
	out := make([]DeskPost, 0, len(a.desk[blog]))
	for _, d := range a.desk[blog] {
		out = append(out, *d)
	}
	a.mu.RUnlock()
	slices.SortFunc(out, func(x, y DeskPost) int {
		if c := y.Updated.Compare(x.Updated); c != 0 {
			return c
		}
		return naturalCompare(x.Slug, y.Slug)
	})
	return out
}

// blogMeta returns a blog's presentation and writers, false for an
// archive without a blog stream.
func (a *archive) blogMeta(name string) (Blog, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	m := a.meta[name]
	if m == nil {
		return Blog{}, false
	}
	return m.Blog, true
}

// writableBlogs lists the blogs an account writes on, by name.
func (a *archive) writableBlogs(userID string) []Blog {
	a.mu.RLock()
	var out []Blog
	for _, m := range a.meta {
		if m.CanWrite(userID) {
			out = append(out, m.Blog)
		}
	}
	a.mu.RUnlock()
	slices.SortFunc(out, func(x, y Blog) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// allPosts is every public post of every blog, newest first.
func (a *archive) allPosts() []*PostInfo {
	a.mu.RLock()
	if a.all != nil {
		defer a.mu.RUnlock()
		return a.all
	}
	a.mu.RUnlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.all == nil {
		all := []*PostInfo{}
		for _, b := range a.blogs {
			for _, p := range b.bySlug {
				all = append(all, p)
			}
		}
		slices.SortFunc(all, func(x, y *PostInfo) int {
			if c := newestFirst(x, y); c != 0 {
				return c
			}
			return cmp.Compare(x.Blog, y.Blog)
		})
		a.all = all
	}
	return a.all
}

// postsWhere lists the public posts that keep, newest first.
func (a *archive) postsWhere(keep func(*PostInfo) bool) []*PostInfo {
	var out []*PostInfo
	for _, p := range a.allPosts() {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func sortCoauthors(c []Coauthor) {
	slices.SortFunc(c, func(x, y Coauthor) int {
		if n := cmp.Compare(x.Name, y.Name); n != 0 {
			return n
		}
		return cmp.Compare(x.UserID, y.UserID)
	})
}

// version is the read model's change count (see changes).
func (a *archive) version() uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.changes
}

// accountOf is the profile address of the account an author name is
// linked to on one of their posts' blogs, "" when none says so.
func (a *archive) accountOf(name string, posts []*PostInfo) string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, p := range posts {
		if m := a.meta[p.Blog]; m != nil {
			if id := m.AuthorLinks[name]; id != "" {
				return "/identity/people/" + url.PathEscape(id)
			}
			if m.OwnerName == name && m.Owner != "" {
				return "/identity/people/" + url.PathEscape(m.Owner)
			}
		}
	}
	return ""
}
