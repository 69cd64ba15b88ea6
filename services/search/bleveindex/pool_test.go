package bleveindex

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/yunqi-town/yunqi/services/search"
)

// The two passes (rank.go) read locations only for the pool Bleve's own
// scores pick. These tests measure what that costs: how much of the top
// ten that ranking every match from its locations gives survives.

// TestPoolAgreement stresses the pool on the archives: a pool of 30 is a
// tenth of an archive, so the first pass must already order well.
func TestPoolAgreement(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes the whole corpus; skipped with -short")
	}
	needCorpus(t)
	ix, _ := openCorpusIndex(t)
	agreement(t, ix, 30, 0.9)
}

// TestPoolAgreement100k measures the pool actually used over the 100,000
// synthetic posts. It runs only with YUNQI_SYNTHETIC_DIR set (see
// bench_test.go), where the index is kept between runs.
func TestPoolAgreement100k(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the 100,000-post index; skipped with -short")
	}
	needCorpus(t)
	if os.Getenv("YUNQI_SYNTHETIC_DIR") == "" {
		t.Skip("set YUNQI_SYNTHETIC_DIR to build (once) and keep the 100,000-post index")
	}
	// The synthetic posts repeat each paragraph about 200 times, so many
	// near-equal documents compete for the last places of a top ten; the
	// floor is below the 0.85 measured, to catch a worse first pass.
	agreement(t, syntheticIndex(t), rerankPool, 0.75)
}

// agreement compares, per dev query with and without its archive filter,
// the top ten of the two passes with the top ten of ranking every match,
// and fails when the mean overlap falls below want.
func agreement(t *testing.T, ix *Index, pool int, want float64) {
	t.Helper()
	ctx := context.Background()
	top := func(q search.Query, pool int) []string {
		res, err := ix.search(ctx, q, pool)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range res.Hits {
			ids = append(ids, h.ID)
		}
		return ids
	}
	sum, n, first := 0.0, 0, 0
	for _, j := range loadQueries(t) {
		f, err := search.ParseFilter(fmt.Sprintf("blog = %q", j.corpus), search.FilterableFields)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []search.Query{{Q: j.query, Limit: 10, Filter: f}, {Q: j.query, Limit: 10}} {
			all, two := top(q, 0), top(q, pool)
			if len(all) == 0 {
				continue
			}
			kept := 0
			for _, id := range all {
				if slices.Contains(two, id) {
					kept++
				}
			}
			share := float64(kept) / float64(len(all))
			sum += share
			n++
			if len(two) > 0 && two[0] == all[0] {
				first++
			}
			if share < 1 {
				t.Logf("%-45q filtered %-5v kept %d of %d", q.Q, q.Filter != nil, kept, len(all))
			}
		}
	}
	mean := sum / float64(max(n, 1))
	t.Logf("pool %d: mean top-10 overlap %.3f, same first hit %d of %d", pool, mean, first, n)
	if mean < want {
		t.Errorf("mean top-10 overlap %.3f is below %.2f", mean, want)
	}
}
