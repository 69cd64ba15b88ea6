package blog

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"golang.org/x/net/html"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// The collection pages under /blog/collections: the published books and
// the organisers' form to start one; a book's newest edition, or any
// edition, with its cover, preface and table of contents; each chapter at
// the revision its edition pinned; find-in-book; the EPUB and the print
// view; and the curators' page. They keep their templates and catalogue
// in bookpages/, apart from the other blog pages.

//go:embed bookpages
var bookFiles embed.FS

// bookPages are the collection pages of one Pages. Pages is built where
// the collection pages cannot reach, so their templates are loaded on
// first use, once.
type bookPages struct {
	p    *Pages
	s    *Service
	ui   *web.UI
	once sync.Once
	t    *web.Templates
	err  error
}

var bookPagesOf sync.Map // *Pages → *bookPages

func (p *Pages) book() *bookPages {
	v, _ := bookPagesOf.LoadOrStore(p, &bookPages{p: p, s: p.s, ui: p.ui})
	return v.(*bookPages)
}

// load parses the templates; an error is what start-up would have
// reported, and every collection page answers it as a server error.
func (b *bookPages) load() error {
	b.once.Do(func() {
		sub, err := fs.Sub(bookFiles, "bookpages")
		if err == nil {
			b.t, err = b.ui.Load(sub)
		}
		if err != nil {
			b.err = fmt.Errorf("collection pages: %w", err)
		}
	})
	return b.err
}

// bookCSS is the collection pages' stylesheet. The site's
// Content-Security-Policy allows no inline style, and the shared
// stylesheet belongs to the whole site, so the pages link their own; its
// address carries its hash, so it may be kept for good.
var (
	bookCSS     = must(bookFiles.ReadFile("bookpages/book.css"))
	bookCSSHash = func() string { sum := sha256.Sum256(bookCSS); return hex.EncodeToString(sum[:8]) }()
	bookCSSHref = collectionsPath + "book.css?v=" + bookCSSHash
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// maxCollectionFormBytes bounds a form with a preface (sent
// form-encoded, which can triple non-ASCII text) and the other fields.
const maxCollectionFormBytes = 3*maxPrefaceBytes + 64<<10

// mountCollections adds the collection pages under /blog/collections.
func (p *Pages) mountCollections(r chi.Router) {
	b := p.book()
	if err := b.load(); err != nil {
		p.s.log.Error("collection pages do not load", "err", err)
	}
	form := httpserver.LimitBody(maxCollectionFormBytes)
	r.Get("/images/{name}", b.image)
	r.Get("/collections/book.css", b.stylesheet)
	r.Group(func(r chi.Router) {
		r.Use(b.ready)
		r.Get("/collections/", b.collections)
		r.With(form).Post("/collections/", b.createCollection)
		r.Get("/collections/{id}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, collectionPath(chi.URLParam(r, "id")), http.StatusMovedPermanently)
		})
		r.Get("/collections/{id}/", b.collection)
		r.Get("/collections/{id}/search", b.search)
		r.Get("/collections/{id}/book.epub", b.epub)
		r.Get("/collections/{id}/print", b.print)
		r.Get("/collections/{id}/curate", b.curate)
		r.With(form).Post("/collections/{id}/details", b.saveDetails)
		r.Post("/collections/{id}/chapters", b.saveChapters)
		r.Post("/collections/{id}/publish", b.publish)
		r.Get("/collections/{id}/editions/{n}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, collectionPath(chi.URLParam(r, "id"))+"editions/"+url.PathEscape(chi.URLParam(r, "n"))+"/", http.StatusMovedPermanently)
		})
		r.Get("/collections/{id}/editions/{n}/", b.collection)
		r.Get("/collections/{id}/editions/{n}/book.epub", b.epub)
		r.Get("/collections/{id}/editions/{n}/print", b.print)
		r.Get("/collections/{id}/editions/{n}/{k}", b.chapter)
	})
}

