package blog

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

//go:embed templates i18n
var pageFiles embed.FS

// Pages are the archive's public pages under /blog/: the blogs, one
// blog's posts (newest first, paginated) and each post.
type Pages struct {
	s  *Service
	ui *web.UI
	t  *web.Templates
}

// Pages parses the blog pages into ui's layout; a template or catalogue
// error is returned here, at start-up.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("blog pages: %w", err)
	}
	return &Pages{s: s, ui: ui, t: t}, nil
}

// postsPerPage is how many posts a blog page lists.
const postsPerPage = 20

// Mount adds the pages to r. session recognises a logged-in visitor for
// the frame (identity's page session in this binary); the pages show the
// same to everyone.
func (p *Pages) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	p.mountRoot(r)
	r.Route("/blog", func(r chi.Router) {
		r.Use(p.ui.Middleware)
		r.Use(session...)
		r.Use(pageBodyLimit)
		r.NotFound(p.ui.NotFound)
		r.Get("/", p.blogs)
		p.mountFeeds(r)
		p.mountCollections(r)
		r.Get("/{blog}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, blogPath(chi.URLParam(r, "blog")), http.StatusMovedPermanently)
		})
		r.Get("/tags/{tag}", p.tag)
		r.Get("/authors/{name}", p.author)
		p.mountWriting(r)
		r.Get("/{blog}/", p.blog)
		r.Get("/{blog}/{slug}", p.post)
	})
}

func (p *Pages) tr(r *http.Request) web.Translator { return p.t.Translator(web.LanguageOf(r)) }

type blogsData struct {
	Blogs []blogRow
}

type blogRow struct {
	Name   string
	Href   string
	Count  string
	Newest time.Time
}

func (p *Pages) blogs(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	var rows []blogRow
	for _, b := range p.s.archive.blogList() {
		rows = append(rows, blogRow{Name: p.blogTitle(b.Name), Href: blogPath(b.Name), Count: postCount(tr, b.Posts), Newest: b.Newest})
	}
	p.t.Render(w, r, http.StatusOK, "blogs", web.Page{Title: "blog.blogs.title", Data: blogsData{Blogs: rows}})
}

// postCount says "1 post", "276 posts", "276 篇文章".
func postCount(tr web.Translator, n int) string {
	if n == 1 {
		return tr.T("blog.count.one", "n", tr.Number(int64(n)))
	}
	return tr.T("blog.count.other", "n", tr.Number(int64(n)))
}

type blogData struct {
	Name        string
	Title       string
	Description string
	FeedHref    string
	Count       string
	Posts       []postRow
	Page        int
	Pages       int
	PageOf      string
	Newer       string // link to the previous page, "" on the first
	Older       string // link to the next page, "" on the last
}

type postRow struct {
	Title   string
	Href    string
	Date    time.Time
	By      string
	Summary string
}

func (p *Pages) blog(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "blog")
	all, ok := p.s.archive.posts(name)
	if _, written := p.s.archive.blogMeta(name); !ok && !written {
		p.ui.NotFound(w, r)
		return
	}
	tr := p.tr(r)
	pages := max(1, (len(all)+postsPerPage-1)/postsPerPage)
	page := 1
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > pages {
			p.ui.NotFound(w, r)
			return
		}
		page = n
	}
	d := blogData{Name: name, Count: postCount(tr, len(all)), Page: page, Pages: pages,
		PageOf: tr.T("blog.blog.page_of", "page", tr.Number(int64(page)), "pages", tr.Number(int64(pages)))}
	for _, post := range window(all, postsPerPage, (page-1)*postsPerPage) {
		d.Posts = append(d.Posts, postRow{
			Title: post.Title, Href: postPath(name, post.Slug), Date: post.Date,
			By: byLine(tr, post.Authors), Summary: post.Summary,
		})
	}
	if page > 1 {
		d.Newer = pageHref(name, page-1)
	}
	if page < pages {
		d.Older = pageHref(name, page+1)
	}
	d.Title = p.blogTitle(name)
	if b, ok := p.s.archive.blogMeta(name); ok {
		d.Description = b.Description
		if tr.Lang == web.English && b.TitleEn != "" {
			d.Title = b.TitleEn
		}
	}
	d.FeedHref = blogPath(name) + "feed.atom"
	p.t.Render(w, r, http.StatusOK, "blog", web.Page{TitleText: d.Title, Data: d, Alternates: p.blogFeeds(name),
		Meta: &web.PageMeta{Type: "website", Title: d.Title, Description: d.Description, URL: p.s.baseURL(r) + blogPath(name)}})
}

