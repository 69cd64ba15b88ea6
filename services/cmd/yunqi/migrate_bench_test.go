package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// BenchmarkMigratePersonal times `yunqi events migrate-personal` on a
// clear-text log of YUNQI_BENCH_EVENTS events (default 100,000): one
// person per 20 events, each with 20 events in their own stream of which
// every third carries personal data (a registration with a name). It runs
// once whatever b.N is; the figure is the command's wall time.
func BenchmarkMigratePersonal(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("YUNQI_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	data := b.TempDir()
	store, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const perPerson = 20
	built := time.Now()
	for p := 0; p*perPerson < n; p++ {
		person := fmt.Sprintf("0193a5d0-0000-7000-8000-%012d", p)
		batch := make([]events.Proposed, 0, perPerson)
		for i := 0; i < perPerson && p*perPerson+i < n; i++ {
			meta := events.Metadata{Actor: person, Subject: person, Visibility: events.Owner, OccurredAt: time.Now().UTC()}
			var data []byte
			typ := "bench.Noted"
			if i%3 == 0 {
				typ = "conference.RegistrationPlaced"
				data = fmt.Appendf(nil, `{"edition_id":"e%d","registration_id":"e%d-%s","member_id":%q,"status":"confirmed","personal":{"name":"Developer %d"}}`, i, i, person, person, p)
			} else {
				data = fmt.Appendf(nil, `{"note":"event %d of %s","seq":%d}`, i, person, i)
			}
			batch = append(batch, events.Proposed{ID: events.NewID(), Type: typ, Data: data, Metadata: meta})
		}
		if _, err := store.Append(b.Context(), "bench-"+person, events.NoStream, batch...); err != nil {
			b.Fatal(err)
		}
	}
	store.Close()
	b.Logf("built a %d-event clear-text log in %.1f s", n, time.Since(built).Seconds())
	b.ResetTimer()
	start := time.Now()
	if err := run(b.Context(), []string{"events", "migrate-personal", "--data", data, "--log-level", "error"}, quietEnv(), io.Discard); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "s/migration")
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}