func (b *bookPages) ready(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := b.load(); err != nil {
			b.ui.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (b *bookPages) tr(r *http.Request) web.Translator { return b.t.Translator(web.LanguageOf(r)) }

// image serves an uploaded image. Its name is the hash of its bytes, so
// what is behind a name never changes and may be kept for good.
func (b *bookPages) image(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	f, mt, err := b.s.images.open(name)
	if err != nil {
		b.ui.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		b.ui.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+strings.TrimSuffix(name, "."+imageExt(name))+`"`)
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

func imageExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

func (b *bookPages) stylesheet(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("ETag", `"`+bookCSSHash+`"`)
	if r.URL.Query().Get("v") == bookCSSHash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, "book.css", time.Time{}, bytes.NewReader(bookCSS))
}

// frame is what every collection page's template needs besides its data.
type frame struct {
	CSS string
}

func newFrame() frame { return frame{CSS: bookCSSHref} }

// visitor is who is looking, "" for nobody.
func visitor(r *http.Request) (auth.Principal, bool) { return auth.FromContext(r.Context()) }

// bookTitle is the title a visitor reads: the English one for English
// visitors when the book has one.
func bookTitle(tr web.Translator, d events.CollectionDetails, id string) string {
	if tr.Lang == web.English && d.TitleEn != "" {
		return d.TitleEn
	}
	if d.Title == "" {
		return id
	}
	return d.Title
}

type collectionsData struct {
	frame
	Books []bookRow
	Form  *web.Form // nil: the visitor may not start a collection
}

type bookRow struct {
	Title, Subtitle, Href, Cover string
	Edition                      int
	Published                    time.Time
	Chapters                     int
	Draft                        bool // not published yet; the visitor curates it
}

func (b *bookPages) collections(w http.ResponseWriter, r *http.Request) {
	var f *web.Form
	if who, ok := visitor(r); ok && who.HasRole(auth.RoleOrganizer) {
		f = web.NewFormIn("new")
		f.Set("language", "zh-CN")
	}
	b.renderCollections(w, r, f, http.StatusOK)
}

func (b *bookPages) renderCollections(w http.ResponseWriter, r *http.Request, f *web.Form, status int) {
	tr := b.tr(r)
	who, _ := visitor(r)
	d := collectionsData{frame: newFrame(), Form: f}
	for _, c := range b.s.archive.collectionList() {
		ed, published := c.Latest()
		if !published && !b.s.MayCurate(who, c) {
			continue
		}
		det := c.Details
		row := bookRow{Href: collectionPath(c.ID), Draft: !published, Chapters: len(c.Chapters)}
		if published {
			det = ed.Details
			row.Edition, row.Published, row.Chapters = ed.N, ed.Published, len(ed.Chapters)
		}
		row.Title, row.Subtitle = bookTitle(tr, det, c.ID), det.Subtitle
		if det.Cover != "" {
			row.Cover = imagePath(det.Cover)
		}
		d.Books = append(d.Books, row)
	}
	// Published books first, newest edition first; the visitor's work in
	// progress after them.
	slices.SortStableFunc(d.Books, func(x, y bookRow) int {
		if x.Draft != y.Draft {
			if x.Draft {
				return 1
			}
			return -1
		}
		return y.Published.Compare(x.Published)
	})
	b.t.Render(w, r, status, "collections", web.Page{Title: "book.list.title", Data: d})
}

// requireVisitor sends an anonymous visitor to log in and then on to
// back: the page itself, or for a POST the page its form was on.
func (b *bookPages) requireVisitor(w http.ResponseWriter, r *http.Request, back string) (auth.Principal, bool) {
	who, ok := visitor(r)
	if !ok {
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(back), http.StatusSeeOther)
	}
	return who, ok
}

func (b *bookPages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if httpserver.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		b.ui.BadRequest(w, r, status)
		return false
	}
	return true
}

// fail answers what is not about a form's fields.
func (b *bookPages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrCollectionNotFound), errors.Is(err, ErrPostNotFound):
		b.ui.NotFound(w, r)
	case errors.Is(err, ErrNotWriter), errors.Is(err, ErrNotOwner):
		b.forbidden(w, r)
	default:
		b.ui.Error(w, r, err)
	}
}

func (b *bookPages) forbidden(w http.ResponseWriter, r *http.Request) {
	b.t.Render(w, r, http.StatusForbidden, "forbidden", web.Page{Title: "book.forbidden.title", Data: newFrame()})
}

// bookProblemText is a command's problem in the visitor's language, in
// English when the catalogue has no message for its code.
func bookProblemText(tr web.Translator, code string, args []string, english string) string {
	key := "book.err." + code
	if code == "" || !tr.Has(key) {
		return english
	}
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	return tr.T(key, a...)
}

// bookFormErrors moves a command's problems onto a form: field maps a
// command's field name to the form's input ("" for the form as a whole).
// It reports false for errors that are not about the input.
func bookFormErrors(tr web.Translator, f *web.Form, err error, field func(string) string) bool {
	var invalid *ValidationError
	var clash *ConflictError
	switch {
	case errors.As(err, &invalid):
		for _, pr := range invalid.Problems {
			f.Fail(field(pr.Field), bookProblemText(tr, pr.Code, pr.Args, pr.Message))
		}
		return true
	case errors.As(err, &clash):
		msg := bookProblemText(tr, clash.Code, clash.Args, clash.Message)
		if clash.Href != "" && clash.Code == "collection_taken" {
			f.FailLink(field(clash.Field), msg, tr.T("book.err.see_it"), clash.Href)
		} else {
			f.Fail(field(clash.Field), msg)
		}
		return true
	}
	return false
}

// detailFields are the inputs of the details forms, named as the
// commands name their fields.
var detailFields = []string{"id", "title", "title_en", "subtitle", "language", "cover", "preface"}

func detailField(name string) string {
	if slices.Contains(detailFields, name) {
		return name
	}
	return ""
}

// parseChapterLines reads the new-collection form's chapters: one
// blog/slug a line, optionally followed by " | part title". lines gives
// each chapter's line number, for the messages.
func parseChapterLines(text string) (chapters []events.CollectionChapter, lines []int, bad []int) {
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		post, part, _ := strings.Cut(line, "|")
		blog, slug, ok := strings.Cut(strings.TrimSpace(post), "/")
		if !ok {
			bad = append(bad, i+1)
			continue
		}
		chapters = append(chapters, events.CollectionChapter{Blog: strings.TrimSpace(blog), Slug: strings.TrimSpace(slug), Part: strings.TrimSpace(part)})
		lines = append(lines, i+1)
	}
	return chapters, lines, bad
}

