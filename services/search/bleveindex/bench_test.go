package bleveindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// Latency benchmarks: each iteration is one search (a judged dev query,
// in turn, filtered to its archive as the acceptance check sends it);
// p50 and p99 of the iterations are reported next to Go's mean.
//
//	go test ./services/search/bleveindex -run XXX -bench SearchLatency -benchtime 2000x
//
// The synthetic index holds 100,000 posts made of paragraphs of the real
// archives (see synthetic); building it takes a few minutes. With
// YUNQI_SYNTHETIC_DIR set it is built there once and reused by later runs
// (delete the directory to rebuild it); without, it is built in a
// temporary directory once per run. The Varied benchmarks send distinct
// queries instead of the judged ones in turn (see variedQueries). All of
// them wait, after warming up, for the vocabulary (vocab.go) the first
// searches had built in the background.
//
//	YUNQI_SYNTHETIC_DIR=/tmp/yunqi-synthetic go test ./services/search/bleveindex -run XXX -bench SearchLatency100k -benchtime 2000x

func BenchmarkSearchLatencyCorpus(b *testing.B) {
	needCorpus(b)
	ix, _ := openCorpusIndex(b)
	benchQueries(b, ix, true, rerankPool)
}

func BenchmarkSearchLatency100k(b *testing.B) {
	needCorpus(b)
	if testing.Short() {
		b.Skip("builds a 100,000-post index; skipped with -short")
	}
	ix := syntheticIndex(b)
	benchQueries(b, ix, true, rerankPool)
}

// BenchmarkSearchLatency100kUnfiltered sends the same queries without the
// archive filter: three times the matches to rank.
func BenchmarkSearchLatency100kUnfiltered(b *testing.B) {
	needCorpus(b)
	if testing.Short() {
		b.Skip("builds a 100,000-post index; skipped with -short")
	}
	ix := syntheticIndex(b)
	benchQueries(b, ix, false, rerankPool)
}

// BenchmarkSearchLatency100kSinglePass ranks every match from its
// locations, as before the two passes, for comparison.
func BenchmarkSearchLatency100kSinglePass(b *testing.B) {
	needCorpus(b)
	if testing.Short() {
		b.Skip("builds a 100,000-post index; skipped with -short")
	}
	ix := syntheticIndex(b)
	benchQueries(b, ix, true, 0)
}

// BenchmarkSearchLatency100kVaried sends queries that do not repeat
// (made from the archives' titles, see variedQueries) instead of the
// judged ones in turn, so that nothing a repeated query finds ready can
// flatter it.
func BenchmarkSearchLatency100kVaried(b *testing.B) {
	needCorpus(b)
	if testing.Short() {
		b.Skip("builds a 100,000-post index; skipped with -short")
	}
	ix := syntheticIndex(b)
	benchRequests(b, ix, devRequests(b, true), variedQueries(b, 4000), rerankPool)
}

func BenchmarkSearchLatencyCorpusVaried(b *testing.B) {
	needCorpus(b)
	ix, _ := openCorpusIndex(b)
	benchRequests(b, ix, devRequests(b, true), variedQueries(b, 4000), rerankPool)
}

// variedQueries are n distinct searches as readers type them, each
// filtered to its archive: one to four consecutive words of a post's
// title, the last one cut short (still being typed) a third of the
// time, and a letter of a long word dropped or two swapped a third of
// the time.
func variedQueries(b *testing.B, n int) []search.Query {
	rng := rand.New(rand.NewPCG(5, 6))
	type titled struct{ blog, title string }
	var titles []titled
	for _, c := range corpora {
		for _, d := range loadCorpus(b, c) {
			titles = append(titles, titled{c, d.Title})
		}
	}
	seen := map[string]bool{}
	var out []search.Query
	for len(out) < n {
		t := titles[rng.IntN(len(titles))]
		words := strings.Fields(t.title)
		if len(words) == 0 {
			continue
		}
		k := 1 + rng.IntN(min(4, len(words)))
		at := rng.IntN(len(words) - k + 1)
		words = slices.Clone(words[at : at+k])
		q := strings.Join(words, " ") + " "
		switch rng.IntN(3) {
		case 0: // still typing the last word
			last := []rune(words[k-1])
			if len(last) > 2 {
				words[k-1] = string(last[:2+rng.IntN(len(last)-2)])
			}
			q = strings.Join(words, " ")
		case 1: // a typo in a long word
			i := rng.IntN(k)
			if r := []rune(words[i]); len(r) >= oneTypoFrom {
				j := 1 + rng.IntN(len(r)-2)
				if rng.IntN(2) == 0 {
					r = slices.Delete(r, j, j+1)
				} else {
					r[j], r[j+1] = r[j+1], r[j]
				}
				words[i] = string(r)
			}
			q = strings.Join(words, " ") + " "
		}
		if seen[q] {
			continue
		}
		seen[q] = true
		f, err := search.ParseFilter(fmt.Sprintf("blog = %q", t.blog), search.FilterableFields)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, search.Query{Q: q, Limit: 10, Filter: f})
	}
	return out
}

// devRequests are the judged dev queries (filtered to their archive or
// not), then a placeholder search and a faceted one, as the page sends
// them.
func devRequests(b *testing.B, filtered bool) []search.Query {
	var reqs []search.Query
	for _, q := range loadQueries(b) {
		r := search.Query{Q: q.query, Limit: 10}
		if filtered {
			f, err := search.ParseFilter(fmt.Sprintf("blog = %q", q.corpus), search.FilterableFields)
			if err != nil {
				b.Fatal(err)
			}
			r.Filter = f
		}
		reqs = append(reqs, r)
	}
	return append(reqs, search.Query{Limit: 20, Facets: []string{"blog", "tags"}}, search.Query{Q: "goroutine", Limit: 20, Facets: []string{"blog", "tags"}})
}

