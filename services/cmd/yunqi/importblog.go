package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/yunqi-town/yunqi/infra/config"
	"github.com/yunqi-town/yunqi/services/blog"
)

func importGroupCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return runGroup(ctx, "import", []command{
		{"blog", "import posts into a blog", importBlogCmd},
	}, args, getenv, stdout)
}

const importBlogAbout = `
Imports posts into the blog NAME of the event log in <data> (created if
missing). Each PATH is one of:

  - a folder of Markdown files (read with its subfolders; other files are
    ignored). A post's slug is its file name without .md. A YAML front
    matter block gives title, date, by or authors, tags and summary; a
    redirect: key marks a stub and draft: true a draft, both skipped.
    Without front matter the title is the first "# " heading; a file with
    neither is titled by its slug, except a README, which is then notes
    about the folder and skipped;
  - a Markdown file, or a zip of Markdown files;
  - an RSS 2.0 or Atom feed (a cnblogs backup is RSS), or a WordPress
    export (WXR).

Template directives and HTML in posts are kept as text; pages show them
through a sanitiser. Importing again is idempotent: unchanged posts write
nothing, changed ones a revision. Posts of NAME that are not in this import
are left as they are. A post that cannot be imported (a redirect or draft,
broken front matter, not UTF-8, above 960 KiB, a duplicate slug, a feed
that is not XML) is skipped with its reason and never stops the others.

It works while 'yunqi serve' runs on the same data; the server's pages
follow within moments. Progress goes to stderr (a bar on a terminal);
the summary goes to stdout.`

// progressOutput is where import progress goes: stderr, which a terminal
// shows while stdout may be piped to a file.
var progressOutput io.Writer = os.Stderr

func importBlogCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c commonConfig
	fs := flagSet("import blog")
	set := config.New(fs, envPrefix, getenv)
	c.register(set)
	var eventstore string
	eventStoreFlag(set, &eventstore)
	name := fs.String("blog", "", "the blog's `NAME` (required): lower-case letters, digits, - and _")
	if help, err := parseFlags(fs, set.Parse, args, stdout, "import blog --blog NAME [flags] PATH…", importBlogAbout); help || err != nil {
		return err
	}
	if *name == "" {
		return errors.New("import blog: --blog NAME is required")
	}
	if err := blog.ValidateBlogName(*name); err != nil {
		return fmt.Errorf("import blog: --blog: %w", err)
	}
	if fs.NArg() == 0 {
		return errors.New("import blog: name at least one PATH: a folder of Markdown files, a Markdown or zip file, or a feed")
	}
	for _, p := range fs.Args() {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("import blog: %w", err)
		}
	}
	logger := c.logger()
	store, err := openEventLog(ctx, &c, eventstore, true, logger, nil)
	if err != nil {
		return err
	}
	defer store.Close()

	show := newImportProgress(progressOutput, *name)
	sum, err := blog.ImportFiles(ctx, store, fs.Args(), blog.ImportOptions{
		Blog:     *name,
		Actor:    cliActor(getenv),
		Progress: show.update,
	})
	show.finish()
	if werr := blog.WriteSummary(stdout, sum); werr != nil && err == nil {
		err = werr
	}
	return err
}

// importProgress shows an import under way: a bar with counts and rate on
// a terminal, a plain line every few seconds elsewhere (a log, CI).
type importProgress struct {
	w     io.Writer
	blog  string
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
	now   func() time.Time
}

// plainEvery spaces out the progress lines of a run without a terminal.
const plainEvery = 2 * time.Second

func newImportProgress(w io.Writer, blogName string) *importProgress {
	p := &importProgress{w: w, blog: blogName, now: time.Now}
	p.start, p.last = p.now(), p.now()
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *importProgress) update(pr blog.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	counts := fmt.Sprintf("%d new, %d revised, %d unchanged, %d skipped",
		pr.Summary.Imported, pr.Summary.Revised, pr.Summary.Unchanged, pr.Summary.Skipped)
	if isTerminal(p.w) {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(pr.Total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(p.blog),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("posts"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionShowDescriptionAtLineEnd(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		p.bar.Describe(p.blog + ": " + counts)
		_ = p.bar.Set(pr.Done)
		return
	}
	now := p.now()
	if now.Sub(p.last) < plainEvery && pr.Done < pr.Total {
		return
	}
	p.last = now
	rate := ""
	if secs := now.Sub(p.start).Seconds(); secs > 0 {
		rate = fmt.Sprintf(", %.0f posts/s", float64(pr.Done)/secs)
	}
	fmt.Fprintf(p.w, "import %s: %d/%d posts (%s)%s\n", p.blog, pr.Done, pr.Total, counts, rate)
}

func (p *importProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		// The bar clears itself; the summary that follows says the rest.
		_ = p.bar.Finish()
	}
}
