package sqlitestore

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	appends       *prometheus.CounterVec
	eventsWritten prometheus.Counter
	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
}

// newMetrics registers the store's collectors. Several stores may share a
// registry (tests, or a process opening two logs): they then share the
// collectors already registered.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yunqi_eventstore_appends_total",
			Help: "Appends, deletes and restores handled by the embedded event store, by outcome.",
		}, []string{"outcome"}),
		eventsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yunqi_eventstore_events_appended_total",
			Help: "Events written to the embedded event log.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "yunqi_eventstore_batch_requests",
			Help:    "Requests carried by one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "yunqi_eventstore_commit_seconds",
			Help:    "Time from the start of a group commit's transaction to its durable commit.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
	}
	var err error
	m.appends = register(reg, m.appends, &err)
	m.eventsWritten = register(reg, m.eventsWritten, &err)
	m.batchSize = register(reg, m.batchSize, &err)
	m.commitSeconds = register(reg, m.commitSeconds, &err)
	return m, err
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		*errp = errors.Join(*errp, err)
	}
	return c
}

func (m *metrics) observeBatch(batch []*request, d time.Duration) {
	if m == nil {
		return
	}
	m.batchSize.Observe(float64(len(batch)))
	m.commitSeconds.Observe(d.Seconds())
	var ok, failed, written int
	for _, r := range batch {
		if r.err != nil {
			failed++
			continue
		}
		ok++
		if r.writes && (r.kind == kindAppend || r.kind == kindRestore) {
			written += r.nevents
		}
	}
	if ok > 0 {
		m.appends.WithLabelValues("ok").Add(float64(ok))
	}
	if failed > 0 {
		m.appends.WithLabelValues("failed").Add(float64(failed))
	}
	m.eventsWritten.Add(float64(written))
}
