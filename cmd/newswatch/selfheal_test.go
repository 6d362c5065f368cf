package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// gate holds the requests of a test server while it is closed.
type gate struct {
	mu      sync.Mutex
	held    chan struct{} // nil: open
	waiting int           // requests held so far
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

// pass returns once the gate is open, or the request is cancelled.
func (g *gate) pass(r *http.Request) {
	g.mu.Lock()
	held := g.held
	if held != nil {
		g.waiting++
	}
	g.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
		}
	}
}

func (g *gate) heldSoFar() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// TestDeletedAlertStreamRecreated deletes the alert stream while the daemon runs, with the one
// feed's poll held in its fetch (so that no other poll of it can run): /readyz says which stream
// is missing until that poll goes on; the poll, which has a new item's alerts to publish,
// re-creates the stream, logs that once at error level, and stores its alerts in the new stream.
func TestDeletedAlertStreamRecreated(t *testing.T) {
	var g gate
	feed := &feedServer{items: []feedItem{{GUID: "old-1", Title: "Markets close higher"}}}
	feed.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.pass(r)
		feed.serve(w, r)
	}))
	t.Cleanup(func() {
		g.open()
		feed.Close()
	})

	dir := t.TempDir()
	cfg, natsURL := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": feed.URL}})
	cfg["defaults"].(map[string]any)["timeout"] = "120s" // the held fetch must not time out
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemon(t, path)
	nc := connect(t, natsURL)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	readyz := "http://" + httpAddr + "/readyz"
	readiness := func() (int, string) {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(readyz)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err.Error()
		}
		return resp.StatusCode, string(b)
	}
	waitForState(t, nc, "world") // the baseline poll is committed
	waitFor(t, 60*time.Second, "/readyz 200", func() bool { code, _ := readiness(); return code == http.StatusOK })

	g.close()
	waitFor(t, 60*time.Second, "a poll held in its fetch", func() bool { return g.heldSoFar() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, "NEWSWATCH_ALERTS"); err != nil {
		t.Fatalf("delete the alert stream: %v", err)
	}
	const reason = "alert stream NEWSWATCH_ALERTS missing; re-created at the next poll"
	var body string
	waitFor(t, 60*time.Second, "/readyz 503 naming the missing stream", func() bool {
		var code int
		code, body = readiness()
		return code == http.StatusServiceUnavailable && strings.Contains(body, reason)
	})
	t.Logf("/readyz: %s", strings.TrimSpace(body))
	if _, err := js.Stream(ctx, "NEWSWATCH_ALERTS"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("alert stream before the next poll: got %v, want ErrStreamNotFound", err)
	}
	if code, body := readiness(); code != http.StatusServiceUnavailable || !strings.Contains(body, reason) {
		t.Errorf("/readyz still before the next poll: %d %q, want 503 saying %q", code, body, reason)
	}

	feed.add(feedItem{GUID: "new-1", Title: "North Korean troops fighting in Russia's Kursk region",
		Description: "Pyongyang has sent soldiers to fight for Russia in the Kursk region, officials said."})
	g.open()
	waitFor(t, 60*time.Second, "the new item's alerts in a new alert stream", func() bool {
		s, err := js.Stream(ctx, "NEWSWATCH_ALERTS")
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs >= 2
	})
	if got, want := streamSubjects(t, nc), []string{"newswatch.alert.dprk-troops.world", "newswatch.alert.kursk.world"}; !slices.Equal(got, want) {
		t.Errorf("new alert stream holds %v, want %v", got, want)
	}
	waitFor(t, 60*time.Second, "/readyz 200 again", func() bool { code, _ := readiness(); return code == http.StatusOK })

	var recreated []string
	for line := range strings.Lines(d.output()) {
		if strings.Contains(line, `"msg":"alert stream NEWSWATCH_ALERTS missing; re-created"`) {
			recreated = append(recreated, strings.TrimSpace(line))
		}
	}
	if len(recreated) != 1 || !strings.Contains(recreated[0], `"level":"error"`) {
		t.Errorf("re-creation logged as %q, want one line at error level", recreated)
	}
	d.stop(t, 30*time.Second)
}