func pageHref(blog string, page int) string {
	if page == 1 {
		return blogPath(blog)
	}
	return blogPath(blog) + "?page=" + strconv.Itoa(page)
}

// byLine names the authors as each language lists names: "Russ Cox, Rob
// Pike", "杜勇、王坚".
func byLine(tr web.Translator, authors []string) string {
	if len(authors) == 0 {
		return ""
	}
	return tr.T("blog.post.by", "names", strings.Join(shownNames(tr, authors), nameSeparator(tr)))
}

type postData struct {
	Blog     string
	BlogHref string
	Title    string
	Date     time.Time
	Authors  []namedLink
	Sep      string
	Tags     []namedLink
	Summary  string
	HTML     template.HTML
	Source   string
	External bool // Source is an address a reader can open
	Updated  time.Time
	Revised  bool
	Revision int
	Prev     *namedLink
	Next     *namedLink
	EditHref string // for the blog's writers
}

func (p *Pages) post(w http.ResponseWriter, r *http.Request) {
	blog, slug := chi.URLParam(r, "blog"), chi.URLParam(r, "slug")
	info, content, found, err := p.s.loadForPage(r.Context(), blog, slug)
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	if !found {
		p.ui.NotFound(w, r)
		return
	}
	tr := p.tr(r)
	d := postData{
		Blog: p.blogTitle(blog), BlogHref: blogPath(blog), Title: info.Title, Date: info.Date,
		Authors: authorLinks(tr, info.Authors), Sep: nameSeparator(tr), Tags: tagLinks(info.Tags), Summary: info.Summary,
		HTML: p.s.renderer.Render(content), Source: info.Source,
		Updated: info.Updated, Revised: info.Revision > 1, Revision: info.Revision,
	}
	d.Prev, d.Next = p.neighbours(blog, slug)
	if who, ok := auth.FromContext(r.Context()); ok {
		if b, ok := p.s.archive.blogMeta(blog); ok && b.CanWrite(who.UserID) {
			d.EditHref = writePostPath(blog, slug)
		}
	}
	if u, err := url.Parse(info.Source); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		d.External = true
	}
	if content.Format == events.FormatHTML && d.Summary != "" && strings.HasPrefix(plainText(content.Body, 0), strings.TrimSuffix(d.Summary, "…")) {
		d.Summary = "" // a feed's excerpt of the text that follows says nothing new
	}
	desc := info.Summary
	if desc == "" {
		desc = plainText(string(d.HTML), 200) // what readers see, never the raw text with its markup
	}
	p.t.Render(w, r, http.StatusOK, "post", web.Page{TitleText: info.Title, Data: d,
		Alternates: p.blogFeeds(blog),
		Meta:       &web.PageMeta{Type: "article", Title: info.Title, Description: desc, URL: p.s.baseURL(r) + postPath(blog, slug)}})
}

// blogTitle is how pages name a blog: its title when it has one.
func (p *Pages) blogTitle(blog string) string {
	if b, ok := p.s.archive.blogMeta(blog); ok && b.Title != "" {
		return b.Title
	}
	return blog
}

