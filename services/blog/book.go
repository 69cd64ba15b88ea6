package blog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/blog/epub"
)

// A published edition is read as a book in three forms: its pages (one
// chapter each), one page for a browser's Print, and an EPUB. All three
// read the chapters at the revisions the edition pinned, so a post edited
// after publication never changes a book readers already have.

// bookChapter is one chapter of an edition as a reader gets it.
type bookChapter struct {
	K int // 1-based place in the book
	events.PublishedChapter
	HTML template.HTML // sanitised, its links still as the post wrote them
	// Missing: the pinned revision could not be read; the chapter stands
	// in the book as a placeholder rather than failing the whole book.
	Missing bool
}

// maxChapterReaders bounds the stream reads of one edition in flight: a
// book of a few hundred chapters is read in parallel without taking every
// connection of the store.
const maxChapterReaders = 8

// editionChapters reads every chapter of an edition at its pinned
// revision and renders it. complete is false when a read failed for a
// reason other than the revision's absence (the store was unreachable):
// what is built from such a read must not be kept.
func (s *Service) editionChapters(ctx context.Context, id string, ed Edition) (out []bookChapter, complete bool) {
	out = make([]bookChapter, len(ed.Chapters))
	failed := make([]bool, len(ed.Chapters))
	sem := make(chan struct{}, maxChapterReaders)
	var wg sync.WaitGroup
	for i := range ed.Chapters {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], failed[i] = s.readChapter(ctx, id, ed, i+1)
		}()
	}
	wg.Wait()
	return out, !slices.Contains(failed, true)
}

// readChapter reads chapter k (1-based) of an edition; failed reports an
// error of the store, as opposed to a revision that is not there.
func (s *Service) readChapter(ctx context.Context, id string, ed Edition, k int) (ch bookChapter, failed bool) {
	pc := ed.Chapters[k-1]
	ch = bookChapter{K: k, PublishedChapter: pc}
	c, ok, err := publishedContent(ctx, s.store, pc.Blog, pc.Slug, pc.Revision)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "book chapter unreadable", "collection", id, "edition", ed.N, "chapter", k,
			"post", pc.Blog+"/"+pc.Slug, "revision", pc.Revision, "err", err)
		ch.Missing, failed = true, true
	case !ok:
		s.log.WarnContext(ctx, "book chapter revision missing", "collection", id, "edition", ed.N, "chapter", k,
			"post", pc.Blog+"/"+pc.Slug, "revision", pc.Revision)
		ch.Missing = true
	default:
		ch.HTML = s.renderer.Render(c)
	}
	if ch.Title == "" {
		ch.Title = c.Title
	}
	if ch.Title == "" {
		ch.Title = pc.Blog + "/" + pc.Slug
	}
	return ch, failed
}

// bookLinks resolves the links and images of an edition's chapters: a
// link to a post of the book becomes a link to its chapter, whatever form
// the writer gave it (01.2, 01.2.md, ../01.2.md#x, /blog/book/01.2).
type bookLinks struct {
	chapters map[[2]string]int // blog, slug → chapter number
	// image tells an uploaded image (the name of one) from anything else.
	image func(name string) bool
	// post tells a post readers can see from an address that is none.
	post func(blog, slug string) bool
}

func newBookLinks(chapters []events.PublishedChapter, image func(string) bool, post func(blog, slug string) bool) bookLinks {
	l := bookLinks{chapters: make(map[[2]string]int, len(chapters)), image: image, post: post}
	for i, ch := range chapters {
		if _, dup := l.chapters[[2]string{ch.Blog, ch.Slug}]; !dup {
			l.chapters[[2]string{ch.Blog, ch.Slug}] = i + 1
		}
	}
	return l
}

// linkKind is what a link of a chapter leads to.
type linkKind int

const (
	linkDrop    linkKind = iota // nothing a reader could follow
	linkSelf                    // a place in the same chapter (Fragment)
	linkChapter                 // a chapter of the book (Chapter, Fragment)
	linkSite                    // a page of this site (Href is a path)
	linkRemote                  // another site (Href is absolute)
	linkImage                   // an uploaded image (Image is its name)
)

