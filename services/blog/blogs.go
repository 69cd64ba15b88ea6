package blog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Blog is the aggregate of a blog written in Yunqi (or an imported
// archive that an organiser gave an owner): who may write on it and how it
// presents itself. An imported archive without one has no writers.
type Blog struct {
	Name   string
	Exists bool
	// Deleted: the owner deleted the blog; its name stays taken.
	Deleted     bool
	Title       string
	TitleEn     string
	Description string
	Owner       string
	OwnerName   string
	// Coauthors maps account ids to the names they write under.
	Coauthors map[string]string
	// AuthorLinks maps author names of imported posts to accounts.
	AuthorLinks map[string]string
	Version     events.ExpectedRevision
}

func (b *Blog) apply(payload any) {
	switch e := payload.(type) {
	case events.BlogCreated:
		b.Exists, b.Title, b.TitleEn, b.Description, b.Owner, b.OwnerName = true, e.Title, e.TitleEn, e.Description, e.Owner, e.OwnerName
	case events.BlogUpdated:
		b.Title, b.TitleEn, b.Description = e.Title, e.TitleEn, e.Description
	case events.BlogCoauthorAdded:
		if b.Coauthors == nil {
			b.Coauthors = map[string]string{}
		}
		b.Coauthors[e.UserID] = e.Name
	case events.BlogCoauthorRemoved:
		delete(b.Coauthors, e.UserID)
	case events.BlogDeleted:
		b.Exists, b.Deleted = false, true
	case events.BlogAuthorLinked:
		if b.AuthorLinks == nil {
			b.AuthorLinks = map[string]string{}
		}
		if e.UserID == "" {
			delete(b.AuthorLinks, e.Author)
		} else {
			b.AuthorLinks[e.Author] = e.UserID
		}
	}
}

// CanWrite reports whether the account may write posts on the blog.
func (b Blog) CanWrite(userID string) bool {
	if !b.Exists || userID == "" {
		return false
	}
	_, co := b.Coauthors[userID]
	return userID == b.Owner || co
}

// reservedBlogNames are the words the blog pages use as path segments
// beside blog names; a blog of that name would be unreachable or would
// shadow them.
var reservedBlogNames = []string{
	"collections", "feed.atom", "feed.rss", "authors", "tags", "images", "write", "new",
	"preview", "search", "sitemap.xml", "robots.txt", "api", "static", "drafts", "feeds", "blogs", "print",
}

// Limits on what a blog says about itself.
const (
	maxBlogTitleRunes       = 200
	maxBlogDescriptionRunes = 2000
	maxPersonNameRunes      = 200
)

// BlogInput is what creating or updating a blog takes.
type BlogInput struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	TitleEn     string `json:"title_en"`
	Description string `json:"description"`
	// Owner and OwnerName name the owner an organiser gives an imported
	// archive; a member creating a blog owns it, under their own name.
	Owner     string `json:"owner"`
	OwnerName string `json:"owner_name"`
}

func (in *BlogInput) clean() {
	in.Name = strings.TrimSpace(in.Name)
	in.Title = strings.TrimSpace(in.Title)
	in.TitleEn = strings.TrimSpace(in.TitleEn)
	in.Description = strings.TrimSpace(in.Description)
	in.Owner = strings.TrimSpace(in.Owner)
	in.OwnerName = strings.TrimSpace(in.OwnerName)
}

func validateBlogDetails(ps *problems, title, titleEn, description string) {
	if title == "" {
		ps.add("title", "required", "give the blog a title")
	}
	checkText(ps, "title", title, maxBlogTitleRunes)
	checkText(ps, "title_en", titleEn, maxBlogTitleRunes)
	checkText(ps, "description", description, maxBlogDescriptionRunes)
}

// checkText refuses text that is not UTF-8, carries control characters
// other than line breaks and tabs, or is longer than max runes.
func checkText(ps *problems, field, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		ps.add(field, "utf8", "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		ps.add(field, "too_long", fmt.Sprintf("must be at most %d characters, got %d", max, utf8.RuneCountInString(s)),
			"max", fmt.Sprint(max), "n", fmt.Sprint(utf8.RuneCountInString(s)))
	case strings.ContainsFunc(s, isBadControl):
		ps.add(field, "control", "must not contain control characters")
	}
}

func isBadControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) // bidirectional overrides
}

