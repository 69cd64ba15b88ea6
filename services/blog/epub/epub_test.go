package epub

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

var modified = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// build writes b and fails the test on error.
func build(t testing.TB, b Book) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openZip(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = b
	}
	return files
}

// testPNG is a small deterministic image, a cover when tall.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(40 + 150*y/h), uint8(90 + 100*x/w), 160, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// trickyHTML is the markup a sanitiser lets through, and some it does not,
// that is HTML but not XHTML, or not allowed in an EPUB content document.
const trickyHTML = `<h2 id="sec">Section</h2>
<p align="center">Hello&nbsp;world &copy; 2026<br>next line <wbr>and<p>an unclosed paragraph
<h2 id="sec">Section again</h2>
<h2 id="11-go">1.1 安装 Go</h2>
<h3 id="a b:c">Odd id</h3>
<p><a name="old"></a>An old anchor. <a href="#old">to the anchor</a>, <a href="#sec">to the section</a>,
<a href="#11-go">to 1.1</a>, <a href="#a%20b:c">to the odd id</a>, <a href="#nope">to nothing</a>,
<a href="#">to the top</a>, <a href="02.1.md#sub">to a sub-heading</a>, <a href="02.1#missing">to a missing one</a>,
<a href="02.1.md">to the chapter</a>, <a href="99.9.md">to no chapter</a>,
<a href="https://example.com/a b?q=1&amp;r=2" target="_blank" rel="nofollow noopener">out</a>,
<a href="javascript:alert(1)">evil</a>, <a href="mailto:someone@example.com">mail</a>,
<a href="/relative/path">relative</a>, <a href="images/pic.png">an image link</a></p>
<p>Images: <img src="images/pic.png" alt="a picture" width="50%" height="20" border="0" align="left">
<img src="images/pic.png?raw=true" alt="the same picture"> <img src="images/photo.jpg" alt="photo">
<img src="images/gone.png" alt="gone"> <img src="https://example.com/remote.png" alt="remote">
<a href="https://example.com/"><img src="https://example.com/linked.png"></a>
<img src="images/fake.png" alt="not an image"> <img src="drop.png" alt="dropped alt">
<img src="images/captioned.png" alt="captioned"></p>
<div><img src="images/gone.png" id="fig1"></div>
<img src="images/gone-top.png">
<table border="1" cellpadding="3" width="100%" summary="s">
<caption>A table</caption>
<tfoot><tr><td>foot</td></tr></tfoot>
<tbody><tr><th scope="COL" abbr="x" align="right" valign="top">head</th><td colspan="2" rowspan="0" style="text-align: center; color: red" nowrap>cell</td></tr></tbody>
<thead><tr><th>first</th></tr></thead>
</table>
<table><colgroup span="2"><col span="2"></colgroup><tr><td headers="h1">plain</td></tr></table>
<table><caption>one</caption><caption>two</caption><thead><tr><th>h1</th></tr></thead><thead><tr><th>h2</th></tr></thead></table>
<a href="#sec"><table><tr><td><a href="#old">cell link</a></td></tr></table></a>
<ul><li><input type="checkbox" checked disabled> done</li><li><input type="checkbox"> todo</li>stray text<p>stray para</p></ul>
<ul type="disc"><li value="3">ul value</li></ul>
<ol start="3" reversed type="i"><li value="7">seven</li><li value="x">bad value</li></ol>
<li>a list item outside a list</li>
<dl><dd>description before term</dd></dl>
<dl><dt>term</dt><dd>description</dd></dl>
<span><div>a block in a span</div><p>and a paragraph</p><hr></span>
<h2><p>paragraph in a heading</p><ul><li>list in a heading</li></ul></h2>
<a href="#sec">outer <a href="#old">inner</a></a>
<p><a href="#sec">link with <span><a href="#old" id="inner-anchor">a nested link</a></span></a></p>
<p><font color="red">font</font> <center>center</center> <tt>tt</tt> <strike>strike</strike> <acronym title="x">ac</acronym> <big>big</big></p>
<script>alert("script")</script><style>p { color: red }</style><iframe src="https://example.com"></iframe>
<svg><circle r="5"></circle></svg><math><mi>x</mi></math><!-- a comment -->
<p>control:` + "\x01\x0b" + ` chars, a lone surrogate-ish &#xD800; and an emoji 🎉, NUL &#0;</p>
<details><p>no summary</p></details>
<details open><summary>Summary</summary><p>body</p></details>
<p><time datetime="2024-01-02">a date</time> <time datetime="yesterday">not a date</time>
<q cite="relative">a quote</q> <q cite="https://example.com/q">a cited quote</q>
<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby> <bdo>no dir</bdo> <bdo dir="rtl">rtl</bdo>
<abbr title="HyperText">HTML</abbr> <span lang="en" xml:lang="fr">English</span> <span lang="not a tag!">bad lang</span>
<span style="text-align:right">styled</span> <span dir="sideways">dir</span> <span data-x="1" onclick="x()">data</span></p>
<pre><code class="language-go">func main() {
	fmt.Println("&lt;hi&gt; & bye")
}
</code></pre>
<figure><img src="images/pic.png" alt="in a figure"><figcaption>caption</figcaption></figure>
<figcaption>a caption outside a figure</figcaption>
<summary>a summary outside details</summary>
<rt>rt outside ruby</rt>
<article><header>header</header><footer>footer</footer></article>
<main>main</main><nav>nav</nav>
<form><button>button text</button><label>label text</label><select><option>opt</option></select></form>`