type linkTarget struct {
	Kind     linkKind
	Chapter  int
	Fragment string
	Href     string
	Image    string
}

// safeSchemes are the schemes a link out of a book may keep; the
// sanitiser allows no others, and a rewrite must not bring one back.
var safeSchemes = []string{"http", "https", "mailto"}

// resolve says where href, written in the post blog/slug, leads. Relative
// addresses are read against the post's own page, /blog/<blog>/<slug>,
// where the writer's links work; one that lands anywhere but on the blog
// or one of its posts (a file of the archive that was never imported, a
// post that is not there) leads nowhere and is dropped.
func (l bookLinks) resolve(href, blog, slug string) linkTarget {
	href = strings.TrimSpace(href)
	u, err := url.Parse(href)
	if err != nil || href == "" {
		return linkTarget{}
	}
	if u.Scheme != "" {
		if !slices.Contains(safeSchemes, strings.ToLower(u.Scheme)) {
			return linkTarget{}
		}
		if strings.EqualFold(u.Scheme, "mailto") || u.Host != "" {
			return linkTarget{Kind: linkRemote, Href: u.String()}
		}
		return linkTarget{}
	}
	if u.Host != "" { // //host/path takes the reader's scheme, which a book has none of
		u.Scheme = "https"
		return linkTarget{Kind: linkRemote, Href: u.String()}
	}
	if u.Path == "" && u.RawQuery == "" {
		return linkTarget{Kind: linkSelf, Fragment: u.Fragment}
	}
	p := u.Path
	relative := !strings.HasPrefix(p, "/")
	if relative {
		// The Markdown renderer turns ../01.2.md into 01.2 already (an
		// archive's files all became posts of one blog); HTML written in a
		// post keeps the file name, which means the same.
		if isMarkdown(p) {
			p = markdownSlug(p)
		}
		trailing := strings.HasSuffix(p, "/")
		p = path.Join("/blog", blog, p)
		if trailing {
			p += "/"
		}
	}
	rest, underBlog := strings.CutPrefix(p, "/blog/")
	segs := strings.Split(rest, "/")
	if underBlog && len(segs) == 2 && segs[0] != "" {
		if segs[0] == "images" && l.image != nil && l.image(segs[1]) {
			return linkTarget{Kind: linkImage, Image: segs[1]}
		}
		if k, ok := l.chapters[[2]string{segs[0], segs[1]}]; ok && u.RawQuery == "" {
			return linkTarget{Kind: linkChapter, Chapter: k, Fragment: u.Fragment}
		}
		if relative && (segs[0] != blog || (segs[1] != "" && l.post != nil && !l.post(segs[0], segs[1]))) {
			return linkTarget{}
		}
	} else if relative {
		return linkTarget{}
	}
	out := url.URL{Path: p, RawQuery: u.RawQuery, Fragment: u.Fragment}
	return linkTarget{Kind: linkSite, Href: out.String()}
}

// htmlRewrite is what rewriteHTML does to each element of a fragment. A
// nil func leaves that part alone. link returns the new href, "" to drop
// it (the text stays); image returns the new src, or a node to stand in
// for the image; id returns the new id of an element.
type htmlRewrite struct {
	link  func(href string) string
	image func(src, alt string) (string, *html.Node)
	id    func(id string) string
}

// rewriteHTML rewrites the links, images and ids of a sanitised fragment
// and renders it again. What it writes into attributes comes from the
// rewrite funcs, which build it from trusted parts (paths of this site,
// numbers) or from the sanitised addresses themselves, and html.Render
// escapes it; so the fragment stays as safe as the sanitiser left it.
func rewriteHTML(fragment template.HTML, rw htmlRewrite) template.HTML {
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(string(fragment)), body)
	if err != nil {
		return fragment // cannot happen for a reader of a string; keep it as it was
	}
	for _, n := range nodes {
		body.AppendChild(n)
	}
	rewriteNodes(body, rw)
	var b strings.Builder
	for c := body.FirstChild; c != nil; c = c.NextSibling {
		if err := html.Render(&b, c); err != nil {
			return fragment
		}
	}
	return template.HTML(b.String())
}

