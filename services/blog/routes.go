package blog

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// Mount adds the JSON API under /api/blog/ to r.
func (s *Service) Mount(r chi.Router) {
	r.Route("/api/blog", func(r chi.Router) {
		httpserver.APIFallbacks(r, "blog")
		r.Use(web.Protect)
		r.Use(s.cfg.Verifier.Middleware)
		r.Get("/blogs", s.handleBlogs)
		r.Get("/blogs/{blog}/posts", s.handlePosts)
		r.Get("/blogs/{blog}/posts/{slug}", s.handlePost)
		r.With(auth.RequireRole(auth.RoleOrganizer), httpserver.LimitBody(s.cfg.MaxUploadBytes)).
			Post("/blogs/{blog}/imports", s.handleImport)
		s.mountWriting(r)
	})
}

// Page sizes of the lists.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// pageParams reads limit and offset, answering a bad one itself.
func pageParams(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	limit = defaultPageSize
	var errs []httpserver.FieldError
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			errs = append(errs, httpserver.FieldError{Field: "limit", Message: fmt.Sprintf("must be a number from 1 to %d", maxPageSize)})
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, httpserver.FieldError{Field: "offset", Message: "must be a number from 0 up"})
		}
		offset = n
	}
	if len(errs) > 0 {
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(errs...))
		return 0, 0, false
	}
	return limit, offset, true
}

func window[T any](all []T, limit, offset int) []T {
	if offset >= len(all) {
		return []T{}
	}
	return all[offset:min(len(all), offset+limit)]
}

type blogsResponse struct {
	Blogs  []BlogInfo `json:"blogs"`
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

func (s *Service) handleBlogs(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	all := s.archive.blogList()
	httpserver.WriteJSON(w, http.StatusOK, blogsResponse{Blogs: window(all, limit, offset), Total: len(all), Limit: limit, Offset: offset})
}

type postsResponse struct {
	Blog   string     `json:"blog"`
	Posts  []PostInfo `json:"posts"`
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

func (s *Service) handlePosts(w http.ResponseWriter, r *http.Request) {
	blog := chi.URLParam(r, "blog")
	limit, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	all, found := s.archive.posts(blog)
	if _, written := s.archive.blogMeta(blog); !found && !written {
		notFound(w, r, "There is no blog called "+strconv.Quote(blog)+".")
		return
	}
	page := window(all, limit, offset)
	out := postsResponse{Blog: blog, Posts: make([]PostInfo, len(page)), Total: len(all), Limit: limit, Offset: offset}
	for i, p := range page {
		out.Posts[i] = *p
	}
	httpserver.WriteJSON(w, http.StatusOK, out)
}

// postResponse is one post with its body rendered to sanitised HTML.
type postResponse struct {
	PostInfo
	Format string        `json:"format"`
	HTML   template.HTML `json:"html"`
}

func (s *Service) handlePost(w http.ResponseWriter, r *http.Request) {
	blog, slug := chi.URLParam(r, "blog"), chi.URLParam(r, "slug")
	info, content, found, err := s.loadForPage(r.Context(), blog, slug)
	if err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	if !found {
		notFound(w, r, fmt.Sprintf("Blog %q has no post %q.", blog, slug))
		return
	}
	format := content.Format
	if format == "" {
		format = events.FormatMarkdown
	}
	httpserver.WriteJSON(w, http.StatusOK, postResponse{PostInfo: info, Format: format, HTML: s.renderer.Render(content)})
}

// loadForPage finds a post: the read model says whether it is in the
// archive, and its stream holds the body, which the read model does not
// keep. The stream is the truth when the two differ for a moment.
func (s *Service) loadForPage(ctx context.Context, blog, slug string) (PostInfo, events.PostContent, bool, error) {
	info, ok := s.archive.post(blog, slug)
	if !ok || ValidateBlogName(blog) != nil || ValidateSlug(slug) != nil {
		return PostInfo{}, events.PostContent{}, false, nil
	}
	p, err := loadPost(ctx, s.store, blog, slug)
	if err != nil {
		return PostInfo{}, events.PostContent{}, false, err
	}
	if !p.Exists || p.Withdrawn {
		return PostInfo{}, events.PostContent{}, false, nil
	}
	c := p.Content
	info.Title, info.Authors, info.Date, info.Tags, info.Summary, info.Source =
		c.Title, nonNil(s.archive.shownAuthors(blog, slug, c.Authors)), c.Date, nonNil(c.Tags), c.Summary, c.Source
	return info, c, true, nil
}

// importTimeout bounds one upload's import. The import goes on when the
// client goes away, since what it wrote stays written either way and
// finishing is the cheaper state to explain.
const importTimeout = 10 * time.Minute

func (s *Service) handleImport(w http.ResponseWriter, r *http.Request) {
	blog := chi.URLParam(r, "blog")
	if err := ValidateBlogName(blog); err != nil {
		httpserver.WriteProblem(w, r, httpserver.ValidationProblem(httpserver.FieldError{Field: "blog", Message: reasonOf(err)}))
		return
	}
	inputs, err := uploadedInputs(r)
	if err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	who, _ := auth.FromContext(r.Context())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), importTimeout)
	defer cancel()
	sum, err := Import(ctx, s.store, inputs, ImportOptions{
		Blog: blog, Actor: who.UserID, RequestID: httpserver.RequestID(r.Context()), Clock: s.cfg.Clock,
	})
	var clash *ConflictError
	if errors.As(err, &clash) {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		httpserver.WriteError(w, r, s.log, err)
		return
	}
	// Answer once the lists show what was written, so that a client that
	// reads them next sees its own import.
	s.settleCtx(ctx)
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, sum)
}