// testBook is a small book with every feature: a cover, a preface, parts
// with and without title pages, embedded and missing images, and tricky
// markup.
func testBook(t testing.TB) Book {
	pic, photo := testPNG(t, 32, 24), testJPEG(t)
	return Book{
		Identifier: "urn:uuid:5b4e5f3c-2d7a-4c1e-9b2f-7a8c9d0e1f23",
		Title:      `Tricky <Book> & "Co"`,
		Subtitle:   "一个副标题",
		Language:   "zh-CN",
		Authors:    []string{"作者甲", "Author B", " "},
		Publisher:  "云栖",
		Published:  modified.Add(-24 * time.Hour),
		Modified:   modified,
		Cover:      &Image{Data: testPNG(t, 300, 400), MediaType: "image/png"},
		Preface:    &Chapter{Title: "前言", Key: "preface", HTML: `<p>See <a href="01.1.md">the first chapter</a> and <a href="02.1.md#sub">a section</a>.</p>`},
		Chapters: []Chapter{
			{Title: "第一章 Tricky", Key: "01.1", HTML: trickyHTML},
			{Title: "第二章", Part: "第一部分 基础", Key: "02.1", HTML: `<h2 id="sub">Sub</h2><p>Back to <a href="01.1.md#11-go">1.1</a> and <a href="01.1#sec">sec</a>.</p>`},
			{Title: "第三章", Part: "第一部分 基础", Key: "03.1", HTML: "<h1>第三章</h1><p>A chapter whose HTML opens with its title.</p>"},
			{Title: "第二部分", Part: "第二部分", Key: "04.0", HTML: "<p>This chapter opens its part.</p>"},
			{Title: "第五章", Part: "第二部分", Key: "04.1", HTML: `<p lang="en">An English paragraph.</p>`, Language: "en"},
			{Title: `Empty <chapter> & "quotes"`, Key: "05.0"},
			{Title: "", HTML: "<p>A chapter without title or key.</p>"},
		},
		Resolve: testResolver(map[string]bool{"preface": true, "01.1": true, "02.1": true, "03.1": true, "04.0": true, "04.1": true, "05.0": true}),
		Images: func(ref string) ([]byte, string, bool) {
			switch ref {
			case "images/pic.png":
				return pic, "image/png", true
			case "images/photo.jpg":
				return photo, "", true
			case "images/fake.png":
				return []byte("<svg>not a png</svg>"), "image/png", true
			}
			return nil, "", false
		},
		CSS: "p.extra { color: #333; }\n",
	}
}

// testResolver resolves references as the blog does for the Go book: a
// "NN.N.md" file (or "NN.N", its slug, as the blog renders it) is a
// chapter, images/ are the book's images (embedded when the test has
// them), http(s) is the web, and the rest is dropped.
func testResolver(keys map[string]bool) func(chapterKey, attr, value string) Link {
	return func(chapterKey, attr, value string) Link {
		if attr == "href" && strings.HasPrefix(value, "#") {
			return Link{Kind: LinkChapter, Key: chapterKey, Fragment: value[1:]}
		}
		u, err := url.Parse(strings.TrimSpace(value))
		if err != nil {
			return Link{Kind: LinkDrop}
		}
		if u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "mailto" {
			if attr == "src" {
				return Link{Kind: LinkMissingImage, URL: value}
			}
			return Link{Kind: LinkExternal, URL: value}
		}
		if u.Scheme != "" || u.Host != "" {
			return Link{Kind: LinkDrop}
		}
		if attr == "src" {
			if value == "drop.png" {
				return Link{Kind: LinkDrop}
			}
			if strings.HasPrefix(u.Path, "images/") {
				if u.Path == "images/captioned.png" {
					return Link{Kind: LinkMissingImage, Caption: "图片另见网站：captioned.png"}
				}
				return Link{Kind: LinkImage, Ref: u.Path}
			}
			return Link{} // the default: missing
		}
		if strings.HasPrefix(u.Path, "images/") {
			return Link{Kind: LinkImage, Ref: u.Path} // not linkable: dropped
		}
		key := strings.TrimSuffix(path.Base(u.Path), ".md")
		if keys[key] {
			return Link{Kind: LinkChapter, Key: key, Fragment: u.Fragment}
		}
		return Link{Kind: LinkDrop}
	}
}

// The Go book, rendered as the blog renders posts (services/blog/render.go,
// which this package cannot import, since the blog imports it).

var gobookMarkdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(
		parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(postTransformer{}, 100)),
	),
	goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
)

var gobookSanitiser = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
	return p
}()

var (
	titleKey   = parser.NewContextKey()
	rewriteKey = parser.NewContextKey()
)

// postTransformer is the blog's: a first heading repeating the title is
// dropped, and links to Markdown files become links to their slugs. The
// test turns the second off for the preface, so that the book carries
// both forms of link.
type postTransformer struct{}

func (postTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	if title, _ := pc.Get(titleKey).(string); title != "" {
		if h, ok := doc.FirstChild().(*ast.Heading); ok && h.Level == 1 && strings.TrimSpace(string(h.Lines().Value(src))) == title {
			doc.RemoveChild(doc, h)
		}
	}
	if rewrite, _ := pc.Get(rewriteKey).(bool); !rewrite {
		return
	}
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if link, ok := n.(*ast.Link); ok && entering {
			u, err := url.Parse(string(link.Destination))
			if err == nil && u.Scheme == "" && u.Host == "" && strings.HasSuffix(strings.ToLower(u.Path), ".md") {
				base := path.Base(u.Path)
				out := url.URL{Path: strings.TrimSuffix(base, path.Ext(base)), Fragment: u.Fragment}
				link.Destination = []byte(out.String())
			}
		}
		return ast.WalkContinue, nil
	})
}

func renderMarkdown(t testing.TB, src, title string, rewrite bool) string {
	var buf bytes.Buffer
	pc := parser.NewContext()
	pc.Set(titleKey, title)
	pc.Set(rewriteKey, rewrite)
	if err := gobookMarkdown.Convert([]byte(src), &buf, parser.WithContext(pc)); err != nil {
		t.Fatal(err)
	}
	return gobookSanitiser.Sanitize(buf.String())
}

