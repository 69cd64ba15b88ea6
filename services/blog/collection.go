package blog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Collection is a curated book of posts: its details, its chapters in
// book order, and the editions published from it. The same state is the
// aggregate the commands decide on and the read model the pages show.
type Collection struct {
	ID       string
	Exists   bool
	Curator  string
	Details  events.CollectionDetails
	Chapters []events.CollectionChapter
	Editions []Edition
	// Revision is the stream revision of the last event: the version a
	// client sends back with a new chapter order.
	Revision uint64
	Created  time.Time
	Updated  time.Time
}

// Edition is one published edition of a collection.
type Edition struct {
	N         int
	Published time.Time
	Details   events.CollectionDetails
	Chapters  []events.PublishedChapter
}

func (c *Collection) apply(e events.Event, payload any, at time.Time) {
	switch v := payload.(type) {
	case events.CollectionCreated:
		c.ID, c.Exists, c.Curator, c.Details, c.Chapters, c.Created = v.ID, true, v.Curator, v.CollectionDetails, v.Chapters, at
	case events.CollectionEdited:
		c.Details = v.CollectionDetails
	case events.CollectionChaptersSet:
		c.Chapters = v.Chapters
	case events.CollectionPublished:
		c.Editions = append(c.Editions, Edition{N: v.Edition, Published: v.Published, Details: v.CollectionDetails, Chapters: v.Chapters})
	default:
		return
	}
	c.Revision, c.Updated = e.Revision, at
}

// Latest is the newest edition, false before the first.
func (c Collection) Latest() (Edition, bool) {
	if len(c.Editions) == 0 {
		return Edition{}, false
	}
	return c.Editions[len(c.Editions)-1], true
}

// Edition returns edition n.
func (c Collection) Edition(n int) (Edition, bool) {
	for _, e := range c.Editions {
		if e.N == n {
			return e, true
		}
	}
	return Edition{}, false
}

func (a *archive) applyCollection(payload any, e events.Event, at time.Time) {
	id := strings.TrimPrefix(e.Stream, events.CategoryCollection+"-")
	c := a.collections[id]
	if c == nil {
		if _, ok := payload.(events.CollectionCreated); !ok {
			return
		}
		c = &Collection{}
		a.collections[id] = c
	}
	c.apply(e, payload, at)
	switch payload.(type) {
	case events.CollectionPublished:
		c.Editions = a.redactEditions(c.Editions, func(ch events.PublishedChapter) bool { return a.deleted[ch.Blog] })
	case events.CollectionCreated, events.CollectionChaptersSet:
		if slices.ContainsFunc(c.Chapters, func(ch events.CollectionChapter) bool { return a.deleted[ch.Blog] }) {
			c.Chapters = slices.DeleteFunc(slices.Clone(c.Chapters), func(ch events.CollectionChapter) bool { return a.deleted[ch.Blog] })
		}
	}
}

// collection returns a copy of a collection's state.
func (a *archive) collection(id string) (Collection, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	c := a.collections[id]
	if c == nil {
		return Collection{}, false
	}
	return *c, true
}

