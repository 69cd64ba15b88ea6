package events

import "time"

// Blog streams. A post is one stream named by blog and slug, so that
// re-importing the same archive finds the post it wrote before; a blog
// written in Yunqi has a stream of its own for its owner, co-authors and
// description (imported archives may have none); a collection (a curated
// book of posts of any blog) is a stream too.
const (
	CategoryPost       = "post"
	CategoryBlog       = "blog"
	CategoryCollection = "collection"
)

// PostStream names the stream of the post slug of blog; a slug is unique
// only within its blog (two archives may both have "01.1").
func PostStream(blog, slug string) string { return StreamName(CategoryPost, blog+"."+slug) }

// BlogStream names the stream of the blog called name.
func BlogStream(name string) string { return StreamName(CategoryBlog, name) }

// CollectionStream names the stream of the collection id.
func CollectionStream(id string) string { return StreamName(CategoryCollection, id) }

// PostContent is what an archive says about a post. Body is as written, in
// Format; template directives and HTML in it are text, and renderers
// sanitise what they produce. ContentHash is the hash of the canonical JSON
// of what readers see (every field but Source and the hash itself), so a
// re-import can tell "unchanged" from the post's current state alone, and
// the same archive imported from another place is still unchanged.
type PostContent struct {
	Title   string    `json:"title"`
	Authors []string  `json:"authors,omitempty"`
	Date    time.Time `json:"date,omitzero"`
	Tags    []string  `json:"tags,omitempty"`
	Summary string    `json:"summary,omitempty"`
	Body    string    `json:"body"`
	// Format is how Body is written: FormatMarkdown (also when empty) or
	// FormatHTML, which feeds and WordPress exports carry.
	Format      string `json:"format,omitempty"`
	Source      string `json:"source,omitempty"` // where it came from: a file name, a feed item link
	ContentHash string `json:"content_hash"`
}

// Body formats of PostContent.
const (
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
)

// Revision numbers. Every version of a post's content is a revision,
// numbered from 1 in the order written. Events written by imports before
// revisions were numbered carry none (0); for them the number is the
// event's stream revision + 1, since an import stream holds nothing but
// content events. RevisionOf says which applies.

// RevisionOf is the revision number of a content event: n when it carries
// one, else the one its place in the stream implies.
func RevisionOf(n int, streamRevision uint64) int {
	if n > 0 {
		return n
	}
	return int(streamRevision) + 1
}

// PostImported opens a post stream. Posts are public: nothing personal
// beyond the authors' published names is ever in them.
type PostImported struct {
	Blog     string `json:"blog"`
	Slug     string `json:"slug"`
	Revision int    `json:"revision,omitempty"`
	PostContent
}

// PostRevised replaces the content of a post readers see with a newer
// revision: a changed import, or a save of a published post written in
// Yunqi, which names its editor (the account and the name it writes
// under).
type PostRevised struct {
	Blog           string `json:"blog"`
	Slug           string `json:"slug"`
	Revision       int    `json:"revision,omitempty"`
	Editor         string `json:"editor,omitempty"`
	EditorPersonal `json:"personal,omitzero"`
	PostContent
}

// PostDrafted is a revision readers do not see: the first save of a post
// written in Yunqi, or a save while it is not published. Its visibility is
// owner: the blog's writers see it, public projections never do.
type PostDrafted struct {
	Blog           string `json:"blog"`
	Slug           string `json:"slug"`
	Revision       int    `json:"revision"`
	Editor         string `json:"editor"`
	EditorPersonal `json:"personal,omitzero"`
	PostContent
}

// PostPublished puts a revision in front of readers. It carries that
// revision's content, so that public projections (the archive, search,
// feeds) never need a draft to show it. Published is when the post first
// went out; a post unpublished and published again keeps that date.
//
// A publish that saves new content at the same time is that revision's
// only event (one event of at most a post's size, inside the log's limit
// per append): Revision is then one above the post's last, and Editor
// names who wrote it.
type PostPublished struct {
	Blog           string    `json:"blog"`
	Slug           string    `json:"slug"`
	Revision       int       `json:"revision"`
	Published      time.Time `json:"published"`
	Editor         string    `json:"editor,omitempty"`
	EditorPersonal `json:"personal,omitzero"`
	PostContent
}