// firstHeading is the title the blog's importer gives a Markdown file.
func firstHeading(src string) string {
	fence := false
	for line := range strings.SplitSeq(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			fence = !fence
		}
		if title, ok := strings.CutPrefix(trimmed, "# "); ok && !fence {
			return strings.TrimSpace(title)
		}
	}
	return ""
}

const gobookDir = "../../../../shared/corpus/gobook-zh"

var summaryLink = regexp.MustCompile(`^(\s*)[*-]\s*\[([^\]]*)\]\(([^)]+\.md)\)`)

// gobook is the Go book in SUMMARY.md order: each top-level entry opens a
// part named by its own title, and its sub-entries follow in it. It skips
// the test when the corpus is not beside the repository.
func gobook(t testing.TB) Book {
	t.Helper()
	summary, err := os.ReadFile(filepath.Join(gobookDir, "SUMMARY.md"))
	if err != nil {
		t.Skipf("the Go book corpus is not at %s: %v", gobookDir, err)
	}
	type entry struct{ file, title, part string }
	var entries []entry
	part := ""
	for line := range strings.SplitSeq(string(summary), "\n") {
		m := summaryLink.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		e := entry{file: m[3]}
		src, err := os.ReadFile(filepath.Join(gobookDir, e.file))
		if err != nil {
			t.Fatal(err)
		}
		e.title = firstHeading(string(src))
		if e.title == "" {
			e.title = strings.TrimSpace(m[2])
		}
		switch {
		case m[1] == "" && strings.HasSuffix(e.file, ".0.md"):
			part = e.title
		case m[1] == "":
			part = ""
		}
		e.part = part
		entries = append(entries, e)
	}
	keys := map[string]bool{"preface": true}
	b := Book{
		Identifier: "https://yunqi.town/collections/gobook-zh",
		Title:      "Go Web 编程",
		Subtitle:   "用 Go 语言构建 Web 应用",
		Language:   "zh-CN",
		Authors:    []string{"谢孟军", "Go Web 编程的贡献者"},
		Publisher:  "云栖",
		Modified:   modified,
		Cover:      &Image{Data: testPNG(t, 600, 800)},
	}
	for _, e := range entries {
		src, _ := os.ReadFile(filepath.Join(gobookDir, e.file))
		key := strings.TrimSuffix(e.file, ".md")
		keys[key] = true
		b.Chapters = append(b.Chapters, Chapter{Title: e.title, Part: e.part, Key: key, HTML: renderMarkdown(t, string(src), e.title, true)})
	}
	if src, err := os.ReadFile(filepath.Join(gobookDir, "preface.md")); err == nil {
		b.Preface = &Chapter{Title: "目录", Key: "preface", HTML: renderMarkdown(t, string(src), "", false)}
	}
	b.Resolve = testResolver(keys)
	return b
}

// goblog is the Go Blog's 337 posts as one English book, their Markdown
// rendered without the sanitiser: the raw HTML of real posts (iframes,
// scripts, inline styles, old markup) is what the normaliser must cope
// with even when a caller forgets to sanitise.
func goblog(t testing.TB) Book {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(gobookDir, "..", "goblog", "*.md"))
	if len(files) == 0 {
		t.Skip("the Go Blog corpus is not beside the repository")
	}
	b := Book{Identifier: "urn:uuid:0d8a1c52-6f3e-4b7a-9c1d-2e4f6a8b0c13", Title: "The Go Blog", Language: "en", Modified: modified}
	keys := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body, title := string(src), ""
		if rest, ok := strings.CutPrefix(body, "---\n"); ok {
			if fm, after, ok := strings.Cut(rest, "\n---\n"); ok {
				body = after
				for line := range strings.SplitSeq(fm, "\n") {
					if v, ok := strings.CutPrefix(line, "title:"); ok {
						title = strings.Trim(strings.TrimSpace(v), `"'`)
					}
				}
			}
		}
		key := strings.TrimSuffix(filepath.Base(f), ".md")
		keys[key] = true
		var buf bytes.Buffer
		pc := parser.NewContext()
		pc.Set(rewriteKey, true)
		if err := gobookMarkdown.Convert([]byte(body), &buf, parser.WithContext(pc)); err != nil {
			t.Fatal(err)
		}
		b.Chapters = append(b.Chapters, Chapter{Title: title, Key: key, HTML: buf.String()})
	}
	b.Resolve = testResolver(keys)
	return b
}

