package blog

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// The writers' pages under /blog/write/: a member's blogs and the form to
// open one; a blog's desk (posts in every state, co-authors); the editor
// with its preview and image upload; a post's revisions and the diff
// between two of them. Every action is a form posted to the page it came
// from, answered with a redirect (or the form again with its errors).

const pathLogIn = "/identity/login"

// maxWriteFormBytes bounds an editor form: a post of MaxPostBytes, sent
// form-encoded (which can triple non-ASCII text), and the other fields.
const maxWriteFormBytes = 3*MaxPostBytes + 64<<10

func (p *Pages) mountWriting(r chi.Router) {
	r.Route("/write", func(r chi.Router) {
		r.Get("/", p.desk)
		r.Post("/", p.createBlog)
		r.Get("/{blog}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, writeBlogPath(chi.URLParam(r, "blog")), http.StatusMovedPermanently)
		})
		r.Get("/{blog}/", p.blogDesk)
		r.Post("/{blog}/", p.saveBlogDesk)
		r.Get("/{blog}/new", p.newPost)
		r.Post("/{blog}/new", p.saveNewPost)
		r.Post("/{blog}/images", p.uploadImage)
		r.Get("/{blog}/posts/{slug}", p.editPost)
		r.Post("/{blog}/posts/{slug}", p.saveEditedPost)
		r.Get("/{blog}/posts/{slug}/revisions", p.revisions)
		r.Get("/{blog}/posts/{slug}/diff", p.diff)
	})
}

func (p *Pages) requireVisitor(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		next := r.URL.Path
		if r.Method != http.MethodGet {
			next = deskPath
		}
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(next), http.StatusSeeOther)
	}
	return who, ok
}

func (p *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if httpserver.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		p.ui.BadRequest(w, r, status)
		return false
	}
	return true
}

// fail answers the errors a writer's page may meet that are not about a
// field: a blog or post that is not there, or not theirs.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBlogNotFound), errors.Is(err, ErrPostNotFound):
		p.ui.NotFound(w, r)
	case errors.Is(err, ErrNotWriter), errors.Is(err, ErrNotOwner):
		p.t.Render(w, r, http.StatusForbidden, "forbidden", web.Page{Title: "blog.forbidden.title"})
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		p.ui.Error(w, r, err)
	}
}

// formErrors moves a command's problems onto a form, in the visitor's
// language; it reports false for errors that are not about fields.
func formErrors(tr web.Translator, f *web.Form, err error) bool {
	var invalid *ValidationError
	var clash *ConflictError
	switch {
	case errors.As(err, &invalid):
		for _, pr := range invalid.Problems {
			f.Fail(formField(pr.Field), problemText(tr, pr.Code, pr.Args, pr.Message))
		}
		return true
	case errors.As(err, &clash):
		msg := problemText(tr, clash.Code, clash.Args, clash.Message)
		if clash.Href != "" {
			f.FailLink(formField(clash.Field), msg, tr.T("blog.err.see_it"), clash.Href)
		} else {
			f.Fail(formField(clash.Field), msg)
		}
		return true
	case errors.Is(err, ErrWithdrawn):
		f.Fail("", tr.T("blog.err.withdrawn"))
		return true
	}
	return false
}

// formField maps an API field name to the form's input name.
func formField(apiField string) string {
	switch apiField {
	case "markdown", "title", "slug", "tags", "summary", "name", "title_en", "description", "user_id", "image", "author":
		return apiField
	}
	return ""
}

// problemText is a problem in the visitor's language when the catalogue
// has its code, in English otherwise.
func problemText(tr web.Translator, code string, args []string, english string) string {
	key := "blog.err." + code
	if code == "" || !tr.Has(key) {
		return english
	}
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	return tr.T(key, a...)
}

type deskData struct {
	Blogs []deskBlog
	Form  *web.Form
}

type deskBlog struct {
	Name, Title, Href, DeskHref string
	Owner                       bool
}

func (p *Pages) desk(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	p.renderDesk(w, r, who, web.NewForm(), http.StatusOK)
}

func (p *Pages) renderDesk(w http.ResponseWriter, r *http.Request, who auth.Principal, f *web.Form, status int) {
	d := deskData{Form: f}
	for _, b := range p.s.archive.writableBlogs(who.UserID) {
		d.Blogs = append(d.Blogs, deskBlog{Name: b.Name, Title: b.Title, Href: blogPath(b.Name), DeskHref: writeBlogPath(b.Name), Owner: b.Owner == who.UserID})
	}
	p.t.Render(w, r, status, "desk", web.Page{Title: "blog.desk.title", Data: d})
}

