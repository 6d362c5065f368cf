package slack

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the bridge; every label has a fixed, small set of values.
type metrics struct {
	posts    *prometheus.CounterVec // by result
	alerts   *prometheus.CounterVec // by result
	duration prometheus.Histogram
	inFlight prometheus.Gauge
}

// The results counted.
const (
	postPosted      = "posted"       // Slack accepted the message
	postUpdated     = "updated"      // the item's or the story's message was updated
	postReplied     = "replied"      // a story's later source was posted in its message's thread
	postCovered     = "covered"      // the item's message names the rule, or cannot be updated: nothing sent
	postDuplicate   = "duplicate"    // already posted: a redelivery
	postRecovered   = "recovered"    // begun and not recorded, found in Slack: recorded, not posted
	postRateLimited = "rate_limited" // 429
	postError       = "error"        // 5xx, network: retried
	postDead        = "dead"         // refused for good: dead-lettered

	alertAcked   = "acked"    // every channel has it or refused it for good
	alertRetried = "retried"  // naked for a later delivery
	alertInvalid = "invalid"  // not an alert event: dead-lettered
	alertNoRoute = "unrouted" // no route and no default channel
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_slack_posts_total",
			Help: "Messages sent to Slack, by result: posted, updated, replied, covered, duplicate, recovered, rate_limited, error, dead.",
		}, []string{"result"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newswatch_slack_alerts_total",
			Help: "Alert deliveries handled, by result: acked, retried, invalid, unrouted.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newswatch_slack_post_duration_seconds",
			Help:    "Time of one request to Slack.",
			Buckets: prometheus.DefBuckets,
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newswatch_slack_alerts_in_flight",
			Help: "Alerts being handled.",
		}),
	}
	for _, r := range []string{postPosted, postUpdated, postReplied, postCovered, postDuplicate, postRecovered, postRateLimited, postError, postDead} {
		m.posts.WithLabelValues(r)
	}
	for _, r := range []string{alertAcked, alertRetried, alertInvalid, alertNoRoute} {
		m.alerts.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.posts, m.alerts, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