// epubcheck runs epubcheck on data and returns its messages as
// "SEVERITY ID path:line: message"; it skips the test when epubcheck is
// not installed, unless YUNQI_REQUIRE_EPUBCHECK=1.
func epubcheck(t *testing.T, data []byte) (errs, warnings []string) {
	t.Helper()
	bin, err := exec.LookPath("epubcheck")
	if err != nil {
		if os.Getenv("YUNQI_REQUIRE_EPUBCHECK") == "1" {
			t.Fatal("epubcheck is not on PATH and YUNQI_REQUIRE_EPUBCHECK=1")
		}
		t.Skip("epubcheck is not on PATH (Debian package epubcheck); set YUNQI_REQUIRE_EPUBCHECK=1 to make this a failure")
	}
	dir := t.TempDir()
	book, report := filepath.Join(dir, "book.epub"), filepath.Join(dir, "report.json")
	if err := os.WriteFile(book, data, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{book, "--json", report}
	// Debian's /usr/bin/epubcheck is the jar itself, runnable only where
	// binfmt_misc knows jars.
	if target, err := filepath.EvalSymlinks(bin); err == nil && strings.HasSuffix(target, ".jar") {
		java, err := exec.LookPath("java")
		if err != nil {
			if os.Getenv("YUNQI_REQUIRE_EPUBCHECK") == "1" {
				t.Fatal("epubcheck is a jar and java is not on PATH")
			}
			t.Skip("epubcheck is a jar and java is not on PATH")
		}
		args = append([]string{"-jar", target}, args...)
		bin = java
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	raw, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("epubcheck wrote no report (%v): %v\n%s", rerr, err, out)
	}
	var r struct {
		Messages []struct {
			ID        string
			Severity  string
			Message   string
			Locations []struct {
				Path   string
				Line   int
				Column int
			}
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Messages {
		where := ""
		if len(m.Locations) > 0 {
			where = fmt.Sprintf(" %s:%d:%d", m.Locations[0].Path, m.Locations[0].Line, m.Locations[0].Column)
		}
		s := fmt.Sprintf("%s %s%s: %s", m.Severity, m.ID, where, m.Message)
		switch m.Severity {
		case "FATAL", "ERROR":
			errs = append(errs, s)
		case "WARNING":
			warnings = append(warnings, s)
		}
	}
	return errs, warnings
}

// TestEPUBCheck builds the Go book (96 chapters and a preface, rendered
// as the blog renders them), the tricky test book and, unless -short, the
// Go Blog unsanitised, and has epubcheck find neither an error nor a
// warning in them.
func TestEPUBCheck(t *testing.T) {
	t.Run("tricky", func(t *testing.T) {
		t.Parallel()
		data := build(t, testBook(t))
		checkBook(t, data)
		errs, warnings := epubcheck(t, data)
		for _, e := range append(errs, warnings...) {
			t.Error(e)
		}
	})
	t.Run("gobook", func(t *testing.T) {
		t.Parallel()
		b := gobook(t)
		data := build(t, b)
		checkBook(t, data)
		errs, warnings := epubcheck(t, data)
		t.Logf("gobook: %d chapters, %d bytes, %d errors, %d warnings", len(b.Chapters), len(data), len(errs), len(warnings))
		for _, e := range append(errs, warnings...) {
			t.Error(e)
		}
	})
	t.Run("goblog-unsanitised", func(t *testing.T) {
		if testing.Short() {
			t.Skip("a 337-chapter book takes epubcheck a while")
		}
		t.Parallel()
		b := goblog(t)
		data := build(t, b)
		checkBook(t, data)
		errs, warnings := epubcheck(t, data)
		t.Logf("goblog: %d chapters, %d bytes, %d errors, %d warnings", len(b.Chapters), len(data), len(errs), len(warnings))
		for _, e := range append(errs, warnings...) {
			t.Error(e)
		}
	})
}

var (
	namedEntity = regexp.MustCompile(`&([A-Za-z][A-Za-z0-9]*);`)
	openVoid    = regexp.MustCompile(`<(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)\b[^>]*[^/]>`)
	closedVoid  = regexp.MustCompile(`</(area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr)>`)
	selfClosed  = regexp.MustCompile(`<([a-z0-9]+)\b[^>]*/>`)
)

// checkBook checks what epubcheck checks and more, without it: the zip
// layout, that every XML file is well-formed, that ids are unique, that
// every reference leads to a file of the book and every fragment to an
// id in it, and what the serialiser must never write.
func checkBook(t *testing.T, data []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	first := zr.File[0]
	if first.Name != "mimetype" || first.Method != zip.Store || len(first.Extra) != 0 {
		t.Errorf("first entry %q, method %d, extra %d bytes; want mimetype, stored, no extra field", first.Name, first.Method, len(first.Extra))
	}
	// Readers sniff the type at a fixed offset of the file.
	if string(data[30:38]) != "mimetype" || string(data[38:58]) != "application/epub+zip" {
		t.Errorf("the file does not start with the mimetype entry: %q", data[:58])
	}
	files := openZip(t, data)
	if string(files["mimetype"]) != "application/epub+zip" {
		t.Errorf("mimetype is %q", files["mimetype"])
	}
	for _, f := range zr.File {
		if !f.Modified.Equal(modified) && !f.Modified.Equal(modified.Truncate(2*time.Second)) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, modified)
		}
	}

	ids := map[string]map[string]bool{} // file → ids
	type ref struct{ from, to string }
	var refs []ref
	for name, body := range files {
		ext := path.Ext(name)
		if ext != ".xhtml" && ext != ".opf" && ext != ".ncx" && ext != ".xml" {
			continue
		}
		ids[name] = map[string]bool{}
		d := xml.NewDecoder(bytes.NewReader(body))
		d.Strict = true
		d.Entity = nil // only the five XML entities
		var root xml.Name
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("%s: not well-formed: %v", name, err)
				break
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			if root.Local == "" {
				root = se.Name
			}
			if se.Name.Local == "script" || strings.EqualFold(se.Name.Local, "iframe") {
				t.Errorf("%s: <%s> in the output", name, se.Name.Local)
			}
			for _, a := range se.Attr {
				switch {
				case a.Name.Local == "id" && a.Name.Space == "":
					if ids[name][a.Value] {
						t.Errorf("%s: duplicate id %q", name, a.Value)
					}
					ids[name][a.Value] = true
				case strings.HasPrefix(a.Name.Local, "on"), a.Name.Local == "style":
					t.Errorf("%s: attribute %s on <%s>", name, a.Name.Local, se.Name.Local)
				case a.Name.Local == "href" || a.Name.Local == "src" || a.Name.Local == "full-path":
					refs = append(refs, ref{name, a.Value})
				}
				if strings.HasPrefix(strings.ToLower(a.Value), "javascript:") {
					t.Errorf("%s: javascript: URL", name)
				}
			}
		}
		if ext == ".xhtml" {
			if root.Space != "http://www.w3.org/1999/xhtml" || root.Local != "html" {
				t.Errorf("%s: root element %v", name, root)
			}
			s := string(body)
			if !strings.Contains(s, "<!DOCTYPE html>") || !strings.Contains(s, `xml:lang="`) || !strings.Contains(s, ` lang="`) {
				t.Errorf("%s: no doctype or language", name)
			}
			for _, m := range namedEntity.FindAllStringSubmatch(s, -1) {
				if m[1] != "amp" && m[1] != "lt" && m[1] != "gt" && m[1] != "quot" && m[1] != "apos" {
					t.Errorf("%s: named entity %s", name, m[0])
				}
			}
			if m := openVoid.FindString(s); m != "" {
				t.Errorf("%s: void element not self-closed: %s", name, m)
			}
			if m := closedVoid.FindString(s); m != "" {
				t.Errorf("%s: void element closed: %s", name, m)
			}
			for _, m := range selfClosed.FindAllStringSubmatch(s, -1) {
				if !void[m[1]] {
					t.Errorf("%s: non-void element self-closed: %s", name, m[0])
				}
			}
		}
	}
	for _, r := range refs {
		u, err := url.Parse(r.to)
		if err != nil {
			t.Errorf("%s: bad reference %q", r.from, r.to)
			continue
		}
		if u.Scheme != "" {
			if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto" {
				t.Errorf("%s: reference %q", r.from, r.to)
			}
			continue
		}
		target := r.from
		switch {
		case r.from == "META-INF/container.xml":
			target = u.Path
		case u.Path != "":
			target = path.Join(path.Dir(r.from), u.Path)
		}
		if _, ok := files[target]; !ok {
			t.Errorf("%s: reference %q to a file the book does not have", r.from, r.to)
			continue
		}
		if u.Fragment != "" && !ids[target][u.Fragment] {
			t.Errorf("%s: reference %q to an id %s does not have", r.from, r.to, target)
		}
	}
	// Every file is in the manifest, and every manifest item is a file.
	var pkg struct {
		Items []struct {
			Href      string `xml:"href,attr"`
			MediaType string `xml:"media-type,attr"`
		} `xml:"manifest>item"`
	}
	if err := xml.Unmarshal(files["OEBPS/content.opf"], &pkg); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, it := range pkg.Items {
		listed["OEBPS/"+it.Href] = true
		if _, ok := files["OEBPS/"+it.Href]; !ok {
			t.Errorf("manifest item %s is not in the book", it.Href)
		}
	}
	for name := range files {
		if name != "mimetype" && !strings.HasPrefix(name, "META-INF/") && !listed[name] && name != "OEBPS/content.opf" {
			t.Errorf("%s is not in the manifest", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := build(t, testBook(t)), build(t, testBook(t))
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same book differ")
	}
	c := testBook(t)
	c.Modified = c.Modified.Add(time.Hour)
	if bytes.Equal(a, build(t, c)) {
		t.Fatal("a book modified later is the same file")
	}
}

func TestMimetypeFirst(t *testing.T) {
	data := build(t, Book{Identifier: "urn:x:1", Title: "T", Language: "en", Modified: modified})
	checkBook(t, data)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := []string{"mimetype", "META-INF/container.xml", "OEBPS/content.opf", "OEBPS/toc.ncx", "OEBPS/css/book.css", "OEBPS/nav.xhtml"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("entries %v, want %v", names, want)
	}
	if f := zr.File[0]; f.CompressedSize64 != f.UncompressedSize64 || f.Flags&0x8 != 0 {
		t.Errorf("mimetype: compressed %d of %d, flags %#x; want stored with its sizes in the local header", f.CompressedSize64, f.UncompressedSize64, f.Flags)
	}
}

func TestRequired(t *testing.T) {
	ok := Book{Identifier: "urn:x:1", Title: "T", Language: "zh-CN", Modified: modified}
	for name, mutate := range map[string]func(*Book){
		"identifier": func(b *Book) { b.Identifier = " " },
		"title":      func(b *Book) { b.Title = "" },
		"language":   func(b *Book) { b.Language = "Chinese (Simplified)" },
		"modified":   func(b *Book) { b.Modified = time.Time{} },
		"cover":      func(b *Book) { b.Cover = &Image{Data: []byte("GIF89a not a cover")} },
		"keys":       func(b *Book) { b.Chapters = []Chapter{{Key: "a"}, {Key: "a"}} },
	} {
		b := ok
		mutate(&b)
		if err := Write(io.Discard, b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := Write(io.Discard, ok); err != nil {
		t.Error(err)
	}
}

// chapter returns the XHTML of a built book's chapter file.
func chapter(t *testing.T, files map[string][]byte, name string) string {
	t.Helper()
	b, ok := files["OEBPS/"+name]
	if !ok {
		t.Fatalf("no %s", name)
	}
	return string(b)
}

func TestTricky(t *testing.T) {
	data := build(t, testBook(t))
	checkBook(t, data)
	files := openZip(t, data)
	ch := chapter(t, files, "ch001.xhtml")
	for _, want := range []string{
		`<h2 id="sec">Section</h2>`,
		`<h2 id="sec-2">Section again</h2>`,
		`<h2 id="id-11-go">1.1 安装 Go</h2>`,
		`<h3 id="a-b-c">Odd id</h3>`,
		`<a id="old"></a>`,
		`<a href="#old">to the anchor</a>`,
		`<a href="#sec">to the section</a>`,
		`<a href="#id-11-go">to 1.1</a>`,
		`<a href="#a-b-c">to the odd id</a>`,
		`to nothing,` + "\nto the top, ",
		`<a href="ch002.xhtml#sub">to a sub-heading</a>`,
		`<a href="ch002.xhtml">to a missing one</a>`,
		`<a href="ch002.xhtml">to the chapter</a>`,
		` to no chapter,`,
		`<a href="https://example.com/a%20b?q=1&amp;r=2">out</a>`,
		"\nevil, ",
		`<a href="mailto:someone@example.com">mail</a>`,
		"\nrelative, an image link</p>",
		`<p class="align-center">Hello` + "\u00a0" + `world © 2026<br/>next line <wbr/>and</p>`,
		`<img src="images/img001.png" alt="a picture" height="20" class="align-left"/>`,
		`<img src="images/img001.png" alt="the same picture"/>`,
		`<img src="images/img002.jpg" alt="photo"/>`,
		`<span class="missing-image">图片未收录：images/gone.png（gone）</span>`,
		`<span class="missing-image">图片未收录：<a href="https://example.com/remote.png">https://example.com/remote.png</a>（remote）</span>`,
		`<a href="https://example.com/"><span class="missing-image">图片未收录：https://example.com/linked.png</span></a>`,
		`<span class="missing-image">图片未收录：images/fake.png（not an image）</span>`,
		` dropped alt` + "\n" + `<span class="missing-image">图片另见网站：captioned.png（captioned）</span></p>`,
		`<div><figure id="fig1" class="missing-image"><figcaption>图片未收录：images/gone.png</figcaption></figure></div>`,
		`<figure class="missing-image"><figcaption>图片未收录：images/gone-top.png</figcaption></figure>`,
		`<table><caption>A table</caption><thead><tr><th>first</th></tr></thead><tbody><tr><th scope="col" class="align-right">head</th><td colspan="2" rowspan="0" class="align-center">cell</td></tr></tbody><tfoot><tr><td>foot</td></tr></tfoot></table>`,
		`<colgroup><col span="2"/></colgroup>`,
		`<td>plain</td>`,
		`<table><caption>one</caption><thead><tr><th>h1</th></tr></thead><tbody><tr><th>h2</th></tr></tbody></table><div>two</div>`,
		`<a href="#sec"><table><tbody><tr><td>cell link</td></tr></tbody></table></a>`,
		`<li>☑ done</li><li>☐ todo</li><li>stray text<p>stray para</p></li>`,
		`<ul><li>ul value</li></ul>`,
		`<ol start="3" reversed="reversed" type="i"><li value="7">seven</li><li>bad value</li></ol>`,
		`<div>a list item outside a list</div>`,
		`<div><div>description before term</div></div>`,
		`<dl><dt>term</dt><dd>description</dd></dl>`,
		`<span><span>a block in a span</span><span>and a paragraph</span></span>`,
		`<h2><span>paragraph in a heading</span><span><span>list in a heading</span></span></h2>`,
		// The HTML parser itself closes a link that another link opens in.
		`<a href="#sec">outer </a><a href="#old">inner</a>`,
		`<a href="#sec">link with <span></span></a><a id="inner-anchor" href="#old">a nested link</a>`,
		`<span>font</span>`, `<div class="align-center">center</div>`, `<code>tt</code>`, `<s>strike</s>`, `<abbr title="x">ac</abbr>`, `<span>big</span>`,
		`control: chars, a lone surrogate-ish ` + "\ufffd" + ` and an emoji 🎉, NUL ` + "\ufffd",
		`<div><p>no summary</p></div>`,
		`<details open="open"><summary>Summary</summary><p>body</p></details>`,
		`<time datetime="2024-01-02">a date</time> <time>not a date</time>`,
		`<q>a quote</q> <q cite="https://example.com/q">a cited quote</q>`,
		`<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby> <bdi>no dir</bdi> <bdo dir="rtl">rtl</bdo>`,
		`<span lang="en" xml:lang="en">English</span> <span>bad lang</span>`,
		`<span class="align-right">styled</span> <span>dir</span> <span>data</span>`,
		"<pre><code class=\"language-go\">func main() {\n\tfmt.Println(\"&lt;hi&gt; &amp; bye\")\n}\n</code></pre>",
		`<figure><img src="images/img001.png" alt="in a figure"/><figcaption>caption</figcaption></figure>`,
		`<div>a caption outside a figure</div>`, `<div>a summary outside details</div>`, `<span>rt outside ruby</span>`,
		`<article><header>header</header><footer>footer</footer></article>`,
		`<div>main</div><div>nav</div>`,
		`button textlabel text`,
	} {
		if !strings.Contains(ch, want) {
			t.Errorf("ch001.xhtml lacks %s", want)
		}
	}
	body := ch[strings.Index(ch, "<body"):]
	for _, bad := range []string{"alert", "color: red", "onclick", "data-x", "<svg", "<math", "comment", "target=", "rel=", "border", "cellpadding", "summary=", "nowrap", "valign", "headers", "abbr=", "opt", "&nbsp;", "&copy;", "<input", "<form", "<button", "<select", "<nav", "<main", "<center", "<font", "<tt", "<strike", "<acronym", "<big", "width="} {
		if strings.Contains(body, bad) {
			t.Errorf("ch001.xhtml has %q", bad)
		}
	}

	// Images are stored once each, by ref, with their sniffed types.
	opf := string(files["OEBPS/content.opf"])
	for _, want := range []string{
		`<item id="img001" href="images/img001.png" media-type="image/png"/>`,
		`<item id="img002" href="images/img002.jpg" media-type="image/jpeg"/>`,
		`<item id="cover-image" href="images/cover.png" media-type="image/png" properties="cover-image"/>`,
		`<dc:title id="title">Tricky &lt;Book&gt; &amp; "Co"</dc:title>`,
		`<dc:creator id="creator2">Author B</dc:creator>`,
		`<meta property="dcterms:modified">2026-03-14T09:26:53Z</meta>`,
		`<dc:date>2026-03-13T09:26:53Z</dc:date>`,
		`<meta refines="#subtitle" property="title-type">subtitle</meta>`,
	} {
		if !strings.Contains(opf, want) {
			t.Errorf("content.opf lacks %s", want)
		}
	}
	if strings.Contains(opf, "creator3") || strings.Contains(opf, "img003") {
		t.Error("a blank author or an unavailable image made it into the package")
	}
	if _, ok := files["OEBPS/images/img001.png"]; !ok {
		t.Error("no images/img001.png")
	}

	// The preface links into the chapters; the second chapter back.
	if p := chapter(t, files, "preface.xhtml"); !strings.Contains(p, `<a href="ch001.xhtml">the first chapter</a>`) || !strings.Contains(p, `<a href="ch002.xhtml#sub">a section</a>`) {
		t.Errorf("preface links: %s", p)
	}
	if c := chapter(t, files, "ch002.xhtml"); !strings.Contains(c, `<a href="ch001.xhtml#id-11-go">1.1</a>`) || !strings.Contains(c, `<a href="ch001.xhtml#sec">sec</a>`) {
		t.Errorf("chapter 2 links: %s", c)
	}
	// A chapter that opens with its title gets no second one.
	if c := chapter(t, files, "ch003.xhtml"); strings.Count(c, "<h1>") != 1 {
		t.Errorf("chapter 3 has %d h1s", strings.Count(c, "<h1>"))
	}
	// An empty chapter is its title.
	if c := chapter(t, files, "ch006.xhtml"); !strings.Contains(c, `<title>Empty &lt;chapter&gt; &amp; "quotes"</title>`) ||
		!strings.Contains(c, `<h1>Empty &lt;chapter&gt; &amp; "quotes"</h1>`) {
		t.Errorf("empty chapter: %s", c)
	}
	if c := chapter(t, files, "ch007.xhtml"); !strings.Contains(c, "<h1>第 7 章</h1>") {
		t.Errorf("untitled chapter: %s", c)
	}
	if c := chapter(t, files, "ch005.xhtml"); !strings.Contains(c, `xml:lang="en" lang="en"`) {
		t.Errorf("English chapter: %s", c)
	}

	// Parts: the first gets a title page, the second is opened by its
	// first chapter.
	nav := chapter(t, files, "nav.xhtml")
	for _, want := range []string{
		`<li><a href="preface.xhtml">前言</a></li>`,
		`<li><a href="ch001.xhtml">第一章 Tricky</a></li>`,
		"<li><a href=\"part01.xhtml\">第一部分 基础</a>\n<ol>\n<li><a href=\"ch002.xhtml\">第二章</a></li>\n<li><a href=\"ch003.xhtml\">第三章</a></li>\n</ol>\n</li>",
		"<li><a href=\"ch004.xhtml\">第二部分</a>\n<ol>\n<li><a href=\"ch005.xhtml\">第五章</a></li>\n</ol>\n</li>",
		`<li><a href="ch006.xhtml">Empty &lt;chapter&gt; &amp; "quotes"</a></li>`,
		`<a epub:type="cover" href="cover.xhtml">封面</a>`,
		`<a epub:type="bodymatter" href="ch001.xhtml">正文</a>`,
	} {
		if !strings.Contains(nav, want) {
			t.Errorf("nav.xhtml lacks %s", want)
		}
	}
	if _, ok := files["OEBPS/part02.xhtml"]; ok {
		t.Error("the part its first chapter opens has a title page")
	}
	spine := opf[strings.Index(opf, "<spine"):]
	order := []string{"cover", "nav", "preface", "ch001", "part01", "ch002", "ch003", "ch004", "ch005", "ch006", "ch007"}
	last := -1
	for _, id := range order {
		i := strings.Index(spine, `idref="`+id+`"`)
		if i < last {
			t.Errorf("spine order: %s out of place in %s", id, spine)
		}
		last = i
	}
}

// TestFragmentLinks checks that a link keeps its fragment only while the
// target has the id, after the ids of both documents were rewritten.
func TestFragmentLinks(t *testing.T) {
	b := Book{Identifier: "urn:x:2", Title: "Links", Language: "en", Modified: modified,
		Chapters: []Chapter{
			{Key: "a", Title: "A", HTML: `<p id="x">x</p><p id="x">x again</p><p id="2">two</p><a href="#x">1</a><a href="#2">2</a><a href="b#y">3</a><a href="b#z">4</a><a href="b#">5</a><a href="#y">6</a>`},
			{Key: "b", Title: "B", HTML: `<h2 id="y">y</h2><a href="a#x">7</a><a href="a#2">8</a><a href="a#x-2">9</a>`},
		},
		Resolve: func(key, attr, value string) Link {
			if strings.HasPrefix(value, "#") {
				return Link{}
			}
			k, f, _ := strings.Cut(value, "#")
			return Link{Kind: LinkChapter, Key: k, Fragment: f}
		},
	}
	files := openZip(t, build(t, b))
	a, bb := chapter(t, files, "ch001.xhtml"), chapter(t, files, "ch002.xhtml")
	for _, want := range []string{`<p id="x">x</p><p id="x-2">x again</p><p id="id-2">two</p>`, `<a href="#x">1</a>`, `<a href="#id-2">2</a>`, `<a href="ch002.xhtml#y">3</a>`, `<a href="ch002.xhtml">4</a>`, `<a href="ch002.xhtml">5</a>`, `6`} {
		if !strings.Contains(a, want) {
			t.Errorf("ch001 lacks %s:\n%s", want, a)
		}
	}
	if strings.Contains(a, `href="#y"`) {
		t.Error("a link to an id of another document kept its fragment")
	}
	// "x-2" was never written as an id: the second "x" got it.
	for _, want := range []string{`<a href="ch001.xhtml#x">7</a>`, `<a href="ch001.xhtml#id-2">8</a>`, `<a href="ch001.xhtml">9</a>`} {
		if !strings.Contains(bb, want) {
			t.Errorf("ch002 lacks %s:\n%s", want, bb)
		}
	}
}

// TestNoInvention feeds the serialiser what a sanitiser would never let
// through, and checks it writes none of it, and nothing it was not given.
func TestNoInvention(t *testing.T) {
	in := `<script>alert(1)</script><p onclick="alert(2)">text<img src="x" onerror="alert(3)"></p><a href="javascript:alert(4)">js</a>` +
		`<style>body{}</style><object data="x"></object><embed src="x"><noscript><p>ns</p></noscript><template><p>t</p></template>` +
		`<svg><script>alert(5)</script></svg><iframe srcdoc="<script>alert(6)</script>"></iframe><base href="https://evil.example/">` +
		`<meta http-equiv="refresh" content="0"><link rel="stylesheet" href="https://evil.example/x.css"><textarea><script>alert(7)</script></textarea>`
	b := Book{Identifier: "urn:x:3", Title: "No", Language: "en", Modified: modified, Chapters: []Chapter{{Title: "C", HTML: in}}}
	data := build(t, b)
	checkBook(t, data)
	ch := chapter(t, openZip(t, data), "ch001.xhtml")
	for _, bad := range []string{"alert", "script", "onclick", "onerror", "javascript", "<style", "object", "embed", "noscript", "template", "svg", "iframe", "evil", "refresh", "textarea"} {
		if strings.Contains(ch, bad) {
			t.Errorf("%q in %s", bad, ch)
		}
	}
	body := ch[strings.Index(ch, "<h1>"):strings.Index(ch, "</section>")]
	want := "<h1>C</h1>\n<p>text<span class=\"missing-image\">Image not included: x</span></p>js\n"
	if body != want {
		t.Errorf("body\n%q, want\n%q", body, want)
	}
}

// TestXMLText checks the escaping of text and attributes.
func TestXMLText(t *testing.T) {
	for _, tc := range []struct{ in, text, attr string }{
		{`a<b>&"c'`, `a&lt;b&gt;&amp;"c'`, `a&lt;b&gt;&amp;&quot;c'`},
		{"line\nbreak\ttab\rcr", "line\nbreak\ttab&#13;cr", "line&#10;break&#9;tab&#13;cr"},
		{"\x00\x01\x1f\ufffe\xff ok 中文", "\ufffd\ufffd ok 中文", "\ufffd\ufffd ok 中文"},
	} {
		var tb, ab bytes.Buffer
		escape(&tb, tc.in, false)
		escape(&ab, tc.in, true)
		if tb.String() != tc.text || ab.String() != tc.attr {
			t.Errorf("escape(%q) = %q, %q; want %q, %q", tc.in, tb.String(), ab.String(), tc.text, tc.attr)
		}
	}
	for in, want := range map[string]string{"11-go": "id-11-go", "a b": "a-b", "安装": "安装", "-x": "id--x", " ": "", "--": "", "x:y": "x-y", "_ok.1": "_ok.1"} {
		if got := xmlName(in); got != want {
			t.Errorf("xmlName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTraditionalAndEnglishLabels(t *testing.T) {
	for lang, want := range map[string]string{"zh-TW": "目錄", "zh-Hant-HK": "目錄", "zh-CN": "目录", "zh": "目录", "en": "Contents", "en-GB": "Contents"} {
		files := openZip(t, build(t, Book{Identifier: "urn:x:4", Title: "L", Language: lang, Modified: modified}))
		if nav := chapter(t, files, "nav.xhtml"); !strings.Contains(nav, "<h1>"+want+"</h1>") {
			t.Errorf("%s: nav heading is not %s:\n%s", lang, want, nav)
		}
	}
}

// BenchmarkWrite100Chapters writes books of 100 chapters: the Go book's
// chapters cycled, as the blog renders them, and synthetic chapters of
// about 20 KB of HTML each.
func BenchmarkWrite100Chapters(b *testing.B) {
	b.Run("gobook", func(b *testing.B) {
		src := gobook(b)
		var chapters []Chapter
		for i := 0; len(chapters) < 100; i++ {
			c := src.Chapters[i%len(src.Chapters)]
			if i >= len(src.Chapters) {
				c.Key = fmt.Sprintf("again-%d", i) // the first of each is the one linked to
			}
			chapters = append(chapters, c)
		}
		benchmarkWrite(b, chapters, src.Resolve)
	})
	b.Run("synthetic20KB", func(b *testing.B) {
		para := "<p>Go 语言的并发模型以 goroutine 和 channel 为核心，<code>go f()</code> 启动一个 goroutine，<a href=\"#h1\">见上文</a>，" +
			"<a href=\"03.md#h1\">见第三章</a>，<a href=\"https://go.dev/doc/\">官方文档</a>。<img src=\"images/fig.png\" alt=\"图\"></p>\n"
		code := "<pre><code class=\"language-go\">" + strings.Repeat("for i := 0; i &lt; n; i++ {\n\tfmt.Println(i)\n}\n", 20) + "</code></pre>\n"
		html := `<h2 id="h1">小节</h2>` + strings.Repeat(para, 35) + code + `<table><tr><th>键</th><th>值</th></tr><tr><td>a</td><td>1</td></tr></table>` + strings.Repeat(para, 35)
		keys := map[string]bool{}
		var chapters []Chapter
		for i := range 100 {
			key := fmt.Sprintf("%02d", i)
			keys[key] = true
			chapters = append(chapters, Chapter{Title: fmt.Sprintf("第 %d 章", i+1), Key: key, HTML: html})
		}
		benchmarkWrite(b, chapters, testResolver(keys))
	})
}

func benchmarkWrite(b *testing.B, chapters []Chapter, resolve func(string, string, string) Link) {
	size := 0
	for _, c := range chapters {
		size += len(c.HTML)
	}
	book := Book{Identifier: "urn:x:bench", Title: "Bench", Language: "zh-CN", Modified: modified, Chapters: chapters,
		Cover: &Image{Data: testPNG(b, 600, 800)}, Resolve: resolve}
	for b.Loop() {
		if err := Write(io.Discard, book); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/float64(len(chapters)), "html-B/chapter")
}
