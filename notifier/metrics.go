package notifier

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the notifier's Prometheus metrics; their labels are bounded.
type metrics struct {
	published       *prometheus.CounterVec // by result: ok, duplicate, error
	publishDuration prometheus.Histogram
	archived        *prometheus.CounterVec // by result: ok, duplicate, error
	archiveDuration prometheus.Histogram
	stories         *prometheus.CounterVec // by result: ok, duplicate, error
	storyDuration   prometheus.Histogram
	deliveries      *prometheus.CounterVec // by result: ok, duplicate, error
	deliverDuration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_alerts_published_total",
			Help: "Alerts published to the alert stream, by result: ok, duplicate (dropped by the stream's de-duplication) or error.",
		}, []string{"result"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newswatch_alert_publish_duration_seconds",
			Help:    "Time from sending a batch of alerts to the last acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		archived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_items_archived_total",
			Help: "New items published to the item archive, by result: ok, duplicate (dropped by the stream's de-duplication) or error.",
		}, []string{"result"}),
		archiveDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newswatch_archive_publish_duration_seconds",
			Help:    "Time from sending a batch of items to the archive to the last acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		stories: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_story_events_published_total",
			Help: "Story events published to the story stream, by result: ok, duplicate (told by another replica already) or error.",
		}, []string{"result"}),
		storyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newswatch_story_publish_duration_seconds",
			Help:    "Time from sending a batch of story events to the last acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_deliveries_published_total",
			Help: "Digests, budget notices and spikes published to the delivery stream, by result: ok, duplicate (published by another replica already) or error.",
		}, []string{"result"}),
		deliverDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newswatch_delivery_publish_duration_seconds",
			Help:    "Time from sending a digest, notice or spike to its acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	for _, r := range []string{"ok", "duplicate", "error"} {
		m.deliveries.WithLabelValues(r)
		m.stories.WithLabelValues(r)
		m.published.WithLabelValues(r) // present from the start, at 0
		m.archived.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.published, m.publishDuration, m.archived, m.archiveDuration, m.stories, m.storyDuration, m.deliveries, m.deliverDuration} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(ErrInvalidConfig, err)
		}
	}
	return m, nil
}
