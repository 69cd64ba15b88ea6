package blog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/gorilla/feeds"
)

// Feeds are Atom 1.0 and RSS 2.0 documents of the newest posts of a blog,
// an author, a tag or the whole site, and of a collection's editions.
// gorilla/feeds writes them. A feed is built from the read model and the
// posts' bodies in the log, so it is kept, per address and format, until
// the read model moves on (archive.version): a reader polling every few
// minutes costs a map lookup, and the ETag is the same until a change.

// maxFeedItems caps every feed.
const maxFeedItems = 50

// feedNamespace scopes the entries' ids: a post's id derives from its
// blog and slug alone, so it survives revisions and a change of host.
var feedNamespace = uuid.MustParse("0d5f6a3e-7a43-4b52-9a0e-3b8c1f1f6c27")

func entryID(kind, key string) string {
	return "urn:uuid:" + uuid.NewSHA1(feedNamespace, []byte(kind+"\x00"+key)).String()
}

// mountFeeds adds the feeds under /blog (the router of the blog pages).
func (p *Pages) mountFeeds(r chi.Router) {
	for _, format := range []string{"atom", "rss"} {
		r.Get("/feed."+format, p.feed(format, func(r *http.Request) (feedSource, bool) {
			return feedSource{title: p.tr(r).T("blog.blogs.title"), page: "/blog/", posts: p.s.archive.allPosts()}, true
		}))
		r.Get("/{blog}/feed."+format, p.feed(format, func(r *http.Request) (feedSource, bool) {
			blog := chi.URLParam(r, "blog")
			posts, ok := p.s.archive.posts(blog)
			if _, written := p.s.archive.blogMeta(blog); !ok && !written {
				return feedSource{}, false
			}
			src := feedSource{title: p.blogTitle(blog), page: blogPath(blog), posts: posts}
			if b, ok := p.s.archive.blogMeta(blog); ok {
				src.description = b.Description
			}
			return src, true
		}))
		r.Get("/authors/{name}/feed."+format, p.feed(format, func(r *http.Request) (feedSource, bool) {
			name := chi.URLParam(r, "name")
			posts := p.s.archive.postsWhere(func(pi *PostInfo) bool { return slices.Contains(pi.Authors, name) })
			return feedSource{title: name, page: authorPath(name), posts: posts}, len(posts) > 0
		}))
		r.Get("/tags/{tag}/feed."+format, p.feed(format, func(r *http.Request) (feedSource, bool) {
			tag := chi.URLParam(r, "tag")
			posts := p.s.archive.postsWhere(func(pi *PostInfo) bool { return slices.Contains(pi.Tags, tag) })
			return feedSource{title: p.tr(r).T("blog.tag.heading", "tag", tag), page: tagPath(tag), posts: posts}, len(posts) > 0
		}))
		r.Get("/collections/{id}/feed."+format, p.feed(format, func(r *http.Request) (feedSource, bool) {
			c, ok := p.s.archive.collection(chi.URLParam(r, "id"))
			if !ok || len(c.Editions) == 0 {
				return feedSource{}, false
			}
			ed, _ := c.Latest()
			return feedSource{title: ed.Details.Title, description: ed.Details.Subtitle, page: collectionPath(c.ID), collection: &c}, true
		}))
	}
}

// feedSource is what one feed lists.
type feedSource struct {
	title, description, page string
	posts                    []*PostInfo
	collection               *Collection
}

// feedCache keeps built feeds until the read model changes.
type feedCache struct {
	mu      sync.Mutex
	version uint64
	entries map[string]builtFeed
}

type builtFeed struct {
	body     []byte
	etag     string
	modified time.Time
}

// maxCachedFeeds bounds the cache: the blogs, tags and authors a crawler
// walks through can be many.
const maxCachedFeeds = 1024

func (p *Pages) feed(format string, source func(*http.Request) (feedSource, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base := p.s.baseURL(r)
		version := p.s.archive.version()
		key := base + "\x00" + r.URL.Path + "\x00" + string(p.tr(r).Lang)
		cache := &p.s.feeds
		cache.mu.Lock()
		if cache.version != version {
			cache.version, cache.entries = version, map[string]builtFeed{}
		}
		built, ok := cache.entries[key]
		cache.mu.Unlock()
		if !ok {
			src, found := source(r)
			if !found {
				p.ui.NotFound(w, r)
				return
			}
			var err error
			built, err = p.buildFeed(r.Context(), format, base, r.URL.Path, src)
			if err != nil {
				p.ui.Error(w, r, err)
				return
			}
			cache.mu.Lock()
			if cache.version == version && len(cache.entries) < maxCachedFeeds {
				cache.entries[key] = built
			}
			cache.mu.Unlock()
		}
		h := w.Header()
		h.Set("ETag", built.etag)
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Vary", "Accept-Language")
		if !built.modified.IsZero() {
			h.Set("Last-Modified", built.modified.UTC().Format(http.TimeFormat))
		}
		if notModified(r, built) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		ctype := "application/atom+xml; charset=utf-8"
		if format == "rss" {
			ctype = "application/rss+xml; charset=utf-8"
		}
		h.Set("Content-Type", ctype)
		w.Write(built.body)
	}
}