// uploadTypes are the media types a raw (not multipart) upload may have,
// with the file name it is known by when the request names none.
var uploadTypes = map[string]string{
	"application/zip":              "upload.zip",
	"application/x-zip-compressed": "upload.zip",
	"application/xml":              "upload.xml",
	"text/xml":                     "upload.xml",
	"application/rss+xml":          "upload.rss",
	"application/atom+xml":         "upload.atom",
	"text/markdown":                "upload.md",
}

// uploadedInputs reads the files of an upload: the parts of a
// multipart/form-data body that carry a file name, or a raw body of one of
// uploadTypes, named by ?filename= (which gives a Markdown post its slug).
func uploadedInputs(r *http.Request) ([]Input, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	if mt == "multipart/form-data" {
		if params["boundary"] == "" {
			return nil, badUpload("The multipart body has no boundary.")
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, badUpload("The multipart body cannot be read.")
		}
		var inputs []Input
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if httpserver.IsTooLarge(err) {
					return nil, err
				}
				return nil, badUpload("The multipart body is malformed.")
			}
			name := part.FileName()
			if name == "" {
				part.Close()
				continue // a plain form field
			}
			data, err := io.ReadAll(part)
			part.Close()
			if err != nil {
				if httpserver.IsTooLarge(err) {
					return nil, err
				}
				return nil, badUpload("The multipart body is malformed.")
			}
			if len(inputs) == maxZipEntries {
				return nil, badUpload(fmt.Sprintf("An upload may carry at most %d files; zip them.", maxZipEntries))
			}
			inputs = append(inputs, Input{Name: cleanUploadName(name), Data: data})
		}
		if len(inputs) == 0 {
			return nil, httpserver.ValidationProblem(httpserver.FieldError{Field: "file",
				Message: "send at least one file: Markdown (.md), a zip of Markdown files, or a feed (RSS, Atom, WordPress export)"})
		}
		return inputs, nil
	}
	def, ok := uploadTypes[mt]
	if !ok {
		return nil, httpserver.NewProblem(http.StatusUnsupportedMediaType, httpserver.TypeUnsupportedMedia, "Unsupported media type",
			"Send the files as multipart/form-data, or one file as application/zip, application/xml, application/rss+xml, application/atom+xml or text/markdown.")
	}
	name := def
	if n := strings.TrimSpace(r.URL.Query().Get("filename")); n != "" {
		name = cleanUploadName(n)
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		if httpserver.IsTooLarge(err) {
			return nil, err
		}
		return nil, badUpload("The body cannot be read.")
	}
	if len(data) == 0 {
		return nil, httpserver.ValidationProblem(httpserver.FieldError{Field: "file", Message: "the body is empty"})
	}
	return []Input{{Name: name, Data: data}}, nil
}

// cleanUploadName keeps a client's file name as a relative path (browsers
// send folder/file.md for folder uploads) and nothing more.
func cleanUploadName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = strings.TrimLeft(path.Clean("/"+name), "/")
	if name == "" || name == "." {
		return "upload"
	}
	return name
}

func badUpload(detail string) error {
	return httpserver.NewProblem(http.StatusBadRequest, httpserver.TypeBadRequest, "Malformed upload", detail)
}

func notFound(w http.ResponseWriter, r *http.Request, detail string) {
	httpserver.WriteProblem(w, r, httpserver.NewProblem(http.StatusNotFound, httpserver.TypeNotFound, "Not found", detail))
}

// settle waits (briefly) until the read model reflects the log as it is
// now, so that a client that reads the lists or pages right after its own
// change sees it.
func (s *Service) settle(r *http.Request) { s.settleCtx(context.WithoutCancel(r.Context())) }

func (s *Service) settleCtx(ctx context.Context) {
	if head, err := s.store.Head(ctx); err == nil {
		wait, stop := context.WithTimeout(ctx, 5*time.Second)
		s.archive.follower.WaitFor(wait, head)
		stop()
	}
}
