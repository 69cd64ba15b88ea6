package blog

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// Body limits of the writers' API: a post's text may be up to
// MaxPostBytes, and a larger one must still be read far enough to be told
// so in words; everything else is small.
const (
	maxPostRequestBytes  = 4 << 20
	maxSmallRequestBytes = 64 << 10
)

// mountWriting adds the writers' and curators' API to the /api/blog
// router, which has the token middleware already.
func (s *Service) mountWriting(r chi.Router) {
	small := httpserver.LimitBody(maxSmallRequestBytes)
	large := httpserver.LimitBody(maxPostRequestBytes)
	r.With(auth.RequireUser, small).Post("/blogs", s.handleCreateBlog)
	r.Get("/blogs/{blog}", s.handleBlog)
	r.With(auth.RequireUser, small).Put("/blogs/{blog}", s.handleUpdateBlog)
	r.With(auth.RequireUser).Delete("/blogs/{blog}", s.handleDeleteBlog)
	r.With(auth.RequireUser, small).Put("/blogs/{blog}/coauthors/{user}", s.handleCoauthor(false))
	r.With(auth.RequireUser).Delete("/blogs/{blog}/coauthors/{user}", s.handleCoauthor(true))
	r.With(auth.RequireUser, small).Put("/blogs/{blog}/authors/{author}", s.handleLinkAuthor)
	r.With(auth.RequireUser).Get("/blogs/{blog}/drafts", s.handleDesk)
	r.With(auth.RequireUser, large).Post("/blogs/{blog}/posts", s.handleCreatePost)
	r.With(auth.RequireUser, large).Put("/blogs/{blog}/posts/{slug}", s.handleEditPost)
	r.With(auth.RequireUser, small).Delete("/blogs/{blog}/posts/{slug}", s.handleWithdraw)
	r.With(auth.RequireUser).Get("/blogs/{blog}/posts/{slug}/revisions", s.handleRevisions)
	r.With(auth.RequireUser).Get("/blogs/{blog}/posts/{slug}/revisions/{rev}", s.handleRevision)
	r.With(auth.RequireUser).Get("/blogs/{blog}/posts/{slug}/diff", s.handleDiff)
	r.With(auth.RequireUser, large).Post("/preview", s.handlePreview)
	r.With(auth.RequireUser, httpserver.LimitBody(s.cfg.MaxImageBytes+64<<10)).Post("/images", s.handleUploadImage)

	r.Get("/collections", s.handleCollections)
	r.With(auth.RequireUser, httpserver.LimitBody(maxPrefaceBytes*2+maxSmallRequestBytes)).Post("/collections", s.handleCreateCollection)
	r.Get("/collections/{id}", s.handleCollection)
	r.With(auth.RequireUser, httpserver.LimitBody(maxPrefaceBytes*2+maxSmallRequestBytes)).Put("/collections/{id}", s.handleEditCollection)
	r.With(auth.RequireUser, small).Put("/collections/{id}/chapters", s.handleSetChapters)
	r.With(auth.RequireUser, small).Post("/collections/{id}/chapters", s.handleAddChapter)
	r.With(auth.RequireUser).Delete("/collections/{id}/chapters/{blog}/{slug}", s.handleRemoveChapter)
	r.With(auth.RequireUser, small).Post("/collections/{id}/publish", s.handlePublish)
	r.Get("/collections/{id}/editions/{edition}", s.handleEdition)
}

// Problem types of the writers' API.
const (
	typeConflict  = httpserver.ProblemBase + "blog-conflict"
	typeForbidden = httpserver.ProblemBase + "forbidden"
	typeWithdrawn = httpserver.ProblemBase + "post-withdrawn"
)

