package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Every benchmark here is durable: synchronous=FULL, one fsync per group
// commit. Run them with e.g.
//
//	go test ./events/sqlitestore -run x -bench 'Append|ReadAll|Subscribe' -benchtime 100000x -count 3
//
// and read the events/s metric rather than ns/op (cpu-µs/event is the CPU
// time of the whole process per event, writers included). The figures vary
// with the disk's fsync latency: compare runs made back to back.
//
// BenchmarkOpen1M builds a log of a million events (about 15 s) for the
// cold start; with YUNQI_BENCH_LOG=path the log is kept and reused:
//
//	YUNQI_BENCH_LOG=/tmp/yunqi-1m.db go test ./events/sqlitestore -run x -bench Open1M -benchtime 10x

// benchEvent is shaped like a real domain event: a payload of a few hundred
// bytes and the metadata every service sets. Its type is no domain's, so a
// server started on a benchmark log (the cold start) never mistakes these
// payloads for its own events.
func benchEvent(i int) events.Proposed {
	return events.Proposed{
		ID:   events.NewID(),
		Type: "bench.RegistrationPlaced",
		Data: fmt.Appendf(nil, `{"registration_id":"reg-%08d","edition":"yunqi2015","track":"big-data","attendee":{"name_ref":"person-%d","company":"Example Cloud Co."},"tickets":1,"channel":"web","note":"sub-forum seats requested: 2"}`, i, i),
		Metadata: events.Metadata{
			Actor:         fmt.Sprintf("user-%d", i%1000),
			CorrelationID: "corr-0193a5b1-8c1e-7d2a-9f00-5e6d7c8b9a01",
			CausationID:   "cmd-0193a5b1-8c1e-7d2a-9f00-5e6d7c8b9a02",
			RequestID:     "req-7f3e2a",
			OccurredAt:    time.Date(2015, 10, 14, 9, 30, 0, 0, time.UTC),
			SchemaVersion: 1,
			Visibility:    events.Owner,
			Subject:       "person-42",
		},
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := openTemp(b)
			benchAppends(b, s, writers, 1)
		})
	}
}

func BenchmarkAppendBatch100(b *testing.B) {
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := openTemp(b)
			benchAppends(b, s, writers, 100)
		})
	}
}

// benchAppends runs b.N events through writers goroutines, each appending
// per events at a time to a stream of its own with an exact expected
// revision, as a command handler does.
func benchAppends(b *testing.B, s *Store, writers, per int) {
	ctx := context.Background()
	total := int64(b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("bench-%d-%d", w, time.Now().UnixNano())
			exp := events.NoStream
			batch := make([]events.Proposed, per)
			for {
				n := next.Add(int64(per))
				if n-int64(per) >= total {
					return
				}
				for i := range batch {
					batch[i] = benchEvent(int(n) + i)
				}
				r, err := s.Append(ctx, stream, exp, batch...)
				if err != nil {
					b.Error(err)
					return
				}
				exp = events.Exact(r.NextExpected)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	written := min(next.Load(), total+int64(writers*per))
	b.ReportMetric(float64(written)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(written), "cpu-µs/event")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkReadAll(b *testing.B) {
	const logSize = 100_000
	s := openTemp(b)
	fill(b, s, logSize)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	read := 0
	after := events.Start
	for read < b.N {
		page, err := s.ReadAll(ctx, events.ReadAllOptions{After: after, Count: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			after = events.Start
			continue
		}
		read += len(page)
		after = page[len(page)-1].Position
	}
	b.ReportMetric(float64(read)/time.Since(start).Seconds(), "events/s")
}

func BenchmarkSubscribeCatchUp(b *testing.B) {
	const logSize = 100_000
	s := openTemp(b)
	fill(b, s, logSize)
	b.ResetTimer()
	start := time.Now()
	read := 0
	for read < b.N {
		ctx, cancel := context.WithCancel(context.Background())
		for m, err := range s.Subscribe(ctx, events.SubscribeOptions{}) {
			if err != nil {
				break
			}
			if m.Kind == events.KindCaughtUp || read >= b.N {
				cancel()
				continue
			}
			read++
		}
		cancel()
	}
	b.ReportMetric(float64(read)/time.Since(start).Seconds(), "events/s")
}

// fill appends n events in appends of 1000 across many streams.
func fill(tb testing.TB, s *Store, n int) {
	tb.Helper()
	ctx := context.Background()
	const per = 1000
	batch := make([]events.Proposed, per)
	for i := 0; i < n; i += per {
		k := min(per, n-i)
		for j := range k {
			batch[j] = benchEvent(i + j)
		}
		if _, err := s.Append(ctx, fmt.Sprintf("bench-%d", i/per), events.Any, batch[:k]...); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkOpen1M measures a cold start: opening a log of a million events
// and answering the first append. The log is built once (about 15 s)
// and kept in YUNQI_BENCH_LOG when that is set, so later runs reuse it.
func BenchmarkOpen1M(b *testing.B) {
	const size = 1_000_000
	path := os.Getenv("YUNQI_BENCH_LOG")
	if path == "" {
		path = filepath.Join(b.TempDir(), "events.db")
	}
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	head, err := s.Head(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if head.Commit < size {
		start := time.Now()
		fill(b, s, size-int(head.Commit))
		b.Logf("built a log of %d events in %s", size, time.Since(start).Round(time.Millisecond))
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var opening, appending time.Duration
	for i := range b.N {
		start := time.Now()
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Head(context.Background()); err != nil {
			b.Fatal(err)
		}
		opened := time.Now()
		if _, err := s.Append(context.Background(), fmt.Sprintf("coldstart-%d-%d", i, time.Now().UnixNano()), events.NoStream, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
		opening += opened.Sub(start)
		appending += time.Since(opened)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(opening.Microseconds())/1000/float64(b.N), "open-ms")
	b.ReportMetric(float64(appending.Microseconds())/1000/float64(b.N), "first-append-ms")
}

// BenchmarkReadStream loads a 10-event stream, as a command handler loads
// its aggregate, from a log of 100,000 events.
func BenchmarkReadStream(b *testing.B) {
	s := openTemp(b)
	fill(b, s, 100_000)
	ctx := context.Background()
	const streams = 1000
	for i := range streams {
		batch := make([]events.Proposed, 10)
		for j := range batch {
			batch[j] = benchEvent(j)
		}
		if _, err := s.Append(ctx, fmt.Sprintf("aggregate-%d", i), events.NoStream, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		evs, err := s.ReadStream(ctx, fmt.Sprintf("aggregate-%d", i%streams), events.ReadOptions{})
		if err != nil || len(evs) != 10 {
			b.Fatal(len(evs), err)
		}
	}
}
