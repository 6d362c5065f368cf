package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackfill runs two replicas on a nats-server process. Their feed's items are archived at
// the first poll (a baseline: no alert). A reload of both at once brings a rule with
// `backfill: 1h`: the archived items it matches are alerted, each once, by one replica's
// backfill. A second reload and a restart backfill nothing again. The duplicate window is one
// second, so that a second backfill would show as second alerts, not only in the logs.
func TestBackfill(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	startNATSServer(t, port, filepath.Join(dir, "js"))

	fs := newFeedServer(t,
		feedItem{GUID: "k1", Title: "Shelling near Kursk overnight", Description: "Regional officials report damage."},
		feedItem{GUID: "k2", Title: "Курск: обстрел ночью", Description: "Власти сообщают о повреждениях."},
		feedItem{GUID: "m1", Title: "Markets close higher", Description: "Stocks rose on Tuesday."},
		feedItem{GUID: "k3", Title: "Refugees from the Kursk region", Description: "Buses leave at dawn."},
	)
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": fs.URL, "tags": []string{"world", "en"}}})
	cfg["nats"] = map[string]any{"url": url, "duplicate_window": "1s"}
	cfg["rules"] = []map[string]any{{"id": "markets", "query": "markets"}}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	a, b := startDaemon(t, path), startDaemon(t, path)
	nc := connect(t, url)
	waitForState(t, nc, "world")
	_, js := connectReconnecting(t, url)
	waitFor(t, 60*time.Second, "the four items archived", func() bool {
		msgs, _ := readArchiveStream(t, js)
		return msgs == 4
	})
	if msgs, _ := readAlertStream(t, js); msgs != 0 {
		t.Fatalf("%d alerts after a baseline poll, want none", msgs)
	}

	// The rule arrives in both replicas at once.
	cfg["rules"] = []map[string]any{
		{"id": "markets", "query": "markets"},
		{"id": "kursk", "query": "kursk OR курск", "backfill": "1h"},
	}
	writeConfig(t, path, cfg)
	// A SIGHUP before the daemon takes it would end the process: both must be running.
	for _, d := range []*daemon{a, b} {
		waitFor(t, 60*time.Second, "both replicas running", func() bool { return strings.Contains(d.output(), `"msg":"running"`) })
	}
	hangup := func() {
		t.Helper()
		for _, d := range []*daemon{a, b} {
			if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}
	}
	hangup()
	want := map[alertKey]bool{
		{Rule: "kursk", Feed: "world", Item: "k1"}: true,
		{Rule: "kursk", Feed: "world", Item: "k2"}: true,
		{Rule: "kursk", Feed: "world", Item: "k3"}: true,
	}
	done := func(logs ...string) int {
		n := 0
		for _, l := range logs {
			n += strings.Count(l, `"backfill done"`)
		}
		return n
	}
	waitFor(t, 60*time.Second, "a backfill done", func() bool { return done(a.output(), b.output()) > 0 })
	checkAlertStream(t, js, want)
	for _, l := range strings.Split(a.output()+b.output(), "\n") {
		if strings.Contains(l, `"backfill `) {
			t.Log(l)
		}
	}
	var before string // the logs of replicas stopped
	started := func() int {
		return strings.Count(before+a.output()+b.output(), `"backfill started"`)
	}
	if n := started(); n != 1 {
		t.Errorf("backfills started by the two replicas: %d, want 1", n)
	}

	// A second reload: the version is done, nothing is backfilled again.
	reloads := strings.Count(a.output(), "configuration reloaded")
	hangup()
	waitFor(t, 30*time.Second, "the second reload", func() bool { return strings.Count(a.output(), "configuration reloaded") > reloads })
	// And a restart of one replica.
	a.stop(t, 30*time.Second)
	before += a.output()
	a = startDaemon(t, path)
	waitFor(t, 60*time.Second, "the restarted replica's look at its rule versions", func() bool {
		return strings.Contains(a.output(), `"rule versions recorded"`)
	})
	// A new item after all that is alerted live, once.
	fs.add(feedItem{GUID: "k4", Title: "Kursk governor speaks", Description: "A statement."})
	want[alertKey{Rule: "kursk", Feed: "world", Item: "k4"}] = true
	awaitStreamCount(t, js, len(want), 60*time.Second)
	waitPolls(t, 3, fs)
	checkAlertStream(t, js, want)
	if n := started(); n != 1 {
		t.Errorf("backfills started after a reload and a restart: %d, want still 1", n)
	}
	a.stop(t, 30*time.Second)
	b.stop(t, 30*time.Second)
}
