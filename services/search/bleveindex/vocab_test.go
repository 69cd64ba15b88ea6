package bleveindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
	"github.com/yunqi-town/yunqi/services/search/analysis"
)

// TestVocabTypoForms checks the vocabulary's typo lookup (a walk of the
// sorted terms, and the endings for a typo on the first letter) against
// every term's distance computed one by one, on random words over a small
// alphabet with a letter of two bytes and one of three.
func TestVocabTypoForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("abcdeéf数")
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	set := map[string]bool{}
	for range 10000 {
		set[word(1+rng.IntN(11))] = true
	}
	terms := make([]string, 0, len(set))
	for w := range set {
		terms = append(terms, w)
	}
	slices.Sort(terms)
	voc := newVocab()
	for i, w := range terms {
		voc.add(w, uint64(i%7))
	}
	voc.finish()

	edit := func(w string) string {
		r := []rune(w)
		i := rng.IntN(len(r))
		switch rng.IntN(4) {
		case 0:
			r[i] = alphabet[rng.IntN(len(alphabet))]
		case 1:
			r = slices.Delete(r, i, i+1)
		case 2:
			r = slices.Insert(r, i, alphabet[rng.IntN(len(alphabet))])
		default:
			if i+1 < len(r) {
				r[i], r[i+1] = r[i+1], r[i]
			}
		}
		return string(r)
	}
	checked := 0
	for range 500 {
		q := terms[rng.IntN(len(terms))]
		for range rng.IntN(3) {
			if q != "" {
				q = edit(q)
			}
		}
		n := len([]rune(q))
		if n < oneTypoFrom {
			continue
		}
		w := qword{Word: analysis.Word{Term: q, Kind: analysis.Latin}, typos: 1}
		if n >= twoTyposFrom-3 { // two typos from 6 letters here, to try more
			w.typos = 2
		}
		var want []string
		for _, term := range terms {
			if _, ok := w.typosTo(term); ok && term != q {
				want = append(want, term)
			}
		}
		var got []string
		voc.typoForms(&w, func(i int) {
			term := string(voc.term(i))
			if _, ok := w.typosTo(term); ok && term != q {
				got = append(got, term)
			}
		})
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%q (%d typos): got %q, want %q", q, w.typos, got, want)
		}
		checked++
	}
	if checked < 150 {
		t.Fatalf("only %d words checked", checked)
	}
}

// TestVocabFollowsSegments checks that typo and prefix forms are found in
// segments the vocabulary does not cover yet (written by a later Apply,
// or merged from others), and once it is built again.
func TestVocabFollowsSegments(t *testing.T) {
	ix, err := Open(filepath.Join(t.TempDir(), "v"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := t.Context()
	commit := uint64(0)
	apply := func(b search.Batch) {
		t.Helper()
		commit++
		b.Checkpoint = events.Position{Commit: commit, Prepare: commit}
		if err := ix.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	post := func(slug, title, body string) search.Document {
		return search.Document{ID: search.PostID("goblog", slug), Type: search.TypePost, Blog: "goblog", Slug: slug, Title: title, Body: body}
	}
	for i := range 4 {
		apply(search.Batch{Upserts: []search.Document{post(fmt.Sprintf("p%d", i), "Garbage collection", "The collector paces itself.")}})
	}
	// The first search has the vocabulary built.
	if _, err := ix.Search(ctx, search.Query{Q: "collector", Limit: 5}); err != nil {
		t.Fatal(err)
	}
	ix.vocab.wg.Wait()

	newcomer := post("zep", "Zeppelinaria", "Airships of the Zeppelinaria kind.")
	apply(search.Batch{Upserts: []search.Document{newcomer}})
	find := func(stage string, wantCovered bool) {
		t.Helper()
		// Right after a change the background rebuild may or may not have
		// run, and Bleve's merger may replace segments at any moment; so
		// coverage is only asked for eventually. The searches below must
		// find the term either way.
		var covered bool
		var unc []int
		for deadline := time.Now().Add(5 * time.Second); ; {
			v, err := ix.openView()
			if err != nil {
				t.Fatal(err)
			}
			var voc *vocab
			voc, unc = ix.vocabFor(v)
			covered = voc != nil && voc.find([]byte("zeppelinaria")) >= 0 && len(unc) == 0
			v.close()
			if covered || !wantCovered || time.Now().After(deadline) {
				break
			}
			ix.vocab.wg.Wait()
			time.Sleep(10 * time.Millisecond)
		}
		if wantCovered && !covered {
			t.Errorf("%s: vocabulary covers the new term: %v, want %v (uncovered segments %v)", stage, covered, wantCovered, unc)
		}
		for _, q := range []string{"zepelinaria", "zeppelinarai", "zeppelin", "Zeppelinaria"} {
			res, err := ix.Search(ctx, search.Query{Q: q, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) == 0 || res.Hits[0].ID != newcomer.ID {
				t.Errorf("%s: %q finds %v, want %s first", stage, q, hitIDs(res), newcomer.ID)
			}
		}
	}
	find("after Apply", false)
	ix.vocab.wg.Wait()
	find("vocabulary built again", true)

	// Merge every segment into one: the vocabulary covers none of it.
	adv, err := ix.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		t.Fatalf("not a scorch index: %T", adv)
	}
	if err := sc.ForceMerge(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	find("after a merge", false)
	ix.vocab.wg.Wait()
	find("vocabulary built after the merge", true)

	// Deleted, its term may stay in the vocabulary but finds nothing.
	apply(search.Batch{Deletes: []string{newcomer.ID}})
	res, err := ix.Search(ctx, search.Query{Q: "zeppelin", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 0 {
		t.Errorf("after deletion: hits %v", hitIDs(res))
	}
}

// TestVocabMemory100k reports the vocabulary's size over the
// 100,000-post index, counted and as the heap grows building it.
func TestVocabMemory100k(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the 100,000-post index; skipped with -short")
	}
	needCorpus(t)
	if os.Getenv("YUNQI_SYNTHETIC_DIR") == "" {
		t.Skip("set YUNQI_SYNTHETIC_DIR to build (once) and keep the 100,000-post index")
	}
	ix := syntheticIndex(t)
	is, err := ix.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	voc, err := buildVocab(is)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d terms from %d segments in %s: %.1f MB counted, heap %.1f MB more",
		voc.len(), len(voc.segs), took.Round(time.Millisecond), float64(voc.size())/(1<<20), float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
	runtime.KeepAlive(voc)
}
