package notifier_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestPublishMetrics counts a first publish as ok and a second one of the same alert as a duplicate.
func TestPublishMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := notifiertest.Config(t)
	cfg.Registerer = reg
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	for range 2 {
		if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
			t.Fatal(err)
		}
	}
	counter := func(result string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "newswatch_alerts_published_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
		t.Fatalf("no newswatch_alerts_published_total{result=%q}", result)
		return 0
	}
	for _, tt := range []struct {
		result string
		want   float64
	}{{"ok", 1}, {"duplicate", 1}, {"error", 0}} {
		if got := counter(tt.result); got != tt.want {
			t.Errorf("newswatch_alerts_published_total{result=%q} = %v, want %v", tt.result, got, tt.want)
		}
	}
	if got := testutil.CollectAndCount(reg, "newswatch_alert_publish_duration_seconds"); got != 1 {
		t.Errorf("publish duration histogram: %d series, want 1", got)
	}
}