// CreateBlog opens a blog. A member owns what they create, under their
// display name; an organiser may instead name the owner of an imported
// archive. A name already used by a blog, or by an imported archive when
// the caller is not an organiser, is a conflict.
func (s *Service) CreateBlog(ctx context.Context, who auth.Principal, in BlogInput, key string) (Blog, error) {
	in.clean()
	var ps problems
	if err := ValidateBlogName(in.Name); err != nil {
		ps.add("name", "blog_name", "must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	} else if slices.Contains(reservedBlogNames, in.Name) {
		ps.add("name", "reserved", fmt.Sprintf("%q is a word the blog pages use; choose another name", in.Name), "name", in.Name)
	}
	validateBlogDetails(&ps, in.Title, in.TitleEn, in.Description)
	organizer := who.HasRole(auth.RoleOrganizer)
	owner, ownerName := who.UserID, who.DisplayName
	if in.Owner != "" || in.OwnerName != "" {
		if !organizer {
			ps.add("owner", "owner_organizer", "only an organiser can name another owner")
		} else {
			if in.Owner == "" {
				ps.add("owner", "required", "name the owner's account id")
			}
			checkText(&ps, "owner_name", in.OwnerName, maxPersonNameRunes)
			owner, ownerName = in.Owner, in.OwnerName
		}
	}
	if err := ps.err(); err != nil {
		return Blog{}, err
	}
	b, err := loadBlog(ctx, s.store, in.Name)
	if err != nil {
		return Blog{}, err
	}
	if b.Exists {
		return Blog{}, conflict("name", "blog_taken", blogPath(in.Name), "there is a blog called %q already", in.Name)
	}
	if b.Deleted {
		// Its posts' streams and links are the old blog's: a new blog of
		// the name would inherit them.
		return Blog{}, conflict("name", "blog_deleted", "", "a blog called %q was deleted; its name is not given again", in.Name)
	}
	if _, imported := s.archive.posts(in.Name); imported && !organizer {
		return Blog{}, conflict("name", "archive_taken", blogPath(in.Name), "an imported archive is called %q; an organiser can give it an owner", in.Name)
	}
	ev := events.BlogCreated{Name: in.Name, Title: in.Title, TitleEn: in.TitleEn, Description: in.Description, Owner: owner, OwnerPersonal: events.OwnerPersonal{OwnerName: ownerName}}
	if err := s.write(ctx, events.BlogStream(in.Name), events.NoStream, command{who: who, key: key}, public(ev)); err != nil {
		var wrong *events.WrongExpectedRevisionError
		if errors.As(err, &wrong) {
			return Blog{}, conflict("name", "blog_taken", blogPath(in.Name), "there is a blog called %q already", in.Name)
		}
		return Blog{}, err
	}
	b.apply(ev)
	return b, nil
}

// UpdateBlog changes a blog's title and description; only its owner may.
func (s *Service) UpdateBlog(ctx context.Context, who auth.Principal, in BlogInput) (Blog, error) {
	in.clean()
	var ps problems
	validateBlogDetails(&ps, in.Title, in.TitleEn, in.Description)
	if err := ps.err(); err != nil {
		return Blog{}, err
	}
	b, err := s.ownedBlog(ctx, who, in.Name)
	if err != nil {
		return Blog{}, err
	}
	if b.Title == in.Title && b.TitleEn == in.TitleEn && b.Description == in.Description {
		return b, nil
	}
	ev := events.BlogUpdated{Name: in.Name, Title: in.Title, TitleEn: in.TitleEn, Description: in.Description}
	if err := s.write(ctx, events.BlogStream(in.Name), b.Version, command{who: who}, public(ev)); err != nil {
		return Blog{}, err
	}
	b.apply(ev)
	return b, nil
}

// SetCoauthor adds (or, with remove, takes away) a co-author; only the
// owner may, and the owner is no co-author of their own blog.
func (s *Service) SetCoauthor(ctx context.Context, who auth.Principal, blog, userID, name string, remove bool) (Blog, error) {
	userID, name = strings.TrimSpace(userID), strings.TrimSpace(name)
	var ps problems
	if !validAccountID(userID) {
		ps.add("user_id", "account_id", "must be the id of an account, as its profile address shows it")
	}
	checkText(&ps, "name", name, maxPersonNameRunes)
	if err := ps.err(); err != nil {
		return Blog{}, err
	}
	b, err := s.ownedBlog(ctx, who, blog)
	if err != nil {
		return Blog{}, err
	}
	var ev any
	_, has := b.Coauthors[userID]
	switch {
	case userID == b.Owner:
		return Blog{}, (&problems{{Field: "user_id", Code: "coauthor_owner", Message: "the owner writes on the blog already"}}).err()
	case remove && !has:
		return b, nil
	case remove:
		ev = events.BlogCoauthorRemoved{Blog: blog, UserID: userID}
	case has && b.Coauthors[userID] == name:
		return b, nil
	default:
		ev = events.BlogCoauthorAdded{Blog: blog, UserID: userID, CoauthorPersonal: events.CoauthorPersonal{Name: name}}
	}
	if err := s.write(ctx, events.BlogStream(blog), b.Version, command{who: who}, public(ev)); err != nil {
		return Blog{}, err
	}
	b.apply(ev)
	return b, nil
}

// LinkAuthor says which account an imported author name belongs to (an
// empty userID removes the link); only the owner may.
func (s *Service) LinkAuthor(ctx context.Context, who auth.Principal, blog, author, userID string) (Blog, error) {
	author, userID = strings.TrimSpace(author), strings.TrimSpace(userID)
	var ps problems
	if author == "" {
		ps.add("author", "required", "name the author as the posts name them")
	}
	checkText(&ps, "author", author, maxPersonNameRunes)
	if userID != "" && !validAccountID(userID) {
		ps.add("user_id", "account_id", "must be the id of an account, as its profile address shows it")
	}
	if err := ps.err(); err != nil {
		return Blog{}, err
	}
	b, err := s.ownedBlog(ctx, who, blog)
	if err != nil {
		return Blog{}, err
	}
	if b.AuthorLinks[author] == userID {
		return b, nil
	}
	ev := events.BlogAuthorLinked{Blog: blog, Author: author, UserID: userID}
	if err := s.write(ctx, events.BlogStream(blog), b.Version, command{who: who}, public(ev)); err != nil {
		return Blog{}, err
	}
	b.apply(ev)
	return b, nil
}

// validAccountID accepts what identity's account ids look like (UUIDs),
// and a little more, without knowing identity: it keeps what is stored a
// plain token.
func validAccountID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// AccountIDFrom takes what a person pasted (a profile address such as
// https://host/identity/people/<id>, or the bare id) and returns the id.
func AccountIDFrom(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "/identity/people/"); i >= 0 {
		s = s[i+len("/identity/people/"):]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return s
}

func (s *Service) ownedBlog(ctx context.Context, who auth.Principal, name string) (Blog, error) {
	b, err := s.existingBlog(ctx, name)
	if err != nil {
		return Blog{}, err
	}
	if b.Owner != who.UserID {
		return Blog{}, ErrNotOwner
	}
	return b, nil
}

// WritableBlog loads a blog the caller may write on.
func (s *Service) WritableBlog(ctx context.Context, who auth.Principal, name string) (Blog, error) {
	b, err := s.existingBlog(ctx, name)
	if err != nil {
		return Blog{}, err
	}
	if !b.CanWrite(who.UserID) {
		return Blog{}, ErrNotWriter
	}
	return b, nil
}

func (s *Service) existingBlog(ctx context.Context, name string) (Blog, error) {
	if ValidateBlogName(name) != nil {
		return Blog{}, ErrBlogNotFound
	}
	b, err := loadBlog(ctx, s.store, name)
	if err != nil {
		return Blog{}, err
	}
	if !b.Exists {
		return Blog{}, ErrBlogNotFound
	}
	s.archive.forgetErased(&b)
	return b, nil
}

// DeleteBlog takes the owner's blog down for good: its posts leave every
// page, feed, collection and the search index. Only the owner may.
func (s *Service) DeleteBlog(ctx context.Context, who auth.Principal, name string) error {
	b, err := s.ownedBlog(ctx, who, name)
	if err != nil {
		return err
	}
	return s.write(ctx, events.BlogStream(name), b.Version, command{who: who}, public(events.BlogDeleted{Name: name}))
}

func loadBlog(ctx context.Context, store events.Store, name string) (Blog, error) {
	b := Blog{Name: name, Version: events.NoStream}
	err := readStream(ctx, store, events.BlogStream(name), func(e events.Event, payload any) {
		b.apply(payload)
		b.Version = events.Exact(e.Revision)
	})
	return b, err
}

// readStream decodes a stream's events in order; a stream never written
// is empty, an event of a type this binary does not know is skipped.
func readStream(ctx context.Context, store events.Store, stream string, fn func(events.Event, any)) error {
	evs, err := store.ReadStream(ctx, stream, events.ReadOptions{})
	if errors.Is(err, events.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	for _, e := range evs {
		payload, err := events.Types.Decode(e)
		if errors.Is(err, events.ErrUnknownType) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", stream, err)
		}
		fn(e, payload)
	}
	return nil
}
