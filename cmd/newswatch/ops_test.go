package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOperations runs the daemon as systemd would (NOTIFY_SOCKET) with its HTTP endpoints on, and
// checks readiness, metrics, the sd_notify messages in order, and reloads by SIGHUP and by HTTP:
// a valid file adds a feed without a restart, an invalid one changes nothing.
func TestOperations(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	notes := make(chan string, 32)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(notes)
				return
			}
			notes <- string(buf[:n])
		}
	}()
	expectNote := func(want string) {
		t.Helper()
		select {
		case got, ok := <-notes:
			if !ok || !strings.HasPrefix(got, want) {
				t.Fatalf("sd_notify message %q, want one starting with %q", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no sd_notify message %q within 30s", want)
		}
	}

	first := newFeedServer(t, feedItem{GUID: "a", Title: "Markets close higher"})
	second := newFeedServer(t, feedItem{GUID: "b", Title: "Weather"})
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "first", "url": first.URL}})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemon(t, path, "NOTIFY_SOCKET="+sock)
	expectNote("READY=1")
	base := "http://" + httpAddr
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %q, want 200", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", code)
	}
	if code, body := get(t, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "newswatch_build_info{") || !strings.Contains(body, "go_goroutines ") || !strings.Contains(body, `newswatch_alerts_published_total{result="ok"} 0`) {
		t.Errorf("/metrics: %d, want 200 with newswatch_build_info, go_goroutines and newswatch_alerts_published_total:\n%.2000s", code, body)
	}
	if code, _, stderr := runCLI(t, "", "healthcheck", "--url", base+"/readyz"); code != 0 {
		t.Errorf("healthcheck of a ready daemon: exit %d, want 0: %s", code, stderr)
	}

	// An invalid file: the running configuration stays.
	if err := os.WriteFile(path, []byte("feeds: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expectNote("RELOADING=1")
	expectNote("READY=1")
	n := first.count()
	waitFor(t, 30*time.Second, "the first feed polled after a failed reload", func() bool { return first.count() >= n+2 })

	// A valid file with a second feed: it is polled without a restart.
	cfg["feeds"] = []map[string]any{{"id": "first", "url": first.URL}, {"id": "second", "url": second.URL}}
	writeConfig(t, path, cfg)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expectNote("RELOADING=1")
	expectNote("READY=1")
	waitFor(t, 30*time.Second, "the added feed polled", func() bool { return second.count() >= 2 })

	// The same by HTTP, with an invalid and a valid file.
	if err := os.WriteFile(path, []byte("feedz: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, base+"/-/reload"); code != http.StatusBadRequest || !strings.Contains(body, `unknown key "feedz"`) {
		t.Errorf("POST /-/reload of an invalid file: %d %q, want 400 naming the unknown key", code, body)
	}
	writeConfig(t, path, cfg)
	if code, body := post(t, base+"/-/reload"); code != http.StatusOK {
		t.Errorf("POST /-/reload of a valid file: %d %q, want 200", code, body)
	}
	for range 2 { // both reloads by HTTP
		expectNote("RELOADING=1")
		expectNote("READY=1")
	}

	d.stop(t, 30*time.Second)
	expectNote("STOPPING=1")
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodGet, url)
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.MethodPost, url)
}

func do(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