func (p *Pages) createBlog(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	in := BlogInput{Name: r.PostForm.Get("name"), Title: r.PostForm.Get("title"), TitleEn: r.PostForm.Get("title_en"), Description: r.PostForm.Get("description")}
	b, err := p.s.CreateBlog(r.Context(), who, in, "")
	if err != nil {
		f := web.NewForm()
		for _, k := range []string{"name", "title", "title_en", "description"} {
			f.Set(k, r.PostForm.Get(k))
		}
		if !formErrors(p.tr(r), f, err) {
			p.fail(w, r, err)
			return
		}
		p.renderDesk(w, r, who, f, http.StatusUnprocessableEntity)
		return
	}
	p.s.settle(r)
	p.ui.SetFlash(w, r, "blog.flash.blog_created")
	http.Redirect(w, r, writeBlogPath(b.Name), http.StatusSeeOther)
}

type blogDeskData struct {
	Blog       Blog
	Owner      bool
	Href       string
	NewHref    string
	Posts      []deskRow
	Coauthors  []Coauthor
	Form       *web.Form
	CoForm     *web.Form
	DeleteForm *web.Form
}

type deskRow struct {
	Title, EditHref, ReadHref, RevisionsHref string
	Revision                                 int
	State                                    string // translated
	Updated                                  time.Time
}

func (p *Pages) blogDesk(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	p.renderBlogDesk(w, r, who, nil, nil, http.StatusOK)
}

func (p *Pages) renderBlogDesk(w http.ResponseWriter, r *http.Request, who auth.Principal, f, co *web.Form, status int) {
	p.renderBlogDeskWith(w, r, who, f, co, nil, status)
}

func (p *Pages) renderBlogDeskWith(w http.ResponseWriter, r *http.Request, who auth.Principal, f, co, del *web.Form, status int) {
	name := chi.URLParam(r, "blog")
	b, err := p.s.WritableBlog(r.Context(), who, name)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	tr := p.tr(r)
	if f == nil {
		f = web.NewFormIn("blog")
		f.Set("title", b.Title)
		f.Set("title_en", b.TitleEn)
		f.Set("description", b.Description)
	}
	if co == nil {
		co = web.NewFormIn("co")
	}
	if del == nil {
		del = web.NewFormIn("del")
	}
	d := blogDeskData{Blog: b, Owner: b.Owner == who.UserID, Href: blogPath(name), NewHref: writeNewPath(name), Form: f, CoForm: co, DeleteForm: del}
	seen := map[string]bool{}
	for _, dp := range p.s.archive.deskPosts(name) {
		seen[dp.Slug] = true
		row := deskRow{Title: dp.Title, EditHref: writePostPath(name, dp.Slug), RevisionsHref: writeRevisionsPath(name, dp.Slug), Revision: dp.Revision, Updated: dp.Updated}
		switch {
		case dp.Withdrawn:
			row.State, row.EditHref = tr.T("blog.state.withdrawn"), ""
		case dp.Published:
			row.State, row.ReadHref = tr.T("blog.state.published"), postPath(name, dp.Slug)
		default:
			row.State = tr.T("blog.state.draft")
		}
		d.Posts = append(d.Posts, row)
	}
	if posts, ok := p.s.archive.posts(name); ok {
		for _, info := range posts {
			if !seen[info.Slug] {
				d.Posts = append(d.Posts, deskRow{Title: info.Title, EditHref: writePostPath(name, info.Slug), ReadHref: postPath(name, info.Slug),
					RevisionsHref: writeRevisionsPath(name, info.Slug), Revision: info.Revision, State: tr.T("blog.state.imported"), Updated: info.Updated})
			}
		}
	}
	d.Coauthors = p.s.blogView(b).Coauthors
	p.t.Render(w, r, status, "blogdesk", web.Page{TitleText: tr.T("blog.desk.blog_title", "name", cmpOr(b.Title, name)), Data: d})
}