func (p *Pages) blogFeeds(blog string) []web.Alternate {
	title := p.blogTitle(blog)
	return []web.Alternate{
		{Type: "application/atom+xml", Title: title + " (Atom)", Href: blogPath(blog) + "feed.atom"},
		{Type: "application/rss+xml", Title: title + " (RSS)", Href: blogPath(blog) + "feed.rss"},
	}
}

// neighbours are the posts before and after slug in its blog: older and
// newer for dated posts, the chapters around it for an undated book.
func (p *Pages) neighbours(blog, slug string) (prev, next *namedLink) {
	all, _ := p.s.archive.posts(blog)
	for i, post := range all {
		if post.Slug != slug {
			continue
		}
		link := func(j int) *namedLink {
			if j < 0 || j >= len(all) || all[j].Date.IsZero() != post.Date.IsZero() {
				return nil
			}
			return &namedLink{Name: all[j].Title, Href: postPath(blog, all[j].Slug)}
		}
		if post.Date.IsZero() {
			return link(i - 1), link(i + 1)
		}
		return link(i + 1), link(i - 1)
	}
	return nil, nil
}

// shownNames are authors as pages name them, an erased person included.
func shownNames(tr web.Translator, authors []string) []string {
	out := make([]string, len(authors))
	for i, n := range authors {
		out[i] = tr.Person(n)
	}
	return out
}

func nameSeparator(tr web.Translator) string {
	if tr.Lang == web.Chinese {
		return "、"
	}
	return ", "
}

type postListData struct {
	Heading, Count, FeedHref, RSSHref, Profile string
	Posts                                      []listRow
}

type listRow struct {
	Title, Href, Blog, BlogHref, By, Summary string
	Date                                     time.Time
}

func (p *Pages) listPage(w http.ResponseWriter, r *http.Request, heading, base string, posts []*PostInfo, profile string) {
	tr := p.tr(r)
	d := postListData{Heading: heading, Count: postCount(tr, len(posts)), FeedHref: base + "/feed.atom", RSSHref: base + "/feed.rss", Profile: profile}
	for _, post := range window(posts, 100, 0) {
		d.Posts = append(d.Posts, listRow{Title: post.Title, Href: postPath(post.Blog, post.Slug), Blog: p.blogTitle(post.Blog),
			BlogHref: blogPath(post.Blog), By: byLine(tr, post.Authors), Summary: post.Summary, Date: post.Date})
	}
	p.t.Render(w, r, http.StatusOK, "postlist", web.Page{TitleText: heading, Data: d, Alternates: []web.Alternate{
		{Type: "application/atom+xml", Title: heading + " (Atom)", Href: d.FeedHref},
		{Type: "application/rss+xml", Title: heading + " (RSS)", Href: d.RSSHref},
	}})
}

func (p *Pages) tag(w http.ResponseWriter, r *http.Request) {
	tag := chi.URLParam(r, "tag")
	posts := p.s.archive.postsWhere(func(pi *PostInfo) bool { return slices.Contains(pi.Tags, tag) })
	if len(posts) == 0 {
		p.ui.NotFound(w, r)
		return
	}
	p.listPage(w, r, p.tr(r).T("blog.tag.heading", "tag", tag), tagPath(tag), posts, "")
}

func (p *Pages) author(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	posts := p.s.archive.postsWhere(func(pi *PostInfo) bool { return slices.Contains(pi.Authors, name) })
	if len(posts) == 0 {
		p.ui.NotFound(w, r)
		return
	}
	p.listPage(w, r, name, authorPath(name), posts, p.s.archive.accountOf(name, posts))
}

// pageBodyLimit bounds request bodies of the blog pages: reading pages take
// none, so a small limit answers early; forms (the editor above all) get
// the editor's limit here, and each form route may set a smaller one.
func pageBodyLimit(next http.Handler) http.Handler {
	small, large := httpserver.LimitBody(4<<10)(next), httpserver.LimitBody(maxWriteFormBytes)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			small.ServeHTTP(w, r)
			return
		}
		large.ServeHTTP(w, r)
	})
}