func (b *bookPages) createCollection(w http.ResponseWriter, r *http.Request) {
	who, ok := b.requireVisitor(w, r, collectionsPath)
	if !ok || !b.parseForm(w, r) {
		return
	}
	tr := b.tr(r)
	pf := r.PostForm
	f := web.NewFormIn("new")
	for _, k := range append(slices.Clone(detailFields), "chapters") {
		f.Set(k, pf.Get(k))
	}
	chapters, lines, bad := parseChapterLines(pf.Get("chapters"))
	for _, n := range bad {
		f.Fail("chapters", tr.T("book.err.chapter_line", "line", strconv.Itoa(n)))
	}
	if !f.Valid() {
		b.renderCollections(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	in := CollectionInput{ID: pf.Get("id"), Title: pf.Get("title"), TitleEn: pf.Get("title_en"), Subtitle: pf.Get("subtitle"),
		Preface: pf.Get("preface"), Cover: pf.Get("cover"), Language: pf.Get("language"), Chapters: chapters}
	c, err := b.s.CreateCollection(r.Context(), who, in, "")
	if err != nil {
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			// A chapter's problem names its line, which is what the
			// visitor can find in the box.
			for i, pr := range invalid.Problems {
				if k, ok := chapterIndex(pr.Field); ok && k < len(lines) {
					invalid.Problems[i].Field = "chapters"
					invalid.Problems[i].Code, invalid.Problems[i].Args = "chapter_on_line",
						[]string{"line", strconv.Itoa(lines[k]), "problem", bookProblemText(tr, pr.Code, pr.Args, pr.Message)}
				}
			}
		}
		if !bookFormErrors(tr, f, err, func(field string) string {
			if field == "chapters" {
				return field
			}
			return detailField(field)
		}) {
			b.fail(w, r, err)
			return
		}
		b.renderCollections(w, r, f, http.StatusUnprocessableEntity)
		return
	}
	b.s.settle(r)
	b.ui.SetFlash(w, r, "book.flash.created")
	http.Redirect(w, r, curatePath(c.ID), http.StatusSeeOther)
}

// chapterIndex reads the index of a command's field chapters[i]….
func chapterIndex(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "chapters[")
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil
}

// shownCollection finds the collection of the address, if the visitor
// may see it: published, or theirs to curate.
func (b *bookPages) shownCollection(w http.ResponseWriter, r *http.Request) (Collection, bool, bool) {
	c, ok := b.s.archive.collection(chi.URLParam(r, "id"))
	who, _ := visitor(r)
	curator := ok && b.s.MayCurate(who, c)
	if !ok || (len(c.Editions) == 0 && !curator) {
		b.ui.NotFound(w, r)
		return Collection{}, false, false
	}
	return c, curator, true
}

// shownEdition is the edition the address names, the newest without one.
func (b *bookPages) shownEdition(w http.ResponseWriter, r *http.Request, c Collection) (Edition, bool) {
	v := chi.URLParam(r, "n")
	if v == "" {
		ed, ok := c.Latest()
		if !ok {
			b.ui.NotFound(w, r)
		}
		return ed, ok
	}
	n, err := strconv.Atoi(v)
	ed, ok := c.Edition(n)
	if err != nil || !ok || strconv.Itoa(n) != v {
		b.ui.NotFound(w, r)
		return Edition{}, false
	}
	return ed, true
}

type collectionData struct {
	frame
	ID, Title, Subtitle, Lang string
	Cover                     string
	Preface                   template.HTML
	Edition                   int // 0: the curators' work in progress
	Published                 time.Time
	Newest                    bool
	Parts                     []tocPart
	Editions                  []editionLink
	EPUBHref, PrintHref       string
	SearchHref                string
	CurateHref                string
	Missing                   []missingRow
}

// tocPart is a run of chapters with the same part title ("" for chapters
// outside any part).
type tocPart struct {
	Title    string
	Chapters []tocEntry
}

type tocEntry struct {
	N                int
	Title, Href, By  string
	Missing, Pending bool
	Post             string
}

type editionLink struct {
	N         int
	Href      string
	Published time.Time
	Current   bool
}

// missingRow names a chapter whose post readers cannot see.
type missingRow struct {
	N    int
	Post string
}

func (b *bookPages) missingRows(chapters []events.CollectionChapter) []missingRow {
	var out []missingRow
	for _, m := range b.s.missingChapters(chapters) {
		out = append(out, missingRow{N: m.Index + 1, Post: m.Blog + "/" + m.Slug})
	}
	return out
}

// groupParts groups a table of contents by part: consecutive chapters
// with the same part title form the part.
func groupParts(entries []tocEntry, parts []string) []tocPart {
	var out []tocPart
	for i, e := range entries {
		if len(out) == 0 || out[len(out)-1].Title != parts[i] {
			out = append(out, tocPart{Title: parts[i]})
		}
		out[len(out)-1].Chapters = append(out[len(out)-1].Chapters, e)
	}
	return out
}

