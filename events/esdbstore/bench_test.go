package esdbstore

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// The benchmarks put the adapter (client → gRPC over loopback → stand-in →
// SQLite) next to the SQLite store used directly, in one run, so that the
// figures show what the gRPC path costs on the same machine. They say
// nothing about a real EventStoreDB's speed.

type backend struct {
	name string
	open func(b *testing.B) events.Store
}

var backends = []backend{
	{"sqlite", func(b *testing.B) events.Store {
		s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "events.db"), sqlitestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
	{"esdb-standin", func(b *testing.B) events.Store {
		s, _ := newTestStore(b)
		return s
	}},
}

func benchEvent(i int) events.Proposed {
	return events.Proposed{ID: events.NewID(), Type: "Noted", Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"text":"a short note of about sixty bytes of JSON"}`, i)),
		Metadata: events.Metadata{Actor: "user-1", Visibility: events.Public}}
}

// BenchmarkAppend: one event per append, expected Any, 16 writers on
// distinct streams (what a busy web server does).
func BenchmarkAppend(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := context.Background()
			var writer atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				stream := fmt.Sprintf("bench-%d", writer.Add(1))
				i := 0
				for pb.Next() {
					if _, err := s.Append(ctx, stream, events.Any, benchEvent(i)); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
		})
	}
}

// BenchmarkSubscribe: catch-up throughput of a subscription from the start
// over b.N events written beforehand in batches of 100.
func BenchmarkSubscribe(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := 0; i < b.N; i += 100 {
				batch := make([]events.Proposed, min(100, b.N-i))
				for j := range batch {
					batch[j] = benchEvent(i + j)
				}
				if _, err := s.Append(ctx, fmt.Sprintf("bench-%d", i%7), events.Any, batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := time.Now()
			n := 0
			for m, err := range s.Subscribe(ctx, events.SubscribeOptions{}) {
				if err != nil {
					b.Fatal(err)
				}
				if m.Kind == events.KindEvent {
					if n++; n == b.N {
						break
					}
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
