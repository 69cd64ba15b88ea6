package search_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// BenchmarkProjectionLag measures, per post appended to the embedded log,
// the time until a search finds it: the append itself (fsync included),
// the subscription noticing it, analysis, the Bleve batch with its
// checkpoint (persisted before the projector moves on) and the search.
//
//	go test ./services/search -run XXX -bench ProjectionLag -benchtime 300x
func BenchmarkProjectionLag(b *testing.B) {
	f := newFixture(b)
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		slug := fmt.Sprintf("lag-%d", i)
		word := fmt.Sprintf("marker%dword", i)
		start := time.Now()
		ev, err := events.Types.New(imported("lagblog", slug, "Lag "+slug, "text with "+word), events.Metadata{Visibility: events.Public})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.store.Append(ctx, events.PostStream("lagblog", slug), events.Any, ev); err != nil {
			b.Fatal(err)
		}
		for {
			if r := f.search("/api/search?q=" + word + "+"); len(r.Hits) > 0 && r.Hits[0].Slug == slug {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s not searchable after 10 s", slug)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	p := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.Logf("%d posts: append → searchable p50 %.1f ms, p99 %.1f ms, max %.1f ms", len(lat), p(0.5), p(0.99), p(1))
}
