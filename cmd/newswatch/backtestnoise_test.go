package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBacktestDeliveries: backtest --deliveries prints each setting's messages for the rule over
// the archive the daemon filled: twelve items of one poll are twelve alerts at once, one digest,
// or ten at once with a notice and a digest of the other two.
func TestBacktestDeliveries(t *testing.T) {
	var items []feedItem
	for i := range 12 {
		items = append(items, feedItem{GUID: fmt.Sprint("k", i), Title: fmt.Sprintf("Kursk report %d: %s", i, strings.Repeat("x", i)),
			Description: fmt.Sprintf("Fighting near Kursk, dispatch %d.", i)})
	}
	world := newFeedServer(t, items...)
	dir := t.TempDir()
	cfg, natsURL := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": world.URL, "first_poll": "all"}})
	path := dir + "/newswatch.yaml"
	writeConfig(t, path, cfg)
	d := startDaemon(t, path)
	nc := connect(t, natsURL)
	waitForStream(t, nc, "NEWSWATCH_ITEMS", 12)
	w := world.count()
	waitFor(t, 60*time.Second, "two more polls", func() bool { return world.count() >= w+2 })

	code, _, errOut := runBinary(t, "backtest", "-c", path, "--rule", "kursk", "--deliveries", "--creds", credsFor(natsURL, "subscriber"))
	if code != 0 {
		t.Fatalf("backtest --deliveries: exit %d\n%s", code, errOut)
	}
	t.Logf("backtest --deliveries:\n%s", errOut)
	for _, want := range [][]string{
		{"kursk", "immediate", "12", "0", "0", "0", "12"},
		{"kursk", "digest every 1h", "0", "1", "0", "0", "1"},
		{"kursk", "budget 10 an hour", "10", "1", "1", "0", "12"},
	} {
		found := false
		for line := range strings.Lines(errOut) {
			f := strings.Fields(line)
			if strings.Join(f, " ") == strings.Join(want, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("backtest --deliveries printed:\n%s\nwant a row %v", errOut, want)
		}
	}
	d.stop(t, 30*time.Second)
}
