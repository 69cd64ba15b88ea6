package identity

import (
	"cmp"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// A public profile also lists what its owner has published elsewhere on
// Yunqi: contest entries in a public gallery and blog posts. Identity
// learns of them from the public events of the contest and blog contexts
// (the shared contract in events/), never by calling those services, and
// keeps its own read model of them.
//
// The two links are not equally strong. A gallery entry names its members
// by user id, and only those who chose to show their name with it, so an
// entry is listed exactly for them. A blog post names its authors by name
// only: archives are imported from outside, where nobody has a Yunqi
// account. The honest link available is the name the person chose to
// publish on their profile, matched character for character. That proves
// no authorship: two people who publish the same name both get the posts,
// and anyone may publish a famous author's name. The profile says so next
// to the list, and a person who does not publish a name links to no post.

// PublicEntry is a published contest entry as a member's profile lists it.
type PublicEntry struct {
	ContestID     string    `json:"contest_id"`
	ContestNameZH string    `json:"contest_name_zh"`
	ContestNameEN string    `json:"contest_name_en"`
	Year          int       `json:"year"`
	Title         string    `json:"title"`
	Award         string    `json:"award,omitempty"` // an award id; empty for a finalist without one
	AwardNameZH   string    `json:"award_name_zh,omitempty"`
	AwardNameEN   string    `json:"award_name_en,omitempty"`
	Rank          int       `json:"rank,omitempty"`
	PublishedAt   time.Time `json:"published_at"`
	Link          string    `json:"link"` // the contest's public gallery
}

// PublicPost is a blog post as the profile of its author's name lists it.
type PublicPost struct {
	Blog  string    `json:"blog"`
	Slug  string    `json:"slug"`
	Title string    `json:"title"`
	Date  time.Time `json:"date,omitzero"` // as the archive dates it; some posts carry none
	Link  string    `json:"link"`
}

// maxProfilePosts bounds the posts one profile lists: a name that matches
// a large archive (a blog's editor) would otherwise make the page
// unbounded. The total is still reported.
const maxProfilePosts = 100

// works is the projection behind those lists, rebuilt from the log at
// every start like the timelines.
type works struct {
	mu sync.RWMutex
	// entries: member id → gallery entry key → entry. entryMembers keeps
	// who each entry was listed for, so that an entry published again
	// with other members moves rather than sticks.
	entries      map[string]map[string]PublicEntry
	entryMembers map[string][]string
	// posts: post key → post and the author names it was indexed under;
	// byAuthor: author name → post keys.
	posts    map[string]indexedPost
	byAuthor map[string]map[string]struct{}
	follower events.Follower
}

type indexedPost struct {
	post    PublicPost
	authors []string
}

func newWorks(store events.Store, log *slog.Logger) *works {
	w := &works{
		entries:      map[string]map[string]PublicEntry{},
		entryMembers: map[string][]string{},
		posts:        map[string]indexedPost{},
		byAuthor:     map[string]map[string]struct{}{},
	}
	w.follower = events.Follower{
		Name:  "identity profile works",
		Store: store,
		// By type rather than by stream: contest streams are mostly teams,
		// scores and judges, none of which a profile may show.
		Filter: events.Filter{TypePrefixes: []string{"contest.EntryPublished", "blog.Post"}},
		Apply:  func(e events.Event) { w.apply(e, log) },
		Logger: log,
	}
	return w
}

// apply folds one event in. Only public events count: a profile is a
// public page, so anything else reaching it would be a leak.
func (w *works) apply(e events.Event, log *slog.Logger) {
	if e.Metadata.Visibility != events.Public {
		return
	}
	p, err := events.Types.Decode(e)
	if err != nil {
		if !errors.Is(err, events.ErrUnknownType) {
			log.Error("profile works: cannot decode event", "event", e.ID, "stream", e.Stream, "err", err)
		}
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch p := p.(type) {
	case events.EntryPublished:
		w.putEntry(p)
	case events.PostImported:
		w.putPost(p.Blog, p.Slug, p.PostContent)
	case events.PostRevised:
		w.putPost(p.Blog, p.Slug, p.PostContent)
	case events.PostWithdrawn:
		w.dropPost(postKey(p.Blog, p.Slug))
	}
}

func (w *works) putEntry(p events.EntryPublished) {
	key := p.ContestID + "\x00" + p.TeamID
	for _, id := range w.entryMembers[key] {
		delete(w.entries[id], key)
		if len(w.entries[id]) == 0 {
			delete(w.entries, id)
		}
	}
	entry := PublicEntry{
		ContestID: p.ContestID, ContestNameZH: p.ContestNameZH, ContestNameEN: p.ContestNameEN, Year: p.Year,
		Title: p.Title, Award: p.Award, AwardNameZH: p.AwardNameZH, AwardNameEN: p.AwardNameEN, Rank: p.Rank,
		PublishedAt: p.PublishedAt, Link: "/contest/" + url.PathEscape(p.ContestID) + "/gallery",
	}
	var members []string
	for _, m := range p.Members {
		if m.MemberID == "" {
			continue
		}
		if w.entries[m.MemberID] == nil {
			w.entries[m.MemberID] = map[string]PublicEntry{}
		}
		w.entries[m.MemberID][key] = entry
		members = append(members, m.MemberID)
	}
	if members == nil {
		delete(w.entryMembers, key)
		return
	}
	w.entryMembers[key] = members
}

func postKey(blog, slug string) string { return blog + "\x00" + slug }

// putPost indexes a post under its current authors; a revision replaces
// the authors it was indexed under, and brings a withdrawn post back as
// the blog archive does.
func (w *works) putPost(blog, slug string, c events.PostContent) {
	key := postKey(blog, slug)
	w.dropPost(key)
	var authors []string
	for _, a := range c.Authors {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(authors, a) {
			authors = append(authors, a)
		}
	}
	if len(authors) == 0 {
		return
	}
	w.posts[key] = indexedPost{
		post: PublicPost{Blog: blog, Slug: slug, Title: c.Title, Date: c.Date,
			Link: "/blog/" + url.PathEscape(blog) + "/" + url.PathEscape(slug)},
		authors: authors,
	}
	for _, a := range authors {
		if w.byAuthor[a] == nil {
			w.byAuthor[a] = map[string]struct{}{}
		}
		w.byAuthor[a][key] = struct{}{}
	}
}

func (w *works) dropPost(key string) {
	old, ok := w.posts[key]
	if !ok {
		return
	}
	for _, a := range old.authors {
		delete(w.byAuthor[a], key)
		if len(w.byAuthor[a]) == 0 {
			delete(w.byAuthor, a)
		}
	}
	delete(w.posts, key)
}

// entriesOf lists a member's published entries, newest first.
func (w *works) entriesOf(memberID string) []PublicEntry {
	w.mu.RLock()
	out := make([]PublicEntry, 0, len(w.entries[memberID]))
	for _, e := range w.entries[memberID] {
		out = append(out, e)
	}
	w.mu.RUnlock()
	slices.SortFunc(out, func(a, b PublicEntry) int {
		return cmp.Or(b.PublishedAt.Compare(a.PublishedAt), cmp.Compare(b.Year, a.Year),
			cmp.Compare(a.ContestID, b.ContestID), cmp.Compare(a.Title, b.Title))
	})
	return out
}

// postsBy lists up to limit posts whose authors include name exactly,
// newest first (undated last), and how many there are in all.
func (w *works) postsBy(name string, limit int) ([]PublicPost, int) {
	name = strings.TrimSpace(name)
	if name == "" {
		return []PublicPost{}, 0
	}
	w.mu.RLock()
	out := make([]PublicPost, 0, len(w.byAuthor[name]))
	for key := range w.byAuthor[name] {
		out = append(out, w.posts[key].post)
	}
	w.mu.RUnlock()
	slices.SortFunc(out, func(a, b PublicPost) int {
		if a.Date.IsZero() != b.Date.IsZero() {
			if a.Date.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(b.Date.Compare(a.Date), cmp.Compare(a.Title, b.Title),
			cmp.Compare(a.Blog, b.Blog), cmp.Compare(a.Slug, b.Slug))
	})
	total := len(out)
	return out[:min(total, limit)], total
}

// withWorks adds the works to a public profile. It reads only the
// published display name, so a name kept private links nothing.
func (w *works) withWorks(p publicProfile) publicProfile {
	if p.DisplayName == "" {
		// A gallery entry carries the name its member chose to show there;
		// listing it on a profile whose owner keeps their name private
		// would tie that name to this account after all.
		p.Entries, p.Posts = []PublicEntry{}, []PublicPost{}
		return p
	}
	p.Entries = w.entriesOf(p.ID)
	p.Posts, p.PostsTotal = w.postsBy(p.DisplayName, maxProfilePosts)
	return p
}