func benchQueries(b *testing.B, ix *Index, filtered bool, pool int) {
	reqs := devRequests(b, filtered)
	benchRequests(b, ix, reqs, reqs, pool)
}

// benchRequests sends reqs in turn, after warm (once each) to warm the
// caches.
func benchRequests(b *testing.B, ix *Index, warm, reqs []search.Query, pool int) {
	ctx := context.Background()
	for _, r := range warm {
		ix.search(ctx, r, pool)
	}
	ix.vocab.wg.Wait() // the vocabulary the first search had built
	lat := make([]time.Duration, 0, b.N)
	per := make([]time.Duration, len(reqs)) // slowest time of each request
	parts := make([]stages, len(reqs))      // and its parts
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var st stages
		start := time.Now()
		if _, err := ix.searchTimed(ctx, reqs[i%len(reqs)], pool, &st); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		lat = append(lat, d)
		if d > per[i%len(reqs)] {
			per[i%len(reqs)], parts[i%len(reqs)] = d, st
		}
	}
	b.StopTimer()
	// The few slowest requests set p99; name them, with their parts
	// (YUNQI_BENCH_SLOWEST of them, 3 by default).
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return int(per[y] - per[x]) })
	slowest := 3
	if n, err := strconv.Atoi(os.Getenv("YUNQI_BENCH_SLOWEST")); err == nil {
		slowest = n
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, i := range order[:min(slowest, len(order))] {
		st := parts[i]
		b.Logf("slowest: %q (facets %v, filtered %v): %.2f ms: expand %.2f, first %.2f, second %.2f, facets %.2f, load %.2f, format %.2f; %d forms, %d clauses, %d matched",
			reqs[i].Q, reqs[i].Facets, reqs[i].Filter != nil, ms(per[i]),
			ms(st.d[stExpand]), ms(st.d[stFirst]), ms(st.d[stSecond]), ms(st.d[stFacets]), ms(st.d[stLoad]), ms(st.d[stFormat]), st.forms, st.clauses, st.matched)
	}
	slices.Sort(lat)
	p := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	n, _ := ix.Count(ctx)
	b.Logf("%d searches over %d documents: p50 %.2f ms, p99 %.2f ms, max %.2f ms (GOMAXPROCS %d)",
		len(lat), n, p(0.50), p(0.99), p(1), runtime.GOMAXPROCS(0))
}

var synthetic struct {
	once sync.Once
	ix   *Index
	err  error
}

// syntheticIndex builds (once per process) an index of 100,000 posts, each
// a title and four to eight paragraphs drawn from the real archives, in
// the archive's blog, with the authors, tags and a year of some real
// post: the vocabulary and its frequencies stay real while the index
// grows 200 times.
func syntheticIndex(b testing.TB) *Index {
	b.Helper()
	synthetic.once.Do(func() {
		const n = 100_000
		dir := os.Getenv("YUNQI_SYNTHETIC_DIR")
		var err error
		if dir == "" {
			dir, err = tempDirOutsideTest("yunqi-synthetic-")
			if err != nil {
				synthetic.err = err
				return
			}
		}
		ix, err := Open(dir, Options{})
		if err != nil {
			synthetic.err = err
			return
		}
		// A kept index is complete when its checkpoint is the last
		// batch's: an interrupted build (or another schema, which Open
		// empties) starts again.
		if cp, err := ix.Checkpoint(context.Background()); err == nil && cp.Commit == n {
			synthetic.ix = ix
			return
		}
		if count, _ := ix.Count(context.Background()); count > 0 {
			ix.Close()
			if err := os.RemoveAll(dir); err != nil {
				synthetic.err = err
				return
			}
			if ix, err = Open(dir, Options{}); err != nil {
				synthetic.err = err
				return
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		type source struct {
			blog  string
			docs  []search.Document
			paras []string
		}
		var sources []source
		for _, c := range corpora {
			s := source{blog: c, docs: loadCorpus(b, c)}
			for _, d := range s.docs {
				for p := range strings.SplitSeq(d.Body, "\n\n") {
					if p = strings.TrimSpace(p); len(p) > 40 {
						s.paras = append(s.paras, p)
					}
				}
			}
			sources = append(sources, s)
		}
		start := time.Now()
		var batch []search.Document
		for i := range n {
			s := sources[i%len(sources)]
			like := s.docs[rng.IntN(len(s.docs))]
			var body strings.Builder
			for range 4 + rng.IntN(5) {
				body.WriteString(s.paras[rng.IntN(len(s.paras))])
				body.WriteString("\n\n")
			}
			d := like
			d.Slug = fmt.Sprintf("syn-%06d", i)
			d.ID = search.PostID(s.blog, d.Slug)
			d.Title = fmt.Sprintf("%s (%d)", like.Title, i)
			d.Body = body.String()
			batch = append(batch, d)
			if len(batch) == 500 || i == n-1 {
				if err := ix.Apply(context.Background(), search.Batch{Upserts: batch, Checkpoint: events.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)}}); err != nil {
					synthetic.err = err
					return
				}
				batch = batch[:0]
			}
		}
		b.Logf("built the synthetic index of %d posts in %s", n, time.Since(start).Round(time.Second))
		synthetic.ix = ix
	})
	if synthetic.err != nil {
		b.Fatal(synthetic.err)
	}
	return synthetic.ix
}

// syntheticDirs are removed when the test binary ends: the synthetic
// index outlives single benchmarks, which run their function more than
// once.
var syntheticDirs []string

func tempDirOutsideTest(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err == nil {
		syntheticDirs = append(syntheticDirs, dir)
	}
	return dir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if synthetic.ix != nil {
		synthetic.ix.Close()
	}
	for _, d := range syntheticDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