func rewriteNodes(parent *html.Node, rw htmlRewrite) {
	for n := parent.FirstChild; n != nil; {
		next := n.NextSibling
		if n.Type == html.ElementNode {
			if rw.id != nil {
				for i, a := range n.Attr {
					if a.Namespace == "" && a.Key == "id" {
						n.Attr[i].Val = rw.id(a.Val)
					}
				}
			}
			switch n.DataAtom {
			case atom.A:
				if rw.link != nil {
					if i := attrIndex(n, "href"); i >= 0 {
						if v := rw.link(n.Attr[i].Val); v != "" {
							n.Attr[i].Val = v
						} else {
							n.Attr = slices.Delete(n.Attr, i, i+1)
						}
					}
				}
			case atom.Img:
				if rw.image != nil {
					if i := attrIndex(n, "src"); i >= 0 {
						src, stand := rw.image(n.Attr[i].Val, attrValue(n, "alt"))
						if stand != nil {
							parent.InsertBefore(stand, n)
							parent.RemoveChild(n)
							n = next
							continue
						}
						n.Attr[i].Val = src
					}
				}
			}
			rewriteNodes(n, rw)
		}
		n = next
	}
}

func attrIndex(n *html.Node, key string) int {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return i
		}
	}
	return -1
}

func attrValue(n *html.Node, key string) string {
	if i := attrIndex(n, key); i >= 0 {
		return n.Attr[i].Val
	}
	return ""
}

// missingImage is the stand-in for an image the archive does not hold
// (the Go book's images/ folder was never imported): a marked span saying
// which, so that the text around it still reads.
func missingImage(caption string) *html.Node {
	span := &html.Node{Type: html.ElementNode, Data: "span", DataAtom: atom.Span,
		Attr: []html.Attribute{{Key: "class", Val: "missing-image"}}}
	span.AppendChild(&html.Node{Type: html.TextNode, Data: "[" + caption + "]"})
	return span
}

// foldCase lowers letters whose lower case takes as many bytes, so that a
// folded text has its original's byte offsets and a hit found in one is
// the same span in the other. The few letters it leaves (the Kelvin sign,
// say) are not worth a map of offsets.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		l := unicode.ToLower(r)
		if utf8.RuneLen(l) != utf8.RuneLen(r) {
			return r
		}
		return l
	}, s)
}

// lru is a small cache that forgets the entry used longest ago once it
// holds max entries or maxBytes of them.
type lru[K comparable, V any] struct {
	mu       sync.Mutex
	max      int
	maxBytes int
	bytes    int
	size     func(V) int
	order    []K // least recently used first
	m        map[K]V
}

