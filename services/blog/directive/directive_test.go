package directive

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// The blog's pipeline (services/blog/render.go) is rebuilt here because
// package blog imports this one. sanitiserLines are the rules this package
// asks render.go to add; the tests run with them, and one test shows what
// is lost without them.
func policy(withLines bool) *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
	if withLines {
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^directive-(code|play)$`)).OnElements("pre")
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^missing-media$`)).OnElements("figure")
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^directive-omitted$`)).OnElements("p")
	}
	return p
}

var sanitiser = policy(true)

// linkTransformer stands in for the blog's post transformer at the same
// priority: it rewrites links to Markdown files, so a link this package
// builds must reach it.
type linkTransformer struct{}

func (linkTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if l, ok := n.(*ast.Link); ok && entering && strings.HasSuffix(string(l.Destination), ".md") {
			l.Destination = bytes.TrimSuffix(l.Destination, []byte(".md"))
		}
		return ast.WalkContinue, nil
	})
}

func newMarkdown(withDirectives, unsafe bool) goldmark.Markdown {
	exts := []goldmark.Extender{extension.GFM}
	if withDirectives {
		exts = append(exts, Extension())
	}
	var ropts []renderer.Option
	if unsafe {
		ropts = append(ropts, html.WithUnsafe())
	}
	return goldmark.New(
		goldmark.WithExtensions(exts...),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithASTTransformers(util.Prioritized(linkTransformer{}, 100)),
		),
		goldmark.WithRendererOptions(ropts...),
	)
}

var (
	withExt = newMarkdown(true, true)
	plain   = newMarkdown(false, true)
)

func convert(t testing.TB, md goldmark.Markdown, src string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		t.Fatalf("convert: %v", err)
	}
	return buf.String()
}

func render(t testing.TB, src string) string {
	t.Helper()
	return sanitiser.Sanitize(convert(t, withExt, src))
}

func TestDirectives(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings of the sanitised HTML, in order
		not       []string
	}{
		{
			name: "raw with a tab-indented body is one dedented code block",
			src:  "we could write\n\n{{raw `\n\tconst MaxUint32 = 1<<32 - 1\n\tif a && b {\n\t\treturn\n\t}\n`}}\n\nbut we want",
			want: []string{"<p>we could write</p>\n<pre><code>const MaxUint32 = 1&lt;&lt;32 - 1\nif a &amp;&amp; b {\n\treturn\n}\n</code></pre>\n<p>but we want</p>"},
		},
		{
			name: "raw keeps blank lines and relative indentation",
			src:  "{{raw `\n    a := 1\n\n      b := 2\n`}}",
			want: []string{"<pre><code>a := 1\n\n  b := 2\n</code></pre>"},
		},
		{
			name: "raw body holding braces, backslashes and template text",
			src:  "{{raw `\n\tm := map[string]struct{}{\"x\": {}}}\n\t{{.Name}} \\n\n`}}",
			want: []string{"<pre><code>m := map[string]struct{}{&#34;x&#34;: {}}}\n{{.Name}} \\n\n</code></pre>"},
		},
		{
			name: "raw interrupts a paragraph, as a directive line is its own block",
			src:  "Consider this:\n{{raw `\n\tx := 1\n`}}\nafter",
			want: []string{"<p>Consider this:</p>\n<pre><code>x := 1\n</code></pre>\n<p>after</p>"},
		},
		{
			name: "raw inside a list item",
			src:  "1.  First:\n\n    {{raw `\n        type C interface {\n            Compare() int\n        }\n    `}}\n\n    More text.\n2.  Second.",
			want: []string{"<li>\n<p>First:</p>\n<pre><code>type C interface {\n    Compare() int\n}\n</code></pre>\n<p>More text.</p>\n</li>\n<li>\n<p>Second.</p>\n</li>"},
		},
		{
			name: "raw inside a block quote loses the quote markers",
			src:  "> {{raw `\n>     x := 1\n> `}}\n",
			want: []string{"<blockquote>\n<pre><code>x := 1\n</code></pre>\n</blockquote>"},
		},
		{
			name: "raw with a quoted string on its own line",
			src:  "{{raw \"a < b\"}}",
			want: []string{"<pre><code>a &lt; b\n</code></pre>"},
		},
		{
			name: "raw on one line with a raw string",
			src:  "{{raw `x := <-c`}}",
			want: []string{"<pre><code>x := &lt;-c\n</code></pre>"},
		},
		{
			name: "raw holding one <pre> element is the post's markup",
			src:  "{{raw `\n<pre>\n// <a href=\"/blog/defer\">Defer</a> it.\nif p &lt; 'a' {\n</pre>\n`}}",
			want: []string{"<pre>\n// <a href=\"/blog/defer\" rel=\"nofollow\">Defer</a> it.\nif p &lt; &#39;a&#39; {\n</pre>"},
		},
		{
			name: "raw with CRLF line endings",
			src:  "{{raw `\r\n\tx := 1\r\n`}}\r\n\r\ntext\r\n",
			want: []string{"<pre><code>x := 1\n</code></pre>\n<p>text</p>"},
		},
		{
			name: "raw of an included HTML file names the file",
			src:  "{{raw (file \"survey2017/usage.html\")}}",
			want: []string{`<figure class="missing-media"><figcaption>Included HTML: survey2017/usage.html (not part of this archive)</figcaption></figure>`},
		},
		{
			name: "code names its file in one block",
			src:  "{{code \"pipelines/parallel.go\" `/type result/` `/}/` \"HLresult\"}}",
			want: []string{"<pre class=\"directive-code\"><code>// pipelines/parallel.go\n// (the file is not part of this archive)\n</code></pre>"},
		},
		{
			name: "play names its file and says it ran",
			src:  "{{play \"constants/string1.go\" `/START/` `/STOP/`}}",
			want: []string{"<pre class=\"directive-play\"><code>// constants/string1.go\n// (a runnable example; the file is not part of this archive)\n</code></pre>"},
		},
		{
			name: "image becomes a placeholder naming the file",
			src:  "{{image \"10years/gopher10th-small.jpg\" 850}}",
			want: []string{`<figure class="missing-media"><figcaption>Image: 10years/gopher10th-small.jpg (not part of this archive)</figcaption></figure>`},
		},
		{
			name: "file names are escaped",
			src:  `{{image "a<b>&\"c.png"}}`,
			want: []string{`<figcaption>Image: a&lt;b&gt;&amp;&#34;c.png (not part of this archive)</figcaption>`},
		},
		{
			name: "video at a web address links to it",
			src:  "{{video \"https://www.youtube.com/embed/n7ayE29b7QA\" 650 400}}",
			want: []string{`<figure class="missing-media"><figcaption>Video: <a href="https://www.youtube.com/embed/n7ayE29b7QA" rel="nofollow">https://www.youtube.com/embed/n7ayE29b7QA</a></figcaption></figure>`},
		},
		{
			name: "video of a file is a placeholder",
			src:  "{{video \"talk/intro.mp4\"}}",
			want: []string{`<figcaption>Video: talk/intro.mp4 (not part of this archive)</figcaption>`},
		},
		{
			name: "directive lines inside an HTML block",
			src:  "<div style=\"margin-left: 2em;\">\n{{image \"experiment/expsimp1.png\" 179}}\n</div>\n\n<a href=\"big.jpg\">\n{{image \"small.jpg\" 850}}\n</a>\n",
			want: []string{
				"<div>\n<figure class=\"missing-media\"><figcaption>Image: experiment/expsimp1.png (not part of this archive)</figcaption></figure>\n</div>",
				"<a href=\"big.jpg\" rel=\"nofollow\">\n<figure class=\"missing-media\"><figcaption>Image: small.jpg (not part of this archive)</figcaption></figure>\n</a>",
			},
		},
		{
			name: "a range over site data becomes one note",
			src:  "<div id=\"blogindex\">\n\n{{range newest (pages \"/blog/*.md\") -}}\n{{if .date}}\n<p class=\"blogtitle\">\n  <a href=\"{{.URL}}\">{{.title}}</a>\n  <span class=\"author\">{{with .by}}{{by .}}<br>{{end}}</span>\n</p>\n{{end}}\n{{end}}\n\n</div>\n",
			want: []string{"<div id=\"blogindex\">\n<p class=\"directive-omitted\">This part of the page was generated by the original site from its own data, which is not part of this archive.</p>\n</div>"},
			not:  []string{"{{", "}}", "blogtitle"},
		},
		{
			name: "if and else are omitted together",
			src:  "a\n\n{{if .x}}\nyes\n{{else}}\nno\n{{end}}\n\nb",
			want: []string{"<p>a</p>\n<p class=\"directive-omitted\">", "</p>\n<p>b</p>"},
			not:  []string{"yes", "no\n"},
		},
		{
			name: "a block keeps its default body",
			src:  "{{block \"main\" .}}\nBody text.\n{{end}}",
			want: []string{"<p>Body text.</p>"},
			not:  []string{"{{", "omitted"},
		},
		{
			name: "a define shows nothing",
			src:  "before\n\n{{define \"x\"}}\nhidden\n{{end}}\n\nafter",
			want: []string{"<p>before</p>\n<p>after</p>"},
			not:  []string{"hidden"},
		},
		{
			name: "stray markers and data-bound actions are dropped",
			src:  "a\n\n{{end}}\n\n{{by .}}\n\n{{template \"x\" .}}\n\n{{with .Tags}}\n\nb",
			want: []string{"<p>a</p>\n<p>b</p>"},
		},
		{
			name: "mid-line raw of a code span",
			src:  "separating them with {{raw \"`<-`\"}}, which we use",
			want: []string{"<p>separating them with <code>&lt;-</code>, which we use</p>"},
		},
		{
			name: "mid-line raw keeps escapes as written",
			src:  "or even {{raw \"`1<<('\\t'+2.0)`\"}}.",
			want: []string{"<p>or even <code>1&lt;&lt;(&#39;\\t&#39;+2.0)</code>.</p>"},
		},
		{
			name: "mid-line bare string is text",
			src:  "compared with the {{\" < \"}}\noperator (or {{\" <= \"}}, etc.).",
			want: []string{"<p>compared with the  &lt; \noperator (or  &lt;= , etc.).</p>"},
		},
		{
			name: "mid-line raw whose link destination follows it",
			src:  "the {{raw \"[`{{block}}` action]\"}}(/pkg/text/template/#hdr-Actions)\nthat can",
			want: []string{`<p>the <a href="/pkg/text/template/#hdr-Actions" rel="nofollow"><code>{{block}}</code> action</a>` + "\nthat can</p>"},
		},
		{
			name: "a link the directive builds reaches later transformers",
			src:  "see {{raw \"[the post]\"}}(other.md) too",
			want: []string{`<p>see <a href="other" rel="nofollow">the post</a> too</p>`},
		},
		{
			name: "raw escape inside fenced code is the character it stands for",
			src:  "```Go\nfunc f(n int) {\n\tif n {{raw \"<\"}}= 1 {\n\t}\n}\n```",
			want: []string{"<pre><code class=\"language-Go\">func f(n int) {\n\tif n &lt;= 1 {\n\t}\n}\n</code></pre>"},
		},
		{
			name: "raw escapes inside indented code",
			src:  "text\n\n    type T [unsafe.Sizeof({{raw \"<\"}}-(make({{raw \"<\"}}-chan T)))]int\n",
			want: []string{"<pre><code>type T [unsafe.Sizeof(&lt;-(make(&lt;-chan T)))]int\n</code></pre>"},
		},
		{
			name: "a directive line with text after it is not a directive",
			src:  "{{image \"x.png\"}} and more",
			want: []string{"<p>{{image &#34;x.png&#34;}} and more</p>"},
		},
		{
			name: "a block directive in mid-line is text",
			src:  "see {{image \"x.png\"}} here",
			want: []string{"<p>see {{image &#34;x.png&#34;}} here</p>"},
		},
		{
			name: "unknown actions stay text",
			src:  "{{.summary}}\n\n{{foo \"x\"}}",
			want: []string{"<p>{{.summary}}</p>\n<p>{{foo &#34;x&#34;}}</p>"},
		},
		{
			name: "a directive indented four spaces is an indented code block",
			src:  "    {{image \"x.png\"}}",
			want: []string{"<pre><code>{{image &#34;x.png&#34;}}\n</code></pre>"},
		},
		{
			name: "trim markers are accepted",
			src:  "{{- image \"x.png\" -}}",
			want: []string{"<figcaption>Image: x.png"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.src)
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("missing %q\nin:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("should not contain %q:\n%s", n, got)
				}
			}
		})
	}
}