func (b *bookPages) collection(w http.ResponseWriter, r *http.Request) {
	c, curator, ok := b.shownCollection(w, r)
	if !ok {
		return
	}
	tr := b.tr(r)
	d := collectionData{frame: newFrame(), ID: c.ID}
	det := c.Details
	var ed Edition
	if len(c.Editions) > 0 || chi.URLParam(r, "n") != "" {
		if ed, ok = b.shownEdition(w, r, c); !ok {
			return
		}
		det = ed.Details
		newest, _ := c.Latest()
		d.Edition, d.Published, d.Newest = ed.N, ed.Published, ed.N == newest.N
		d.EPUBHref, d.PrintHref = editionPath(c.ID, ed.N)+"book.epub", editionPath(c.ID, ed.N)+"print"
		d.SearchHref = collectionPath(c.ID) + "search"
		var entries []tocEntry
		var parts []string
		for i, ch := range ed.Chapters {
			entries = append(entries, tocEntry{N: i + 1, Title: cmpOr(ch.Title, ch.Blog+"/"+ch.Slug), Href: chapterPath(c.ID, ed.N, i+1), By: byNames(tr, ch.Authors)})
			parts = append(parts, ch.Part)
		}
		d.Parts = groupParts(entries, parts)
	} else {
		// Before the first edition a curator sees the chapters as they
		// stand, each leading to its post where readers can see one.
		var entries []tocEntry
		var parts []string
		for i, ch := range c.Chapters {
			e := tocEntry{N: i + 1, Title: ch.Blog + "/" + ch.Slug, Post: ch.Blog + "/" + ch.Slug, Pending: true}
			if info, ok := b.s.archive.post(ch.Blog, ch.Slug); ok {
				e.Title, e.Href, e.By = info.Title, postPath(ch.Blog, ch.Slug), byNames(tr, info.Authors)
			} else {
				e.Missing = true
			}
			entries = append(entries, e)
			parts = append(parts, ch.Part)
		}
		d.Parts = groupParts(entries, parts)
	}
	d.Title, d.Subtitle, d.Lang = bookTitle(tr, det, c.ID), det.Subtitle, cmpOr(det.Language, "en")
	if det.Cover != "" {
		d.Cover = imagePath(det.Cover)
	}
	if strings.TrimSpace(det.Preface) != "" {
		d.Preface = b.chapterLinks(RenderHTML(events.PostContent{Body: det.Preface}), c.ID, ed, firstBlog(ed.Chapters, c.Chapters), "")
	}
	for i := len(c.Editions) - 1; i >= 0; i-- {
		e := c.Editions[i]
		d.Editions = append(d.Editions, editionLink{N: e.N, Href: editionPath(c.ID, e.N), Published: e.Published, Current: e.N == ed.N})
	}
	if curator {
		d.CurateHref = curatePath(c.ID)
		d.Missing = b.missingRows(c.Chapters)
	}
	page := web.Page{TitleText: d.Title, Data: d, Alternates: b.feeds(c.ID, d.Title)}
	if d.Edition > 0 {
		base := b.s.baseURL(r)
		page.Meta = &web.PageMeta{Type: "book", Title: d.Title, Description: d.Subtitle, URL: base + collectionPath(c.ID)}
		if !d.Newest {
			page.Meta.URL = base + editionPath(c.ID, d.Edition)
		}
		if d.Cover != "" {
			page.Meta.Image = base + d.Cover
		}
	}
	b.t.Render(w, r, http.StatusOK, "collection", page)
}

func firstBlog(pinned []events.PublishedChapter, chapters []events.CollectionChapter) string {
	if len(pinned) > 0 {
		return pinned[0].Blog
	}
	if len(chapters) > 0 {
		return chapters[0].Blog
	}
	return ""
}

func (b *bookPages) feeds(id, title string) []web.Alternate {
	return []web.Alternate{
		{Type: "application/atom+xml", Title: title + " (Atom)", Href: collectionPath(id) + "feed.atom"},
		{Type: "application/rss+xml", Title: title + " (RSS)", Href: collectionPath(id) + "feed.rss"},
	}
}

// byNames is the authors as a by-line in the visitor's language.
func byNames(tr web.Translator, authors []string) string {
	if len(authors) == 0 {
		return ""
	}
	return tr.T("book.by", "names", strings.Join(shownNames(tr, authors), nameSeparator(tr)))
}

// chapterLinks makes the links of a chapter of edition ed (written in the
// post blog/slug) work on the book's pages: a link to a post of the book
// leads to its chapter in this edition, every other relative link to where
// it led from the post's page, and an image the archive lacks becomes a
// marked stand-in.
func (b *bookPages) chapterLinks(h template.HTML, id string, ed Edition, blog, slug string) template.HTML {
	links := b.s.bookLinks(ed)
	return rewriteHTML(h, htmlRewrite{
		link: func(href string) string {
			t := links.resolve(href, blog, slug)
			switch t.Kind {
			case linkSelf:
				return "#" + t.Fragment
			case linkChapter:
				return fragmentHref(chapterPath(id, ed.N, t.Chapter), t.Fragment)
			case linkSite, linkRemote:
				return t.Href
			case linkImage:
				return imagePath(t.Image)
			}
			return ""
		},
		image: func(src, alt string) (string, *html.Node) {
			t := links.resolve(src, blog, slug)
			switch t.Kind {
			case linkImage:
				return imagePath(t.Image), nil
			case linkRemote:
				return t.Href, nil
			}
			return "", missingImage(bookText(cmpOr(ed.Details.Language, "en"), "book.image.missing", "name", imageCaption(src)))
		},
	})
}

