// Package epub writes EPUB 3 books: a package document, a navigation
// document (with an NCX beside it for EPUB 2 readers), a stylesheet that
// sets Chinese and English text well, an optional cover, and one XHTML
// document per chapter, all in an OCF zip container.
//
// It is written by hand on archive/zip because no maintained Go EPUB
// library is reachable from this build; the format is small enough that
// owning it costs less than depending on an unmaintained one, and it lets
// the output be byte-for-byte deterministic and pass epubcheck.
//
// Chapters arrive as HTML fragments (already sanitised by the caller).
// They are parsed with golang.org/x/net/html and serialised again as
// XHTML: well-formed XML, only markup that EPUB 3 content documents allow,
// unique ids, and no reference that leads nowhere. Every link and image
// of a chapter is put to the caller's Resolve, which is how a caller that
// knows its own URLs (a blog's post slugs, its image store) says what each
// one is; the package itself knows nothing of blogs.
package epub

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// Book is everything a book is made of. Identifier, Title, Language and
// Modified are required.
type Book struct {
	// Identifier is the book's stable unique id ("urn:uuid:…" or an
	// https URL): readers use it to tell a new edition of a book they hold
	// from another book.
	Identifier string
	Title      string
	Subtitle   string
	// Language is the book's BCP 47 language, "zh-CN" or "en"; it also
	// picks the language of the labels the writer adds ("目录", "Contents").
	Language  string
	Authors   []string // dc:creator, in this order
	Publisher string
	// Published, when set, is the book's dc:date.
	Published time.Time
	// Modified is dcterms:modified and the time of every zip entry, which
	// is what makes two builds of the same book identical. It is written
	// in UTC to the second.
	Modified time.Time
	// Cover, when set, is the cover image (PNG or JPEG); it gets a cover
	// page at the start of the book.
	Cover *Image
	// Preface, when set, comes before the chapters.
	Preface *Chapter
	// Chapters in reading order. Consecutive chapters with the same
	// non-empty Part form one part of the book.
	Chapters []Chapter
	// Resolve says what each <a href> and <img src> of a chapter is; see
	// Link. Nil, or a Link of kind LinkAuto, leaves it to DefaultLink.
	Resolve func(chapterKey, attr, value string) Link
	// Images returns the bytes and media type of an image Resolve called
	// LinkImage; ok=false (or Images nil) makes it a missing image. The
	// media type is only a hint: the bytes are sniffed, and only PNG, JPEG
	// and GIF are embedded, the image types every EPUB 3 reader must show.
	Images func(ref string) (data []byte, mediaType string, ok bool)
	// CSS is appended to the built-in stylesheet.
	CSS string
}

// Image is an image's bytes. MediaType ("image/png", "image/jpeg") is
// a hint only: the type is sniffed from Data, since a reader told PNG and
// given JPEG may show nothing.
type Image struct {
	Data      []byte
	MediaType string
}

// Chapter is one document of the book.
type Chapter struct {
	// Title is the chapter's heading and its entry in the table of
	// contents. The writer puts it above the HTML as an h1, unless the
	// HTML already starts with an h1 of that text.
	Title string
	// Part is the title of the part the chapter belongs to, if any. A
	// part gets a title page of its own, except when its first chapter
	// bears the part's title: then that chapter opens the part.
	Part string
	// HTML is the chapter's body as an HTML fragment, which may be any
	// HTML a sanitiser lets through (<br>, &nbsp;, unclosed <p>…).
	HTML string
	// Key is the caller's name for the chapter, which Links use to point
	// to it. It may be empty for a chapter nothing links to; non-empty
	// keys must be unique.
	Key string
	// Language, when set, is the chapter's language where it differs from
	// the book's.
	Language string
}

// LinkKind says what a chapter's link or image reference is.
type LinkKind int

const (
	// LinkAuto leaves the reference to DefaultLink.
	LinkAuto LinkKind = iota
	// LinkChapter is a link to the chapter with Key, at Fragment (an id
	// as written in that chapter's HTML) when set. A fragment that no
	// element of the chapter has is dropped, and a key that no chapter
	// has drops the link.
	LinkChapter
	// LinkExternal is a link to the absolute URL (http, https or mailto);
	// as an image it is a remote image, which a book must not load, so it
	// becomes a missing image that links to URL.
	LinkExternal
	// LinkImage is an image to embed: Images(Ref) gives its bytes. Images
	// are stored once per Ref however often they are used.
	LinkImage
	// LinkMissingImage is an image the book does not carry: a placeholder
	// says so with Caption, by default "Image not included: " and the
	// reference in the book's language, and links to URL when that is an
	// absolute http(s) URL.
	LinkMissingImage
	// LinkDrop removes the reference: a link keeps its text, an image
	// leaves its alt text.
	LinkDrop
)

