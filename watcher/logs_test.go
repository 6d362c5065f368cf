package watcher

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// TestLogsAlertsSummaryAndNoCron runs a watcher at debug level: every alert published has its
// info line with rule, feed, title and event id; the summary comes at its interval with the
// polls by result, new items, alerts and feeds backing off; robfig/cron's wake-ups, one a
// second, log nothing.
func TestLogsAlertsSummaryAndNoCron(t *testing.T) {
	ok := newFeedServer(t, rss("World",
		rssItem{GUID: "b", Title: "Fighting near Kursk"},
		rssItem{GUID: "a", Title: "Weather"}))
	bad := newFeedServer(t, "")
	bad.set(func(fs *feedServer) { fs.status = http.StatusInternalServerError })
	world := testFeed("world", ok.URL+"/rss.xml", "@every 1h")
	world.FirstPoll = FirstPoll{Mode: FirstPollAll}
	down := testFeed("down", bad.URL+"/rss.xml", "@every 1h")
	core, logs := observer.New(zapcore.DebugLevel)
	w := testWatcher(t, Config{Feeds: []Feed{world, down}, Rules: []matcher.Rule{kurskRule}, Jobs: newMemQueue(true),
		SummaryInterval: 1500 * time.Millisecond,
		EventID:         func(a event.Alert) string { return "id-" + a.RuleID + "-" + a.Item.Key }}, zap.New(core))
	stop, _ := runWatcher(t, w)

	var summary observer.LoggedEntry
	deadline := time.Now().Add(60 * time.Second)
	for {
		found := false
		for _, e := range logs.FilterMessage("polls summary").All() {
			if e.ContextMap()["polls"] == int64(2) {
				summary, found = e, true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no summary of two polls within 60s; logs: %v", messages(logs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	alerts := logs.FilterMessage("alert published").All()
	if len(alerts) != 1 {
		t.Fatalf("got %d alert lines, want 1", len(alerts))
	}
	a := alerts[0]
	want := map[string]any{"rule": "kursk", "feed": "world", "title": "Fighting near Kursk", "event_id": "id-kursk-b"}
	for k, v := range want {
		if got := a.ContextMap()[k]; got != v {
			t.Errorf("alert line %s: got %v, want %v", k, got, v)
		}
	}
	if a.Level != zap.InfoLevel {
		t.Errorf("alert line at %s, want info", a.Level)
	}
	sm := summary.ContextMap()
	if summary.Level != zap.InfoLevel {
		t.Errorf("summary at %s, want info", summary.Level)
	}
	byResult := fmt.Sprint(sm["polls_by_result"])
	if byResult != "map[http_server:1 ok:1]" {
		t.Errorf("summary polls_by_result %s, want map[http_server:1 ok:1]", byResult)
	}
	for k, v := range map[string]any{"new_items": int64(2), "alerts": int64(1), "feeds_backing_off": int64(1)} {
		if sm[k] != v {
			t.Errorf("summary %s: got %v, want %v", k, sm[k], v)
		}
	}
	for _, e := range logs.All() {
		if len(e.Message) >= 5 && e.Message[:5] == "cron:" {
			t.Errorf("cron logged %q at %s", e.Message, e.Level)
		}
	}
}

func messages(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		out = append(out, e.Message)
	}
	return out
}

// TestLagIgnoresPastSlots polls a slot that a later slot of the feed replaced (as after the
// daemon was down): its age is no lag of the schedule, and is counted apart.
func TestLagIgnoresPastSlots(t *testing.T) {
	fs := newFeedServer(t, rss("World", rssItem{GUID: "a", Title: "Weather"}))
	f := testFeed("world", fs.URL+"/rss.xml", "@every 1m")
	reg := prometheus.NewRegistry()
	w := testWatcher(t, Config{Feeds: []Feed{f}, Registerer: reg}, nil)
	p := w.plan.Load().feeds["world"]
	latest := p.group.sched.Prev(time.Now())
	past := p.group.sched.Prev(latest.Add(-3 * time.Hour))

	if err := w.Poll(context.Background(), "world", past); err != nil {
		t.Fatal(err)
	}
	if n := lagCount(t, reg); n != 0 {
		t.Errorf("lag observed %d polls of a past slot, want 0", n)
	}
	if got := testutil.ToFloat64(w.metrics.pastSlots); got != 1 {
		t.Errorf("past slots %v, want 1", got)
	}
	if err := w.Poll(context.Background(), "world", latest); err != nil {
		t.Fatal(err)
	}
	if n := lagCount(t, reg); n != 1 {
		t.Errorf("lag observed %d polls, want the latest slot's", n)
	}
}

// lagCount is how many polls newswatch_poll_lag_seconds observed.
func lagCount(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "newswatch_poll_lag_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("newswatch_poll_lag_seconds not registered")
	return 0
}
