package blog

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/color"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

var summaryLink = regexp.MustCompile(`\[([^\]]*)\]\(<?([^)>]+\.md)>?\)`)

// summaryChapters reads the Go book's SUMMARY.md: its chapters in order,
// each top-level entry opening a part of that title.
func summaryChapters(t testing.TB, dir, blog string) []events.CollectionChapter {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "SUMMARY.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []events.CollectionChapter
	part := ""
	for _, line := range strings.Split(string(b), "\n") {
		m := summaryLink.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			part = strings.TrimSpace(m[1])
		}
		out = append(out, events.CollectionChapter{Blog: blog, Slug: markdownSlug(m[2]), Part: part})
	}
	return out
}

// goBook imports the Go book, an extra post that shows an uploaded image,
// and publishes them as a collection in the order of SUMMARY.md.
func goBook(t testing.TB, f *fixture, limit int) (Collection, Edition, string) {
	t.Helper()
	corpus := corpusDir(t)
	dir := filepath.Join(corpus, "gobook-zh")
	if _, err := os.Stat(filepath.Join(dir, "SUMMARY.md")); err != nil {
		t.Skipf("the Go book is not at %s: %v", dir, err)
	}
	ctx := context.Background()
	if _, err := ImportFiles(ctx, f.store, []string{dir}, ImportOptions{Blog: "gobook-zh"}); err != nil {
		t.Fatal(err)
	}
	img, err := f.svc.UploadImage(bytes.NewReader(testPNG(t, color.RGBA{20, 120, 200, 255})))
	if err != nil {
		t.Fatal(err)
	}
	extra := writeFiles(t, map[string]string{"zz.md": "# 附录 上传的图\n\n![上传的图](/blog/images/" + img + ")\n\n回到 [1.1](01.1.md)，或看 [下载页](https://golang.org/dl/)。\n"})
	if _, err := ImportFiles(ctx, f.store, []string{extra}, ImportOptions{Blog: "gobook-zh"}); err != nil {
		t.Fatal(err)
	}
	f.sync()
	chapters := summaryChapters(t, dir, "gobook-zh")
	if limit > 0 && len(chapters) > limit {
		chapters = chapters[:limit]
	}
	chapters = append(chapters, events.CollectionChapter{Blog: "gobook-zh", Slug: "zz", Part: "附录"})
	org := auth.Principal{UserID: "u-org", Roles: []string{auth.RoleMember, auth.RoleOrganizer}, DisplayName: "编者"}
	c, err := f.svc.CreateCollection(ctx, org, CollectionInput{ID: "gobook", Title: "Go Web 编程", TitleEn: "Build Web Application with Golang",
		Subtitle: "用 Go 写 Web 应用", Language: "zh-CN", Cover: img,
		Preface: "这本书来自 astaxie 的开源书。\n\n![封面](/blog/images/" + img + ")\n\n从 [第一章](01.0.md) 读起。", Chapters: chapters}, "")
	if err != nil {
		t.Fatal(err)
	}
	ed, err := f.svc.PublishCollection(ctx, org, c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	f.sync()
	c, _ = f.svc.archive.collection(c.ID)
	return c, ed, img
}

// epubFile is an EPUB opened for the test: its entries by name.
type epubFile struct {
	zr    *zip.Reader
	files map[string][]byte
}

func openEPUB(t *testing.T, data []byte) epubFile {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	e := epubFile{zr: zr, files: map[string][]byte{}}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		e.files[zf.Name] = b
	}
	return e
}

// refs lists the href and src values of an XHTML document.
func refs(doc []byte) (hrefs, srcs []string) {
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return hrefs, srcs
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch {
				case string(k) == "href" && string(name) == "a":
					hrefs = append(hrefs, string(v))
				case string(k) == "src":
					srcs = append(srcs, string(v))
				}
			}
		}
	}
}

