package blog

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/yunqi-town/yunqi/events"
)

// Erased accounts and deleted blogs in the archive.
//
// A post's authors are names, not accounts: the names its writers wrote
// under (EditorName), the owner's and co-authors' names on the blog, and
// the author names an owner linked to an account. None of them sits in a
// sealed personal part, so the log keeps them after an erasure, and the
// archive has to know whose they were: names records, per account and
// blog, every name the account went by there. When the account is erased
// those names become the blog's erased names, and every author of a post
// of that blog who goes by one of them is shown as an erased person: an
// empty name, which pages write as "erased person". The post stays with
// its blog. A post that had an erased author keeps "erased person" among
// its authors when a co-author later revises it, since the revision (which
// no longer names the erased person) is still partly their work.
//
// A deleted blog leaves the archive whole: its posts, its writers' desk
// and the chapters of collections that drew on it. Events that come later
// for its posts are not taken in.

// learn records the names an event says an account goes by on a blog.
func (a *archive) learn(payload any) {
	switch v := payload.(type) {
	case events.BlogCreated:
		a.goesBy(v.Owner, v.Name, v.OwnerName)
	case events.BlogCoauthorAdded:
		a.goesBy(v.UserID, v.Blog, v.Name)
	case events.BlogAuthorLinked:
		a.goesBy(v.UserID, v.Blog, v.Author)
	case events.PostDrafted:
		a.goesBy(v.Editor, v.Blog, v.EditorName)
	case events.PostRevised:
		a.goesBy(v.Editor, v.Blog, v.EditorName)
	case events.PostPublished:
		a.goesBy(v.Editor, v.Blog, v.EditorName)
	}
}

func (a *archive) goesBy(user, blog, name string) {
	if user == "" || name == "" || user == events.ActorSystem {
		return
	}
	if a.erased[user] {
		// Said of an account after its erasure (a replayed log, or a
		// writer's copy of an old name): the name is the blog's erased
		// name at once.
		a.eraseName(blog, name)
		return
	}
	byBlog := a.names[user]
	if byBlog == nil {
		byBlog = map[string]map[string]bool{}
		a.names[user] = byBlog
	}
	if byBlog[blog] == nil {
		byBlog[blog] = map[string]bool{}
	}
	byBlog[blog][name] = true
}

func (a *archive) eraseName(blog, name string) {
	a.erasedKeys[nameKey(blog, name)] = true
}

// nameKey stands for a name on a blog. The archive keeps the names of
// erased people only as keys, which the names later events still carry
// are checked against: it holds no erased name as text.
func nameKey(blog, name string) string {
	sum := sha256.Sum256([]byte(blog + "\x00" + name))
	return hex.EncodeToString(sum[:16])
}

// erasedName reports whether name on blog is an erased person's.
func (a *archive) erasedName(blog, name string) bool {
	return len(a.erasedKeys) > 0 && a.erasedKeys[nameKey(blog, name)]
}

// erase lets go of an erased account: its names leave every post,
// collection and blog page, its links and co-authorships go, and a blog
// it owned stays, without the owner's name.
func (a *archive) erase(user string) {
	if user == "" || a.erased[user] {
		return
	}
	a.erased[user] = true
	touched := a.names[user]
	delete(a.names, user)
	for blog, names := range touched {
		for n := range names {
			a.eraseName(blog, n)
		}
		if b := a.blogs[blog]; b != nil {
			for slug, info := range b.bySlug {
				if authors, changed := a.redact(blog, slug, info.Authors); changed {
					// A new PostInfo: readers may hold the old one.
					c := *info
					c.Authors = authors
					b.bySlug[slug] = &c
				}
			}
			b.sorted = nil
		}
	}
	for _, m := range a.meta {
		a.forgetIn(&m.Blog)
	}
	for _, c := range a.collections {
		c.Editions = a.redactEditions(c.Editions, nil)
	}
	a.all = nil
}

// redact is authors as the archive shows them: every erased name of the
// blog becomes one empty name (an erased person), and a post that had an
// erased author keeps one. changed reports whether that differs.
func (a *archive) redact(blog, slug string, authors []string) (out []string, changed bool) {
	key := blog + "/" + slug
	if len(a.erasedKeys) == 0 && !a.hadErased[key] {
		return authors, false
	}
	out = make([]string, 0, len(authors)+1)
	var gone bool
	for _, n := range authors {
		if n == "" || a.erasedName(blog, n) {
			changed = changed || n != ""
			gone = true
			continue
		}
		out = append(out, n)
	}
	if gone || a.hadErased[key] {
		a.hadErased[key] = true
		out = append(out, "")
		changed = changed || !slices.Contains(authors, "")
	}
	return out, changed
}