func fragmentHref(p, fragment string) string {
	if fragment == "" {
		return p
	}
	return p + "#" + url.PathEscape(fragment)
}

type chapterData struct {
	frame
	BookTitle, BookHref, TOCHref string
	Edition, N, Of               int
	Newest                       bool
	Part                         string
	Title                        string
	Authors                      []namedLink
	Sep                          string
	HTML                         template.HTML
	Missing                      bool
	Post                         string
	PostHref                     string
	Revision                     int
	Lang                         string
	Prev, Next                   *namedLink
}

func (b *bookPages) chapter(w http.ResponseWriter, r *http.Request) {
	c, _, ok := b.shownCollection(w, r)
	if !ok {
		return
	}
	ed, ok := b.shownEdition(w, r, c)
	if !ok {
		return
	}
	v := chi.URLParam(r, "k")
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 || k > len(ed.Chapters) || strconv.Itoa(k) != v {
		b.ui.NotFound(w, r)
		return
	}
	ch, _ := b.s.readChapter(r.Context(), c.ID, ed, k)
	tr := b.tr(r)
	newest, _ := c.Latest()
	d := chapterData{frame: newFrame(), BookTitle: bookTitle(tr, ed.Details, c.ID), BookHref: editionPath(c.ID, ed.N),
		Edition: ed.N, N: k, Of: len(ed.Chapters), Newest: ed.N == newest.N, Part: ch.Part, Title: ch.Title,
		Authors: authorLinks(tr, ch.Authors), Sep: nameSeparator(tr), Missing: ch.Missing, Post: ch.Blog + "/" + ch.Slug,
		PostHref: postPath(ch.Blog, ch.Slug), Revision: ch.Revision, Lang: cmpOr(ed.Details.Language, "en")}
	d.TOCHref = d.BookHref + "#contents"
	if !ch.Missing {
		d.HTML = b.chapterLinks(ch.HTML, c.ID, ed, ch.Blog, ch.Slug)
	}
	if k > 1 {
		d.Prev = &namedLink{Name: ed.Chapters[k-2].Title, Href: chapterPath(c.ID, ed.N, k-1)}
	}
	if k < len(ed.Chapters) {
		d.Next = &namedLink{Name: ed.Chapters[k].Title, Href: chapterPath(c.ID, ed.N, k+1)}
	}
	desc := plainText(string(d.HTML), 200)
	b.t.Render(w, r, http.StatusOK, "chapter", web.Page{TitleText: ch.Title, Data: d, Alternates: b.feeds(c.ID, d.BookTitle),
		Meta: &web.PageMeta{Type: "article", Title: ch.Title, Description: desc, URL: b.s.baseURL(r) + chapterPath(c.ID, ed.N, k)}})
}

type searchData struct {
	frame
	BookTitle, BookHref, Action string
	Edition                     int
	Query                       string
	Form                        *web.Form
	Searched                    bool
	Count                       string
	Results                     []searchResult
}

type searchResult struct {
	N       int
	Title   string
	Href    string
	Snippet template.HTML
}

