package meiliindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// BenchmarkSearchLatency measures the adapter's own cost per search: the
// stand-in times its search handler, and what remains of each
// Index.Search (building the request, the client's JSON and HTTP over
// loopback, decoding, escaping the highlights) is the adapter's. Each
// iteration is one search, cycling through one-word, two-word, prefix,
// Chinese, filtered and faceted queries over 500 posts, 20 hits each with
// highlighting and a cropped body.
//
//	go test ./services/search/meiliindex -run XXX -bench SearchLatency -benchtime 2000x
func BenchmarkSearchLatency(b *testing.B) {
	srv, c := standIn(b)
	ix, err := c.Open(bg, "bench")
	if err != nil {
		b.Fatal(err)
	}
	words := strings.Fields("goroutine channel scheduler compiler generics module fuzzing memory garbage collector interface reflection testing profile trace network server client 并发 调度 内存 编译 测试 网络")
	rng := rand.New(rand.NewPCG(1, 2))
	var docs []search.Document
	for i := range 500 {
		var body strings.Builder
		for range 200 {
			body.WriteString(words[rng.IntN(len(words))] + " ")
		}
		d := doc(fmt.Sprintf("p%03d", i), words[rng.IntN(len(words))]+" "+words[rng.IntN(len(words))])
		d.Body, d.Year, d.Tags = body.String(), 2010+i%15, []string{words[i%len(words)]}
		d.Date = time.Date(d.Year, 1, 1, 0, 0, 0, 0, time.UTC)
		docs = append(docs, d)
	}
	if err := ix.Apply(bg, search.Batch{Upserts: docs, Checkpoint: events.Position{Commit: 1, Prepare: 1}}); err != nil {
		b.Fatal(err)
	}
	year, _ := search.ParseFilter("year >= 2015", search.FilterableFields)
	queries := []search.Query{
		{Q: "scheduler", Limit: 20},
		{Q: "garbage collector", Limit: 20},
		{Q: "gorout", Limit: 20},
		{Q: "并发 调度", Limit: 20},
		{Q: "compiler", Filter: year, Limit: 20},
		{Facets: []string{"year", "tags"}, Limit: 20},
	}
	var total, adapter []time.Duration
	b.ResetTimer()
	for i := range b.N {
		before, _ := srv.SearchTime()
		start := time.Now()
		if _, err := ix.Search(bg, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		after, _ := srv.SearchTime()
		total = append(total, d)
		adapter = append(adapter, d-(after-before))
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(total, 0.5), "p50-ms")
	b.ReportMetric(pct(total, 0.99), "p99-ms")
	b.ReportMetric(pct(adapter, 0.5), "adapter-p50-ms")
	b.ReportMetric(pct(adapter, 0.99), "adapter-p99-ms")
}
