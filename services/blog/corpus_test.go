package blog

import (
	"path/filepath"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

// corpusInputs lists a corpus's files; under -short only its first n.
func corpusInputs(t testing.TB, corpus, name string, n int) []Input {
	t.Helper()
	inputs, err := ExpandPaths([]string{filepath.Join(corpus, name)})
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() && len(inputs) > n {
		inputs = inputs[:n]
	}
	return inputs
}

// TestImportCorpora imports the real archives beside the repository (the
// Go Blog and the Go book in two scripts), checks what each yields, and
// that importing them again writes nothing.
func TestImportCorpora(t *testing.T) {
	corpus := corpusDir(t)
	store := openStore(t)
	type want struct{ imported, skipped int }
	wants := map[string]want{
		// 337 files: 276 posts, 60 redirect stubs and a README that is
		// notes about the folder.
		"goblog": {276, 61},
		// 99 files each, all posts: chapters, README (the book's front
		// page), SUMMARY and preface (titled by their slugs), ref.
		"gobook-zh":    {99, 0},
		"gobook-zh-tw": {99, 0},
	}
	for _, name := range []string{"goblog", "gobook-zh", "gobook-zh-tw"} {
		inputs := corpusInputs(t, corpus, name, 30)
		sum, err := Import(t.Context(), store, inputs, ImportOptions{Blog: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d imported, %d skipped in %s", name, sum.Imported, sum.Skipped, sum.Elapsed)
		if got := sum.Imported + sum.Skipped; got != len(inputs) {
			t.Errorf("%s: %d outcomes for %d files", name, got, len(inputs))
		}
		for _, o := range sum.Posts {
			if o.Result == ResultSkipped && name != "goblog" {
				t.Errorf("%s: %s skipped: %s", name, o.Source, o.Reason)
			}
		}
		if !testing.Short() {
			if w := wants[name]; sum.Imported != w.imported || sum.Skipped != w.skipped {
				t.Errorf("%s: %d imported and %d skipped, want %d and %d", name, sum.Imported, sum.Skipped, w.imported, w.skipped)
			}
		}
	}
	if !testing.Short() {
		for _, tc := range []struct{ blog, slug, title string }{
			{"goblog", "go1.22", "Go 1.22 is released!"},
			{"gobook-zh", "09.4", "9.4 避免SQL注入"},
			{"gobook-zh-tw", "09.4", "9.4 避免 SQL 注入"},
			{"gobook-zh", "SUMMARY", "SUMMARY"},
		} {
			p, err := loadPost(t.Context(), store, tc.blog, tc.slug)
			if err != nil || p.Content.Title != tc.title {
				t.Errorf("%s/%s: title %q (%v), want %q", tc.blog, tc.slug, p.Content.Title, err, tc.title)
			}
		}
	}

	head, err := store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"goblog", "gobook-zh", "gobook-zh-tw"} {
		sum, err := Import(t.Context(), store, corpusInputs(t, corpus, name, 30), ImportOptions{Blog: name})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Imported+sum.Revised != 0 || sum.Unchanged == 0 {
			t.Errorf("%s again: %d imported, %d revised, %d unchanged; want only unchanged", name, sum.Imported, sum.Revised, sum.Unchanged)
		}
	}
	if again, _ := store.Head(t.Context()); again != head {
		t.Errorf("importing the corpora again moved the log from %s to %s", head, again)
	}
	// Every post renders, and its stream holds one event.
	for _, e := range allEvents(t, store) {
		if e.Revision != 0 {
			t.Errorf("%s has revision %d after two imports of the same files", e.Stream, e.Revision)
		}
		p, err := events.Types.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		if html := RenderHTML(p.(events.PostImported).PostContent); len(html) == 0 {
			t.Errorf("%s renders to nothing", e.Stream)
		}
	}
}

// BenchmarkImportCorpora measures a first import of the three corpora into
// a fresh log; report it with -benchmem for the allocations.
func BenchmarkImportCorpora(b *testing.B) {
	corpus := corpusDir(b)
	var inputs [3][]Input
	for i, name := range []string{"goblog", "gobook-zh", "gobook-zh-tw"} {
		inputs[i] = corpusInputs(b, corpus, name, 1<<30)
	}
	for b.Loop() {
		b.StopTimer()
		store := openStore(b)
		b.StartTimer()
		for i, name := range []string{"goblog", "gobook-zh", "gobook-zh-tw"} {
			if _, err := Import(b.Context(), store, inputs[i], ImportOptions{Blog: name}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