// TestBookEPUBOfTheGoBook builds the EPUB of the Go book as a collection
// and checks it the way a reader would meet it, then with epubcheck.
func TestBookEPUBOfTheGoBook(t *testing.T) {
	t.Parallel() // epubcheck's JVM takes seconds to start
	f := newFixture(t)
	limit := 0
	if testing.Short() {
		limit = 15
	}
	c, ed, img := goBook(t, f, limit)
	w := f.do("GET", "/blog/collections/gobook/book.epub", "", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/epub+zip" {
		t.Fatalf("epub: %d %s", w.Code, w.Body.String()[:min(500, w.Body.Len())])
	}
	data := w.Body.Bytes()
	t.Logf("%d chapters, %d KiB", len(ed.Chapters), len(data)>>10)
	e := openEPUB(t, data)

	// The container: mimetype first, stored, so readers know it by its
	// first bytes.
	first := e.zr.File[0]
	if first.Name != "mimetype" || first.Method != zip.Store || string(e.files["mimetype"]) != "application/epub+zip" {
		t.Fatalf("first entry %q (method %d)", first.Name, first.Method)
	}
	if !bytes.Equal(data[30:38], []byte("mimetype")) {
		t.Error("the mimetype entry carries an extra field")
	}

	var container struct {
		Rootfiles []struct {
			Path string `xml:"full-path,attr"`
		} `xml:"rootfiles>rootfile"`
	}
	if err := xml.Unmarshal(e.files["META-INF/container.xml"], &container); err != nil || len(container.Rootfiles) == 0 {
		t.Fatalf("container.xml: %v", err)
	}
	opfPath := container.Rootfiles[0].Path
	var opf struct {
		Identifier string `xml:"metadata>identifier"`
		Language   string `xml:"metadata>language"`
		Items      []struct {
			ID         string `xml:"id,attr"`
			Href       string `xml:"href,attr"`
			MediaType  string `xml:"media-type,attr"`
			Properties string `xml:"properties,attr"`
		} `xml:"manifest>item"`
		Spine []struct {
			IDRef string `xml:"idref,attr"`
		} `xml:"spine>itemref"`
	}
	if err := xml.Unmarshal(e.files[opfPath], &opf); err != nil {
		t.Fatalf("%s: %v", opfPath, err)
	}
	if opf.Identifier != bookIdentifier("gobook", ed.N) || !strings.HasPrefix(opf.Identifier, "urn:uuid:") || opf.Language != "zh-CN" {
		t.Errorf("identifier %q, language %q", opf.Identifier, opf.Language)
	}
	base := path.Dir(opfPath)
	docs := map[string][]byte{} // manifest XHTML by path in the zip
	byID := map[string]string{}
	for _, it := range opf.Items {
		p := path.Join(base, it.Href)
		if _, ok := e.files[p]; !ok {
			t.Errorf("the manifest names %s, which is not in the book", p)
		}
		byID[it.ID] = p
		if it.MediaType == "application/xhtml+xml" {
			docs[p] = e.files[p]
		}
	}

	// Every chapter is there, in book order, under its title.
	var nav []byte
	for _, it := range opf.Items {
		if strings.Contains(it.Properties, "nav") {
			nav = e.files[path.Join(base, it.Href)]
		}
	}
	navHrefs, _ := refs(nav)
	titleDoc := map[string]string{} // chapter title → its document
	z := html.NewTokenizer(bytes.NewReader(nav))
	var href string
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		tok := z.Token()
		switch {
		case tt == html.StartTagToken && tok.Data == "a":
			for _, a := range tok.Attr {
				if a.Key == "href" {
					href = a.Val
				}
			}
		case tt == html.TextToken && href != "":
			titleDoc[strings.TrimSpace(tok.Data)] = path.Join(base, strings.SplitN(href, "#", 2)[0])
			href = ""
		}
	}
	for i, ch := range ed.Chapters {
		if _, ok := titleDoc[ch.Title]; !ok {
			t.Errorf("chapter %d, %q, is not in the table of contents (%d entries)", i+1, ch.Title, len(navHrefs))
		}
	}
	spine := []string{}
	for _, it := range opf.Spine {
		spine = append(spine, byID[it.IDRef])
	}
	last := -1
	for _, ch := range ed.Chapters {
		i := indexOf(spine, titleDoc[ch.Title])
		if i <= last && titleDoc[ch.Title] != spine[max(last, 0)] {
			t.Errorf("chapter %q is out of order in the spine", ch.Title)
		}
		last = max(last, i)
	}

	// No reference leads to a file the book lacks, nor to an id its
	// document lacks.
	for p, doc := range docs {
		hrefs, srcs := refs(doc)
		for _, v := range append(hrefs, srcs...) {
			if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(v, "#")
			target := p
			if file != "" {
				target = path.Join(path.Dir(p), file)
			}
			body, ok := e.files[target]
			if !ok {
				t.Errorf("%s refers to %q, which is not in the book", p, v)
				continue
			}
			if frag != "" && !bytes.Contains(body, []byte(`id="`+frag+`"`)) {
				t.Errorf("%s refers to %q, whose document has no such id", p, v)
			}
		}
	}

	// Links between chapters lead to chapter files; links to posts
	// outside the book to the site.
	one, two := titleDoc[chapterTitle(t, ed, "01.1")], titleDoc[chapterTitle(t, ed, "01.2")]
	hrefs, srcs := refs(e.files[one])
	if !contains(hrefs, path.Base(two)) {
		t.Errorf("1.1 does not link to 1.2 (%s): %q", path.Base(two), hrefs)
	}
	if !contains(hrefs, "http://example.com/blog/gobook-zh/preface") {
		t.Errorf("1.1 does not link to the preface on the site: %q", hrefs)
	}
	// The book's images/ folder was never imported: placeholders, named.
	for _, s := range srcs {
		if strings.Contains(s, "1.1.mac.png") {
			t.Errorf("1.1 still shows the missing image %q", s)
		}
	}
	if !bytes.Contains(e.files[one], []byte("1.1.mac.png")) {
		t.Error("the placeholder of the missing image does not name it")
	}

	// The uploaded image is embedded, once, for the cover and the
	// chapter and preface that show it.
	data2, _, _ := f.svc.images.read(img)
	var embedded []string
	for name, b := range e.files {
		if bytes.Equal(b, data2) {
			embedded = append(embedded, name)
		}
	}
	if len(embedded) == 0 {
		t.Fatal("the uploaded image is not in the book")
	}
	_, zzSrcs := refs(e.files[titleDoc["附录 上传的图"]])
	if len(zzSrcs) != 1 || e.files[path.Join(base, zzSrcs[0])] == nil {
		t.Errorf("the chapter with the uploaded image shows %q", zzSrcs)
	}

	// A second request is served from the cache, byte for byte.
	again := f.do("GET", "/blog/collections/gobook/editions/1/book.epub", "", nil)
	if !bytes.Equal(again.Body.Bytes(), data) || again.Header().Get("ETag") != w.Header().Get("ETag") {
		t.Error("the same edition came out different")
	}
	rebuilt, _, err := f.svc.buildEPUB(context.Background(), c, ed, "http://example.com")
	if err != nil || !bytes.Equal(rebuilt, data) {
		t.Errorf("a rebuild differs from the first build (%v)", err)
	}

	runEPUBCheck(t, data)
}