// redactForWrite is a post's authors as a new revision carries them: the
// names of erased people are left out, since a new event must not name
// them; the archive still shows the erased person (see redact).
func (a *archive) redactForWrite(blog, slug string, authors []string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if len(a.erasedKeys) == 0 {
		return authors
	}
	return slices.DeleteFunc(slices.Clone(authors), func(n string) bool { return n == "" || a.erasedName(blog, n) })
}

// shownAuthors is redact for callers outside the archive's lock: content
// read from the log, for a page or an answer.
func (a *archive) shownAuthors(blog, slug string, authors []string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out, _ := a.redact(blog, slug, authors)
	return out
}

// editorShown is how a revision's editor is named: nobody, when their
// account was erased.
func (a *archive) editorShown(blog, editor, name string) string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.erased[editor] || a.erasedName(blog, name) {
		return ""
	}
	return name
}

// isErased reports whether the account has been erased.
func (a *archive) isErased(user string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.erased[user]
}

// forgetIn removes erased accounts from a blog's writers: an erased
// owner's name, erased co-authors, links to erased accounts. The maps are
// replaced, not changed, since copies of the Blog share them.
func (a *archive) forgetIn(b *Blog) {
	if a.erased[b.Owner] || a.erasedName(b.Name, b.OwnerName) {
		b.OwnerName = ""
	}
	if slices.ContainsFunc(slices.Collect(maps.Keys(b.Coauthors)), func(id string) bool { return a.erased[id] }) {
		co := maps.Clone(b.Coauthors)
		maps.DeleteFunc(co, func(id, _ string) bool { return a.erased[id] })
		b.Coauthors = co
	}
	if slices.ContainsFunc(slices.Collect(maps.Values(b.AuthorLinks)), func(id string) bool { return a.erased[id] }) {
		links := maps.Clone(b.AuthorLinks)
		maps.DeleteFunc(links, func(_, id string) bool { return a.erased[id] })
		b.AuthorLinks = links
	}
}

// forgetErased is forgetIn for a blog read from the log.
func (a *archive) forgetErased(b *Blog) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.forgetIn(b)
}

// redactEditions is a collection's editions without erased names among
// their chapters' authors and, when drop is set, without the chapters it
// drops. It returns the editions themselves when nothing changes, and new
// slices otherwise: copies of the collection share them.
func (a *archive) redactEditions(eds []Edition, drop func(events.PublishedChapter) bool) []Edition {
	var out []Edition
	for i, ed := range eds {
		var chs []events.PublishedChapter
		for j, ch := range ed.Chapters {
			if drop != nil && drop(ch) {
				if chs == nil {
					chs = slices.Clone(ed.Chapters[:j])
				}
				continue
			}
			authors, changed := a.redact(ch.Blog, ch.Slug, ch.Authors)
			if changed {
				if chs == nil {
					chs = slices.Clone(ed.Chapters[:j])
				}
				ch.Authors = authors
			}
			if chs != nil {
				chs = append(chs, ch)
			}
		}
		if chs == nil {
			if out != nil {
				out = append(out, ed)
			}
			continue
		}
		if out == nil {
			out = slices.Clone(eds[:i])
		}
		ed.Chapters = chs
		out = append(out, ed)
	}
	if out == nil {
		return eds
	}
	return out
}

// deleteBlog takes a deleted blog out of every view.
func (a *archive) deleteBlog(name string) {
	a.deleted[name] = true
	delete(a.blogs, name)
	delete(a.desk, name)
	delete(a.meta, name)
	gone := func(blog string) bool { return blog == name }
	for _, c := range a.collections {
		c.Editions = a.redactEditions(c.Editions, func(ch events.PublishedChapter) bool { return gone(ch.Blog) })
		if slices.ContainsFunc(c.Chapters, func(ch events.CollectionChapter) bool { return gone(ch.Blog) }) {
			c.Chapters = slices.DeleteFunc(slices.Clone(c.Chapters), func(ch events.CollectionChapter) bool { return gone(ch.Blog) })
		}
	}
	a.all = nil
}

// blogDeleted reports whether the blog was deleted.
func (a *archive) blogDeleted(name string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.deleted[name]
}