func newLRU[K comparable, V any](max, maxBytes int, size func(V) int) *lru[K, V] {
	return &lru[K, V]{max: max, maxBytes: maxBytes, size: size, m: map[K]V{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if ok {
		c.touch(k)
	}
	return v, ok
}

func (c *lru[K, V]) put(k K, v V) {
	n := c.size(v)
	if c.maxBytes > 0 && n > c.maxBytes {
		return // would push out everything else and still not fit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		c.bytes -= c.size(old)
		c.touch(k)
	} else {
		c.order = append(c.order, k)
	}
	c.m[k] = v
	c.bytes += n
	for len(c.order) > 0 && (len(c.order) > c.max || (c.maxBytes > 0 && c.bytes > c.maxBytes)) {
		oldest := c.order[0]
		c.order = c.order[1:]
		c.bytes -= c.size(c.m[oldest])
		delete(c.m, oldest)
	}
}

func (c *lru[K, V]) touch(k K) {
	if i := slices.Index(c.order, k); i >= 0 {
		c.order = append(slices.Delete(c.order, i, i+1), k)
	}
}

// bookCaches are a service's caches of built books. An edition never
// changes once published, so nothing in them goes stale; they are bounded
// only so that many books cannot fill the memory.
type bookCaches struct {
	texts *lru[editionKey, []chapterText]
	epubs *lru[epubKey, builtEPUB]
}

type editionKey struct {
	id string
	n  int
}

var serviceBooks sync.Map // *Service → *bookCaches

func (s *Service) books() *bookCaches {
	if v, ok := serviceBooks.Load(s); ok {
		return v.(*bookCaches)
	}
	v, _ := serviceBooks.LoadOrStore(s, &bookCaches{
		texts: newLRU[editionKey](16, 64<<20, func(ts []chapterText) int {
			n := 0
			for _, t := range ts {
				n += len(t.Title) + 2*len(t.Text)
			}
			return n
		}),
		epubs: newLRU[epubKey](8, 128<<20, func(b builtEPUB) int { return len(b.data) }),
	})
	return v.(*bookCaches)
}

// chapterText is a chapter as find-in-book searches it: its title and
// plain text, each with its folded form.
type chapterText struct {
	K           int
	Title, Text string
	title, text string // folded
}

// editionTexts are the plain texts of an edition's chapters, read once per
// edition: they never change.
func (s *Service) editionTexts(ctx context.Context, id string, ed Edition) []chapterText {
	key := editionKey{id, ed.N}
	if ts, ok := s.books().texts.get(key); ok {
		return ts
	}
	chapters, complete := s.editionChapters(ctx, id, ed)
	out := make([]chapterText, len(chapters))
	for i, ch := range chapters {
		text := plainText(string(ch.HTML), 0)
		out[i] = chapterText{K: ch.K, Title: ch.Title, Text: text, title: foldCase(ch.Title), text: foldCase(text)}
	}
	if complete {
		s.books().texts.put(key, out)
	}
	return out
}

// bookHit is one chapter that matches a find-in-book query.
type bookHit struct {
	K         int
	Title     string
	TitleHits int
	Hits      int
	Snippet   template.HTML
}

// maxQueryRunes bounds a find-in-book query.
const maxQueryRunes = 200

// snippetRunes is how much of a chapter a hit shows, around its first hit.
const (
	snippetBefore = 40
	snippetAfter  = 100
)

// findInBook finds the chapters holding every word of q, in their titles
// or texts, case-insensitively: chapters with more words in the title
// first, then those with more hits, then in book order.
func findInBook(texts []chapterText, q string) []bookHit {
	words := queryWords(q)
	if len(words) == 0 {
		return nil
	}
	var out []bookHit
	for _, t := range texts {
		h := bookHit{K: t.K, Title: t.Title}
		all := true
		for _, w := range words {
			inTitle, inText := strings.Count(t.title, w), strings.Count(t.text, w)
			if inTitle == 0 && inText == 0 {
				all = false
				break
			}
			if inTitle > 0 {
				h.TitleHits++
			}
			h.Hits += inTitle + inText
		}
		if !all {
			continue
		}
		h.Snippet = snippet(t.Text, t.text, words)
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b bookHit) int {
		if a.TitleHits != b.TitleHits {
			return b.TitleHits - a.TitleHits
		}
		return b.Hits - a.Hits
	})
	return out
}

// queryWords splits a query on spaces into its distinct folded words.
func queryWords(q string) []string {
	var words []string
	for _, w := range strings.Fields(foldCase(q)) {
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return words
}

// snippet is the text around the first hit of any word, escaped, with
// every word in it marked.
func snippet(text, folded string, words []string) template.HTML {
	first := -1
	for _, w := range words {
		if i := strings.Index(folded, w); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first < 0 { // the words are all in the title
		first = 0
	}
	start := first
	for n := 0; n < snippetBefore && start > 0; n++ {
		_, size := utf8.DecodeLastRuneInString(text[:start])
		start -= size
	}
	end := first
	for n := 0; n < snippetAfter && end < len(text); n++ {
		_, size := utf8.DecodeRuneInString(text[end:])
		end += size
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	seg, fseg := text[start:end], folded[start:end]
	for i := 0; i < len(seg); {
		best, bestLen := -1, 0
		for _, w := range words {
			if j := strings.Index(fseg[i:], w); j >= 0 && (best < 0 || j < best || (j == best && len(w) > bestLen)) {
				best, bestLen = j, len(w)
			}
		}
		if best < 0 {
			b.WriteString(template.HTMLEscapeString(seg[i:]))
			break
		}
		b.WriteString(template.HTMLEscapeString(seg[i : i+best]))
		b.WriteString("<mark>" + template.HTMLEscapeString(seg[i+best:i+best+bestLen]) + "</mark>")
		i += best + bestLen
	}
	if end < len(text) {
		b.WriteString("…")
	}
	return template.HTML(b.String())
}

// bookNamespace is the UUID namespace of the books' identifiers, so that
// an edition has the same identifier wherever and whenever it is built.
var bookNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/yunqi-town/yunqi/blog/collections"))

// bookIdentifier is edition n of collection id's dc:identifier.
func bookIdentifier(id string, n int) string {
	return "urn:uuid:" + uuid.NewSHA1(bookNamespace, []byte(id+"/editions/"+strconv.Itoa(n))).String()
}

// epubKey names a built EPUB. The base URL is part of it: links to posts
// outside the book are absolute, and without a configured public URL they
// take the host a reader asked.
type epubKey struct {
	id   string
	n    int
	base string
}

type builtEPUB struct {
	data []byte
	etag string
}

// editionEPUB returns an edition's EPUB, built once and then kept.
func (s *Service) editionEPUB(ctx context.Context, c Collection, ed Edition, base string) (builtEPUB, error) {
	key := epubKey{c.ID, ed.N, base}
	if b, ok := s.books().epubs.get(key); ok {
		return b, nil
	}
	data, complete, err := s.buildEPUB(ctx, c, ed, base)
	if err != nil {
		return builtEPUB{}, err
	}
	sum := sha256.Sum256(data)
	b := builtEPUB{data: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	if complete {
		s.books().epubs.put(key, b)
	}
	return b, nil
}

// chapterKey is the epub.Chapter key of chapter k.
func chapterKey(k int) string { return "c" + strconv.Itoa(k) }

const prefaceKey = "preface"

// buildEPUB writes an edition as an EPUB. complete is false when a
// chapter could not be read for a passing reason (see editionChapters).
func (s *Service) buildEPUB(ctx context.Context, c Collection, ed Edition, base string) (data []byte, complete bool, err error) {
	chapters, complete := s.editionChapters(ctx, c.ID, ed)
	d := ed.Details
	lang := cmpOr(d.Language, "en")
	b := epub.Book{
		Identifier: bookIdentifier(c.ID, ed.N),
		Title:      d.Title,
		Subtitle:   d.Subtitle,
		Language:   lang,
		Authors:    s.bookAuthors(c, ed),
		Publisher:  bookText(lang, "book.epub.publisher"),
		Published:  ed.Published,
		Modified:   ed.Published,
		CSS:        epubCSS,
	}
	if b.Title == "" {
		b.Title = c.ID
	}
	if d.Cover != "" {
		// A cover the writer cannot embed would fail the whole book; the
		// book without it is still a book.
		if data, mt, ok := s.images.read(d.Cover); ok && (mt == "image/png" || mt == "image/jpeg") && http.DetectContentType(data) == mt {
			b.Cover = &epub.Image{Data: data, MediaType: mt}
		}
	}
	// Every chapter's links are read against its own post; the preface,
	// which belongs to no blog, against the blog of the first chapter,
	// where a book made of one archive has its files.
	from := map[string][2]string{}
	if strings.TrimSpace(d.Preface) != "" {
		b.Preface = &epub.Chapter{Key: prefaceKey, HTML: string(RenderHTML(events.PostContent{Body: d.Preface}))}
		if len(ed.Chapters) > 0 {
			from[prefaceKey] = [2]string{ed.Chapters[0].Blog, ""}
		}
	}
	for _, ch := range chapters {
		key := chapterKey(ch.K)
		from[key] = [2]string{ch.Blog, ch.Slug}
		body := string(ch.HTML)
		if ch.Missing {
			body = "<p class=\"missing-chapter\">" + template.HTMLEscapeString(bookText(lang, "book.chapter.missing",
				"post", ch.Blog+"/"+ch.Slug, "revision", strconv.Itoa(ch.Revision))) + "</p>"
		}
		b.Chapters = append(b.Chapters, epub.Chapter{Key: key, Title: ch.Title, Part: ch.Part, HTML: body})
	}
	links := s.bookLinks(ed)
	missing := func(name string) string { return bookText(lang, "book.image.missing", "name", name) }
	b.Resolve = func(key, attr, value string) epub.Link {
		post := from[key]
		t := links.resolve(value, post[0], post[1])
		if attr == "src" {
			switch t.Kind {
			case linkImage:
				return epub.Link{Kind: epub.LinkImage, Ref: t.Image, Caption: missing(value)}
			case linkRemote:
				return epub.Link{Kind: epub.LinkExternal, URL: t.Href}
			}
			return epub.Link{Kind: epub.LinkMissingImage, Caption: missing(imageCaption(value))}
		}
		switch t.Kind {
		case linkSelf:
			return epub.Link{Kind: epub.LinkChapter, Key: key, Fragment: t.Fragment}
		case linkChapter:
			return epub.Link{Kind: epub.LinkChapter, Key: chapterKey(t.Chapter), Fragment: t.Fragment}
		case linkRemote:
			return epub.Link{Kind: epub.LinkExternal, URL: t.Href}
		case linkSite:
			return epub.Link{Kind: epub.LinkExternal, URL: base + t.Href}
		case linkImage:
			return epub.Link{Kind: epub.LinkExternal, URL: base + imagePath(t.Image)}
		}
		return epub.Link{Kind: epub.LinkDrop}
	}
	b.Images = func(ref string) ([]byte, string, bool) { return s.images.read(ref) }
	var buf bytes.Buffer
	if err := epub.Write(&buf, b); err != nil {
		return nil, false, fmt.Errorf("collection %s edition %d: %w", c.ID, ed.N, err)
	}
	return buf.Bytes(), complete, nil
}

// imageCaption names a missing image by its file, without the query a
// repository's viewer needed (images/1.1.mac.png?raw=true).
func imageCaption(src string) string {
	if u, err := url.Parse(src); err == nil && u.Path != "" {
		return u.Path
	}
	return src
}

// epubCSS styles what the book adds to the chapters.
const epubCSS = `
.missing-chapter { font-style: italic; }
.missing-image { color: #555; }
`

// bookAuthors are the edition's chapter authors, each once, in the order
// they first write; a book of posts without authors is the curator's.
func (s *Service) bookAuthors(c Collection, ed Edition) []string {
	var out []string
	for _, ch := range ed.Chapters {
		for _, a := range ch.Authors {
			if a = strings.TrimSpace(a); a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, s.curatorName(c.Curator))
	}
	return out
}

// curatorName is the name a curator writes under, as the blogs they own
// give it, else their account id.
func (s *Service) curatorName(userID string) string {
	for _, b := range s.archive.writableBlogs(userID) {
		if b.Owner == userID && b.OwnerName != "" {
			return b.OwnerName
		}
	}
	return userID
}

// bookCatalogue is the collection pages' catalogue, for the few words the
// book itself carries (a placeholder's text) in the book's language
// rather than its reader's.
var bookCatalogue = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range []string{"zh-CN", "en"} {
		m := map[string]string{}
		if b, err := bookFiles.ReadFile("bookpages/i18n/" + lang + ".json"); err == nil {
			_ = json.Unmarshal(b, &m) // the pages' loader checks the catalogue at start-up
		}
		out[lang] = m
	}
	return out
})

// bookText is a message of the catalogue in lang, its {placeholders}
// filled from name, value pairs.
func bookText(lang, key string, args ...string) string {
	cat := bookCatalogue()
	m, ok := cat[lang]
	if !ok {
		m = cat["en"]
	}
	msg := m[key]
	for i := 0; i+1 < len(args); i += 2 {
		msg = strings.ReplaceAll(msg, "{"+args[i]+"}", args[i+1])
	}
	return msg
}

func (s *Service) bookLinks(ed Edition) bookLinks {
	return newBookLinks(ed.Chapters, s.images.exists, func(blog, slug string) bool {
		_, ok := s.archive.post(blog, slug)
		return ok
	})
}