// search finds words in the newest edition's chapters. It reads the text
// each chapter had at its pinned revision, which is why it is not the
// site's search: that index holds the posts as they are now, and a book
// must be searched as it was published.
func (b *bookPages) search(w http.ResponseWriter, r *http.Request) {
	c, _, ok := b.shownCollection(w, r)
	if !ok {
		return
	}
	ed, ok := c.Latest()
	if !ok {
		b.ui.NotFound(w, r)
		return
	}
	tr := b.tr(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{frame: newFrame(), BookTitle: bookTitle(tr, ed.Details, c.ID), BookHref: collectionPath(c.ID),
		Action: collectionPath(c.ID) + "search", Edition: ed.N, Query: q, Form: web.NewFormIn("find")}
	d.Form.Set("q", q)
	status := http.StatusOK
	switch n := utf8.RuneCountInString(q); {
	case n > maxQueryRunes:
		d.Form.Fail("q", tr.T("book.err.query_too_long", "max", tr.Number(maxQueryRunes), "n", tr.Number(int64(n))))
		status = http.StatusUnprocessableEntity
	case q != "":
		d.Searched = true
		for _, h := range findInBook(b.s.editionTexts(r.Context(), c.ID, ed), q) {
			d.Results = append(d.Results, searchResult{N: h.K, Title: h.Title, Href: chapterPath(c.ID, ed.N, h.K), Snippet: h.Snippet})
		}
		if len(d.Results) == 1 {
			d.Count = tr.T("book.search.count_one", "q", q)
		} else {
			d.Count = tr.T("book.search.count", "n", tr.Number(int64(len(d.Results))), "q", q)
		}
	}
	title := tr.T("book.search.title", "title", d.BookTitle)
	b.t.Render(w, r, status, "search", web.Page{TitleText: title, Data: d})
}

// epub sends an edition as an EPUB file.
func (b *bookPages) epub(w http.ResponseWriter, r *http.Request) {
	c, _, ok := b.shownCollection(w, r)
	if !ok {
		return
	}
	ed, ok := b.shownEdition(w, r, c)
	if !ok {
		return
	}
	book, err := b.s.editionEPUB(r.Context(), c, ed, b.s.baseURL(r))
	if err != nil {
		b.ui.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/epub+zip")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%d.epub"`, c.ID, ed.N))
	h.Set("ETag", book.etag)
	if chi.URLParam(r, "n") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable") // an edition never changes
	} else {
		h.Set("Cache-Control", "public, max-age=300") // the newest edition may become an older one
	}
	http.ServeContent(w, r, "", ed.Published, bytes.NewReader(book.data))
}

type printData struct {
	frame
	Lang, Title, Subtitle, Cover string
	Edition                      int
	Published                    time.Time
	Authors                      string
	BookHref                     string
	Preface                      template.HTML
	Parts                        []tocPart
	Chapters                     []printChapter
	L                            printLabels
}

// printLabels are the words the printed book carries, in the book's
// language rather than its reader's.
type printLabels struct {
	Contents, Preface, Edition, Missing string
}

type printChapter struct {
	K       int
	Title   string
	Part    string
	PartK   int // >0: the chapter opens part PartK
	By      string
	HTML    template.HTML
	Missing string
}

// print is one page of a whole edition for a browser's Print: links
// between chapters become links within the page, and every chapter's ids
// are its own, so that two chapters with the same heading do not clash.
func (b *bookPages) print(w http.ResponseWriter, r *http.Request) {
	c, _, ok := b.shownCollection(w, r)
	if !ok {
		return
	}
	ed, ok := b.shownEdition(w, r, c)
	if !ok {
		return
	}
	lang := cmpOr(ed.Details.Language, "en")
	bt := b.t.Translator(web.Lang(lang))
	chapters, _ := b.s.editionChapters(r.Context(), c.ID, ed)
	d := printData{frame: newFrame(), Lang: lang, Title: cmpOr(ed.Details.Title, c.ID), Subtitle: ed.Details.Subtitle,
		Edition: ed.N, Published: ed.Published, Authors: strings.Join(b.s.bookAuthors(c, ed), nameSeparator(bt)),
		BookHref: editionPath(c.ID, ed.N),
		L: printLabels{Contents: bt.T("book.print.contents"), Preface: bt.T("book.print.preface"),
			Edition: bt.T("book.print.edition", "n", strconv.Itoa(ed.N), "date", bt.Date(ed.Published))}}
	if ed.Details.Cover != "" {
		d.Cover = imagePath(ed.Details.Cover)
	}
	links := b.s.bookLinks(ed)
	rewrite := func(h template.HTML, k int, blog, slug string) template.HTML {
		prefix := "c" + strconv.Itoa(k) + "-"
		if k == 0 {
			prefix = "preface-"
		}
		return rewriteHTML(h, htmlRewrite{
			id: func(id string) string { return prefix + id },
			link: func(href string) string {
				t := links.resolve(href, blog, slug)
				switch t.Kind {
				case linkSelf:
					if t.Fragment == "" {
						return ""
					}
					return "#" + prefix + t.Fragment
				case linkChapter:
					if t.Fragment == "" {
						return "#chapter-" + strconv.Itoa(t.Chapter)
					}
					return "#c" + strconv.Itoa(t.Chapter) + "-" + t.Fragment
				case linkSite, linkRemote:
					return t.Href
				case linkImage:
					return imagePath(t.Image)
				}
				return ""
			},
			image: func(src, alt string) (string, *html.Node) {
				t := links.resolve(src, blog, slug)
				switch t.Kind {
				case linkImage:
					return imagePath(t.Image), nil
				case linkRemote:
					return t.Href, nil
				}
				return "", missingImage(bookText(lang, "book.image.missing", "name", imageCaption(src)))
			},
		})
	}
	if strings.TrimSpace(ed.Details.Preface) != "" {
		d.Preface = rewrite(RenderHTML(events.PostContent{Body: ed.Details.Preface}), 0, firstBlog(ed.Chapters, nil), "")
	}
	var entries []tocEntry
	var parts []string
	partK := 0
	for i, ch := range chapters {
		pc := printChapter{K: ch.K, Title: ch.Title, Part: ch.Part, By: byNames(bt, ch.Authors)}
		if ch.Part != "" && (i == 0 || chapters[i-1].Part != ch.Part) {
			partK++
			pc.PartK = partK
		}
		if ch.Missing {
			pc.Missing = bookText(lang, "book.chapter.missing", "post", ch.Blog+"/"+ch.Slug, "revision", strconv.Itoa(ch.Revision))
		} else {
			pc.HTML = rewrite(ch.HTML, ch.K, ch.Blog, ch.Slug)
		}
		d.Chapters = append(d.Chapters, pc)
		entries = append(entries, tocEntry{N: ch.K, Title: ch.Title, Href: "#chapter-" + strconv.Itoa(ch.K)})
		parts = append(parts, ch.Part)
	}
	d.Parts = groupParts(entries, parts)
	b.t.Render(w, r, http.StatusOK, "print", web.Page{TitleText: d.Title, Data: d})
}

type curateData struct {
	frame
	ID, Title, Href string
	Version         uint64
	Editions        int
	Chapters        []curateRow
	Missing         []missingRow
	Details         *web.Form
	Add             *web.Form
	Publish         *web.Form
	Stale           bool
	Action          struct{ Details, Chapters, Publish string }
}

type curateRow struct {
	N                int
	Blog, Slug, Part string
	Title, Href      string
	Post             string
	Missing          bool
	First, Last      bool
	// Which names the chapter to assistive technology after a button's
	// visible words ("Move up"), which stay the start of its name.
	Which string
}

// curatePage is what a curator's POST hands back when it shows the page
// again rather than redirecting.
type curatePage struct {
	details, add, publish *web.Form
	stale                 bool
	status                int
}

func (b *bookPages) curate(w http.ResponseWriter, r *http.Request) {
	b.renderCurate(w, r, curatePage{status: http.StatusOK})
}

// curator loads the collection of the address for a curator: anonymous
// visitors are sent to log in, others are refused.
func (b *bookPages) curator(w http.ResponseWriter, r *http.Request) (auth.Principal, Collection, bool) {
	id := chi.URLParam(r, "id")
	who, ok := b.requireVisitor(w, r, curatePath(id))
	if !ok {
		return who, Collection{}, false
	}
	c, ok := b.s.archive.collection(id)
	if !ok {
		b.ui.NotFound(w, r)
		return who, Collection{}, false
	}
	if !b.s.MayCurate(who, c) {
		b.forbidden(w, r)
		return who, Collection{}, false
	}
	return who, c, true
}

func (b *bookPages) renderCurate(w http.ResponseWriter, r *http.Request, pg curatePage) {
	_, c, ok := b.curator(w, r)
	if !ok {
		return
	}
	tr := b.tr(r)
	d := curateData{frame: newFrame(), ID: c.ID, Title: bookTitle(tr, c.Details, c.ID), Href: collectionPath(c.ID),
		Version: c.Revision, Editions: len(c.Editions), Missing: b.missingRows(c.Chapters),
		Details: pg.details, Add: pg.add, Publish: pg.publish, Stale: pg.stale}
	d.Action.Details, d.Action.Chapters, d.Action.Publish = collectionPath(c.ID)+"details", collectionPath(c.ID)+"chapters", collectionPath(c.ID)+"publish"
	if d.Details == nil {
		d.Details = web.NewFormIn("details")
		det := c.Details
		for k, v := range map[string]string{"title": det.Title, "title_en": det.TitleEn, "subtitle": det.Subtitle,
			"language": det.Language, "cover": det.Cover, "preface": det.Preface} {
			d.Details.Set(k, v)
		}
	}
	if d.Add == nil {
		d.Add = web.NewFormIn("add")
	}
	if d.Publish == nil {
		d.Publish = web.NewFormIn("publish")
	}
	missing := map[int]bool{}
	for _, m := range d.Missing {
		missing[m.N] = true
	}
	for i, ch := range c.Chapters {
		row := curateRow{N: i + 1, Blog: ch.Blog, Slug: ch.Slug, Part: ch.Part, Post: ch.Blog + "/" + ch.Slug,
			Missing: missing[i+1], First: i == 0, Last: i == len(c.Chapters)-1}
		row.Title = row.Post
		if info, ok := b.s.archive.post(ch.Blog, ch.Slug); ok {
			row.Title, row.Href = info.Title, postPath(ch.Blog, ch.Slug)
		}
		row.Which = tr.T("book.curate.which", "n", strconv.Itoa(row.N), "title", row.Title)
		d.Chapters = append(d.Chapters, row)
	}
	b.t.Render(w, r, pg.status, "curate", web.Page{TitleText: tr.T("book.curate.title", "title", d.Title), Data: d})
}

func (b *bookPages) saveDetails(w http.ResponseWriter, r *http.Request) {
	who, _, ok := b.curator(w, r)
	if !ok || !b.parseForm(w, r) {
		return
	}
	pf := r.PostForm
	in := CollectionInput{Title: pf.Get("title"), TitleEn: pf.Get("title_en"), Subtitle: pf.Get("subtitle"),
		Preface: pf.Get("preface"), Cover: pf.Get("cover"), Language: pf.Get("language")}
	if _, err := b.s.EditCollection(r.Context(), who, chi.URLParam(r, "id"), in); err != nil {
		f := web.NewFormIn("details")
		for _, k := range detailFields {
			f.Set(k, pf.Get(k))
		}
		if !bookFormErrors(b.tr(r), f, err, detailField) {
			b.fail(w, r, err)
			return
		}
		b.renderCurate(w, r, curatePage{details: f, status: http.StatusUnprocessableEntity})
		return
	}
	b.s.settle(r)
	b.ui.SetFlash(w, r, "book.flash.details_saved")
	http.Redirect(w, r, curatePath(chi.URLParam(r, "id")), http.StatusSeeOther)
}

// saveChapters takes the chapter forms: move a chapter up or down, remove
// it, or add one. Each form carries the version its page showed, and a
// change decided against an older version is refused and the page shown
// again with the order as it is now: moving "chapter 3 up" means nothing
// once someone else has moved chapter 3.
func (b *bookPages) saveChapters(w http.ResponseWriter, r *http.Request) {
	who, c, ok := b.curator(w, r)
	if !ok || !b.parseForm(w, r) {
		return
	}
	pf := r.PostForm
	version, err := strconv.ParseUint(pf.Get("version"), 10, 64)
	if err != nil {
		b.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	stale := func() { b.renderCurate(w, r, curatePage{stale: true, status: http.StatusConflict}) }
	// The read model may trail the log by a moment; the command decides
	// against the stream itself.
	current, _, err := b.s.existingCollection(r.Context(), c.ID)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if current.Revision != version {
		stale()
		return
	}
	list := slices.Clone(current.Chapters)
	at := slices.IndexFunc(list, func(ch events.CollectionChapter) bool {
		return ch.Blog == pf.Get("blog") && ch.Slug == pf.Get("slug")
	})
	flash := "book.flash.order_saved"
	action := pf.Get("action")
	switch action {
	case "up", "down", "remove":
		if at < 0 {
			stale()
			return
		}
		switch {
		case action == "up" && at > 0:
			list[at-1], list[at] = list[at], list[at-1]
		case action == "down" && at < len(list)-1:
			list[at+1], list[at] = list[at], list[at+1]
		case action == "remove":
			list = slices.Delete(list, at, at+1)
			flash = "book.flash.chapter_removed"
		}
	case "add":
		ch := events.CollectionChapter{Blog: strings.TrimSpace(pf.Get("blog")), Slug: strings.TrimSpace(pf.Get("slug")), Part: strings.TrimSpace(pf.Get("part"))}
		f := web.NewFormIn("add")
		for _, k := range []string{"blog", "slug", "part", "position"} {
			f.Set(k, pf.Get(k))
		}
		pos := len(list) + 1
		if v := strings.TrimSpace(pf.Get("position")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				f.Fail("position", b.tr(r).T("book.err.position", "max", strconv.Itoa(len(list)+1)))
				b.renderCurate(w, r, curatePage{add: f, status: http.StatusUnprocessableEntity})
				return
			}
			pos = min(n, len(list)+1)
		}
		list = slices.Insert(list, pos-1, ch)
		if _, err := b.s.SetChapters(r.Context(), who, c.ID, version, list); err != nil {
			if isStale(err) {
				stale()
				return
			}
			added := fmt.Sprintf("chapters[%d]", pos-1)
			if !bookFormErrors(b.tr(r), f, err, func(field string) string {
				switch field {
				case added + ".blog":
					return "blog"
				case added + ".slug", added:
					return "slug"
				case added + ".part":
					return "part"
				}
				return ""
			}) {
				b.fail(w, r, err)
				return
			}
			b.renderCurate(w, r, curatePage{add: f, status: http.StatusUnprocessableEntity})
			return
		}
		b.s.settle(r)
		b.ui.SetFlash(w, r, "book.flash.chapter_added")
		http.Redirect(w, r, curatePath(c.ID), http.StatusSeeOther)
		return
	default:
		b.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	if slices.Equal(list, current.Chapters) {
		b.ui.SetFlash(w, r, "book.flash.unchanged")
		http.Redirect(w, r, curatePath(c.ID), http.StatusSeeOther)
		return
	}
	if _, err := b.s.SetChapters(r.Context(), who, c.ID, version, list); err != nil {
		if isStale(err) {
			stale()
			return
		}
		b.fail(w, r, err)
		return
	}
	b.s.settle(r)
	b.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, curatePath(c.ID), http.StatusSeeOther)
}

// isStale: the command was decided against an order that is no longer
// current.
func isStale(err error) bool {
	var clash *ConflictError
	return errors.As(err, &clash) && clash.Code == "stale_order"
}

func (b *bookPages) publish(w http.ResponseWriter, r *http.Request) {
	who, c, ok := b.curator(w, r)
	if !ok || !b.parseForm(w, r) {
		return
	}
	if _, err := b.s.PublishCollection(r.Context(), who, c.ID, ""); err != nil {
		if isStale(err) {
			b.renderCurate(w, r, curatePage{stale: true, status: http.StatusConflict})
			return
		}
		f := web.NewFormIn("publish")
		if !bookFormErrors(b.tr(r), f, err, func(string) string { return "" }) {
			b.fail(w, r, err)
			return
		}
		b.renderCurate(w, r, curatePage{publish: f, status: http.StatusUnprocessableEntity})
		return
	}
	b.s.settle(r)
	b.ui.SetFlash(w, r, "book.flash.published")
	http.Redirect(w, r, curatePath(c.ID), http.StatusSeeOther)
}