// PostUnpublished takes a published post back to the writers: readers,
// feeds and search no longer see it; its revisions stay.
type PostUnpublished struct {
	Blog string `json:"blog"`
	Slug string `json:"slug"`
}

// PostWithdrawn takes a post off the archive (and out of search) for good;
// its history stays in the log.
type PostWithdrawn struct {
	Blog   string `json:"blog"`
	Slug   string `json:"slug"`
	Reason string `json:"reason,omitempty"`
}

// The names people write under are personal: each sits in the event's
// personal member, sealed under the person's key (PersonalSubject names
// them), so an erasure takes the byline out of every copy of the log.
// Schema version 1 had them at the top level; its upcaster moves them in.

// EditorPersonal is the name the editor of a revision writes under.
type EditorPersonal struct {
	EditorName string `json:"editor_name,omitempty"`
}

// OwnerPersonal is the name a blog's owner writes under.
type OwnerPersonal struct {
	OwnerName string `json:"owner_name,omitempty"`
}

// CoauthorPersonal is the name a co-author writes under.
type CoauthorPersonal struct {
	Name string `json:"name,omitempty"`
}

func editorSubject(editor string) string {
	if editor == "" {
		// A byline with no account behind it (the demo team's) is the
		// system's own.
		return ActorSystem
	}
	return editor
}

func (e PostRevised) PersonalSubject() string       { return editorSubject(e.Editor) }
func (e PostDrafted) PersonalSubject() string       { return editorSubject(e.Editor) }
func (e PostPublished) PersonalSubject() string     { return editorSubject(e.Editor) }
func (e BlogCreated) PersonalSubject() string       { return editorSubject(e.Owner) }
func (e BlogCoauthorAdded) PersonalSubject() string { return e.UserID }

// BlogCreated opens a blog written in Yunqi, or names the owner of an
// imported archive. Owner is an account id; OwnerName is the name the
// owner writes under, which the blog's pages show. Public.
type BlogCreated struct {
	Name          string `json:"name"`
	Title         string `json:"title"`
	TitleEn       string `json:"title_en,omitempty"`
	Description   string `json:"description,omitempty"`
	Owner         string `json:"owner"`
	OwnerPersonal `json:"personal,omitzero"`
}

// BlogUpdated changes how a blog presents itself.
type BlogUpdated struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	TitleEn     string `json:"title_en,omitempty"`
	Description string `json:"description,omitempty"`
}

// BlogCoauthorAdded lets another account write on the blog.
type BlogCoauthorAdded struct {
	Blog             string `json:"blog"`
	UserID           string `json:"user_id"`
	CoauthorPersonal `json:"personal,omitzero"`
}

// BlogCoauthorRemoved takes that right back; what they wrote stays.
type BlogCoauthorRemoved struct {
	Blog   string `json:"blog"`
	UserID string `json:"user_id"`
}

// BlogAuthorLinked says that an author name of an imported archive is the
// account UserID, so that the author page can point to the person. Only
// the blog's owner can say so; an empty UserID removes the link.
type BlogAuthorLinked struct {
	Blog   string `json:"blog"`
	Author string `json:"author"`
	UserID string `json:"user_id,omitempty"`
}

// BlogDeleted: the owner took the blog down for good. Its posts leave
// every public view (pages, feeds, search, the chapters of collections)
// and its writers' desk; the post and blog streams stay in the log, and
// the name stays taken, so that no later blog inherits the old posts'
// streams or links.
type BlogDeleted struct {
	Name string `json:"name"`
}

// CollectionChapter is one chapter of a collection: a post of any blog,
// optionally in a part of the book (consecutive chapters with the same
// Part title form that part).
type CollectionChapter struct {
	Blog string `json:"blog"`
	Slug string `json:"slug"`
	Part string `json:"part,omitempty"`
}