// In code, "{{" is the post's text: a post about templates shows them.
func TestLiteralInCode(t *testing.T) {
	src := "```\n{{code \"x.go\"}}\n{{raw `\ny\n`}}\n{{range .}}{{.Name}}{{end}}\n{{image \"a.png\"}}\n```\n\n" +
		"    {{play \"p.go\"}}\n\n" +
		"Inline `{{raw \"<\"}}` and `{{image \"b.png\"}}` stay too.\n\n" +
		"~~~html\n<p>{{.Title}}</p>\n~~~\n"
	got := render(t, src)
	for _, w := range []string{
		"<pre><code>{{code &#34;x.go&#34;}}\n{{raw `\ny\n`}}\n{{range .}}{{.Name}}{{end}}\n{{image &#34;a.png&#34;}}\n</code></pre>",
		"<pre><code>{{play &#34;p.go&#34;}}\n</code></pre>",
		"<code>{{raw &#34;&lt;&#34;}}</code> and <code>{{image &#34;b.png&#34;}}</code> stay too.",
		"<pre><code class=\"language-html\">&lt;p&gt;{{.Title}}&lt;/p&gt;\n</code></pre>",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	for _, n := range []string{"directive-", "missing-media"} {
		if strings.Contains(got, n) {
			t.Errorf("code was read as directives (%s):\n%s", n, got)
		}
	}
}

// A directive that never closes is text, and the rest of the post is still
// Markdown rather than swallowed into it.
func TestUnterminated(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{
			name: "raw without its closing backquote",
			src:  "{{raw `\n\tx := 1\n\n## Next\n\nMore *text*.\n",
			want: "<p>{{raw `\nx := 1</p>\n<h2 id=\"next\">Next</h2>\n<p>More <em>text</em>.</p>",
		},
		{
			name: "raw closed by a backquote that is not its end",
			src:  "{{raw `\n\tx := 1\n`}\n\nLater `code` and text.\n",
			want: "<p>{{raw <code>x := 1</code>}</p>\n<p>Later <code>code</code> and text.</p>",
		},
		{
			name: "image without braces",
			src:  "{{image \"x.png\"\n\ntext",
			want: "<p>{{image &#34;x.png&#34;</p>\n<p>text</p>",
		},
		{
			name: "raw cut short by its list item is shown as written",
			src:  "- item\n\n  {{raw `\n    x := 1\n\nback at the margin `}}\n",
			want: "<pre><code>{{raw `\n  x := 1\n\n</code></pre>",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(t, tc.src); !strings.Contains(got, tc.want) {
				t.Errorf("want %q in:\n%s", tc.want, got)
			}
		})
	}
}

