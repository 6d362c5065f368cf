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
// restart of the daemon, and polls resume. A job the server handed out as it went down never
// reached the daemon and comes back after ack_wait, so ack_wait is short here.
func TestReadinessFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "js")
	ns := notifiertest.RunServer(t, -1, store)
	port := ns.Addr().(*net.TCPAddr).Port
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)

	feed := newFeedServer(t, feedItem{GUID: "a", Title: "Markets close higher"})
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": feed.URL}})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["nats"] = map[string]any{"url": url, "ack_wait": "3s"}
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

// TestWaitingForNATS: a daemon started while its NATS server is unreachable is alive (/healthz
// 200, so that a liveness probe lets it wait), not ready (/readyz 503 saying so), refuses a
// reload it cannot do yet, and exits 0 on SIGTERM.
func TestWaitingForNATS(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": "http://127.0.0.1:1/feed"}})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["nats"] = map[string]any{"url": fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))}
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemon(t, path)
	base := "http://" + httpAddr
	waitFor(t, 30*time.Second, "the HTTP endpoints", func() bool {
		c := http.Client{Timeout: time.Second}
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	time.Sleep(2 * time.Second)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while waiting for NATS: %d %q, want 200", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for nats") {
		t.Errorf("/readyz while waiting for NATS: %d %q, want 503 saying it waits for NATS", code, body)
	}
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("POST /-/reload while waiting for NATS: 200, want an error")
	}
	d.stop(t, 10*time.Second)
}