// fail is the one place the writers' errors become answers.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *ValidationError
	var clash *ConflictError
	switch {
	case errors.As(err, &invalid):
		fields := make([]httpserver.FieldError, len(invalid.Problems))
		for i, p := range invalid.Problems {
			fields[i] = httpserver.FieldError{Field: p.Field, Message: p.Message}
		}
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(fields...))
	case errors.As(err, &clash):
		p := httpserver.NewProblem(http.StatusConflict, typeConflict, "Conflict", clash.Message)
		if clash.Field != "" {
			p.Errors = []httpserver.FieldError{{Field: clash.Field, Message: clash.Message}}
		}
		writeProblemWith(w, r, p, clash.Current)
	case errors.Is(err, ErrBlogNotFound):
		notFound(w, r, "There is no blog called "+strconv.Quote(chi.URLParam(r, "blog"))+" written in Yunqi.")
	case errors.Is(err, ErrPostNotFound):
		notFound(w, r, "The blog has no such post.")
	case errors.Is(err, ErrCollectionNotFound):
		notFound(w, r, "There is no collection called "+strconv.Quote(chi.URLParam(r, "id"))+".")
	case errors.Is(err, ErrNotOwner):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusForbidden, typeForbidden, "Forbidden", "Only the blog's owner may do this."))
	case errors.Is(err, ErrNotWriter):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusForbidden, typeForbidden, "Forbidden",
			"Only the blog's owner and co-authors (for a collection: its curator or an organiser) may do this."))
	case errors.Is(err, ErrWithdrawn):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusConflict, typeWithdrawn, "Post withdrawn",
			"The post was withdrawn; it cannot be edited or published again."))
	case errors.Is(err, ErrImageTooLarge):
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusRequestEntityTooLarge, httpserver.TypeBodyTooLarge, "Image too large",
			"An image may be at most "+byteSize(int(s.cfg.MaxImageBytes))+"."))
	case errors.Is(err, ErrNotImage):
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "image",
			Message: fmt.Sprintf("must be a PNG, JPEG or WebP image of at most %d × %d pixels", maxImageSide, maxImageSide)}))
	default:
		httpserver.WriteError(w, r, s.log, err)
	}
}

// writeProblemWith writes a problem with one extension member, current:
// the state a client should decide against now.
func writeProblemWith(w http.ResponseWriter, r *http.Request, p *httpserver.Problem, current any) {
	if current == nil {
		httpserver.WriteProblem(w, r, p)
		return
	}
	p.RequestID = httpserver.RequestID(r.Context())
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["current"] = current
	h := w.Header()
	h.Set("Content-Type", httpserver.ProblemContentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(m)
}

// principal is the verified caller; the routes that call it require one.
func principal(r *http.Request) auth.Principal {
	who, _ := auth.FromContext(r.Context())
	return who
}

// idempotencyKey reads the client's key, refusing one too long to be a key.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(k) > 255 {
		httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusBadRequest, httpserver.TypeBadRequest, "Invalid Idempotency-Key",
			"The Idempotency-Key header must be at most 255 characters."))
		return "", false
	}
	return k, true
}

// BlogView is a blog written in Yunqi as the API shows it.
type BlogView struct {
	Name        string     `json:"name"`
	Title       string     `json:"title"`
	TitleEn     string     `json:"title_en,omitempty"`
	Description string     `json:"description,omitempty"`
	Owner       string     `json:"owner"`
	OwnerName   string     `json:"owner_name,omitempty"`
	Coauthors   []Coauthor `json:"coauthors"`
	Posts       int        `json:"posts"`
}

// Coauthor is one co-author of a blog.
type Coauthor struct {
	UserID string `json:"user_id"`
	Name   string `json:"name,omitempty"`
}

func (s *Service) blogView(b Blog) BlogView {
	v := BlogView{Name: b.Name, Title: b.Title, TitleEn: b.TitleEn, Description: b.Description, Owner: b.Owner, OwnerName: b.OwnerName, Coauthors: []Coauthor{}}
	for id, name := range b.Coauthors {
		v.Coauthors = append(v.Coauthors, Coauthor{UserID: id, Name: name})
	}
	sortCoauthors(v.Coauthors)
	if posts, ok := s.archive.posts(b.Name); ok {
		v.Posts = len(posts)
	}
	return v
}

