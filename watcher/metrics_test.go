package watcher

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLastSuccessSeries(t *testing.T) {
	// One series per feed that succeeded, failures leave it, and a feed gone from the
	// configuration loses its series.
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	at := time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	for _, id := range []string{"a", "b"} {
		m.committed(&feedPlan{ID: id}, step{state: feedState{LastSuccess: at}}, pollOutcome{})
	}
	m.committed(&feedPlan{ID: "c"}, step{}, pollOutcome{err: ErrEmptyBody})
	if n := testutil.CollectAndCount(m.lastSuccess); n != 2 {
		t.Fatalf("%d series, want 2 (a and b; c failed)", n)
	}
	m.forget(&plan{feeds: map[string]*feedPlan{"a": nil, "b": nil, "c": nil}}, &plan{feeds: map[string]*feedPlan{"b": {}}})
	if got := testutil.ToFloat64(m.lastSuccess); got != float64(at.UnixNano())/1e9 {
		t.Errorf("newswatch_feed_last_success_timestamp_seconds{feed=b} = %v, want %v", got, float64(at.UnixNano())/1e9)
	}
	if n := testutil.CollectAndCount(m.lastSuccess); n != 1 {
		t.Errorf("%d series after a and c left the configuration, want 1", n)
	}
}