// collectionList returns every collection, newest change first.
func (a *archive) collectionList() []Collection {
	a.mu.RLock()
	out := make([]Collection, 0, len(a.collections))
	for _, c := range a.collections {
		out = append(out, *c)
	}
	a.mu.RUnlock()
	slices.SortFunc(out, func(x, y Collection) int {
		if c := y.Updated.Compare(x.Updated); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// Limits of a collection.
const (
	maxCollectionChapters = 500
	maxPrefaceBytes       = 256 << 10
	maxPartRunes          = 200
	maxSubtitleRunes      = 500
)

var collectionID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CollectionInput is what creating or editing a collection takes.
type CollectionInput struct {
	ID       string                     `json:"id"`
	Title    string                     `json:"title"`
	TitleEn  string                     `json:"title_en"`
	Subtitle string                     `json:"subtitle"`
	Preface  string                     `json:"preface"`
	Cover    string                     `json:"cover"`
	Language string                     `json:"language"`
	Chapters []events.CollectionChapter `json:"chapters"`
}

func (s *Service) details(ps *problems, in *CollectionInput) events.CollectionDetails {
	d := events.CollectionDetails{
		Title: strings.TrimSpace(in.Title), TitleEn: strings.TrimSpace(in.TitleEn), Subtitle: strings.TrimSpace(in.Subtitle),
		Preface: in.Preface, Cover: strings.TrimSpace(in.Cover), Language: strings.TrimSpace(in.Language),
	}
	if d.Title == "" {
		ps.add("title", "required", "give the collection a title")
	}
	checkText(ps, "title", d.Title, maxBlogTitleRunes)
	checkText(ps, "title_en", d.TitleEn, maxBlogTitleRunes)
	checkText(ps, "subtitle", d.Subtitle, maxSubtitleRunes)
	if len(d.Preface) > maxPrefaceBytes {
		ps.add("preface", "preface_too_large", fmt.Sprintf("the preface may be at most %s", byteSize(maxPrefaceBytes)), "max", byteSize(maxPrefaceBytes))
	} else {
		checkText(ps, "preface", d.Preface, maxPrefaceBytes)
	}
	switch d.Language {
	case "":
		d.Language = "en"
		if strings.ContainsFunc(d.Title, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			d.Language = "zh-CN"
		}
	case "zh-CN", "en":
	case "zh", "zh-cn", "zh-Hans":
		d.Language = "zh-CN"
	default:
		ps.add("language", "language", "must be zh-CN or en")
	}
	if d.Cover != "" && !s.images.exists(d.Cover) {
		ps.add("cover", "cover_unknown", "must be the name of an uploaded image (PNG or JPEG)")
	} else if d.Cover != "" && !isCoverType(d.Cover) {
		ps.add("cover", "cover_type", "a cover must be a PNG or JPEG image")
	}
	return d
}

// chapters checks a chapter list: well-formed names, each post once.
func checkChapters(ps *problems, chapters []events.CollectionChapter) []events.CollectionChapter {
	if len(chapters) > maxCollectionChapters {
		ps.add("chapters", "too_many_chapters", fmt.Sprintf("a collection may have at most %d chapters", maxCollectionChapters), "max", fmt.Sprint(maxCollectionChapters))
		return nil
	}
	out := make([]events.CollectionChapter, 0, len(chapters))
	seen := map[[2]string]int{}
	for i, ch := range chapters {
		ch.Blog, ch.Slug, ch.Part = strings.TrimSpace(ch.Blog), strings.TrimSpace(ch.Slug), strings.TrimSpace(ch.Part)
		field := fmt.Sprintf("chapters[%d]", i)
		if ValidateBlogName(ch.Blog) != nil {
			ps.add(field+".blog", "blog_name", "must be the name of a blog")
			continue
		}
		if err := ValidateSlug(ch.Slug); err != nil {
			ps.add(field+".slug", "slug", reasonOf(err))
			continue
		}
		checkText(ps, field+".part", ch.Part, maxPartRunes)
		k := [2]string{ch.Blog, ch.Slug}
		if j, dup := seen[k]; dup {
			ps.add(field, "duplicate_chapter", fmt.Sprintf("%s/%s is chapter %d already", ch.Blog, ch.Slug, j+1),
				"post", ch.Blog+"/"+ch.Slug, "n", fmt.Sprint(j+1))
			continue
		}
		seen[k] = i
		out = append(out, ch)
	}
	return out
}

func isCoverType(name string) bool {
	return strings.HasSuffix(name, ".png") || strings.HasSuffix(name, ".jpg")
}

// ownsAll: the caller owns every blog the chapters come from.
func (a *archive) ownsAll(userID string, chapters []events.CollectionChapter) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, ch := range chapters {
		m := a.meta[ch.Blog]
		if m == nil || m.Owner != userID {
			return false
		}
	}
	return true
}

// mayCurate: organisers curate every collection; a member curates the
// collections they made, as long as they own every blog whose posts the
// book holds.
func (s *Service) mayCurate(who auth.Principal, c Collection, chapters []events.CollectionChapter) error {
	if who.HasRole(auth.RoleOrganizer) {
		return nil
	}
	if who.UserID == "" || (c.Exists && c.Curator != who.UserID) || !s.archive.ownsAll(who.UserID, chapters) {
		return ErrNotWriter
	}
	return nil
}

// MayCurate tells the pages whether to offer the curator's forms.
func (s *Service) MayCurate(who auth.Principal, c Collection) bool {
	return s.mayCurate(who, c, c.Chapters) == nil
}

func loadCollection(ctx context.Context, store events.Store, id string) (Collection, events.ExpectedRevision, error) {
	var c Collection
	version := events.NoStream
	err := readStream(ctx, store, events.CollectionStream(id), func(e events.Event, payload any) {
		at := e.Metadata.OccurredAt
		if at.IsZero() {
			at = e.Recorded
		}
		c.apply(e, payload, at)
		version = events.Exact(e.Revision)
	})
	return c, version, err
}

func (s *Service) existingCollection(ctx context.Context, id string) (Collection, events.ExpectedRevision, error) {
	if !collectionID.MatchString(id) {
		return Collection{}, events.NoStream, ErrCollectionNotFound
	}
	c, v, err := loadCollection(ctx, s.store, id)
	if err != nil {
		return Collection{}, v, err
	}
	if !c.Exists {
		return Collection{}, v, ErrCollectionNotFound
	}
	return c, v, nil
}

// CreateCollection opens a collection.
func (s *Service) CreateCollection(ctx context.Context, who auth.Principal, in CollectionInput, key string) (Collection, error) {
	var ps problems
	in.ID = strings.TrimSpace(in.ID)
	if !collectionID.MatchString(in.ID) {
		ps.add("id", "collection_id", "must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	d := s.details(&ps, &in)
	chapters := checkChapters(&ps, in.Chapters)
	if err := ps.err(); err != nil {
		return Collection{}, err
	}
	if err := s.mayCurate(who, Collection{}, chapters); err != nil {
		return Collection{}, err
	}
	c, _, err := loadCollection(ctx, s.store, in.ID)
	if err != nil {
		return Collection{}, err
	}
	if c.Exists {
		return Collection{}, conflict("id", "collection_taken", collectionPath(in.ID), "there is a collection %q already", in.ID)
	}
	ev := events.CollectionCreated{ID: in.ID, Curator: who.UserID, Chapters: chapters, CollectionDetails: d}
	if err := s.write(ctx, events.CollectionStream(in.ID), events.NoStream, command{who: who, key: key}, writersOnly(ev)); err != nil {
		var wrong *events.WrongExpectedRevisionError
		if errors.As(err, &wrong) {
			return Collection{}, conflict("id", "collection_taken", collectionPath(in.ID), "there is a collection %q already", in.ID)
		}
		return Collection{}, err
	}
	c.apply(events.Event{}, ev, s.cfg.Clock().UTC())
	return c, nil
}

// EditCollection changes a collection's details (not its chapters).
func (s *Service) EditCollection(ctx context.Context, who auth.Principal, id string, in CollectionInput) (Collection, error) {
	var ps problems
	d := s.details(&ps, &in)
	if err := ps.err(); err != nil {
		return Collection{}, err
	}
	c, version, err := s.existingCollection(ctx, id)
	if err != nil {
		return Collection{}, err
	}
	if err := s.mayCurate(who, c, c.Chapters); err != nil {
		return Collection{}, err
	}
	if d == c.Details {
		return c, nil
	}
	ev := events.CollectionEdited{ID: id, CollectionDetails: d}
	if err := s.write(ctx, events.CollectionStream(id), version, command{who: who}, writersOnly(ev)); err != nil {
		return Collection{}, s.staleCollection(ctx, id, err)
	}
	rev, _ := version.Revision()
	c.apply(events.Event{Revision: rev + 1}, ev, s.cfg.Clock().UTC())
	return c, nil
}

// StaleChapters is the 409 body of a chapter list sent against an older
// version: the order as it is now.
type StaleChapters struct {
	Version  uint64                     `json:"version"`
	Chapters []events.CollectionChapter `json:"chapters"`
}

// SetChapters replaces the chapter list, decided against version (the
// collection's revision the client saw); a list sent against an older
// version is refused with the current order.
func (s *Service) SetChapters(ctx context.Context, who auth.Principal, id string, version uint64, chapters []events.CollectionChapter) (Collection, error) {
	var ps problems
	chapters = checkChapters(&ps, chapters)
	if err := ps.err(); err != nil {
		return Collection{}, err
	}
	c, v, err := s.existingCollection(ctx, id)
	if err != nil {
		return Collection{}, err
	}
	if err := s.mayCurate(who, c, chapters); err != nil {
		return Collection{}, err
	}
	if c.Revision != version {
		return Collection{}, staleError(c)
	}
	if slices.Equal(chapters, c.Chapters) {
		return c, nil
	}
	ev := events.CollectionChaptersSet{ID: id, Chapters: chapters}
	if err := s.write(ctx, events.CollectionStream(id), v, command{who: who}, writersOnly(ev)); err != nil {
		return Collection{}, s.staleCollection(ctx, id, err)
	}
	c.apply(events.Event{Revision: c.Revision + 1}, ev, s.cfg.Clock().UTC())
	return c, nil
}

// AddChapter puts a post into the collection at position (1-based; 0 or
// past the end: last).
func (s *Service) AddChapter(ctx context.Context, who auth.Principal, id string, ch events.CollectionChapter, position int) (Collection, error) {
	c, _, err := s.existingCollection(ctx, id)
	if err != nil {
		return Collection{}, err
	}
	list := slices.Clone(c.Chapters)
	if position < 1 || position > len(list) {
		list = append(list, ch)
	} else {
		list = slices.Insert(list, position-1, ch)
	}
	return s.SetChapters(ctx, who, id, c.Revision, list)
}

// RemoveChapter takes a post out of the collection.
func (s *Service) RemoveChapter(ctx context.Context, who auth.Principal, id, blog, slug string) (Collection, error) {
	c, _, err := s.existingCollection(ctx, id)
	if err != nil {
		return Collection{}, err
	}
	list := slices.DeleteFunc(slices.Clone(c.Chapters), func(ch events.CollectionChapter) bool { return ch.Blog == blog && ch.Slug == slug })
	if len(list) == len(c.Chapters) {
		return Collection{}, ErrPostNotFound
	}
	return s.SetChapters(ctx, who, id, c.Revision, list)
}

func staleError(c Collection) *ConflictError {
	return &ConflictError{Field: "version", Code: "stale_order",
		Message: fmt.Sprintf("the chapters changed since version %d was read; the current order is version %d", c.Revision, c.Revision),
		Href:    collectionPath(c.ID), Current: StaleChapters{Version: c.Revision, Chapters: nonNilChapters(c.Chapters)}}
}

func nonNilChapters(c []events.CollectionChapter) []events.CollectionChapter {
	if c == nil {
		return []events.CollectionChapter{}
	}
	return c
}

// staleCollection turns a lost race into the 409 with the state that won.
func (s *Service) staleCollection(ctx context.Context, id string, err error) error {
	var wrong *events.WrongExpectedRevisionError
	if !errors.As(err, &wrong) {
		return err
	}
	c, _, lerr := s.existingCollection(ctx, id)
	if lerr != nil {
		return lerr
	}
	e := staleError(c)
	e.Message = "someone changed the collection at the same time; the current order is version " + fmt.Sprint(c.Revision)
	return e
}

// MissingChapter is a chapter whose post readers cannot see (unknown,
// unpublished or withdrawn).
type MissingChapter struct {
	Index int // 0-based
	events.CollectionChapter
}

// missingChapters lists the chapters whose posts are not public now.
func (s *Service) missingChapters(chapters []events.CollectionChapter) []MissingChapter {
	var out []MissingChapter
	for i, ch := range chapters {
		if _, ok := s.archive.post(ch.Blog, ch.Slug); !ok {
			out = append(out, MissingChapter{Index: i, CollectionChapter: ch})
		}
	}
	return out
}

// PublishCollection publishes the next edition: every chapter pinned to
// the revision readers see now. A chapter whose post readers cannot see
// refuses the edition, naming the chapter.
func (s *Service) PublishCollection(ctx context.Context, who auth.Principal, id, key string) (Edition, error) {
	c, v, err := s.existingCollection(ctx, id)
	if err != nil {
		return Edition{}, err
	}
	if err := s.mayCurate(who, c, c.Chapters); err != nil {
		return Edition{}, err
	}
	var ps problems
	if len(c.Chapters) == 0 {
		ps.add("chapters", "no_chapters", "add at least one chapter before publishing")
	}
	for _, m := range s.missingChapters(c.Chapters) {
		ps.add(fmt.Sprintf("chapters[%d]", m.Index), "missing_chapter",
			fmt.Sprintf("chapter %d, %s/%s, is not a published post (unknown, unpublished or withdrawn)", m.Index+1, m.Blog, m.Slug),
			"n", fmt.Sprint(m.Index+1), "post", m.Blog+"/"+m.Slug)
	}
	if err := ps.err(); err != nil {
		return Edition{}, err
	}
	pinned := make([]events.PublishedChapter, len(c.Chapters))
	for i, ch := range c.Chapters {
		info, _ := s.archive.post(ch.Blog, ch.Slug)
		pinned[i] = events.PublishedChapter{Blog: ch.Blog, Slug: ch.Slug, Part: ch.Part, Title: info.Title, Revision: info.Revision, Authors: info.Authors}
	}
	ev := events.CollectionPublished{ID: id, Edition: len(c.Editions) + 1, Published: s.cfg.Clock().UTC(), Chapters: pinned, CollectionDetails: c.Details}
	if err := s.write(ctx, events.CollectionStream(id), v, command{who: who, key: key}, public(ev)); err != nil {
		return Edition{}, s.staleCollection(ctx, id, err)
	}
	return Edition{N: ev.Edition, Published: ev.Published, Details: ev.CollectionDetails, Chapters: ev.Chapters}, nil
}