// Link is Resolve's answer. For an <a href> the image kinds drop the
// link: a hyperlink may lead to a document of the book or to the web, but
// not to an image file inside the book, which epubcheck rejects.
type Link struct {
	Kind     LinkKind
	Key      string // LinkChapter
	Fragment string // LinkChapter
	URL      string // LinkExternal, LinkMissingImage
	Ref      string // LinkImage
	// Caption is the whole text of a missing image's placeholder (the
	// image's alt text follows it): for LinkMissingImage, and for
	// LinkImage when Images cannot give the image.
	Caption string
}

// DefaultLink is what a reference means when Resolve has nothing to say:
// "#x" is a link within the chapter, an absolute http(s) or mailto URL is
// external (as an image: a missing image linking to it), and any other
// link is dropped and any other image is missing.
func DefaultLink(chapterKey, attr, value string) Link {
	v := strings.TrimSpace(value)
	if attr == "href" && strings.HasPrefix(v, "#") {
		return Link{Kind: LinkChapter, Key: chapterKey, Fragment: v[1:]}
	}
	if u, ok := absoluteURL(v); ok {
		if attr == "src" {
			return Link{Kind: LinkMissingImage, URL: u}
		}
		return Link{Kind: LinkExternal, URL: u}
	}
	if attr == "src" {
		return Link{Kind: LinkMissingImage}
	}
	return Link{Kind: LinkDrop}
}

// absoluteURL reports whether s is an absolute URL a book may link to,
// and returns it in the escaped form epubcheck accepts (no raw spaces).
func absoluteURL(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
	case "mailto":
		if u.Opaque == "" {
			return "", false
		}
	default:
		return "", false
	}
	return u.String(), true
}

// Write writes the book as an EPUB file to w.
func Write(w io.Writer, b Book) error {
	bk, err := plan(b)
	if err != nil {
		return err
	}
	if err := bk.render(); err != nil {
		return err
	}
	return bk.zip(w)
}

var langTag = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)

// Manifest media types.
const (
	xhtmlType = "application/xhtml+xml"
	cssType   = "text/css"
	ncxType   = "application/x-dtbncx+xml"
)

