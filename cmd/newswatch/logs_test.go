package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// logLine is one JSON line of the daemon's log.
type logLine map[string]any

// logLines parses the daemon's log so far; lines that are not JSON are skipped.
func logLines(out string) []logLine {
	var lines []logLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestDaemonLogs runs the built daemon at debug level: an alert has its info line with the
// event id that the published event carries; the polls summary comes at its interval, at info;
// each poll has its debug line; and neither robfig/cron's wake-ups nor the embedded NATS
// server's banner shows.
func TestDaemonLogs(t *testing.T) {
	feed := newFeedServer(t, feedItem{GUID: "old-1", Title: "Markets close higher", Description: "Stocks rose."})
	dir := t.TempDir()
	config, natsURL := testConfig(t, dir, []map[string]any{{"id": "world", "url": feed.URL}})
	d := startDaemon(t, config, "NEWSWATCH_SUMMARY_INTERVAL=2s")
	nc := connect(t, natsURL)
	alerts := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe("newswatch.alert.kursk.>", alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	waitForState(t, nc, "world")
	feed.add(feedItem{GUID: "new-1", Title: "Fighting in the Kursk region", Description: "Officials said."})

	var ev alertEvent
	select {
	case m := <-alerts:
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no kursk alert within 60s")
	}
	find := func(msg string, match func(logLine) bool) logLine {
		for _, l := range logLines(d.output()) {
			if l["msg"] == msg && match(l) {
				return l
			}
		}
		return nil
	}
	var alertLine, summary logLine
	waitFor(t, 60*time.Second, "the alert's log line and a summary with an alert", func() bool {
		alertLine = find("alert published", func(l logLine) bool { return l["event_id"] == ev.ID })
		summary = find("polls summary", func(l logLine) bool { return l["alerts"] != 0.0 })
		return alertLine != nil && summary != nil
	})
	d.stop(t, 30*time.Second)

	for k, want := range map[string]any{"level": "info", "rule": "kursk", "feed": "world", "title": "Fighting in the Kursk region"} {
		if alertLine[k] != want {
			t.Errorf("alert line %s: got %v, want %v", k, alertLine[k], want)
		}
	}
	if summary["level"] != "info" {
		t.Errorf("summary at %v, want info", summary["level"])
	}
	for _, k := range []string{"polls", "polls_by_result", "new_items", "alerts", "feeds_backing_off"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("summary without %s: %v", k, summary)
		}
	}
	if find("feed polled", func(l logLine) bool { return l["level"] == "debug" && l["feed"] == "world" }) == nil {
		t.Error("no debug line for a poll")
	}
	for _, l := range logLines(d.output()) {
		msg, _ := l["msg"].(string)
		if strings.HasPrefix(msg, "cron") || strings.Contains(msg, "nats-server") || strings.Contains(msg, "Server is ready") ||
			l["logger"] == "nats-server" && (l["level"] == "debug" || l["level"] == "info") {
			t.Errorf("log line %v, want no cron wake-up nor server banner", l)
		}
	}
}
