package main

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestReadinessFollowsNATS runs the daemon against an external NATS server: /readyz is 200 while
// the server runs, 503 with a reason while it is down, and 200 again once it is back, without a
// restart of the daemon.
func TestReadinessFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "js")
	ns := notifiertest.RunServer(t, -1, store)
	port := ns.Addr().(*net.TCPAddr).Port
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)

	feed := newFeedServer(t, feedItem{GUID: "a", Title: "Markets close higher"})
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": feed.URL}})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["nats"] = map[string]any{"url": url}
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemon(t, path)
	readyz := "http://" + httpAddr + "/readyz"
	ready := func(want int) func() bool {
		return func() bool {
			c := http.Client{Timeout: 5 * time.Second}
			resp, err := c.Get(readyz)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == want
		}
	}
	waitFor(t, 30*time.Second, "/readyz 200 with NATS up", ready(http.StatusOK))

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, 30*time.Second, "/readyz 503 with NATS down", ready(http.StatusServiceUnavailable))
	if code, body := get(t, readyz); code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready") {
		t.Errorf("/readyz with NATS down: %d %q, want 503 saying why", code, body)
	}

	notifiertest.RunServer(t, port, store)
	waitFor(t, 30*time.Second, "/readyz 200 with NATS back", ready(http.StatusOK))
	n := feed.count()
	waitFor(t, 30*time.Second, "polls after NATS came back", func() bool { return feed.count() >= n+2 })
	d.stop(t, 30*time.Second)
}
