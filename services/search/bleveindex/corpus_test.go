package bleveindex

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// The shared corpora (see ../shared/corpus/README.md) sit beside the
// project; tests that read them skip where they are absent.
const corpusDir = "../../../../shared/corpus"

var corpora = []string{"goblog", "gobook-zh", "gobook-zh-tw"}

func needCorpus(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "queries-dev.tsv")); err != nil {
		tb.Skipf("the shared corpus is absent (%v); skipping", err)
	}
}

// loadCorpus reads one archive the way the blog importer does: YAML front
// matter (title, date, by/authors/author, tags, summary) or, without it,
// the first "# " heading as title; redirect stubs and drafts are skipped,
// and so is a README without a title.
func loadCorpus(tb testing.TB, blog string) []search.Document {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, blog, "*.md"))
	if err != nil {
		tb.Fatal(err)
	}
	var docs []search.Document
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		slug := strings.TrimSuffix(filepath.Base(f), ".md")
		c, ok := parsePost(string(data))
		if !ok {
			continue
		}
		if c.Title == "" {
			if strings.EqualFold(slug, "readme") {
				continue
			}
			c.Title = slug
		}
		docs = append(docs, search.PostDocument(blog, slug, c))
	}
	return docs
}

func parsePost(text string) (events.PostContent, bool) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	c := events.PostContent{Format: events.FormatMarkdown, Body: text}
	if rest, ok := strings.CutPrefix(text, "---\n"); ok {
		if end := strings.Index(rest, "\n---\n"); end >= 0 {
			var fm map[string]any
			if err := yaml.Unmarshal([]byte(rest[:end]), &fm); err != nil {
				return c, false
			}
			c.Body = rest[end+len("\n---\n"):]
			for k, v := range fm {
				switch strings.ToLower(k) {
				case "redirect":
					return c, false
				case "draft":
					if b, _ := v.(bool); b {
						return c, false
					}
				case "title":
					c.Title, _ = v.(string)
				case "summary":
					c.Summary, _ = v.(string)
				case "date":
					switch d := v.(type) {
					case time.Time:
						c.Date = d
					case string:
						c.Date, _ = time.Parse("2006-01-02", d)
					}
				case "by", "authors", "author":
					c.Authors = append(c.Authors, names(v)...)
				case "tags":
					c.Tags = append(c.Tags, names(v)...)
				}
			}
		}
	}
	if c.Title == "" {
		sc := bufio.NewScanner(strings.NewReader(c.Body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if t, ok := strings.CutPrefix(sc.Text(), "# "); ok {
				c.Title = strings.TrimSpace(t)
				break
			}
		}
	}
	return c, true
}

func names(v any) []string {
	switch v := v.(type) {
	case string:
		var out []string
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// judged is one line of queries-dev.tsv.
type judged struct {
	query, corpus, kind string
	relevant            []string
}

func loadQueries(tb testing.TB) []judged {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, "queries-dev.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []judged
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) != 4 {
			continue
		}
		out = append(out, judged{query: f[0], corpus: f[1], relevant: strings.Split(f[2], ","), kind: f[3]})
	}
	return out
}

// scores computes MRR@10 and Recall@10 of ranked slugs against the
// judged ones, as ../shared/checks/relevance.py does.
func scores(slugs []string, relevant []string) (rr, recall float64) {
	if len(slugs) > 10 {
		slugs = slugs[:10]
	}
	for i, s := range slugs {
		if slices.Contains(relevant, s) {
			rr = 1 / float64(i+1)
			break
		}
	}
	found := 0
	for _, r := range relevant {
		if slices.Contains(slugs, r) {
			found++
		}
	}
	return rr, float64(found) / float64(len(relevant))
}
