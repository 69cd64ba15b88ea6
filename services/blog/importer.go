package blog

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
)

// MaxPostBytes is the largest post an import takes, measured as its source
// file (or feed item body). A post is one event, and the store refuses
// appends above events.MaxAppendSize (1 MiB, as EventStoreDB does); the
// 64 KiB left over hold the other fields and the metadata. A larger post
// is skipped with this reason rather than read into memory whole.
const MaxPostBytes = events.MaxAppendSize - 64<<10

// Limits on what one import reads besides single posts.
const (
	// MaxFeedBytes bounds one feed or WordPress export file.
	MaxFeedBytes = 256 << 20
	// maxZipBytes bounds the Markdown one zip may unpack to, so that a
	// small archive cannot expand into gigabytes (a zip bomb).
	maxZipBytes = 256 << 20
	// maxZipEntries bounds the entries of one zip for the same reason.
	maxZipEntries = 20_000
)

// Results of one post in an import.
const (
	ResultImported  = "imported"
	ResultRevised   = "revised"
	ResultUnchanged = "unchanged"
	ResultSkipped   = "skipped"
)

// Outcome is what an import did with one post, or with one input file
// that yielded no post (a feed that is not XML).
type Outcome struct {
	Source string `json:"source"`
	Slug   string `json:"slug,omitempty"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// Summary is the account of one import, for the terminal and the API alike.
type Summary struct {
	Blog      string `json:"blog"`
	Imported  int    `json:"imported"`
	Revised   int    `json:"revised"`
	Unchanged int    `json:"unchanged"`
	Skipped   int    `json:"skipped"`
	// Ignored counts files in folders and zips that are not Markdown
	// (images, notes), and WordPress items that are not posts or pages
	// (attachments, menu entries); they are not listed one by one.
	Ignored int `json:"ignored"`
	// Posts lists every post and failed input in the order of the input.
	Posts []Outcome `json:"posts"`
	// Elapsed is how long the import took.
	Elapsed time.Duration `json:"-"`
}

func (s *Summary) count(o Outcome) {
	switch o.Result {
	case ResultImported:
		s.Imported++
	case ResultRevised:
		s.Revised++
	case ResultUnchanged:
		s.Unchanged++
	default:
		s.Skipped++
	}
}

// Progress reports an import under way after each post.
type Progress struct {
	Done, Total int
	Last        Outcome
	Summary     Summary // counts so far; Posts is left empty
}

// Input is one file handed to an import: a Markdown file, a zip of
// Markdown files, or a feed (RSS 2.0, Atom, WordPress WXR). Name is how
// the summary refers to it and, for Markdown, gives the slug.
type Input struct {
	Name string
	// Data holds an uploaded file; Path names a file on disk instead.
	Data []byte
	Path string
	// folder marks a file found in a folder, where only Markdown counts.
	folder bool
}

// ImportOptions configure an import.
type ImportOptions struct {
	Blog string
	// Actor and RequestID go into the events' metadata: who imported (a
	// user id, or "cli:<os user>") and, over HTTP, the request.
	Actor     string
	RequestID string
	// Progress, when set, is called after each post, from one goroutine at
	// a time.
	Progress func(Progress)
	// Workers is how many posts are written at once (default 4); the
	// store commits concurrent appends together, so a few workers make an
	// import several times faster than one.
	Workers int
	// Clock replaces time.Now in tests.
	Clock func() time.Time
}

// candidate is one post found in the input, parsed or not yet: load does
// the reading, so that a folder of many files is never in memory at once.
// The slug is known before: it comes from the file name or the feed.
type candidate struct {
	source string
	slug   string
	load   func() parsed
}

// parsed is a candidate after reading: a post, or the reason it is none.
type parsed struct {
	slug    string
	content events.PostContent
	skip    string
}

func skipped(slug, format string, args ...any) parsed {
	return parsed{slug: slug, skip: fmt.Sprintf(format, args...)}
}

// collection is what the inputs were expanded to.
type collection struct {
	candidates []candidate
	failed     []Outcome // inputs that yielded nothing, in order among the candidates
	order      []int     // for each entry of the output: >= 0 a candidate, < 0 ^index into failed
	ignored    int
	// groups holds the candidates that share a slug, in input order. One
	// worker takes a whole group, so that the first of them that is a post
	// gets the slug whatever order the workers run in, and a file skipped
	// for its own reason (a README that is no post) takes nothing away.
	groups  [][]int
	bySlug  map[string]int
	closers []io.Closer
}

func (c *collection) add(cd candidate) {
	i := len(c.candidates)
	c.order = append(c.order, i)
	c.candidates = append(c.candidates, cd)
	if g, ok := c.bySlug[cd.slug]; ok {
		c.groups[g] = append(c.groups[g], i)
		return
	}
	c.bySlug[cd.slug] = len(c.groups)
	c.groups = append(c.groups, []int{i})
}

func (c *collection) close() {
	for _, cl := range c.closers {
		cl.Close()
	}
}

func (c *collection) fail(source, format string, args ...any) {
	c.order = append(c.order, ^len(c.failed))
	c.failed = append(c.failed, Outcome{Source: source, Result: ResultSkipped, Reason: fmt.Sprintf(format, args...)})
}

// ExpandPaths turns command-line paths into inputs: a folder becomes every
// file under it (hidden files and folders excepted), a file itself.
// Folder files keep their path relative to the folder as their name, so
// that the summary names them and a re-import from elsewhere matches.
func ExpandPaths(paths []string) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, Input{Name: filepath.Base(p), Path: p})
			continue
		}
		err = filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if file != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				rel, err := filepath.Rel(p, file)
				if err != nil {
					return err
				}
				out = append(out, Input{Name: filepath.ToSlash(rel), Path: file, folder: true})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isMarkdown reports whether a file name is a Markdown post's.
func isMarkdown(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".md" || ext == ".markdown"
}

// expand classifies the inputs into post candidates. An input that cannot
// be read as what it claims to be becomes a skipped entry; it never stops
// the others.
func expand(inputs []Input) *collection {
	c := &collection{bySlug: map[string]int{}}
	for _, in := range inputs {
		lower := strings.ToLower(in.Name)
		switch {
		case isMarkdown(in.Name):
			c.add(candidate{source: in.Name, slug: markdownSlug(in.Name), load: func() parsed {
				data, skip := in.read(MaxPostBytes)
				if skip != "" {
					return skipped(markdownSlug(in.Name), "%s", skip)
				}
				return parseMarkdown(in.Name, data)
			}})
		case in.folder:
			// A folder is a Markdown archive; its images and notes are
			// not posts.
			c.ignored++
		case strings.HasSuffix(lower, ".zip"):
			expandZip(c, in)
		default:
			data, skip := in.read(MaxFeedBytes)
			if skip != "" {
				c.fail(in.Name, "%s", skip)
				continue
			}
			expandFeed(c, in.Name, data)
		}
	}
	return c
}

// read returns the input's bytes, or why they are not to be read: an
// input above limit is refused before it is read whole.
func (in Input) read(limit int) ([]byte, string) {
	if in.Path == "" {
		if len(in.Data) > limit {
			return nil, tooLarge(int64(len(in.Data)), limit)
		}
		return in.Data, ""
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, fmt.Sprintf("cannot be read: %v", errors.Unwrap(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > int64(limit) {
		return nil, tooLarge(fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Sprintf("cannot be read: %v", err)
	}
	if len(data) > limit {
		return nil, tooLarge(int64(len(data)), limit)
	}
	return data, ""
}

func tooLarge(size int64, limit int) string {
	return fmt.Sprintf("the file is %s, above the limit of %s (one post is one event, and the event store takes at most %s at once)",
		byteSize(int(min(size, 1<<40))), byteSize(limit), byteSize(events.MaxAppendSize))
}

// expandZip adds the Markdown files of a zip. Folders inside it are only
// packaging: a post's slug is its file name.
func expandZip(c *collection, in Input) {
	var (
		zr  *zip.Reader
		err error
	)
	if in.Path != "" {
		var rc *zip.ReadCloser
		rc, err = zip.OpenReader(in.Path)
		if err == nil {
			// The candidates read their entries after expand returns.
			zr = &rc.Reader
			c.closers = append(c.closers, rc)
		}
	} else {
		zr, err = zip.NewReader(bytes.NewReader(in.Data), int64(len(in.Data)))
	}
	if err != nil {
		c.fail(in.Name, "is not a zip archive that can be read: %v", err)
		return
	}
	if len(zr.File) > maxZipEntries {
		c.fail(in.Name, "has %d entries, above the limit of %d", len(zr.File), maxZipEntries)
		return
	}
	var mu sync.Mutex
	unpacked := 0
	for _, f := range zr.File {
		name := f.Name
		if f.FileInfo().IsDir() {
			continue
		}
		if !isMarkdown(name) || isHidden(name) {
			c.ignored++
			continue
		}
		source := in.Name + ":" + name
		slug := markdownSlug(name)
		c.add(candidate{source: source, slug: slug, load: func() parsed {
			if f.UncompressedSize64 > uint64(MaxPostBytes) {
				return skipped(slug, "%s", tooLarge(int64(min(f.UncompressedSize64, 1<<40)), MaxPostBytes))
			}
			rc, err := f.Open()
			if err != nil {
				return skipped(slug, "cannot be unpacked: %v", err)
			}
			defer rc.Close()
			// The sizes in a zip's directory are the packer's word; what
			// is read is counted again.
			data, err := io.ReadAll(io.LimitReader(rc, int64(MaxPostBytes)+1))
			if err != nil {
				return skipped(slug, "cannot be unpacked: %v", err)
			}
			if len(data) > MaxPostBytes {
				return skipped(slug, "%s", tooLarge(int64(len(data)), MaxPostBytes))
			}
			mu.Lock()
			unpacked += len(data)
			over := unpacked > maxZipBytes
			mu.Unlock()
			if over {
				return skipped(slug, "the zip unpacks to more than %s; split it", byteSize(maxZipBytes))
			}
			return parseMarkdown(name, data)
		}})
	}
}

func isHidden(name string) bool {
	for part := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(part, ".") || part == "__MACOSX" {
			return true
		}
	}
	return false
}

// Import brings inputs into blog opts.Blog: each post is loaded from its
// stream, decided on by the aggregate and appended with the revision it was
// read at. A post that cannot be imported is skipped with its reason and
// the rest go on; only a failing store (or ctx) ends an import early, and
// then the summary says how far it got.
func Import(ctx context.Context, store events.Store, inputs []Input, opts ImportOptions) (Summary, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	start := opts.Clock()
	sum := Summary{Blog: opts.Blog, Posts: []Outcome{}}
	if err := ValidateBlogName(opts.Blog); err != nil {
		return sum, err
	}
	if opts.Actor == "" {
		opts.Actor = events.ActorSystem
	}
	// Posts written into a deleted blog would be written for nobody: no
	// page shows them.
	if b, err := loadBlog(ctx, store, opts.Blog); err != nil {
		return sum, err
	} else if b.Deleted {
		return sum, conflict("blog", "blog_deleted", "", "the blog %q was deleted; nothing is imported into it", opts.Blog)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	col := expand(inputs)
	defer col.close()
	sum.Ignored = col.ignored

	outcomes := make([]Outcome, len(col.candidates))
	im := &importer{store: store, opts: opts, correlation: uuid.NewString()}
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
		progress = Summary{Blog: opts.Blog}
	)
	for _, o := range col.failed {
		progress.count(o)
	}
	for range min(opts.Workers, max(len(col.groups), 1)) {
		wg.Go(func() {
			for g := range jobs {
				claimed := ""
				for _, i := range col.groups[g] {
					o, err := im.one(ctx, col.candidates[i], claimed)
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					if err == nil {
						outcomes[i] = o
						progress.count(o)
						done++
						if opts.Progress != nil {
							opts.Progress(Progress{Done: done, Total: len(col.candidates), Last: o, Summary: progress})
						}
					}
					mu.Unlock()
					if err != nil {
						break
					}
					if o.Result != ResultSkipped && claimed == "" {
						claimed = o.Source
					}
				}
			}
		})
	}
feed:
	for i := range col.groups {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	for _, idx := range col.order {
		o := Outcome{}
		if idx < 0 {
			o = col.failed[^idx]
		} else {
			o = outcomes[idx]
		}
		if o.Result == "" {
			continue // not reached: the import stopped first
		}
		sum.count(o)
		sum.Posts = append(sum.Posts, o)
	}
	sum.Elapsed = opts.Clock().Sub(start)
	if firstErr != nil {
		return sum, fmt.Errorf("import into %s stopped after %d of %d posts: %w", opts.Blog, done, len(col.candidates), firstErr)
	}
	return sum, nil
}

// importer is the state one import shares between its workers.
type importer struct {
	store       events.Store
	opts        ImportOptions
	correlation string
}

// maxAttempts bounds the retries of a post whose stream another writer
// moved between our read and our append.
const maxAttempts = 5

// one imports one candidate, unless an earlier input (claimed) has
// imported its slug already. Its error is for failures of the store only;
// everything about the post itself is an outcome.
func (im *importer) one(ctx context.Context, cd candidate, claimed string) (Outcome, error) {
	p := cd.load()
	p.slug = cd.slug
	o := Outcome{Source: cd.source, Slug: p.slug, Result: ResultSkipped}
	if p.skip != "" {
		o.Reason = p.skip
		return o, nil
	}
	if err := ValidateSlug(p.slug); err != nil {
		o.Reason = reasonOf(err)
		return o, nil
	}
	if claimed != "" {
		o.Reason = fmt.Sprintf("duplicate slug %q: %s has it already in this import", p.slug, claimed)
		return o, nil
	}
	p.content.Source = cd.source
	for range maxAttempts {
		post, err := loadPost(ctx, im.store, im.opts.Blog, p.slug)
		if err != nil {
			return o, err
		}
		payloads, err := post.Import(im.opts.Blog, p.slug, p.content)
		switch {
		case errors.Is(err, ErrWithdrawn):
			o.Reason = "the post was withdrawn from the archive; an import does not bring it back"
			return o, nil
		case errors.Is(err, ErrWrittenHere):
			o.Reason = "a post with this slug was written in Yunqi; an import does not overwrite it"
			return o, nil
		case err != nil:
			o.Reason = reasonOf(err)
			return o, nil
		case len(payloads) == 0:
			o.Result = ResultUnchanged
			return o, nil
		}
		err = im.append(ctx, post, payloads)
		var wrong *events.WrongExpectedRevisionError
		var tooBig *events.TooLargeError
		switch {
		case errors.As(err, &wrong):
			continue // another import wrote it meanwhile: decide again
		case errors.As(err, &tooBig):
			o.Reason = fmt.Sprintf("the post makes an event of %s, above the event store's limit of %s", byteSize(tooBig.Size), byteSize(tooBig.Limit))
			return o, nil
		case err != nil:
			return o, err
		}
		o.Result = ResultImported
		if post.Exists {
			o.Result = ResultRevised
		}
		return o, nil
	}
	return o, fmt.Errorf("post %s/%s: still contended after %d attempts", im.opts.Blog, p.slug, maxAttempts)
}

// append writes the decided events. Their ids come from the post, the
// revision it was decided at and the new content's hash, so an import
// retried after a lost answer (or run twice at once) proposes the same ids
// and the store writes nothing twice; a later change back to an earlier
// text is a new revision and so gets new ids.
func (im *importer) append(ctx context.Context, post Post, payloads []any) error {
	stream := events.PostStream(im.opts.Blog, post.Slug)
	at := "new"
	if rev, ok := post.Version.Revision(); ok {
		at = fmt.Sprint(rev)
	}
	proposed := make([]events.Proposed, len(payloads))
	for i, payload := range payloads {
		ev, err := events.Types.New(payload, events.Metadata{
			Actor:         im.opts.Actor,
			CorrelationID: im.correlation,
			RequestID:     im.opts.RequestID,
			OccurredAt:    im.opts.Clock().UTC(),
			Visibility:    events.Public,
		})
		if err != nil {
			return err
		}
		ev.ID = events.IDFromKey(strings.Join([]string{"blog-import", im.opts.Blog, post.Slug, at, hashOf(payload)}, "\x00"), i)
		proposed[i] = ev
	}
	_, err := im.store.Append(ctx, stream, post.Version, proposed...)
	return err
}

func hashOf(payload any) string {
	switch p := payload.(type) {
	case events.PostImported:
		return p.ContentHash
	case events.PostRevised:
		return p.ContentHash
	}
	return ""
}

// reasonOf words a validation error for the summary without its sentinel.
func reasonOf(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalidPost.Error()+": ")
}
