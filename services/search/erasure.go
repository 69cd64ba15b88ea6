package search

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"

	"github.com/yunqi-town/yunqi/events"
)

// Erased accounts and deleted blogs. A person's name reaches the index in
// the documents that name them: their developer profile, the posts and
// collections that list them among the authors (a post's authors are
// names its writers wrote under, kept unsealed in the log), and the
// gallery entries of their teams. When the account is erased, the
// profile is deleted and every other document naming them is written
// again from the log without their name; when a blog is deleted, its
// posts leave the index and the collections drawing on it are written
// again without its chapters. Either way the index is then compacted
// (Compactor), so that the bytes leave its files too.
//
// To find those documents the projector remembers, from the start of the
// log, which names each account went by on which blog, which authors each
// indexed post and collection has, and which gallery entries name whom.
// It keeps names as keys (a hash of blog and name), never as text: what
// it keeps of an erased person is the keys of their names, which later
// events that still carry the names are checked against. The gallery
// entries are the exception: their documents are written from memory as
// their names arrive, so the memory holds each entry's names until the
// person is erased, and then forgets them.

// memory is the projector's record of who is named where. Only the
// projector's goroutine uses it.
type memory struct {
	names      map[string]map[string]bool // account → keys of the names it went by
	erased     map[string]bool
	erasedKeys map[string]bool
	// posts maps a blog to its indexed posts, each with its authors' keys.
	posts   map[string]map[string][]string
	deleted map[string]bool
	// entries holds each gallery entry as indexed (erased members left
	// out), entriesOf the entries naming each account.
	entries   map[string]galleryEntry
	entriesOf map[string]map[string]bool
	// collections maps a collection to its newest edition's blogs and
	// authors' keys.
	collections map[string]collectionMemory
}

type collectionMemory struct {
	blogs, keys map[string]bool
}

// galleryEntry is an entry and the names of its members (member id →
// name) from its GalleryMemberNamed events.
type galleryEntry struct {
	entry events.EntryPublished
	names map[string]string
}

func newMemory() *memory {
	return &memory{names: map[string]map[string]bool{}, erased: map[string]bool{}, erasedKeys: map[string]bool{},
		posts: map[string]map[string][]string{}, deleted: map[string]bool{}, entries: map[string]galleryEntry{},
		entriesOf: map[string]map[string]bool{}, collections: map[string]collectionMemory{}}
}

// nameKey stands for a name on a blog: a name is only someone's among
// the writers of that blog.
func nameKey(blog, name string) string {
	sum := sha256.Sum256([]byte(blog + "\x00" + name))
	return hex.EncodeToString(sum[:16])
}

func (m *memory) goesBy(user, blog, name string) {
	if user == "" || name == "" || user == events.ActorSystem {
		return
	}
	k := nameKey(blog, name)
	if m.names[user] == nil {
		m.names[user] = map[string]bool{}
	}
	m.names[user][k] = true
	if m.erased[user] {
		m.erasedKeys[k] = true
	}
}

// learn records what an event says of who is named where.
func (m *memory) learn(e events.Event, payload any) {
	public := e.Metadata.Visibility == events.Public
	post := func(blog, slug string, c events.PostContent) {
		if !public {
			return
		}
		if m.posts[blog] == nil {
			m.posts[blog] = map[string][]string{}
		}
		keys := make([]string, len(c.Authors))
		for i, a := range c.Authors {
			keys[i] = nameKey(blog, cleanText(a))
		}
		m.posts[blog][slug] = keys
	}
	switch v := payload.(type) {
	case events.BlogCreated:
		m.goesBy(v.Owner, v.Name, v.OwnerName)
	case events.BlogCoauthorAdded:
		m.goesBy(v.UserID, v.Blog, v.Name)
	case events.BlogAuthorLinked:
		m.goesBy(v.UserID, v.Blog, v.Author)
	case events.BlogDeleted:
		m.deleted[v.Name] = true
	case events.PostImported:
		post(v.Blog, v.Slug, v.PostContent)
	case events.PostRevised:
		m.goesBy(v.Editor, v.Blog, v.EditorName)
		post(v.Blog, v.Slug, v.PostContent)
	case events.PostPublished:
		m.goesBy(v.Editor, v.Blog, v.EditorName)
		post(v.Blog, v.Slug, v.PostContent)
	case events.PostDrafted:
		m.goesBy(v.Editor, v.Blog, v.EditorName)
	case events.EntryPublished:
		if !public {
			return
		}
		id := SubmissionID(v.ContestID, v.TeamID)
		// Published again, an entry is named again by the events that
		// follow it.
		m.entries[id] = galleryEntry{entry: m.withoutErased(v), names: map[string]string{}}
		for _, g := range v.Members {
			if m.entriesOf[g.MemberID] == nil {
				m.entriesOf[g.MemberID] = map[string]bool{}
			}
			m.entriesOf[g.MemberID][id] = true
		}
	case events.GalleryMemberNamed:
		g, ok := m.entries[SubmissionID(v.ContestID, v.TeamID)]
		if !public || !ok || !slices.ContainsFunc(g.entry.Members, func(gm events.GalleryMember) bool { return gm.MemberID == v.MemberID }) {
			return
		}
		// An erased member's name reads as null; one that still reads (a
		// log not behind the sealing store) is not taken either.
		if name := cleanText(v.Personal.DisplayName); name != "" && !m.erased[v.MemberID] {
			g.names[v.MemberID] = name
		} else {
			delete(g.names, v.MemberID)
		}
	case events.CollectionPublished:
		if !public {
			return
		}
		cm := collectionMemory{blogs: map[string]bool{}, keys: map[string]bool{}}
		for _, ch := range v.Chapters {
			cm.blogs[ch.Blog] = true
			for _, a := range ch.Authors {
				cm.keys[nameKey(ch.Blog, cleanText(a))] = true
			}
		}
		m.collections[v.ID] = cm
	case events.AccountErased:
		if v.UserID == "" {
			return
		}
		m.erased[v.UserID] = true
		for k := range m.names[v.UserID] {
			m.erasedKeys[k] = true
		}
		for id := range m.entriesOf[v.UserID] {
			if g, ok := m.entries[id]; ok {
				g.entry = m.withoutErased(g.entry)
				delete(g.names, v.UserID)
				m.entries[id] = g
			}
		}
	}
}