// imageExt maps the image types the writer embeds to their file
// extensions: EPUB 3.2's core image types except SVG, which is a document
// of its own that epubcheck would validate and that may carry script.
// WebP became a core type only in EPUB 3.3; most readers cannot show it.
var imageExt = map[string]string{"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}

// sniffImage returns the media type of an image the writer can embed, or
// "" when the bytes are none of those, whatever the caller said they were.
func sniffImage(data []byte) string {
	t := http.DetectContentType(data)
	if _, ok := imageExt[t]; ok {
		return t
	}
	return ""
}

// document is one XHTML file of the book.
type document struct {
	kind     docKind
	name     string // file name under OEBPS/
	id       string // manifest id
	title    string
	lang     string
	chapter  *Chapter
	part     int               // index into book.parts, or -1
	root     *html.Node        // the parsed chapter, under a stand-in for its <section>
	ownTitle bool              // the HTML's first element is the title h1
	ids      map[string]string // id as written → id in the document
	data     []byte
}

type docKind int

const (
	docCover docKind = iota
	docNav
	docPreface
	docPart
	docChapter
)

// part is a run of consecutive chapters with the same Part.
type part struct {
	title string
	page  *document   // the part's title page, or its first chapter
	docs  []*document // the chapters under it in the table of contents
}

// imageFile is an image file of the book.
type imageFile struct {
	name, id, mediaType string
	data                []byte
}

type book struct {
	b        Book
	labels   labels
	modified time.Time
	docs     []*document // in spine order
	byKey    map[string]*document
	parts    []*part
	// toc is the top level of the table of contents: documents, and parts
	// (by their page) with their chapters under them.
	toc    []*document
	cover  *imageFile
	images []*imageFile
	byRef  map[string]*imageFile // nil value: the image is unavailable
	css    []byte
}

func plan(b Book) (*book, error) {
	switch {
	case strings.TrimSpace(b.Identifier) == "":
		return nil, errors.New("epub: book has no Identifier")
	case strings.TrimSpace(b.Title) == "":
		return nil, errors.New("epub: book has no Title")
	case !langTag.MatchString(b.Language):
		return nil, fmt.Errorf("epub: book language %q is not a BCP 47 tag", b.Language)
	case b.Modified.IsZero():
		return nil, errors.New("epub: book has no Modified time")
	}
	bk := &book{
		b:        b,
		labels:   labelsFor(b.Language),
		modified: b.Modified.UTC().Truncate(time.Second),
		byKey:    map[string]*document{},
		byRef:    map[string]*imageFile{},
	}
	if b.Cover != nil {
		t := sniffImage(b.Cover.Data)
		if t != "image/png" && t != "image/jpeg" {
			return nil, errors.New("epub: cover is not a PNG or JPEG image")
		}
		bk.cover = &imageFile{name: "images/cover." + imageExt[t], id: "cover-image", mediaType: t, data: b.Cover.Data}
		bk.docs = append(bk.docs, &document{kind: docCover, name: "cover.xhtml", id: "cover", title: bk.labels.cover, part: -1})
	}
	nav := &document{kind: docNav, name: "nav.xhtml", id: "nav", title: bk.labels.contents, part: -1}
	bk.docs = append(bk.docs, nav)

	addKey := func(d *document) error {
		if k := d.chapter.Key; k != "" {
			if _, dup := bk.byKey[k]; dup {
				return fmt.Errorf("epub: two chapters have the key %q", k)
			}
			bk.byKey[k] = d
		}
		return nil
	}
	if b.Preface != nil {
		d := &document{kind: docPreface, name: "preface.xhtml", id: "preface", chapter: b.Preface, part: -1,
			title: orDefault(b.Preface.Title, bk.labels.preface)}
		if err := addKey(d); err != nil {
			return nil, err
		}
		bk.docs = append(bk.docs, d)
		bk.toc = append(bk.toc, d)
	}
	chWidth := max(3, len(fmt.Sprint(len(b.Chapters))))
	partWidth := max(2, len(fmt.Sprint(len(b.Chapters))))
	var cur *part
	for i := range b.Chapters {
		c := &b.Chapters[i]
		d := &document{kind: docChapter, chapter: c, part: -1,
			name:  fmt.Sprintf("ch%0*d.xhtml", chWidth, i+1),
			id:    fmt.Sprintf("ch%0*d", chWidth, i+1),
			title: orDefault(c.Title, bk.labels.chapter(i+1))}
		if err := addKey(d); err != nil {
			return nil, err
		}
		ptitle := collapse(c.Part)
		if ptitle == "" {
			cur = nil
			bk.docs = append(bk.docs, d)
			bk.toc = append(bk.toc, d)
			continue
		}
		if cur == nil || cur.title != ptitle {
			cur = &part{title: ptitle}
			bk.parts = append(bk.parts, cur)
			n := len(bk.parts)
			if collapse(c.Title) == ptitle {
				cur.page = d
			} else {
				cur.page = &document{kind: docPart, title: ptitle, part: n - 1,
					name: fmt.Sprintf("part%0*d.xhtml", partWidth, n),
					id:   fmt.Sprintf("part%0*d", partWidth, n)}
				bk.docs = append(bk.docs, cur.page)
			}
			bk.toc = append(bk.toc, cur.page)
		}
		d.part = len(bk.parts) - 1
		cur.page.part = d.part
		if cur.page != d {
			cur.docs = append(cur.docs, d)
		}
		bk.docs = append(bk.docs, d)
	}
	for _, d := range bk.docs {
		d.lang = b.Language
		if d.chapter != nil && langTag.MatchString(d.chapter.Language) {
			d.lang = d.chapter.Language
		}
	}
	return bk, nil
}

// orDefault is s with its runs of white space made single spaces (a
// title is one line wherever it is shown), or def when that is empty.
func orDefault(s, def string) string {
	if s = collapse(s); s != "" {
		return s
	}
	return def
}

// render makes every document. Chapters are prepared first, all of them,
// because a link into another chapter can only keep its fragment once
// that chapter's ids are known.
func (bk *book) render() error {
	for _, d := range bk.docs {
		if d.chapter == nil {
			continue
		}
		root, err := parseFragment(d.chapter.HTML)
		if err != nil {
			return fmt.Errorf("epub: chapter %q: %w", d.title, err)
		}
		d.root = root
		d.ids, d.ownTitle = prepare(root, d.title)
	}
	for _, d := range bk.docs {
		switch d.kind {
		case docCover:
			d.data = bk.coverPage(d)
		case docNav:
			d.data = bk.navDoc(d)
		case docPart:
			d.data = bk.partPage(d)
		default:
			d.data = bk.chapterDoc(d)
			d.root = nil // the tree is garbage now; a large book should not hold it
		}
	}
	bk.css = []byte(stylesheet + bk.b.CSS)
	return nil
}

// resolve asks the caller what a reference is.
func (bk *book) resolve(d *document, attr, value string) Link {
	key := ""
	if d.chapter != nil {
		key = d.chapter.Key
	}
	var l Link
	if bk.b.Resolve != nil {
		l = bk.b.Resolve(key, attr, value)
	}
	if l.Kind == LinkAuto {
		l = DefaultLink(key, attr, value)
	}
	return l
}

// href turns a link into the href the document writes, or "" when the
// link goes nowhere the book can follow.
func (bk *book) href(from *document, value string) string {
	l := bk.resolve(from, "href", value)
	switch l.Kind {
	case LinkExternal:
		u, _ := absoluteURL(l.URL)
		return u
	case LinkChapter:
		to := bk.byKey[l.Key]
		if from.chapter != nil && l.Key == from.chapter.Key {
			to = from // also for a chapter without a key
		}
		if to == nil {
			return ""
		}
		frag := to.fragment(l.Fragment)
		switch {
		case to == from && frag == "":
			return "" // a link to where the reader already is
		case to == from:
			return "#" + frag
		case frag == "":
			return to.name
		}
		return to.name + "#" + frag
	}
	return ""
}

// fragment returns the id in the document for an id as the caller wrote
// it (raw or percent-encoded), or "".
func (d *document) fragment(f string) string {
	if f == "" {
		return ""
	}
	if id, ok := d.ids[f]; ok {
		return id
	}
	if u, err := url.PathUnescape(f); err == nil {
		if id, ok := d.ids[u]; ok {
			return id
		}
	}
	return ""
}

// imageSrc returns the file an embeddable image is stored as, storing it
// on first use, or nil when the image cannot be had.
func (bk *book) imageSrc(ref string) *imageFile {
	if im, seen := bk.byRef[ref]; seen {
		return im
	}
	var im *imageFile
	if bk.b.Images != nil {
		if data, _, ok := bk.b.Images(ref); ok {
			if t := sniffImage(data); t != "" {
				n := len(bk.images) + 1
				im = &imageFile{name: fmt.Sprintf("images/img%03d.%s", n, imageExt[t]), id: fmt.Sprintf("img%03d", n), mediaType: t, data: data}
				bk.images = append(bk.images, im)
			}
		}
	}
	bk.byRef[ref] = im
	return im
}

// zip writes the container. The mimetype entry comes first, stored, with
// no extra field, so that a reader can recognise an EPUB by its first
// bytes; the other entries are deflated.
func (bk *book) zip(w io.Writer) error {
	zw := zip.NewWriter(w)
	date, tm := dosTime(bk.modified)
	mimetype := []byte("application/epub+zip")
	fw, err := zw.CreateRaw(&zip.FileHeader{
		Name:               "mimetype",
		Method:             zip.Store,
		ModifiedDate:       date,
		ModifiedTime:       tm,
		CRC32:              crc32.ChecksumIEEE(mimetype),
		CompressedSize64:   uint64(len(mimetype)),
		UncompressedSize64: uint64(len(mimetype)),
	})
	if err != nil {
		return err
	}
	if _, err := fw.Write(mimetype); err != nil {
		return err
	}
	add := func(name string, data []byte, method uint16) error {
		// Setting the MS-DOS fields rather than Modified keeps the extra
		// field out of every entry, which Modified would add.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, ModifiedDate: date, ModifiedTime: tm})
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := add("META-INF/container.xml", []byte(containerXML), zip.Deflate); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{{"content.opf", bk.packageDoc()}, {"toc.ncx", bk.ncx()}, {"css/book.css", bk.css}}
	for _, f := range files {
		if err := add("OEBPS/"+f.name, f.data, zip.Deflate); err != nil {
			return err
		}
	}
	for _, d := range bk.docs {
		if err := add("OEBPS/"+d.name, d.data, zip.Deflate); err != nil {
			return err
		}
	}
	images := bk.images
	if bk.cover != nil {
		images = append([]*imageFile{bk.cover}, images...)
	}
	for _, im := range images {
		// Images are compressed already.
		if err := add("OEBPS/"+im.name, im.data, zip.Store); err != nil {
			return err
		}
	}
	return zw.Close()
}

// dosTime is t in the MS-DOS form of zip headers, which cannot say a year
// before 1980 or after 2107.
func dosTime(t time.Time) (date, tm uint16) {
	switch {
	case t.Year() < 1980:
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	case t.Year() > 2107:
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

const containerXML = `<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
`

// packageDoc is content.opf: the metadata, every file, and the reading
// order.
func (bk *book) packageDoc() []byte {
	var w xw
	b := bk.b
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="pub-id" xml:lang="`).attr(b.Language).s("\">\n")
	w.s(`  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">` + "\n")
	w.s(`    <dc:identifier id="pub-id">`).text(strings.TrimSpace(b.Identifier)).s("</dc:identifier>\n")
	w.s(`    <dc:title id="title">`).text(collapse(b.Title)).s("</dc:title>\n")
	if sub := strings.TrimSpace(b.Subtitle); sub != "" {
		// Readers that know title-type show the subtitle as such; the
		// others show the first dc:title, the main one.
		w.s(`    <meta refines="#title" property="title-type">main</meta>` + "\n")
		w.s(`    <dc:title id="subtitle">`).text(sub).s("</dc:title>\n")
		w.s(`    <meta refines="#subtitle" property="title-type">subtitle</meta>` + "\n")
	}
	w.s(`    <dc:language>`).text(b.Language).s("</dc:language>\n")
	n := 0
	for _, a := range b.Authors {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		n++
		id := fmt.Sprintf("creator%d", n)
		w.s(`    <dc:creator id="` + id + `">`).text(a).s("</dc:creator>\n")
		w.s(`    <meta refines="#` + id + `" property="role" scheme="marc:relators">aut</meta>` + "\n")
		w.s(`    <meta refines="#` + id + `" property="display-seq">` + fmt.Sprint(n) + "</meta>\n")
	}
	if p := strings.TrimSpace(b.Publisher); p != "" {
		w.s(`    <dc:publisher>`).text(p).s("</dc:publisher>\n")
	}
	if !b.Published.IsZero() {
		w.s(`    <dc:date>` + b.Published.UTC().Format(time.RFC3339) + "</dc:date>\n")
	}
	w.s(`    <meta property="dcterms:modified">` + bk.modified.Format("2006-01-02T15:04:05Z") + "</meta>\n")
	if bk.cover != nil {
		// The EPUB 2 way to name the cover, which some readers and
		// converters still look for.
		w.s(`    <meta name="cover" content="cover-image"/>` + "\n")
	}
	w.s("  </metadata>\n  <manifest>\n")
	item := func(id, href, mediaType, props string) {
		w.s(`    <item id="` + id + `" href="`).attr(href).s(`" media-type="` + mediaType + `"`)
		if props != "" {
			w.s(` properties="` + props + `"`)
		}
		w.s("/>\n")
	}
	item("ncx", "toc.ncx", ncxType, "")
	item("css", "css/book.css", cssType, "")
	if bk.cover != nil {
		item(bk.cover.id, bk.cover.name, bk.cover.mediaType, "cover-image")
	}
	for _, d := range bk.docs {
		props := ""
		if d.kind == docNav {
			props = "nav"
		}
		item(d.id, d.name, xhtmlType, props)
	}
	for _, im := range bk.images {
		item(im.id, im.name, im.mediaType, "")
	}
	w.s("  </manifest>\n  <spine toc=\"ncx\">\n")
	for _, d := range bk.docs {
		w.s(`    <itemref idref="` + d.id + `"/>` + "\n")
	}
	w.s("  </spine>\n</package>\n")
	return w.bytes()
}

// ncx is the table of contents for EPUB 2 readers, which do not read the
// navigation document.
func (bk *book) ncx() []byte {
	var w xw
	b := bk.b
	depth := 1
	if len(bk.parts) > 0 {
		depth = 2
	}
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.s(`<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1" xml:lang="`).attr(b.Language).s("\">\n  <head>\n")
	w.s(`    <meta name="dtb:uid" content="`).attr(strings.TrimSpace(b.Identifier)).s("\"/>\n")
	w.s(`    <meta name="dtb:depth" content="` + fmt.Sprint(depth) + `"/>` + "\n")
	w.s(`    <meta name="dtb:totalPageCount" content="0"/>` + "\n")
	w.s(`    <meta name="dtb:maxPageNumber" content="0"/>` + "\n  </head>\n")
	w.s("  <docTitle><text>").text(collapse(b.Title)).s("</text></docTitle>\n")
	for _, a := range b.Authors {
		if a = strings.TrimSpace(a); a != "" {
			w.s("  <docAuthor><text>").text(a).s("</text></docAuthor>\n")
		}
	}
	w.s("  <navMap>\n")
	order := 0
	point := func(indent string, d *document, open bool) {
		order++
		w.s(indent + `<navPoint id="np` + fmt.Sprint(order) + `" playOrder="` + fmt.Sprint(order) + `">`)
		w.s("<navLabel><text>").text(d.title).s("</text></navLabel>")
		w.s(`<content src="`).attr(d.name).s(`"/>`)
		if !open {
			w.s("</navPoint>")
		}
		w.s("\n")
	}
	for _, d := range bk.toc {
		if d.part < 0 {
			point("    ", d, false)
			continue
		}
		p := bk.parts[d.part]
		point("    ", d, len(p.docs) > 0)
		if len(p.docs) > 0 {
			for _, c := range p.docs {
				point("      ", c, false)
			}
			w.s("    </navPoint>\n")
		}
	}
	w.s("  </navMap>\n</ncx>\n")
	return w.bytes()
}

// head writes the start of an XHTML document up to its <body>.
func (bk *book) head(w *xw, d *document, bodyClass string) {
	w.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<!DOCTYPE html>\n")
	w.s(`<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="`).attr(d.lang).s(`" lang="`).attr(d.lang).s("\">\n")
	w.s("<head>\n<meta charset=\"UTF-8\"/>\n<title>").text(d.title).s("</title>\n")
	w.s(`<link rel="stylesheet" type="text/css" href="css/book.css"/>` + "\n</head>\n")
	w.s(`<body class="` + bodyClass + "\">\n")
}

const tail = "</body>\n</html>\n"

func (bk *book) coverPage(d *document) []byte {
	var w xw
	bk.head(&w, d, "cover")
	w.s(`<section epub:type="cover" class="cover">` + "\n")
	w.s(`<img src="`).attr(bk.cover.name).s(`" alt="`).attr(collapse(bk.b.Title)).s("\"/>\n")
	w.s("</section>\n" + tail)
	return w.bytes()
}

func (bk *book) partPage(d *document) []byte {
	var w xw
	bk.head(&w, d, "part")
	w.s(`<section epub:type="part" class="part">` + "\n<h1>").text(d.title).s("</h1>\n</section>\n" + tail)
	return w.bytes()
}

func (bk *book) chapterDoc(d *document) []byte {
	var w xw
	typ, class := "chapter", "chapter"
	if d.kind == docPreface {
		typ, class = "preface", "preface"
	}
	bk.head(&w, d, class)
	w.s(`<section epub:type="` + typ + `" class="` + class + "\">\n")
	if !d.ownTitle {
		w.s("<h1>").text(d.title).s("</h1>\n")
	}
	s := serializer{bk: bk, doc: d, w: &w}
	s.children(d.root, false, false)
	w.s("\n</section>\n" + tail)
	return w.bytes()
}

// navDoc is the navigation document: the table of contents, which is
// also a page of the book, and the landmarks readers jump to.
func (bk *book) navDoc(d *document) []byte {
	var w xw
	bk.head(&w, d, "nav")
	w.s(`<nav epub:type="toc" id="toc">` + "\n<h1>").text(d.title).s("</h1>\n<ol>\n")
	entry := func(d *document) {
		w.s(`<li><a href="`).attr(d.name).s(`">`).text(d.title).s("</a>")
	}
	for _, d := range bk.toc {
		entry(d)
		if d.part >= 0 {
			if p := bk.parts[d.part]; len(p.docs) > 0 {
				w.s("\n<ol>\n")
				for _, c := range p.docs {
					entry(c)
					w.s("</li>\n")
				}
				w.s("</ol>\n")
			}
		}
		w.s("</li>\n")
	}
	w.s("</ol>\n</nav>\n")
	w.s(`<nav epub:type="landmarks" id="landmarks" hidden="hidden">` + "\n<h2>").text(bk.labels.landmarks).s("</h2>\n<ol>\n")
	landmark := func(typ, href, label string) {
		w.s(`<li><a epub:type="` + typ + `" href="`).attr(href).s(`">`).text(label).s("</a></li>\n")
	}
	if bk.cover != nil {
		landmark("cover", "cover.xhtml", bk.labels.cover)
	}
	landmark("toc", "nav.xhtml#toc", d.title)
	for _, c := range bk.docs {
		if c.kind == docPart || c.kind == docChapter {
			landmark("bodymatter", c.name, bk.labels.start)
			break
		}
	}
	w.s("</ol>\n</nav>\n" + tail)
	return w.bytes()
}

// labels are the words the writer adds to a book, in its language.
type labels struct {
	contents, cover, preface, landmarks, start string
	// missingImage starts a missing image's caption; open and close
	// enclose its alt text.
	missingImage, open, close string
	chapter                   func(int) string
}

func labelsFor(lang string) labels {
	l := strings.ToLower(lang)
	if l == "zh" || strings.HasPrefix(l, "zh-") {
		traditional := strings.Contains(l, "-hant") || strings.HasSuffix(l, "-tw") || strings.HasSuffix(l, "-hk") || strings.HasSuffix(l, "-mo")
		if traditional {
			return labels{contents: "目錄", cover: "封面", preface: "前言", landmarks: "導覽", start: "正文", missingImage: "圖片未收錄：", open: "（", close: "）",
				chapter: func(n int) string { return fmt.Sprintf("第 %d 章", n) }}
		}
		return labels{contents: "目录", cover: "封面", preface: "前言", landmarks: "导览", start: "正文", missingImage: "图片未收录：", open: "（", close: "）",
			chapter: func(n int) string { return fmt.Sprintf("第 %d 章", n) }}
	}
	return labels{contents: "Contents", cover: "Cover", preface: "Preface", landmarks: "Landmarks", start: "Start", missingImage: "Image not included: ", open: " (", close: ")",
		chapter: func(n int) string { return fmt.Sprintf("Chapter %d", n) }}
}

// xw accumulates XML.
type xw struct{ b bytes.Buffer }

func (w *xw) s(s string) *xw    { w.b.WriteString(s); return w }
func (w *xw) text(s string) *xw { escape(&w.b, s, false); return w }
func (w *xw) attr(s string) *xw { escape(&w.b, s, true); return w }
func (w *xw) bytes() []byte     { return w.b.Bytes() }

// stylesheet sets CJK and Latin text for reading. Fonts are stacks of
// what readers and systems have (nothing is embedded: a CJK font is
// megabytes), Simplified and Traditional Chinese each with their own
// glyph forms; Chinese gets more leading than Latin text, justified lines
// and no hyphenation, which means nothing for ideographs but breaks Latin
// words between them oddly.
const stylesheet = `@charset "UTF-8";

html, body {
  margin: 0;
  padding: 0;
}
/* The language rules set inherited properties on body and on text
   blocks, never on every element: a :lang() selector outweighs an element
   selector, and would otherwise give code an English body font. */
body {
  font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "STSong", "SimSun", serif;
  line-height: 1.6;
  text-align: justify;
  widows: 2;
  orphans: 2;
}
body:lang(zh), body:lang(ja) {
  line-height: 1.8;
  line-break: strict;
}
body:lang(zh-TW), body:lang(zh-HK), body:lang(zh-MO), body:lang(zh-Hant) {
  font-family: "Noto Serif CJK TC", "Source Han Serif TC", "Songti TC", "PMingLiU", "MingLiU", serif;
}
body:lang(en) {
  font-family: "Georgia", "Times New Roman", "Noto Serif", "Noto Serif CJK SC", serif;
  line-height: 1.5;
}
p:lang(zh), li:lang(zh), dd:lang(zh), td:lang(zh), blockquote:lang(zh), figcaption:lang(zh),
p:lang(ja), li:lang(ja), dd:lang(ja), td:lang(ja), blockquote:lang(ja), figcaption:lang(ja) {
  hyphens: none;
  -webkit-hyphens: none;
}
p:lang(en), li:lang(en), dd:lang(en), td:lang(en), blockquote:lang(en), figcaption:lang(en) {
  hyphens: auto;
  -webkit-hyphens: auto;
}

h1, h2, h3, h4, h5, h6 {
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", sans-serif;
  font-weight: bold;
  line-height: 1.4;
  text-align: left;
  hyphens: none;
  -webkit-hyphens: none;
  page-break-after: avoid;
  break-after: avoid;
}
body:lang(zh-TW) h1, body:lang(zh-TW) h2, body:lang(zh-TW) h3, body:lang(zh-TW) h4,
body:lang(zh-HK) h1, body:lang(zh-HK) h2, body:lang(zh-HK) h3, body:lang(zh-HK) h4,
body:lang(zh-Hant) h1, body:lang(zh-Hant) h2, body:lang(zh-Hant) h3, body:lang(zh-Hant) h4 {
  font-family: "Noto Sans CJK TC", "Source Han Sans TC", "PingFang TC", "Microsoft JhengHei", sans-serif;
}
body:lang(en) h1, body:lang(en) h2, body:lang(en) h3, body:lang(en) h4 {
  font-family: "Helvetica Neue", "Arial", "Noto Sans", "Noto Sans CJK SC", sans-serif;
}
h1 {
  font-size: 1.6em;
  margin: 0 0 1em 0;
  page-break-before: always;
  break-before: page;
}
h2 { font-size: 1.35em; margin: 1.6em 0 0.6em 0; }
h3 { font-size: 1.15em; margin: 1.4em 0 0.5em 0; }
h4, h5, h6 { font-size: 1em; margin: 1.2em 0 0.4em 0; }

p { margin: 0.6em 0; }
a { color: inherit; text-decoration: underline; }
blockquote {
  margin: 1em 1.5em;
  padding-left: 0.8em;
  border-left: 0.2em solid #bbb;
  color: #444;
}
ul, ol { margin: 0.6em 0; padding-left: 2em; }
li { margin: 0.2em 0; }
dt { font-weight: bold; }
dd { margin-left: 2em; }
hr { border: 0; border-top: 1px solid #999; margin: 1.5em 0; }
img { max-width: 100%; height: auto; }
figure { margin: 1em 0; text-align: center; }
figcaption { font-size: 0.9em; color: #555; }
ruby rt { font-size: 0.5em; }

code, kbd, samp, pre {
  font-family: "Source Code Pro", "Menlo", "Consolas", "DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace;
  hyphens: none;
  -webkit-hyphens: none;
}
code, kbd, samp { font-size: 0.9em; }
pre {
  font-size: 0.8em;
  line-height: 1.45;
  text-align: left;
  white-space: pre-wrap;
  word-wrap: break-word;
  overflow-wrap: break-word;
  margin: 1em 0;
  padding: 0.6em 0.8em;
  background-color: #f5f5f5;
  border: 1px solid #ddd;
  page-break-inside: auto;
}
pre code { font-size: 1em; }

table {
  border-collapse: collapse;
  margin: 1em 0;
  max-width: 100%;
}
caption { font-weight: bold; margin-bottom: 0.4em; }
th, td {
  border: 1px solid #888;
  padding: 0.3em 0.5em;
  text-align: left;
  vertical-align: top;
}
th { background-color: #eee; font-weight: bold; }

.align-left { text-align: left; }
.align-right { text-align: right; }
.align-center { text-align: center; }
.align-justify { text-align: justify; }

.missing-image {
  display: block;
  margin: 1em 0;
  padding: 0.5em;
  border: 1px dashed #999;
  color: #666;
  font-size: 0.9em;
  text-align: center;
  text-indent: 0;
}
figure.missing-image figcaption { color: inherit; font-size: 1em; }

body.cover { margin: 0; text-align: center; }
section.cover { margin: 0; padding: 0; text-align: center; }
section.cover img { max-width: 100%; max-height: 100%; }
section.part h1 { margin-top: 30%; text-align: center; font-size: 2em; }
nav ol { list-style-type: none; padding-left: 0; }
nav ol ol { padding-left: 1.5em; }
nav li { margin: 0.3em 0; }
nav a { text-decoration: none; }
`