// notModified answers a conditional GET: If-None-Match wins over
// If-Modified-Since, as RFC 9110 says.
func notModified(r *http.Request, b builtFeed) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			if t := strings.TrimSpace(tag); t == b.etag || t == "*" || strings.TrimPrefix(t, "W/") == b.etag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !b.modified.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !b.modified.Truncate(time.Second).After(t) {
			return true
		}
	}
	return false
}

func (p *Pages) buildFeed(ctx context.Context, format, base, self string, src feedSource) (builtFeed, error) {
	f := &feeds.Feed{Title: src.title, Description: src.description, Link: &feeds.Link{Href: base + src.page}, Id: base + self}
	var newest time.Time
	if src.collection != nil {
		eds := slices.Clone(src.collection.Editions)
		slices.Reverse(eds)
		for _, ed := range eds[:min(len(eds), maxFeedItems)] {
			var toc strings.Builder
			toc.WriteString("<ol>")
			for _, ch := range ed.Chapters {
				toc.WriteString("<li>" + xmlEscape(ch.Title) + "</li>")
			}
			toc.WriteString("</ol>")
			f.Add(&feeds.Item{
				Id:    entryID("edition", fmt.Sprintf("%s/%d", src.collection.ID, ed.N)),
				Title: fmt.Sprintf("%s · %d", ed.Details.Title, ed.N), Link: &feeds.Link{Href: base + editionPath(src.collection.ID, ed.N)},
				Description: ed.Details.Subtitle, Content: toc.String(), Created: ed.Published, Updated: ed.Published,
			})
			newest = maxTime(newest, ed.Published)
		}
	}
	for _, post := range src.posts[:min(len(src.posts), maxFeedItems)] {
		created := post.Date
		if created.IsZero() {
			created = post.Imported
		}
		item := &feeds.Item{
			Id: entryID("post", post.Blog+"/"+post.Slug), Title: post.Title, Link: &feeds.Link{Href: base + postPath(post.Blog, post.Slug)},
			Description: post.Summary, Created: created, Updated: post.Updated,
		}
		// A feed has no reader's language to name an erased person in:
		// it names the others.
		if names := slices.DeleteFunc(slices.Clone(post.Authors), func(n string) bool { return n == "" }); len(names) > 0 {
			item.Author = &feeds.Author{Name: strings.Join(names, ", ")}
		}
		if _, content, found, err := p.s.loadForPage(ctx, post.Blog, post.Slug); err != nil {
			return builtFeed{}, err
		} else if found {
			item.Content = string(p.s.renderer.Render(content))
		}
		f.Add(item)
		newest = maxTime(newest, post.Updated)
	}
	f.Updated = newest
	var buf bytes.Buffer
	var err error
	if format == "rss" {
		err = f.WriteRss(&buf)
	} else {
		err = f.WriteAtom(&buf)
	}
	if err != nil {
		return builtFeed{}, fmt.Errorf("feed %s: %w", self, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return builtFeed{body: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`, modified: newest}, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// mountRoot adds what crawlers look for at the site's root.
func (p *Pages) mountRoot(r chi.Router) {
	r.Get("/sitemap.xml", p.sitemap)
	r.Get("/robots.txt", p.robots)
}

// maxSitemapURLs is the sitemap protocol's limit per file; a site past it
// lists its newest posts (a sitemap index is the next step when one gets
// there).
const maxSitemapURLs = 50000

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

type urlset struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

func (p *Pages) sitemap(w http.ResponseWriter, r *http.Request) {
	base := p.s.baseURL(r)
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	}
	set := urlset{URLs: []sitemapURL{{Loc: base + "/blog/"}, {Loc: base + collectionsPath}}}
	for _, b := range p.s.archive.blogList() {
		set.URLs = append(set.URLs, sitemapURL{Loc: base + blogPath(b.Name), LastMod: day(b.Updated)})
	}
	for _, c := range p.s.archive.collectionList() {
		ed, ok := c.Latest()
		if !ok {
			continue
		}
		set.URLs = append(set.URLs, sitemapURL{Loc: base + collectionPath(c.ID), LastMod: day(ed.Published)})
		for _, e := range c.Editions {
			set.URLs = append(set.URLs, sitemapURL{Loc: base + editionPath(c.ID, e.N), LastMod: day(e.Published)})
		}
	}
	for _, post := range p.s.archive.allPosts() {
		if len(set.URLs) >= maxSitemapURLs {
			break
		}
		set.URLs = append(set.URLs, sitemapURL{Loc: base + postPath(post.Blog, post.Slug), LastMod: day(post.Updated)})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(set); err != nil {
		p.ui.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(buf.Bytes())
}

func (p *Pages) robots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	fmt.Fprintf(w, "User-agent: *\nDisallow: /api/\nDisallow: /blog/write/\nDisallow: /identity/\nAllow: /\n\nSitemap: %s/sitemap.xml\n", p.s.baseURL(r))
}

// baseURL is the site's address for absolute links: the configured public
// URL, else the request's own scheme and host.
func (s *Service) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if u, err := url.Parse("http://" + host); err != nil || u.Host != host {
		host = "localhost"
	}
	return scheme + "://" + host
}
