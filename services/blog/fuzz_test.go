package blog

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
	"golang.org/x/net/html"
)

// The importers read files strangers upload. Whatever the bytes, an
// import must end in posts or in reasons, never in a panic, and what it
// keeps must be text a page can show.

// checkImported loads every candidate of inputs and checks what a post
// would be made of.
func checkImported(t *testing.T, inputs ...Input) {
	c := expand(inputs)
	for _, cd := range c.candidates {
		p := cd.load()
		if p.skip != "" {
			continue
		}
		for field, v := range map[string]string{"title": p.content.Title, "slug": p.slug, "body": p.content.Body} {
			if !utf8.ValidString(v) {
				t.Fatalf("%s of an imported post is not UTF-8: %q", field, v)
			}
		}
		if p.slug == "" {
			t.Fatalf("an imported post has no slug (source %s)", cd.source)
		}
	}
}

func FuzzImportMarkdown(f *testing.F) {
	f.Add([]byte("---\ntitle: Go 1.22\ndate: 2024-02-06\ntags: [go, release]\n---\n# Go 1.22\n\nBody *text*.\n"))
	f.Add([]byte("---\ntitle: [unclosed\n---\n"))
	f.Add([]byte("\xef\xbb\xbf# 标题\n\n正文"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkImported(t, Input{Name: "post.md", Data: data})
	})
}

func FuzzImportFeed(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title><link>https://example.com/a</link><description>&lt;p&gt;x&lt;/p&gt;</description></item></channel></rss>`))
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>e</title><id>urn:x</id><content type="html">&lt;b&gt;y&lt;/b&gt;</content></entry></feed>`))
	f.Add([]byte(`<rss><channel><item><title>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkImported(t, Input{Name: "feed.xml", Data: data})
	})
}

func FuzzImportWXR(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><wp:wxr_version>1.2</wp:wxr_version><item><title>p</title><wp:post_type>post</wp:post_type><wp:status>publish</wp:status><wp:post_name>p</wp:post_name><content:encoded><![CDATA[line one

line two]]></content:encoded></item></channel></rss>`))
	f.Add([]byte(`<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><wp:wxr_version>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _, err := parseWXR(data)
		if err != nil {
			return
		}
		for _, it := range items {
			if !utf8.ValidString(it.content.Body) {
				t.Fatalf("a WXR post's text is not UTF-8: %q", it.content.Body)
			}
		}
	})
}

func FuzzImportZip(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range map[string]string{"a.md": "# A\n\ntext", "dir/b.markdown": "---\ntitle: B\n---\nb", "img.png": "\x89PNG"} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkImported(t, Input{Name: "archive.zip", Data: data})
	})
}

// FuzzRenderHTML: whatever a writer types, the page gets sanitised HTML.
func FuzzRenderHTML(f *testing.F) {
	f.Add("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))")
	f.Add("{{raw `\n<b>code</b>\n`}}\n\n{{image \"a.png\"}}")
	f.Add("<img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |")
	f.Add("<p onclick=\"x()\">imported <a href=\"JaVaScRiPt:alert(1)\">feed</a> html</p>")
	f.Fuzz(func(t *testing.T, body string) {
		for _, format := range []string{events.FormatMarkdown, events.FormatHTML} {
			checkSanitised(t, string(RenderHTML(events.PostContent{Title: "t", Body: body, Format: format})))
		}
	})
}

// checkSanitised walks the rendered HTML as a browser would parse it: no
// element that runs code, no event handler, no link or source whose
// scheme runs code.
func checkSanitised(t *testing.T, out string) {
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("rendered HTML does not parse: %v", err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script", "iframe", "object", "embed", "style", "form", "base", "meta", "link":
			t.Fatalf("rendered HTML holds a <%s> element: %s", n.Data, out)
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			val := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
			if strings.HasPrefix(key, "on") || key == "style" || key == "srcdoc" {
				t.Fatalf("rendered HTML holds the attribute %s=%q: %s", a.Key, a.Val, out)
			}
			if (key == "href" || key == "src" || key == "action" || key == "formaction") &&
				(strings.HasPrefix(val, "javascript:") || strings.HasPrefix(val, "vbscript:") || strings.HasPrefix(val, "data:text/html")) {
				t.Fatalf("rendered HTML links to %q: %s", a.Val, out)
			}
		}
	}
}

// FuzzExpandDirectives: template directives are text to render, never
// code; no input makes the expansion fail or lose the text around them.
func FuzzExpandDirectives(f *testing.F) {
	f.Add("before\n{{raw `\n  x := 1\n`}}\nafter")
	f.Add("{{code \"hello.go\" `/START/` `/END/`}}")
	f.Add("{{{{}}}}{{")
	f.Fuzz(func(t *testing.T, src string) {
		out := expandDirectives(src)
		if !strings.Contains(src, "{{") && out != src {
			t.Fatalf("text without directives changed: %q → %q", src, out)
		}
	})
}
