package blog

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

func TestDirectives(t *testing.T) {
	cases := []struct{ name, in, want, not string }{
		{"raw is one block", "a\n\n{{raw `\n\tfunc f() {\n\t\treturn\n\t}\n`}}\n\nb", "<pre><code>func f() {\n\treturn\n}\n</code></pre>", "{{"},
		{"code names its file", "{{code \"loop.go\" `/START/` `/END/`}}\n", "<pre><code>// loop.go: example not included in this archive", "{{"},
		{"play is a code block", "{{play \"c/s.go\" `/START/` `/STOP/`}}\n", "// c/s.go: example not included", "}}"},
		{"image is a figure", "{{image \"10years/g.jpg\" 850}}\n", "<figure><figcaption>Image not included: 10years/g.jpg</figcaption></figure>", "{{"},
		{"video is a figure", "{{video \"v.mp4\"}}\n", "Video not included: v.mp4", "{{"},
		{"control directives vanish", "{{range .Posts}}\nx\n{{end}}\n", "<p>x</p>", "{{"},
		{"fenced code keeps braces", "```\n{{raw `x`}}\n```\n", "{{raw `x`}}", "<figure"},
		{"mid-line braces are text", "see {{code \"x\"}} here\n", "see {{code", "<pre>"},
		{"no script through a caption", "{{image \"<script>x</script>\"}}\n", "Image not included", "<script>"},
		{"unterminated raw keeps its text", "{{raw `\n\tkept text\n", "kept text", "{{raw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(RenderHTML(events.PostContent{Title: "t", Body: c.in}))
			if !strings.Contains(got, c.want) || (c.not != "" && strings.Contains(got, c.not)) {
				t.Errorf("rendered\n%s\nwant %q without %q", got, c.want, c.not)
			}
		})
	}
}

// TestGoBlogDirectives renders every Go Blog post: no directive is shown
// as text, and each {{raw}} is exactly one preformatted block.
func TestGoBlogDirectives(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "goblog")
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if len(files) == 0 {
		t.Skip("the Go Blog corpus is not at ../shared/corpus/goblog")
	}
	shown := regexp.MustCompile(`\{\{\s*(raw|code|play|image|video)\b`)
	with := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := string(b)
		if strings.HasPrefix(body, "---\n") {
			if i := strings.Index(body[4:], "\n---\n"); i >= 0 {
				body = body[4+i+5:]
			}
		}
		if !strings.Contains(body, "{{") {
			continue
		}
		with++
		out := string(RenderHTML(events.PostContent{Title: filepath.Base(f), Body: body}))
		if shown.MatchString(out) {
			t.Errorf("%s shows a directive as text: %q", filepath.Base(f), shown.FindString(out))
		}
		raws := len(regexp.MustCompile("(?m)^\\{\\{raw").FindAllString(body, -1))
		if raws > 0 && strings.Count(out, "<pre>") < raws {
			t.Errorf("%s: %d {{raw}} blocks became %d <pre>", filepath.Base(f), raws, strings.Count(out, "<pre>"))
		}
	}
	t.Logf("%d of %d posts carry directives", with, len(files))
}
