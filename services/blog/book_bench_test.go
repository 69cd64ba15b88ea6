package blog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// benchService is the service on a fresh store with its projection
// running, for benchmarks (the test fixture wants a *testing.T).
func benchService(b *testing.B) *Service {
	b.Helper()
	store := openStore(b)
	s, err := New(Config{Verifier: newTokens(b).verifier, DataDir: b.TempDir()}, store, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			b.Errorf("run: %v", err)
		}
	}()
	b.Cleanup(func() { cancel(); <-done })
	return s
}

// benchCorpus is the Go book beside the repository, "" when it is absent.
func benchCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	book := filepath.Join(filepath.Dir(dir), "shared", "corpus", "gobook-zh")
	if _, err := os.Stat(filepath.Join(book, "SUMMARY.md")); err != nil {
		return ""
	}
	return book
}

// hundredChapters imports 100 chapters: the Go book in the order of its
// SUMMARY.md, twice over under two blog names, or, without the corpus,
// synthetic chapters of the Go book's size that link to each other.
func hundredChapters(b *testing.B, s *Service) []events.CollectionChapter {
	b.Helper()
	ctx := context.Background()
	var chapters []events.CollectionChapter
	if dir := benchCorpus(); dir != "" {
		for _, blog := range []string{"gobook-zh", "gobook-zh-2"} {
			if _, err := ImportFiles(ctx, s.store, []string{dir}, ImportOptions{Blog: blog}); err != nil {
				b.Fatal(err)
			}
			chapters = append(chapters, summaryChapters(b, dir, blog)...)
		}
	} else {
		b.Log("the Go book is not beside the repository; 100 synthetic chapters instead")
		files := map[string]string{}
		para := strings.Repeat("云上的磁盘会不会比本地盘慢？We measured the latency of every write. ", 40)
		for i := range 100 {
			slug := fmt.Sprintf("%02d.%d", i/10+1, i%10)
			next := fmt.Sprintf("%02d.%d.md", (i+1)/10+1, (i+1)%10)
			files[slug+".md"] = fmt.Sprintf("# %s 第 %d 节\n\n%s\n\n## 小结\n\n```go\nfunc main() { println(%d) }\n```\n\n%s\n\n![](images/%s.png?raw=true)\n\n下一节：[next](%s)\n",
				slug, i+1, para, i, para, slug, next)
			chapters = append(chapters, events.CollectionChapter{Blog: "synthetic", Slug: slug, Part: fmt.Sprintf("第 %d 部分", i/10+1)})
		}
		if _, err := ImportFiles(ctx, s.store, []string{writeFiles(b, files)}, ImportOptions{Blog: "synthetic"}); err != nil {
			b.Fatal(err)
		}
	}
	head, err := s.store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if !s.archive.follower.WaitFor(wait, head) {
		b.Fatal("the archive did not catch up")
	}
	return chapters[:100]
}

// BenchmarkBookEPUB100Chapters builds the EPUB of a 100-chapter edition
// from the log, as a first request for it does: every chapter read at its
// pinned revision, rendered, its links resolved, and the book written.
// The built-book cache is bypassed; "cold" also empties the Markdown
// render cache each time, "warm" keeps it as a running server would.
func BenchmarkBookEPUB100Chapters(b *testing.B) {
	s := benchService(b)
	chapters := hundredChapters(b, s)
	ctx := context.Background()
	org := auth.Principal{UserID: "u-org", Roles: []string{auth.RoleMember, auth.RoleOrganizer}}
	c, err := s.CreateCollection(ctx, org, CollectionInput{ID: "bench", Title: "Go Web 编程", Language: "zh-CN",
		Preface: "从 [第一章](01.0.md) 读起。", Chapters: chapters}, "")
	if err != nil {
		b.Fatal(err)
	}
	ed, err := s.PublishCollection(ctx, org, c.ID, "")
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			var size int
			for b.Loop() {
				if mode == "cold" {
					s.renderer = newRenderer()
				}
				data, complete, err := s.buildEPUB(ctx, c, ed, "https://yunqi.example")
				if err != nil || !complete {
					b.Fatalf("build: %v (complete %v)", err, complete)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size)/1024, "KiB/book")
		})
	}
}
