package blog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkFeed50Items serves a blog's Atom feed of 50 items (from 200
// posts of a few KiB each) through the router: "cold" builds it every
// time (the read model has just changed), "warm" is a reader polling an
// unchanged blog. p50 and p99 are reported per request.
func BenchmarkFeed50Items(b *testing.B) {
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			f := newBenchFixture(b)
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				if mode == "cold" {
					f.svc.feeds.mu.Lock()
					f.svc.feeds.version = 0
					f.svc.feeds.mu.Unlock()
				}
				start := time.Now()
				w := f.do("GET", "/blog/bench/feed.atom", "", nil)
				lat = append(lat, time.Since(start))
				if w.Code != 200 {
					b.Fatalf("feed: %d", w.Code)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func newBenchFixture(b *testing.B) *fixture {
	files := map[string]string{}
	para := strings.Repeat("Moving a developer site to the cloud, one problem at a time. ", 40)
	for i := range 200 {
		files[fmt.Sprintf("p%03d.md", i)] = fmt.Sprintf("---\ntitle: Post %d\ndate: 2013-%02d-%02d\nby: [Ada]\ntags: [cloud]\n---\n# Post %d\n\n%s\n\n```go\nfmt.Println(%d)\n```\n\n%s\n",
			i, i%12+1, i%28+1, i, para, i, para)
	}
	f := newFixture(b)
	f.importFiles("bench", files)
	return f
}
