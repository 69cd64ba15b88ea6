package blog

import (
	"bytes"
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/yunqi-town/yunqi/events"
)

// Posts are rendered in two steps. goldmark turns Markdown into HTML and
// passes the HTML written in the Markdown through (archives such as the
// Go book hold HTML tables that readers should see as tables); then
// bluemonday's policy for user-generated content keeps only harmless
// markup: no script, style, iframe, form or event handler, no javascript:
// URL, and rel="nofollow" on links. Nothing of a post is ever executed,
// template directives included: expandDirectives shows them as what they
// mean without running anything.

// sanitiser is bluemonday's UGC policy plus the language class goldmark
// puts on fenced code, which a highlighter may use and which cannot carry
// anything but a language name.
var sanitiser = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
	return p
}()

var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(
		parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(postTransformer{}, 100)),
	),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

var titleKey = parser.NewContextKey()

// postTransformer adapts a Markdown file to its page: the title is shown
// above the post already, so a first heading that repeats it is dropped;
// and links between the files of an archive ("01.1.md", "../07.2.md#x")
// lead to the posts they became, which are named by slug.
type postTransformer struct{}

func (postTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	if title, _ := pc.Get(titleKey).(string); title != "" {
		if h, ok := doc.FirstChild().(*ast.Heading); ok && h.Level == 1 && strings.TrimSpace(nodeText(h, src)) == title {
			doc.RemoveChild(doc, h)
		}
	}
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if link, ok := n.(*ast.Link); ok && entering {
			link.Destination = []byte(postLink(string(link.Destination)))
		}
		return ast.WalkContinue, nil
	})
}

// nodeText is the plain text of a node's inline content.
func nodeText(n ast.Node, src []byte) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			b.Write(t.Segment.Value(src))
			continue
		}
		b.WriteString(nodeText(c, src))
	}
	return b.String()
}

// postLink rewrites a relative link to a Markdown file into the slug it was
// imported as; every other link is left as written.
func postLink(dest string) string {
	u, err := url.Parse(dest)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/") || !isMarkdown(u.Path) {
		return dest
	}
	slug := markdownSlug(u.Path)
	out := url.URL{Path: slug, Fragment: u.Fragment, RawQuery: u.RawQuery}
	return out.String()
}

// renderer renders posts to sanitised HTML and keeps the latest results:
// a post's HTML changes only with its content, whose hash keys the cache.
type renderer struct {
	mu    sync.Mutex
	cache map[string]template.HTML
}

// renderCacheSize bounds the cache; a rendered post is a few tens of KiB.
const renderCacheSize = 512

func newRenderer() *renderer { return &renderer{cache: map[string]template.HTML{}} }

// Render returns the post's body as HTML that is safe to put in a page.
func (r *renderer) Render(c events.PostContent) template.HTML {
	key := c.ContentHash
	if key != "" {
		r.mu.Lock()
		out, ok := r.cache[key]
		r.mu.Unlock()
		if ok {
			return out
		}
	}
	out := RenderHTML(c)
	if key != "" {
		r.mu.Lock()
		if len(r.cache) >= renderCacheSize {
			for k := range r.cache { // evict one at random
				delete(r.cache, k)
				break
			}
		}
		r.cache[key] = out
		r.mu.Unlock()
	}
	return out
}

// RenderHTML renders a post's body: Markdown through goldmark, HTML (from
// feeds) as it is, and both through the sanitiser.
func RenderHTML(c events.PostContent) template.HTML {
	var raw []byte
	if c.Format == events.FormatHTML {
		raw = []byte(c.Body)
	} else {
		var buf bytes.Buffer
		pc := parser.NewContext()
		pc.Set(titleKey, strings.TrimSpace(c.Title))
		if err := markdown.Convert([]byte(expandDirectives(c.Body)), &buf, parser.WithContext(pc)); err != nil {
			// goldmark fails only when writing to buf fails, which it
			// cannot; show the text rather than nothing all the same.
			return template.HTML("<pre>" + template.HTMLEscapeString(c.Body) + "</pre>")
		}
		raw = buf.Bytes()
	}
	// The sanitiser's output is the only HTML of a post that reaches a
	// page, which is what makes this conversion sound.
	return template.HTML(sanitiser.SanitizeBytes(raw))
}