func (s *Service) handleCreateBlog(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var in BlogInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.CreateBlog(r.Context(), principal(r), in, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	w.Header().Set("Location", "/api/blog/blogs/"+b.Name)
	httpserver.WriteJSON(w, http.StatusCreated, s.blogView(b))
}

func (s *Service) handleBlog(w http.ResponseWriter, r *http.Request) {
	b, err := s.existingBlog(r.Context(), chi.URLParam(r, "blog"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.blogView(b))
}

func (s *Service) handleUpdateBlog(w http.ResponseWriter, r *http.Request) {
	var in BlogInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Name = chi.URLParam(r, "blog")
	b, err := s.UpdateBlog(r.Context(), principal(r), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	httpserver.WriteJSON(w, http.StatusOK, s.blogView(b))
}

func (s *Service) handleDeleteBlog(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteBlog(r.Context(), principal(r), chi.URLParam(r, "blog")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleCoauthor(remove bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		if !remove && r.ContentLength != 0 {
			if err := httpserver.DecodeJSON(r, &in); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		b, err := s.SetCoauthor(r.Context(), principal(r), chi.URLParam(r, "blog"), chi.URLParam(r, "user"), in.Name, remove)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.settle(r)
		httpserver.WriteJSON(w, http.StatusOK, s.blogView(b))
	}
}

func (s *Service) handleLinkAuthor(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"user_id"`
	}
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.LinkAuthor(r.Context(), principal(r), chi.URLParam(r, "blog"), chi.URLParam(r, "author"), in.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	httpserver.WriteJSON(w, http.StatusOK, s.blogView(b))
}

func (s *Service) handleDesk(w http.ResponseWriter, r *http.Request) {
	blog := chi.URLParam(r, "blog")
	if _, err := s.WritableBlog(r.Context(), principal(r), blog); err != nil {
		s.fail(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"blog": blog, "posts": s.archive.deskPosts(blog)})
}

func (s *Service) handleCreatePost(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var in PostInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	blog := chi.URLParam(r, "blog")
	saved, err := s.CreatePost(r.Context(), principal(r), blog, in, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	w.Header().Set("Location", "/api/blog/blogs/"+blog+"/posts/"+in.Slug)
	httpserver.WriteJSON(w, http.StatusCreated, saved)
}

func (s *Service) handleEditPost(w http.ResponseWriter, r *http.Request) {
	var in PostInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	saved, err := s.EditPost(r.Context(), principal(r), chi.URLParam(r, "blog"), chi.URLParam(r, "slug"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	httpserver.WriteJSON(w, http.StatusOK, saved)
}

func (s *Service) handleWithdraw(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := httpserver.DecodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.WithdrawPost(r.Context(), principal(r), chi.URLParam(r, "blog"), chi.URLParam(r, "slug"), in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleRevisions(w http.ResponseWriter, r *http.Request) {
	blog, slug := chi.URLParam(r, "blog"), chi.URLParam(r, "slug")
	p, revs, err := s.Revisions(r.Context(), principal(r), blog, slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"blog": blog, "slug": slug, "current": p.Revision, "published": p.Published, "revisions": revs})
}

func (s *Service) handleRevision(w http.ResponseWriter, r *http.Request) {
	blog, slug := chi.URLParam(r, "blog"), chi.URLParam(r, "slug")
	n, err := strconv.Atoi(chi.URLParam(r, "rev"))
	if err != nil || n < 1 {
		notFound(w, r, "Revisions are numbered from 1.")
		return
	}
	c, err := s.RevisionContent(r.Context(), principal(r), blog, slug, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"blog": blog, "slug": slug, "revision": n, "title": c.Title,
		"tags": nonNil(c.Tags), "markdown": c.Body, "html": s.renderer.Render(c)})
}

func (s *Service) handleDiff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.Atoi(q.Get("from"))
	to, err2 := strconv.Atoi(q.Get("to"))
	var fields []httpserver.FieldError
	if err1 != nil || from < 1 {
		fields = append(fields, httpserver.FieldError{Field: "from", Message: "must be a revision number from 1"})
	}
	if err2 != nil || to < 1 {
		fields = append(fields, httpserver.FieldError{Field: "to", Message: "must be a revision number from 1"})
	}
	if len(fields) > 0 {
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(fields...))
		return
	}
	d, err := s.Diff(r.Context(), principal(r), chi.URLParam(r, "blog"), chi.URLParam(r, "slug"), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, d)
}

func (s *Service) handlePreview(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title    string `json:"title"`
		Markdown string `json:"markdown"`
	}
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(in.Markdown) > MaxPostBytes {
		s.fail(w, r, (&problems{{Field: "markdown", Code: "post_too_large",
			Message: fmt.Sprintf("the text is %s; a post may be at most %s", byteSize(len(in.Markdown)), byteSize(MaxPostBytes))}}).err())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]template.HTML{"html": Preview(in.Title, in.Markdown)})
}

// Preview renders a draft exactly as readers will see it once published:
// the same Markdown and sanitiser path as the post page.
func Preview(title, markdown string) template.HTML {
	return RenderHTML(events.PostContent{Title: strings.TrimSpace(title), Body: markdown})
}

func (s *Service) handleUploadImage(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		f, _, err := r.FormFile("image")
		if err != nil {
			if httpserver.IsTooLarge(err) {
				s.fail(w, r, ErrImageTooLarge)
				return
			}
			httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "image", Message: "send the image as the form field \"image\""}))
			return
		}
		defer f.Close()
		body = f
	}
	name, err := s.images.put(body)
	if httpserver.IsTooLarge(err) {
		err = ErrImageTooLarge
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", imagePath(name))
	httpserver.WriteJSON(w, http.StatusCreated, map[string]string{"name": name, "url": imagePath(name), "markdown": "![](" + imagePath(name) + ")"})
}

// CollectionView is a collection as the API shows it: its newest
// edition's chapters, each pinned to a revision, in book order; to its
// curators also the chapter list in progress.
type CollectionView struct {
	ID        string                    `json:"id"`
	Title     string                    `json:"title"`
	TitleEn   string                    `json:"title_en,omitempty"`
	Subtitle  string                    `json:"subtitle,omitempty"`
	Language  string                    `json:"language"`
	Cover     string                    `json:"cover,omitempty"`
	Edition   int                       `json:"edition"` // 0 before the first
	Published time.Time                 `json:"published,omitzero"`
	Editions  []int                     `json:"editions"`
	Chapters  []events.PublishedChapter `json:"chapters"`
	Draft     *CollectionDraft          `json:"draft,omitempty"`
	Links     map[string]string         `json:"links"`
}

// CollectionDraft is the work in progress a curator sees.
type CollectionDraft struct {
	Version  uint64                     `json:"version"`
	Chapters []events.CollectionChapter `json:"chapters"`
	Preface  string                     `json:"preface,omitempty"`
	Missing  []MissingChapterView       `json:"missing"`
}

// MissingChapterView names a chapter whose post readers cannot see.
type MissingChapterView struct {
	Chapter int    `json:"chapter"` // 1-based
	Blog    string `json:"blog"`
	Slug    string `json:"slug"`
}

func (s *Service) collectionView(c Collection, who auth.Principal, ed Edition) CollectionView {
	d := c.Details
	if ed.N > 0 {
		d = ed.Details
	}
	v := CollectionView{ID: c.ID, Title: d.Title, TitleEn: d.TitleEn, Subtitle: d.Subtitle, Language: d.Language, Cover: d.Cover,
		Edition: ed.N, Published: ed.Published, Editions: []int{}, Chapters: []events.PublishedChapter{},
		Links: map[string]string{"page": collectionPath(c.ID)}}
	for _, e := range c.Editions {
		v.Editions = append(v.Editions, e.N)
	}
	if ed.N > 0 {
		v.Chapters = ed.Chapters
		v.Links["epub"] = editionPath(c.ID, ed.N) + "book.epub"
		v.Links["print"] = editionPath(c.ID, ed.N) + "print"
	}
	if s.MayCurate(who, c) {
		dr := &CollectionDraft{Version: c.Revision, Chapters: nonNilChapters(c.Chapters), Preface: c.Details.Preface, Missing: []MissingChapterView{}}
		for _, m := range s.missingChapters(c.Chapters) {
			dr.Missing = append(dr.Missing, MissingChapterView{Chapter: m.Index + 1, Blog: m.Blog, Slug: m.Slug})
		}
		v.Draft = dr
	}
	return v
}

func (s *Service) handleCollections(w http.ResponseWriter, r *http.Request) {
	out := []CollectionView{}
	for _, c := range s.archive.collectionList() {
		if ed, ok := c.Latest(); ok {
			out = append(out, s.collectionView(c, auth.Principal{}, ed))
		}
	}
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"collections": out, "total": len(out)})
}

// visibleCollection finds a collection the caller may see: published, or
// theirs to curate.
func (s *Service) visibleCollection(w http.ResponseWriter, r *http.Request) (Collection, bool) {
	c, ok := s.archive.collection(chi.URLParam(r, "id"))
	if !ok || (len(c.Editions) == 0 && !s.MayCurate(principal(r), c)) {
		s.fail(w, r, ErrCollectionNotFound)
		return Collection{}, false
	}
	return c, true
}

func (s *Service) handleCollection(w http.ResponseWriter, r *http.Request) {
	c, ok := s.visibleCollection(w, r)
	if !ok {
		return
	}
	ed, _ := c.Latest()
	if principal(r).UserID != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	httpserver.WriteJSON(w, http.StatusOK, s.collectionView(c, principal(r), ed))
}

func (s *Service) handleEdition(w http.ResponseWriter, r *http.Request) {
	c, ok := s.visibleCollection(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(chi.URLParam(r, "edition"))
	ed, found := c.Edition(n)
	if err != nil || !found {
		notFound(w, r, "The collection has no such edition.")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, s.collectionView(c, auth.Principal{}, ed))
}

func (s *Service) handleCreateCollection(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var in CollectionInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.CreateCollection(r.Context(), principal(r), in, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	w.Header().Set("Location", "/api/blog/collections/"+c.ID)
	httpserver.WriteJSON(w, http.StatusCreated, s.collectionView(c, principal(r), Edition{}))
}

func (s *Service) handleEditCollection(w http.ResponseWriter, r *http.Request) {
	var in CollectionInput
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.EditCollection(r.Context(), principal(r), chi.URLParam(r, "id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	ed, _ := c.Latest()
	httpserver.WriteJSON(w, http.StatusOK, s.collectionView(c, principal(r), ed))
}

func (s *Service) handleSetChapters(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Version  *uint64                    `json:"version"`
		Chapters []events.CollectionChapter `json:"chapters"`
	}
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Version == nil {
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "version",
			Message: "send the version of the collection the new order was made from (draft.version of GET /api/blog/collections/{id})"}))
		return
	}
	c, err := s.SetChapters(r.Context(), principal(r), chi.URLParam(r, "id"), *in.Version, in.Chapters)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	ed, _ := c.Latest()
	httpserver.WriteJSON(w, http.StatusOK, s.collectionView(c, principal(r), ed))
}

func (s *Service) handleAddChapter(w http.ResponseWriter, r *http.Request) {
	var in struct {
		events.CollectionChapter
		Position int `json:"position"`
	}
	if err := httpserver.DecodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.AddChapter(r.Context(), principal(r), chi.URLParam(r, "id"), in.CollectionChapter, in.Position)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	ed, _ := c.Latest()
	httpserver.WriteJSON(w, http.StatusOK, s.collectionView(c, principal(r), ed))
}

func (s *Service) handleRemoveChapter(w http.ResponseWriter, r *http.Request) {
	c, err := s.RemoveChapter(r.Context(), principal(r), chi.URLParam(r, "id"), chi.URLParam(r, "blog"), chi.URLParam(r, "slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	ed, _ := c.Latest()
	httpserver.WriteJSON(w, http.StatusOK, s.collectionView(c, principal(r), ed))
}

func (s *Service) handlePublish(w http.ResponseWriter, r *http.Request) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	if r.ContentLength != 0 {
		var in struct{}
		if err := httpserver.DecodeJSON(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	id := chi.URLParam(r, "id")
	ed, err := s.PublishCollection(r.Context(), principal(r), id, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.settle(r)
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "edition": ed.N, "published": ed.Published, "chapters": ed.Chapters,
		"links": map[string]string{"page": collectionPath(id), "epub": editionPath(id, ed.N) + "book.epub"}})
}