// The classes are what tells a missing listing from real code; UGCPolicy
// alone drops them, the lines proposed for render.go keep them, and
// nothing else gets through.
func TestSanitiserLines(t *testing.T) {
	src := "{{code \"a.go\"}}\n\n{{play \"b.go\"}}\n\n{{image \"c.png\"}}\n\n{{range .}}\nx\n{{end}}\n\n" +
		"<pre class=\"directive-code evil\">x</pre>\n<figure class=\"other\">y</figure>\n<p class=\"directive-omitted\" onclick=\"alert(1)\">z</p>\n"
	raw := convert(t, withExt, src)
	with := policy(true).Sanitize(raw)
	without := policy(false).Sanitize(raw)
	for _, c := range []string{`<pre class="directive-code">`, `<pre class="directive-play">`, `<figure class="missing-media">`, `<p class="directive-omitted">`} {
		if !strings.Contains(with, c) {
			t.Errorf("with the proposed lines, %s is lost:\n%s", c, with)
		}
		if strings.Contains(without, c) {
			t.Errorf("UGCPolicy alone keeps %s; the lines would not be needed", c)
		}
	}
	for _, bad := range []string{"evil", `class="other"`, "onclick"} {
		if strings.Contains(with, bad) {
			t.Errorf("the proposed lines let %q through:\n%s", bad, with)
		}
	}
}