// saveBlogDesk takes the owner's forms of the blog desk: the blog's
// details, and adding or removing a co-author.
func (p *Pages) saveBlogDesk(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	name := chi.URLParam(r, "blog")
	pf := r.PostForm
	tr := p.tr(r)
	switch pf.Get("action") {
	case "details":
		_, err := p.s.UpdateBlog(r.Context(), who, BlogInput{Name: name, Title: pf.Get("title"), TitleEn: pf.Get("title_en"), Description: pf.Get("description")})
		if err != nil {
			f := web.NewFormIn("blog")
			for _, k := range []string{"title", "title_en", "description"} {
				f.Set(k, pf.Get(k))
			}
			if !formErrors(tr, f, err) {
				p.fail(w, r, err)
				return
			}
			p.renderBlogDesk(w, r, who, f, nil, http.StatusUnprocessableEntity)
			return
		}
		p.ui.SetFlash(w, r, "blog.flash.blog_saved")
	case "delete_blog":
		// The owner confirms by typing the blog's name: one click on the
		// wrong button must not take a blog down for good.
		if strings.TrimSpace(pf.Get("confirm_name")) != name {
			del := web.NewFormIn("del")
			del.Fail("confirm_name", tr.T("blog.desk.delete_confirm_mismatch", "name", name))
			p.renderBlogDeskWith(w, r, who, nil, nil, del, http.StatusUnprocessableEntity)
			return
		}
		if err := p.s.DeleteBlog(r.Context(), who, name); err != nil {
			p.fail(w, r, err)
			return
		}
		p.s.settle(r)
		p.ui.SetFlash(w, r, "blog.flash.blog_deleted")
		http.Redirect(w, r, deskPath, http.StatusSeeOther)
		return
	case "add_coauthor", "remove_coauthor":
		id := AccountIDFrom(pf.Get("user_id"))
		_, err := p.s.SetCoauthor(r.Context(), who, name, id, pf.Get("name"), pf.Get("action") == "remove_coauthor")
		if err != nil {
			co := web.NewFormIn("co")
			co.Set("user_id", pf.Get("user_id"))
			co.Set("name", pf.Get("name"))
			if !formErrors(tr, co, err) {
				p.fail(w, r, err)
				return
			}
			p.renderBlogDesk(w, r, who, nil, co, http.StatusUnprocessableEntity)
			return
		}
		p.ui.SetFlash(w, r, "blog.flash.coauthors_saved")
	default:
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	p.s.settle(r)
	http.Redirect(w, r, writeBlogPath(name), http.StatusSeeOther)
}

type editorData struct {
	Blog, BlogTitle, BlogDeskHref string
	New                           bool
	Action                        string
	ImageAction                   string
	Form                          *web.Form
	Preview                       template.HTML
	Previewed                     bool
	Revision                      int
	Published                     bool
	ReadHref, RevisionsHref       string
	ImageMarkdown                 string
	MaxSize                       string
}

func (p *Pages) newPost(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	b, err := p.s.WritableBlog(r.Context(), who, chi.URLParam(r, "blog"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	f := web.NewForm()
	if img := r.URL.Query().Get("image"); imageName.MatchString(img) {
		f.Set("image_markdown", "![]("+imagePath(img)+")")
	}
	p.renderEditor(w, r, b, "", f, Post{}, "", http.StatusOK)
}

func (p *Pages) editPost(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	b, err := p.s.WritableBlog(r.Context(), who, chi.URLParam(r, "blog"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	slug := chi.URLParam(r, "slug")
	post, err := loadPost(r.Context(), p.s.store, b.Name, slug)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !post.Exists || post.Withdrawn {
		p.ui.NotFound(w, r)
		return
	}
	f := web.NewForm()
	f.Set("title", post.Content.Title)
	f.Set("markdown", post.Content.Body)
	f.Set("tags", strings.Join(post.Content.Tags, ", "))
	f.Set("summary", post.Content.Summary)
	f.Set("base_revision", strconv.Itoa(post.Revision))
	if post.Published {
		f.Set("published", "on")
	}
	if img := r.URL.Query().Get("image"); imageName.MatchString(img) {
		f.Set("image_markdown", "![]("+imagePath(img)+")")
	}
	p.renderEditor(w, r, b, slug, f, post, "", http.StatusOK)
}

func (p *Pages) renderEditor(w http.ResponseWriter, r *http.Request, b Blog, slug string, f *web.Form, post Post, preview template.HTML, status int) {
	tr := p.tr(r)
	d := editorData{Blog: b.Name, BlogTitle: cmpOr(b.Title, b.Name), BlogDeskHref: writeBlogPath(b.Name), New: slug == "", Form: f,
		Preview: preview, Previewed: preview != "", Revision: post.Revision, Published: post.Published,
		ImageMarkdown: f.Value("image_markdown"), MaxSize: byteSize(int(p.s.cfg.MaxImageBytes))}
	title := tr.T("blog.editor.new_title")
	if d.New {
		d.Action = writeNewPath(b.Name)
	} else {
		d.Action = writePostPath(b.Name, slug)
		d.RevisionsHref = writeRevisionsPath(b.Name, slug)
		if post.Published {
			d.ReadHref = postPath(b.Name, slug)
		}
		title = tr.T("blog.editor.edit_title", "title", post.Content.Title)
	}
	d.ImageAction = writeBlogPath(b.Name) + "images?back=" + url.QueryEscape(d.Action)
	p.t.Render(w, r, status, "editor", web.Page{TitleText: title, Data: d})
}

func (p *Pages) saveNewPost(w http.ResponseWriter, r *http.Request) { p.savePost(w, r, true) }

func (p *Pages) saveEditedPost(w http.ResponseWriter, r *http.Request) { p.savePost(w, r, false) }

// savePost takes the editor's form: "preview" renders the text below the
// form exactly as readers will see it; "save" writes it.
func (p *Pages) savePost(w http.ResponseWriter, r *http.Request, isNew bool) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	b, err := p.s.WritableBlog(r.Context(), who, chi.URLParam(r, "blog"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	pf := r.PostForm
	slug := chi.URLParam(r, "slug")
	if isNew {
		slug = strings.TrimSpace(pf.Get("slug"))
	}
	f := web.NewForm()
	for _, k := range []string{"slug", "title", "markdown", "tags", "summary", "published", "base_revision"} {
		f.Set(k, pf.Get(k))
	}
	in := PostInput{Slug: slug, Title: pf.Get("title"), Markdown: pf.Get("markdown"), Tags: splitTags(pf.Get("tags")),
		Summary: pf.Get("summary"), Published: pf.Get("published") != ""}
	in.BaseRevision, _ = strconv.Atoi(pf.Get("base_revision"))
	var post Post
	if !isNew {
		if post, err = loadPost(r.Context(), p.s.store, b.Name, slug); err != nil {
			p.fail(w, r, err)
			return
		}
		if !post.Exists || post.Withdrawn {
			p.ui.NotFound(w, r)
			return
		}
	}
	editorSlug := slug
	if isNew {
		editorSlug = ""
	}
	if pf.Get("action") == "preview" {
		p.renderEditor(w, r, b, editorSlug, f, post, Preview(in.Title, in.Markdown), http.StatusOK)
		return
	}
	var saved Saved
	if isNew {
		saved, err = p.s.CreatePost(r.Context(), who, b.Name, in, "")
	} else {
		saved, err = p.s.EditPost(r.Context(), who, b.Name, slug, in)
	}
	if err != nil {
		if !formErrors(p.tr(r), f, err) {
			p.fail(w, r, err)
			return
		}
		p.renderEditor(w, r, b, editorSlug, f, post, "", http.StatusUnprocessableEntity)
		return
	}
	p.s.settle(r)
	switch {
	case !saved.Changed:
		p.ui.SetFlash(w, r, "blog.flash.unchanged")
	case saved.Published:
		p.ui.SetFlash(w, r, "blog.flash.published")
	default:
		p.ui.SetFlash(w, r, "blog.flash.draft_saved")
	}
	http.Redirect(w, r, writePostPath(b.Name, saved.Slug), http.StatusSeeOther)
}

// splitTags reads the editor's tag field: commas (also the Chinese ones)
// separate tags.
func splitTags(s string) []string {
	s = strings.NewReplacer("，", ",", "、", ",").Replace(s)
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// uploadImage takes the editor's image form (multipart) and goes back to
// the editor with the Markdown that shows the image.
func (p *Pages) uploadImage(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	b, err := p.s.WritableBlog(r.Context(), who, chi.URLParam(r, "blog"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	back := r.URL.Query().Get("back")
	if !strings.HasPrefix(back, writeBlogPath(b.Name)) || strings.ContainsAny(back, "\\") || strings.HasPrefix(back, "//") {
		back = writeNewPath(b.Name)
	}
	file, _, err := r.FormFile("image")
	if err != nil {
		if httpserver.IsTooLarge(err) {
			p.ui.SetFlash(w, r, "blog.flash.image_too_large")
		} else {
			p.ui.SetFlash(w, r, "blog.flash.image_missing")
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	defer file.Close()
	name, err := p.s.images.put(file)
	switch {
	case errors.Is(err, ErrImageTooLarge):
		p.ui.SetFlash(w, r, "blog.flash.image_too_large")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	case errors.Is(err, ErrNotImage):
		p.ui.SetFlash(w, r, "blog.flash.image_not_image")
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "blog.flash.image_uploaded")
	http.Redirect(w, r, back+"?image="+url.QueryEscape(name), http.StatusSeeOther)
}

type revisionsData struct {
	Blog, Slug, Title         string
	EditHref, ReadHref, DiffA string
	Rows                      []revisionRow
	DiffAction                string
	From, To                  int
}

type revisionRow struct {
	RevisionInfo
	State string
}

func (p *Pages) revisions(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	blog, slug := chi.URLParam(r, "blog"), chi.URLParam(r, "slug")
	post, revs, err := p.s.Revisions(r.Context(), who, blog, slug)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	tr := p.tr(r)
	d := revisionsData{Blog: blog, Slug: slug, Title: post.Content.Title, EditHref: writePostPath(blog, slug), DiffAction: writePostPath(blog, slug) + "/diff"}
	if post.Published {
		d.ReadHref = postPath(blog, slug)
	}
	for _, rv := range revs {
		st := tr.T("blog.state.draft")
		if rv.Public {
			st = tr.T("blog.state.published")
		}
		if rv.erased {
			rv.Editor = strings.Join(slices.DeleteFunc([]string{rv.Editor, tr.Person("")}, func(n string) bool { return n == "" }), nameSeparator(tr))
		}
		d.Rows = append(d.Rows, revisionRow{RevisionInfo: rv, State: st})
	}
	if len(revs) > 1 {
		d.From, d.To = revs[1].Revision, revs[0].Revision
	} else if len(revs) == 1 {
		d.From, d.To = revs[0].Revision, revs[0].Revision
	}
	p.t.Render(w, r, http.StatusOK, "revisions", web.Page{TitleText: tr.T("blog.revisions.title", "title", post.Content.Title), Data: d})
}

type diffData struct {
	Title, RevisionsHref string
	From, To             int
	Lines                []diffLine
	Same                 bool
}

type diffLine struct {
	Kind string // "add", "del", "hunk", "ctx", "file"
	Text string
}

func (p *Pages) diff(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	blog, slug := chi.URLParam(r, "blog"), chi.URLParam(r, "slug")
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	to, _ := strconv.Atoi(r.URL.Query().Get("to"))
	d, err := p.s.Diff(r.Context(), who, blog, slug, from, to)
	var invalid *ValidationError
	if errors.As(err, &invalid) {
		p.ui.NotFound(w, r)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	post, _, err := p.s.Revisions(r.Context(), who, blog, slug)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	tr := p.tr(r)
	data := diffData{Title: post.Content.Title, RevisionsHref: writeRevisionsPath(blog, slug), From: from, To: to, Same: d.Unified == ""}
	for _, line := range strings.SplitAfter(d.Unified, "\n") {
		if line == "" {
			continue
		}
		text := strings.TrimSuffix(line, "\n")
		kind := "ctx"
		switch {
		case strings.HasPrefix(text, "+++"), strings.HasPrefix(text, "---"):
			kind = "file"
		case strings.HasPrefix(text, "@@"):
			kind = "hunk"
		case strings.HasPrefix(text, "+"):
			kind = "add"
		case strings.HasPrefix(text, "-"):
			kind = "del"
		}
		data.Lines = append(data.Lines, diffLine{Kind: kind, Text: text})
	}
	p.t.Render(w, r, http.StatusOK, "diff", web.Page{TitleText: tr.T("blog.diff.title", "from", strconv.Itoa(from), "to", strconv.Itoa(to)), Data: data})
}

// writtenNames are the names of the post's authors a page links to
// author pages, for the post page.
// authorLinks links each author to their page; an erased person has
// none, and is named as such.
func authorLinks(tr web.Translator, names []string) []namedLink {
	out := make([]namedLink, len(names))
	for i, n := range names {
		out[i] = namedLink{Name: tr.Person(n)}
		if n != "" {
			out[i].Href = authorPath(n)
		}
	}
	return out
}

func tagLinks(tags []string) []namedLink {
	out := make([]namedLink, len(tags))
	for i, t := range tags {
		out[i] = namedLink{Name: t, Href: tagPath(t)}
	}
	return out
}

type namedLink struct{ Name, Href string }