// CollectionDetails is how a collection presents itself. Preface is
// Markdown; Cover names an uploaded image; Language is the book's,
// "zh-CN" or "en".
type CollectionDetails struct {
	Title    string `json:"title"`
	TitleEn  string `json:"title_en,omitempty"`
	Subtitle string `json:"subtitle,omitempty"`
	Preface  string `json:"preface,omitempty"`
	Cover    string `json:"cover,omitempty"`
	Language string `json:"language"`
}

// CollectionCreated opens a collection. Curator is the account that made
// it. Until its first edition is published a collection is the curators'
// work in progress: visibility owner.
type CollectionCreated struct {
	ID       string              `json:"id"`
	Curator  string              `json:"curator"`
	Chapters []CollectionChapter `json:"chapters"`
	CollectionDetails
}

// CollectionEdited changes a collection's details.
type CollectionEdited struct {
	ID string `json:"id"`
	CollectionDetails
}

// CollectionChaptersSet is the collection's new chapter list, in book
// order: adding, removing and reordering chapters all write the whole
// list, decided against the collection's current version.
type CollectionChaptersSet struct {
	ID       string              `json:"id"`
	Chapters []CollectionChapter `json:"chapters"`
}

// PublishedChapter is a chapter pinned to the post revision it had when
// its edition was published: a later edit of the post does not change a
// published book.
type PublishedChapter struct {
	Blog     string `json:"blog"`
	Slug     string `json:"slug"`
	Part     string `json:"part,omitempty"`
	Title    string `json:"title"`
	Revision int    `json:"revision"`
	// Authors are the post's authors at that revision, for the book's
	// credits.
	Authors []string `json:"authors,omitempty"`
}

// CollectionPublished publishes edition Edition (1, 2, …) of the book:
// its details and chapters as they were at that moment. Public; every
// edition stays readable.
type CollectionPublished struct {
	ID        string             `json:"id"`
	Edition   int                `json:"edition"`
	Published time.Time          `json:"published"`
	Chapters  []PublishedChapter `json:"chapters"`
	CollectionDetails
}

func registerBlog(r *Registry) {
	r.Register("blog.PostImported", PostImported{}, 1)
	r.Register("blog.PostRevised", PostRevised{}, 2)
	r.RegisterUpcaster("blog.PostRevised", 1, MoveIntoPersonal("editor_name"))
	r.Register("blog.PostDrafted", PostDrafted{}, 2)
	r.RegisterUpcaster("blog.PostDrafted", 1, MoveIntoPersonal("editor_name"))
	r.Register("blog.PostPublished", PostPublished{}, 2)
	r.RegisterUpcaster("blog.PostPublished", 1, MoveIntoPersonal("editor_name"))
	r.Register("blog.PostUnpublished", PostUnpublished{}, 1)
	r.Register("blog.PostWithdrawn", PostWithdrawn{}, 1)
	r.Register("blog.BlogCreated", BlogCreated{}, 2)
	r.RegisterUpcaster("blog.BlogCreated", 1, MoveIntoPersonal("owner_name"))
	r.Register("blog.BlogUpdated", BlogUpdated{}, 1)
	r.Register("blog.BlogCoauthorAdded", BlogCoauthorAdded{}, 2)
	r.RegisterUpcaster("blog.BlogCoauthorAdded", 1, MoveIntoPersonal("name"))
	r.Register("blog.BlogCoauthorRemoved", BlogCoauthorRemoved{}, 1)
	r.Register("blog.BlogAuthorLinked", BlogAuthorLinked{}, 1)
	r.Register("blog.BlogDeleted", BlogDeleted{}, 1)
	r.Register("blog.CollectionCreated", CollectionCreated{}, 1)
	r.Register("blog.CollectionEdited", CollectionEdited{}, 1)
	r.Register("blog.CollectionChaptersSet", CollectionChaptersSet{}, 1)
	r.Register("blog.CollectionPublished", CollectionPublished{}, 1)
}
