package notifier

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the notifier's Prometheus metrics; their labels are bounded.
type metrics struct {
	alerts, archive, stories, deliveries publishMetrics
}

// publishMetrics count the messages of one publisher by result (ok, duplicate: dropped by the
// stream's de-duplication, error) and time its batches.
type publishMetrics struct {
	published *prometheus.CounterVec
	duration  prometheus.Histogram
}

// newPublishMetrics are the metrics newswatch_<counter>_total and
// newswatch_<histogram>_publish_duration_seconds of a publisher of what.
func newPublishMetrics(counter, histogram, what string) publishMetrics {
	m := publishMetrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_" + counter + "_total",
			Help: what + " published, by result: ok, duplicate (dropped by the stream's de-duplication: told already, by this replica or another) or error.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newswatch_" + histogram + "_publish_duration_seconds",
			Help:    "Time from sending a batch of " + what + " to the last acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	for _, r := range []string{"ok", "duplicate", "error"} {
		m.published.WithLabelValues(r) // present from the start, at 0
	}
	return m
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		alerts:     newPublishMetrics("alerts_published", "alert", "alerts to the alert stream"),
		archive:    newPublishMetrics("items_archived", "archive", "new items to the item archive"),
		stories:    newPublishMetrics("story_events_published", "story", "story events to the story stream"),
		deliveries: newPublishMetrics("deliveries_published", "delivery", "digests, budget notices and spikes to the delivery stream"),
	}
	if reg == nil {
		return m, nil
	}
	for _, p := range []publishMetrics{m.alerts, m.archive, m.stories, m.deliveries} {
		for _, c := range []prometheus.Collector{p.published, p.duration} {
			if err := reg.Register(c); err != nil {
				return nil, errors.Join(ErrInvalidConfig, err)
			}
		}
	}
	return m, nil
}
