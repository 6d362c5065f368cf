package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Bounds of TestAlertFloodBounded.
const (
	// floodRSSBound is the peak resident memory (VmHWM) the daemon may reach, GOMEMLIMIT=200MiB
	// and a build without the race detector, embedded NATS included.
	floodRSSBound = 256 << 20
	// floodRSSAbort is the resident memory at which the test kills the daemon rather than let
	// it take the machine's memory: a regression fails the test instead of the host.
	floodRSSAbort = 2 << 30
)

// TestAlertFloodBounded: one feed serves 1,000 fresh items of 8 KB, 50 rules match every one of
// them, and the feed's first poll alerts everything (first_poll: all). The daemon publishes
// max_alerts_per_poll (1,000) alerts, each once, reports the 49,000 others in one capped health
// event, and never holds more than 256 MiB resident meanwhile.
func TestAlertFloodBounded(t *testing.T) {
	const items, rules, itemBytes, maxAlerts = 1000, 50, 8 << 10, 1000
	bin := plainBinary(t)
	body := floodDocument(items, itemBytes)

	// The first request waits until the test listens to the alert and health subjects: health
	// events are not stored.
	listening := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-listening:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	cfg, natsURL := testConfigMap(t, dir, []map[string]any{{"id": "flood", "url": srv.URL + "/feed"}})
	cfg["defaults"] = map[string]any{"schedule": "@every 1h", "timeout": "120s", "allow_private": true,
		"first_poll": "all", "max_body": "16MiB", "max_alerts_per_poll": maxAlerts}
	var rs []map[string]any
	for i := range rules {
		rs = append(rs, map[string]any{"id": fmt.Sprintf("r%02d", i), "query": fmt.Sprintf("kursk OR w%d", i)})
	}
	cfg["rules"] = rs
	delete(cfg, "lists")
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemonBinary(t, bin, path, "GOMEMLIMIT=200MiB")
	pid := d.cmd.Process.Pid
	nc := connect(t, natsURL)
	var mu sync.Mutex
	var capped []healthEvent
	var others []string
	if _, err := nc.Subscribe("newswatch.feed.>", func(m *nats.Msg) {
		var ev healthEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Errorf("health event %s: %v", m.Subject, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if m.Subject == "newswatch.feed.flood.capped" {
			capped = append(capped, ev)
		} else {
			others = append(others, m.Subject)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	close(listening)

	// The capped event is reported after the poll committed its state, its alerts published.
	var peak int64
	defer func() {
		if t.Failed() {
			t.Logf("peak RSS seen: %d MiB", peak>>20)
		}
	}()
	waitFor(t, 180*time.Second, "the capped health event", func() bool {
		if rss := procStatusBytes(t, pid, "VmRSS"); rss > floodRSSAbort {
			d.cmd.Process.Kill()
			t.Fatalf("daemon resident memory %d MiB, over %d MiB: killed", rss>>20, floodRSSAbort>>20)
		}
		peak = max(peak, procStatusBytes(t, pid, "VmHWM"))
		mu.Lock()
		defer mu.Unlock()
		return len(capped) > 0
	})
	peak = max(peak, peakRSS(t, pid))

	events := floodAlerts(t, nc)
	ids := map[string]int{}
	for _, ev := range events {
		ids[ev.ID]++
		if len(ev.Data.Hits) > 20 || ev.Data.HitsTotal < len(ev.Data.Hits) {
			t.Errorf("alert %s: %d hits of %d, want at most 20 of a total no smaller", ev.ID, len(ev.Data.Hits), ev.Data.HitsTotal)
		}
		if n := len(ev.Data.Item.Summary); n > 4<<10 {
			t.Errorf("alert %s: summary of %d bytes, want at most 4 KiB", ev.ID, n)
		}
	}
	if len(events) != maxAlerts || len(ids) != maxAlerts {
		t.Errorf("alert stream holds %d alerts with %d distinct ids, want %d each", len(events), len(ids), maxAlerts)
	}
	if len(events) > 0 && events[0].Data.HitsTotal <= 20 {
		t.Errorf("first alert: hits_total %d, want the full count, above 20", events[0].Data.HitsTotal)
	}
	mu.Lock()
	if len(capped) != 1 {
		t.Errorf("got %d capped events, want 1", len(capped))
	} else if got := capped[0].Data; got.Alerts != maxAlerts || got.AlertsDropped != items*rules-maxAlerts || got.Items != items-maxAlerts/rules {
		t.Errorf("capped event: alerts %d, alerts_dropped %d, items %d; want %d, %d, %d",
			got.Alerts, got.AlertsDropped, got.Items, maxAlerts, items*rules-maxAlerts, items-maxAlerts/rules)
	}
	if len(others) > 0 {
		t.Errorf("other health events: %v, want none", others)
	}
	mu.Unlock()
	if !strings.Contains(d.output(), "alerts of one poll capped") {
		t.Errorf("the log does not say that the poll's alerts were capped")
	}
	t.Logf("%d alerts in the stream; peak RSS %d MiB (bound %d MiB)", len(events), peak>>20, floodRSSBound>>20)
	if peak > floodRSSBound {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, floodRSSBound>>20)
	}
	d.stop(t, 60*time.Second)
}

// floodDocument is an RSS document of n items of about size bytes of text each, all of which
// mention Kursk many times.
func floodDocument(n, size int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Flood</title>` +
		`<link>https://news.example/</link><description>1,000 items at once</description>`)
	date := time.Now().UTC().Format(time.RFC1123Z)
	for i := range n {
		var text strings.Builder
		for j := 0; text.Len() < size; j++ {
			fmt.Fprintf(&text, "Fighting near Kursk goes on: troops of report %d advance along the front, line %d. ", i, j)
		}
		fmt.Fprintf(&b, `<item><guid isPermaLink="false">flood-%d</guid><title>Kursk report %d</title>`+
			`<link>https://news.example/flood/%d</link><description>%s</description><pubDate>%s</pubDate></item>`,
			i, i, i, text.String(), date)
	}
	b.WriteString(`</channel></rss>`)
	return b.Bytes()
}

// floodAlert is the part of an alert event TestAlertFloodBounded checks.
type floodAlert struct {
	ID   string `json:"id"`
	Data struct {
		Item struct {
			Summary string `json:"summary"`
		} `json:"item"`
		Hits      []json.RawMessage `json:"hits"`
		HitsTotal int               `json:"hits_total"`
	} `json:"data"`
}

// healthEvent is the part of a feed-health event the tests check.
type healthEvent struct {
	Data struct {
		Status        string `json:"status"`
		Items         int    `json:"items"`
		Alerts        int    `json:"alerts"`
		AlertsDropped int    `json:"alerts_dropped"`
	} `json:"data"`
}

// floodAlerts decodes every message of the alert stream.
func floodAlerts(t *testing.T, nc *nats.Conn) []floodAlert {
	t.Helper()
	var out []floodAlert
	for _, m := range alertStreamMsgs(t, nc) {
		var ev floodAlert
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatalf("alert %s: %v", m.Subject(), err)
		}
		out = append(out, ev)
	}
	return out
}

// procStatusBytes reads a size field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes.
func procStatusBytes(t *testing.T, pid int, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