// Without html.WithUnsafe the post's own markup is not written, so a raw
// <pre> element is shown as code instead.
func TestRawPreWithoutUnsafe(t *testing.T) {
	src := "{{raw `\n<pre>\n<b>x</b>\n</pre>\n`}}"
	got := convert(t, newMarkdown(true, false), src)
	want := "<pre><code>&lt;pre&gt;\n&lt;b&gt;x&lt;/b&gt;\n&lt;/pre&gt;\n</code></pre>\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// One goldmark instance serves every request of the blog.
func TestConcurrentUse(t *testing.T) {
	src := "{{raw `\n\tx\n`}}\n\n<div>\n{{image \"a.png\"}}\n</div>\n\n{{range .}}\n{{end}}\n\nsee {{raw \"`y`\"}}\n"
	want := render(t, src)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := render(t, src); got != want {
					t.Errorf("concurrent render differs:\n%s\nvs\n%s", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// ---- The archive ----------------------------------------------------------

func corpusDir() string { return filepath.Join("..", "..", "..", "..", "shared", "corpus", "goblog") }

// stripFrontMatter drops a leading YAML block as the importer does.
func stripFrontMatter(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return s
	}
	rest := s[len("---\n"):]
	for off := 0; off < len(rest); {
		end := strings.IndexByte(rest[off:], '\n')
		if end < 0 {
			break
		}
		if l := strings.TrimRight(rest[off:off+end], " \t"); l == "---" || l == "..." {
			return rest[off+end+1:]
		}
		off += end + 1
	}
	return s
}

var (
	// A directive's name after "{{" in rendered HTML means it was shown.
	shownDirective = regexp.MustCompile(`\{\{-?\s*(raw|code|play|image|video|if|else|end|range|with|block|define|template|by)\b`)
	// Raw blocks as an oracle independent of the parser: alone on their
	// lines, raw string or quoted string.
	rawBlock   = regexp.MustCompile("(?m)^[ \t]*\\{\\{raw (`[^`]*`|\"[^\"\n]*\")\\}\\}[ \t]*$")
	rawFile    = regexp.MustCompile(`(?m)^[ \t]*\{\{raw \(file "[^"]*"\)\}\}[ \t]*$`)
	codeOrPre  = regexp.MustCompile(`(?s)<pre[ >].*?</pre>|<code[ >].*?</code>`)
	preCount   = regexp.MustCompile(`<pre[ >]`)
	linePrefix = regexp.MustCompile(`^[ \t]*`)
)

// allowed are braces a post shows on purpose: go1.6.md names the
// {{block}} action in a code span.
var allowed = map[string]string{
	"go1.6.md": "<code>{{block}}</code>",
}

func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(), "*.md"))
	if len(files) == 0 {
		t.Skipf("no Go Blog corpus at %s", corpusDir())
	}
	sort.Strings(files)
	var carried, stillShown []string
	raws, rawFiles := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		body := stripFrontMatter(string(data))
		if strings.Contains(sanitiser.Sanitize(convert(t, plain, body)), "{{") {
			carried = append(carried, name)
		}
		got := render(t, body)
		check := got
		if a, ok := allowed[name]; ok {
			if !strings.Contains(check, a) {
				t.Errorf("%s: expected %q, which the post shows on purpose", name, a)
			}
			check = strings.ReplaceAll(check, a, "")
		}
		shown := false
		if m := shownDirective.FindAllString(check, -1); m != nil {
			shown = true
			t.Errorf("%s shows directives: %q", name, m)
		}
		if strings.Contains(check, "`}}") {
			shown = true
			t.Errorf("%s shows the end of a raw directive", name)
		}
		// Outside code nothing in this archive is meant to show braces.
		if prose := codeOrPre.ReplaceAllString(check, ""); strings.Contains(prose, "{{") || strings.Contains(prose, "}}") {
			shown = true
			i := max(strings.Index(prose, "{{"), strings.Index(prose, "}}"))
			t.Errorf("%s shows braces outside code: …%s…", name, prose[max(0, i-60):min(len(prose), i+60)])
		}
		if shown {
			stillShown = append(stillShown, name)
		}

		// Each raw block is one <pre>: alone, and in its post.
		blocks := rawBlock.FindAllStringIndex(body, -1)
		raws += len(blocks)
		without := body
		for i := len(blocks) - 1; i >= 0; i-- {
			s, e := blocks[i][0], blocks[i][1]
			snippet := body[s:e]
			snippet = snippet[len(linePrefix.FindString(snippet)):]
			alone := render(t, snippet)
			if n := len(preCount.FindAllString(alone, -1)); n != 1 || strings.Contains(alone, "{{") || strings.Contains(alone, "`}}") {
				t.Errorf("%s: raw block %d renders as %d <pre>:\n%s", name, i, n, alone)
			}
			without = without[:s] + without[e:]
		}
		if want, n := len(preCount.FindAllString(render(t, without), -1))+len(blocks), len(preCount.FindAllString(got, -1)); n != want {
			t.Errorf("%s: %d <pre> with its %d raw blocks, want %d (one each)", name, n, len(blocks), want)
		}
		files := len(rawFile.FindAllString(body, -1))
		rawFiles += files
		if files > 0 && strings.Count(got, "Included HTML: ") != files {
			t.Errorf("%s: %d raw file includes, %d placeholders", name, files, strings.Count(got, "Included HTML: "))
		}
	}
	t.Logf("%d posts; %d showed template directives without this package, %d still show them (%v); %d raw blocks, %d raw file includes",
		len(files), len(carried), len(stillShown), stillShown, raws, rawFiles)
	if len(carried) != 110 {
		t.Errorf("%d posts carry directives, want 110 (has the corpus changed?)", len(carried))
	}
}

// The parser indexes into lines and the source by hand; whatever a post
// holds must render without a panic.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"{{raw `\n\tx\n`}}", "{{raw (file \"a.html\")}}", "a {{raw \"[`x`]\"}}(y) b", "{{\" < \"}}",
		"<div>\n{{image \"a.png\" 1}}\n{{raw `\nx\n`}}\n</div>", "{{range .}}\n{{if .x}}\n{{end}}", "```\n{{raw \"<\"}}\n```",
		"- a\n\n  {{raw `\n  b\n`}}", "> {{play \"p.go\"}}", "{{- end -}}", "{{raw `", "{{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var buf bytes.Buffer
		if err := withExt.Convert([]byte(src), &buf); err != nil {
			t.Fatal(err)
		}
	})
}