// withoutErased is a gallery entry without its erased members.
func (m *memory) withoutErased(e events.EntryPublished) events.EntryPublished {
	if slices.ContainsFunc(e.Members, func(g events.GalleryMember) bool { return m.erased[g.MemberID] }) {
		e.Members = slices.DeleteFunc(slices.Clone(e.Members), func(g events.GalleryMember) bool { return m.erased[g.MemberID] })
	}
	return e
}

// authors is a post's authors without the names of erased people.
func (m *memory) authors(blog string, authors []string) []string {
	if len(m.erasedKeys) == 0 {
		return authors
	}
	return slices.DeleteFunc(slices.Clone(authors), func(a string) bool { return m.erasedKeys[nameKey(blog, cleanText(a))] })
}

// collection is an edition without erased authors and without the
// chapters of deleted blogs.
func (m *memory) collection(c events.CollectionPublished) events.CollectionPublished {
	chs := make([]events.PublishedChapter, 0, len(c.Chapters))
	for _, ch := range c.Chapters {
		if m.deleted[ch.Blog] {
			continue
		}
		ch.Authors = m.authors(ch.Blog, ch.Authors)
		chs = append(chs, ch)
	}
	c.Chapters = chs
	return c
}

// erasureOps are the index writes an account's erasure makes: its profile
// deleted, and every document that names it written again without the
// name, from the log as it stands.
func (p *projection) erasureOps(ctx context.Context, user string) ([]op, error) {
	m := p.mem
	ops := []op{{id: DeveloperID(user)}}
	keys := m.names[user]
	for _, id := range sortedKeys(m.entriesOf[user]) {
		if g, ok := m.entries[id]; ok {
			d := SubmissionDocument(g.entry, g.names)
			ops = append(ops, op{id: id, doc: &d})
		}
	}
	for _, blog := range sortedKeys(m.posts) {
		for _, slug := range sortedKeys(m.posts[blog]) {
			if !slices.ContainsFunc(m.posts[blog][slug], func(k string) bool { return keys[k] }) {
				continue
			}
			o, err := p.reindexPost(ctx, blog, slug)
			if err != nil {
				return nil, err
			}
			ops = append(ops, o)
		}
	}
	for _, id := range sortedKeys(m.collections) {
		for k := range m.collections[id].keys {
			if keys[k] {
				o, err := p.reindexCollection(ctx, id)
				if err != nil {
					return nil, err
				}
				ops = append(ops, o)
				break
			}
		}
	}
	return ops, nil
}

// deletionOps are the index writes a blog's deletion makes.
func (p *projection) deletionOps(ctx context.Context, blog string) ([]op, error) {
	m := p.mem
	var ops []op
	for _, slug := range sortedKeys(m.posts[blog]) {
		ops = append(ops, op{id: PostID(blog, slug)})
	}
	delete(m.posts, blog)
	for _, id := range sortedKeys(m.collections) {
		if m.collections[id].blogs[blog] {
			o, err := p.reindexCollection(ctx, id)
			if err != nil {
				return nil, err
			}
			ops = append(ops, o)
		}
	}
	return ops, nil
}

// reindexPost is a post's document as its stream stands now.
func (p *projection) reindexPost(ctx context.Context, blog, slug string) (op, error) {
	last := op{id: PostID(blog, slug)}
	err := p.readStream(ctx, events.PostStream(blog, slug), func(e events.Event, payload any) {
		if o := p.postOpOf(e, payload); !o.ignore {
			last = o
		}
	})
	return last, err
}

// reindexCollection is a collection's document as its stream stands now.
func (p *projection) reindexCollection(ctx context.Context, id string) (op, error) {
	last := op{id: CollectionID(id)}
	err := p.readStream(ctx, events.CollectionStream(id), func(e events.Event, payload any) {
		if v, ok := payload.(events.CollectionPublished); ok && e.Metadata.Visibility == events.Public && v.ID != "" {
			d := CollectionDocument(p.mem.collection(v))
			last = op{id: d.ID, doc: &d}
		}
	})
	return last, err
}

func (p *projection) readStream(ctx context.Context, stream string, fn func(events.Event, any)) error {
	from := uint64(0)
	for {
		evs, err := p.store.ReadStream(ctx, stream, events.ReadOptions{From: from, Count: 256})
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range evs {
			if payload, ok := p.decode(e); ok {
				fn(e, payload)
			}
		}
		if len(evs) < 256 {
			return nil
		}
		from = evs[len(evs)-1].Revision + 1
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
