package blog

import (
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

func TestRenderNeutralisesScripts(t *testing.T) {
	body := "# Title\n\nText <script>alert('inline')</script> more.\n\n" +
		"<script>\nalert('block')\n</script>\n\n" +
		"<img src=\"/static/x.png\" onerror=\"alert('img')\">\n\n" +
		"<a href=\"javascript:alert('a')\">a</a> [b](javascript:alert('b')) [c](JaVaScRiPt:alert('c'))\n\n" +
		"<iframe src=\"https://evil.example\"></iframe><style>body{display:none}</style>\n\n" +
		"<div onclick=\"alert('div')\">div</div><form action=\"/x\"><input name=q></form>\n\n" +
		"<svg><script>alert('svg')</script></svg>\n\n" +
		"[ok](https://go.dev/)\n"
	// The HTML a feed carries has no Markdown links: in it those are text.
	htmlBody := strings.NewReplacer("[b](javascript:alert('b'))", `<a href="java&#x09;script:alert('b')">b</a>`,
		"[c](JaVaScRiPt:alert('c'))", `<a href=" JaVaScRiPt:alert('c')">c</a>`, "[ok](https://go.dev/)", `<a href="https://go.dev/">ok</a>`).Replace(body)
	for format, body := range map[string]string{events.FormatMarkdown: body, events.FormatHTML: htmlBody} {
		out := string(RenderHTML(events.PostContent{Title: "Title", Body: body, Format: format}))
		for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "javascript:", "<iframe", "<style", "<form", "<input"} {
			if strings.Contains(strings.ToLower(out), strings.ToLower(bad)) {
				t.Errorf("%s: %q survived rendering:\n%s", format, bad, out)
			}
		}
		if !strings.Contains(out, `<a href="https://go.dev/" rel="nofollow">ok</a>`) {
			t.Errorf("%s: a plain link did not come through as expected:\n%s", format, out)
		}
	}
}

func TestRenderShowsDirectivesAsWhatTheyMean(t *testing.T) {
	body := "Intro.\n\n{{code \"loop.go\" `/START/` `/END/`}}\n\n{{raw `<b>x</b>`}}\n\n<!-- {% raw %} -->\n\n" +
		"<table><tr><th>数据库</th><th>驱动</th></tr><tr><td>MySQL</td><td>go-sql-driver</td></tr></table>\n\n" +
		"```go\nfmt.Println(\"{{.}}\")\n```\n"
	out := string(RenderHTML(events.PostContent{Title: "T", Body: body}))
	for _, want := range []string{
		"<pre><code>// loop.go: example not included in this archive", "<pre><code>&lt;b&gt;x&lt;/b&gt;",
		"<table>", "<th>数据库</th>", "<td>go-sql-driver</td>",
		`<code class="language-go">`, "fmt.Println(&#34;{{.}}&#34;)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendering lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{% raw %}") {
		t.Errorf("an HTML comment should not reach the page:\n%s", out)
	}
}

func TestRenderAdaptsToThePage(t *testing.T) {
	out := string(RenderHTML(events.PostContent{Title: "9.4 避免SQL注入", Body: "# 9.4 避免SQL注入\n\n见 [上一节](09.3.md) 和 [目录](../SUMMARY.md#top)，[外链](https://go.dev/doc.md)。\n\n## 小节\n"}))
	if strings.Contains(out, "<h1") {
		t.Errorf("a first heading that repeats the title must go:\n%s", out)
	}
	for _, want := range []string{`href="09.3"`, `href="SUMMARY#top"`, `href="https://go.dev/doc.md"`, "<h2"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendering lacks %s:\n%s", want, out)
		}
	}
	kept := string(RenderHTML(events.PostContent{Title: "Other", Body: "# A heading\n\ntext\n"}))
	if !strings.Contains(kept, "<h1") {
		t.Errorf("a first heading that is not the title must stay:\n%s", kept)
	}
}

func TestRendererCaches(t *testing.T) {
	r := newRenderer()
	c := events.PostContent{Title: "T", Body: "hello"}
	c.ContentHash = ContentHash(c)
	a := r.Render(c)
	c.Body = "changed without a new hash" // a cache hit shows the hash is the key
	if b := r.Render(c); b != a {
		t.Fatalf("second render = %q, want the cached %q", b, a)
	}
}