func chapterTitle(t *testing.T, ed Edition, slug string) string {
	t.Helper()
	for _, ch := range ed.Chapters {
		if ch.Slug == slug {
			return ch.Title
		}
	}
	t.Fatalf("no chapter %s", slug)
	return ""
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

// epubcheckCommand finds epubcheck. Debian installs it as the jar itself,
// which runs only where the kernel knows jars (binfmt_misc), so a jar that
// cannot be executed is run with java.
func epubcheckCommand(t *testing.T) []string {
	t.Helper()
	p, err := exec.LookPath("epubcheck")
	if err != nil {
		if os.Getenv("YUNQI_REQUIRE_EPUBCHECK") == "1" {
			t.Fatal("epubcheck is not on PATH and YUNQI_REQUIRE_EPUBCHECK=1")
		}
		t.Skip("epubcheck is not on PATH (apt-get install epubcheck); skipping the EPUB validation")
	}
	err = exec.Command(p, "--version").Run()
	if errors.Is(err, syscall.ENOEXEC) || isExecFormat(err) {
		java, jerr := exec.LookPath("java")
		if jerr != nil {
			t.Fatalf("%s is a jar and there is no java to run it", p)
		}
		return []string{java, "-jar", p}
	}
	return []string{p}
}

func isExecFormat(err error) bool {
	return err != nil && strings.Contains(err.Error(), "exec format error")
}

// runEPUBCheck validates an EPUB with epubcheck; any error fails the test.
func runEPUBCheck(t *testing.T, data []byte) {
	t.Helper()
	cmd := epubcheckCommand(t)
	dir := t.TempDir()
	book, report := filepath.Join(dir, "book.epub"), filepath.Join(dir, "report.json")
	if err := os.WriteFile(book, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, cmd[0], append(cmd[1:], book, "--json", report)...).CombinedOutput()
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("epubcheck wrote no report: %v\n%s", err, out)
	}
	var r struct {
		Checker struct {
			Errors   int `json:"nError"`
			Fatals   int `json:"nFatal"`
			Warnings int `json:"nWarning"`
		} `json:"checker"`
		Messages []struct {
			ID        string `json:"ID"`
			Severity  string `json:"severity"`
			Message   string `json:"message"`
			Locations []struct {
				Path   string `json:"path"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"locations"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("epubcheck report: %v", err)
	}
	t.Logf("epubcheck: %d fatal, %d errors, %d warnings", r.Checker.Fatals, r.Checker.Errors, r.Checker.Warnings)
	for _, m := range r.Messages {
		loc := ""
		if len(m.Locations) > 0 {
			loc = m.Locations[0].Path
		}
		switch m.Severity {
		case "ERROR", "FATAL":
			t.Errorf("epubcheck %s %s at %s: %s", m.Severity, m.ID, loc, m.Message)
		default:
			t.Logf("epubcheck %s %s at %s: %s", m.Severity, m.ID, loc, m.Message)
		}
	}
	if r.Checker.Errors+r.Checker.Fatals > 0 {
		t.Errorf("epubcheck found %d errors", r.Checker.Errors+r.Checker.Fatals)
	}
}

// TestBookMissingRevision: an edition whose pinned revision cannot be read
// still reads, with the chapter standing as a placeholder.
func TestBookMissingRevision(t *testing.T) {
	t.Parallel()
	s := newBookSite(t)
	s.importFiles("book", map[string]string{"01.1.md": "# One\n\nfirst", "01.2.md": "# Two\n\nsecond"})
	ctx := context.Background()
	org := auth.Principal{UserID: "u-org", Roles: []string{auth.RoleMember, auth.RoleOrganizer}}
	c, err := s.svc.CreateCollection(ctx, org, CollectionInput{ID: "b", Title: "Book", Language: "en",
		Chapters: []events.CollectionChapter{{Blog: "book", Slug: "01.1"}, {Blog: "book", Slug: "01.2"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	// An edition written by an older version, or a post stream damaged
	// since: the second chapter pins a revision the post never had.
	ev := events.CollectionPublished{ID: "b", Edition: 1, Published: time.Now().UTC(), CollectionDetails: c.Details,
		Chapters: []events.PublishedChapter{{Blog: "book", Slug: "01.1", Title: "One", Revision: 1}, {Blog: "book", Slug: "01.2", Title: "Two", Revision: 7}}}
	if err := s.svc.write(ctx, events.CollectionStream("b"), events.Exact(c.Revision), command{who: org}, public(ev)); err != nil {
		t.Fatal(err)
	}
	s.sync()
	s.expect(s.page("GET", "/blog/collections/b/editions/1/2", "", "en", nil), http.StatusOK,
		"The text of this chapter (book/01.2, revision 7) can no longer be read.", `rel="prev"`)
	s.expect(s.page("GET", "/blog/collections/b/print", "", "en", nil), http.StatusOK, "revision 7) can no longer be read", "first")
	w := s.page("GET", "/blog/collections/b/book.epub", "", "en", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("epub: %d", w.Code)
	}
	e := openEPUB(t, w.Body.Bytes())
	found := false
	for name, b := range e.files {
		if strings.HasSuffix(name, ".xhtml") && bytes.Contains(b, []byte("revision 7) can no longer be read")) {
			found = true
		}
	}
	if !found {
		t.Error("the EPUB has no placeholder for the missing chapter")
	}
	// A revision that is not there will not come back, so the book is
	// kept like any other.
	if _, ok := s.svc.books().epubs.get(epubKey{"b", 1, "http://example.com"}); !ok {
		t.Error("the book was not kept")
	}
	runEPUBCheck(t, w.Body.Bytes())
}
