package notify

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent, failed, retried prometheus.Counter
	batchSize             prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent:    prometheus.NewCounter(prometheus.CounterOpts{Name: "yunqi_notify_mail_sent_total", Help: "Emails the SMTP server accepted."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "yunqi_notify_mail_failed_total", Help: "Emails given up on: refused for good or out of attempts."}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{Name: "yunqi_notify_mail_retried_total", Help: "Email attempts that failed and wait for another."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yunqi_notify_mail_batch_size",
			Help: "Messages sent over one SMTP connection.", Buckets: []float64{1, 2, 5, 10, 25, 50}}),
	}
	if reg != nil {
		// A second notifier in one process (tests) shares the counters.
		counter := func(c prometheus.Counter) prometheus.Counter {
			if err := reg.Register(c); err != nil {
				if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
					return are.ExistingCollector.(prometheus.Counter)
				}
			}
			return c
		}
		m.sent, m.failed, m.retried = counter(m.sent), counter(m.failed), counter(m.retried)
		if err := reg.Register(m.batchSize); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				m.batchSize = are.ExistingCollector.(prometheus.Histogram)
			}
		}
	}
	return m
}

func (m *metrics) batch(n int) { m.batchSize.Observe(float64(n)) }
