package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/watcher"
)

// TestFeedStatusAPI runs a daemon with a healthy feed, one answering 500 and one rate limited
// for an hour, and checks what the status API and `newswatch status` say of each, that `newswatch
// poll` has the rate-limited feed polled at once, and that /api/v1/alerts lists a new alert.
func TestFeedStatusAPI(t *testing.T) {
	dir := t.TempDir()
	world := newFeedServer(t, feedItem{GUID: "a", Title: "Markets close higher"})
	var brokenHits atomic.Int64
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		brokenHits.Add(1)
		http.Error(w, "database on fire", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	var limitedHits atomic.Int64
	limitedFeed := newFeedServer(t, feedItem{GUID: "l", Title: "Weather"})
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limitedHits.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		limitedFeed.serve(w, r)
	}))
	t.Cleanup(limited.Close)

	cfg, _ := testConfigMap(t, dir, []map[string]any{
		{"id": "world", "url": world.URL},
		{"id": "broken", "url": broken.URL + "/feed?token=s3cret"},
		{"id": "limited", "url": limited.URL},
	})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	d := startDaemon(t, path)
	base := "http://" + httpAddr
	waitFor(t, 60*time.Second, "the daemon ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	feeds := func(query string) console.FeedPage {
		t.Helper()
		code, body := get(t, base+"/api/v1/feeds"+query)
		if code != http.StatusOK {
			return console.FeedPage{}
		}
		var p console.FeedPage
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("GET /api/v1/feeds%s: %v in %q", query, err, body)
		}
		return p
	}
	byID := func(p console.FeedPage) map[string]watcher.FeedStatus {
		m := make(map[string]watcher.FeedStatus)
		for _, f := range p.Feeds {
			m[f.ID] = f
		}
		return m
	}
	waitFor(t, 60*time.Second, "a poll of every feed in the status", func() bool {
		m := byID(feeds(""))
		return m["world"].LastResult == "ok" && m["broken"].LastResult == "error" && m["limited"].LastResult == "error"
	})
	p := feeds("")
	if got := len(p.Feeds); got != 3 || p.Next != "" {
		t.Fatalf("GET /api/v1/feeds: %d feeds, next %q; want 3 and no next", got, p.Next)
	}
	for i, want := range []string{"world", "broken", "limited"} {
		if p.Feeds[i].ID != want {
			t.Errorf("feed %d is %q, want %q (configuration order)", i, p.Feeds[i].ID, want)
		}
	}
	now := time.Now()
	m := byID(p)
	if w := m["world"]; w.Problem != "" || w.ConsecutiveFailures != 0 || w.LastNewItem.IsZero() || w.NextPoll.Before(now.Add(-5*time.Second)) || w.NextPoll.After(now.Add(5*time.Second)) {
		t.Errorf("world: %+v; want healthy, a last new item and a next poll within seconds", w)
	}
	if b := m["broken"]; b.Problem == "" || b.ConsecutiveFailures < 1 || b.LastErrorClass != watcher.ClassHTTPServer || !strings.Contains(b.LastError, "500") {
		t.Errorf("broken: %+v; want a problem, failures, class http_server and a 500 error", b)
	}
	if u := m["broken"].URL; strings.Contains(u, "s3cret") {
		t.Errorf("broken: url %q shows the token, want it redacted", u)
	}
	l := m["limited"]
	if l.Problem != "backing_off" || l.LastErrorClass != watcher.ClassRateLimited || l.BackoffUntil.Before(now.Add(30*time.Minute)) || l.NextPoll.Before(l.BackoffUntil) {
		t.Errorf("limited: %+v; want backing_off, rate_limited and a backoff of about an hour, the next poll after it", l)
	}

	// Paging.
	if p := feeds("?limit=1"); len(p.Feeds) != 1 || p.Feeds[0].ID != "world" || p.Next != "world" {
		t.Errorf("?limit=1: %+v, want world and next=world", p)
	}
	if p := feeds("?limit=1&after=world"); len(p.Feeds) != 1 || p.Feeds[0].ID != "broken" || p.Next != "broken" {
		t.Errorf("?limit=1&after=world: %+v, want broken and next=broken", p)
	}
	if p := feeds("?problems=true"); len(p.Feeds) != 2 || byID(p)["world"].ID != "" {
		t.Errorf("?problems=true: %+v, want broken and limited only", p)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?after=nope", "?problems=maybe"} {
		if code, body := get(t, base+"/api/v1/feeds"+q); code != http.StatusBadRequest {
			t.Errorf("GET /api/v1/feeds%s: %d %q, want 400", q, code, body)
		}
	}
	if code, body := get(t, base+"/api/v1/feeds/limited"); code != http.StatusOK || !strings.Contains(body, `"problem":"backing_off"`) {
		t.Errorf("GET /api/v1/feeds/limited: %d %q, want 200 backing_off", code, body)
	}
	if code, _ := get(t, base+"/api/v1/feeds/nope"); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/feeds/nope: %d, want 404", code)
	}

	// The command: problems first, in a table; one JSON object a line.
	out, err := exec.Command(binary, "status", "-s", base).CombinedOutput()
	if err != nil {
		t.Fatalf("newswatch status: %v\n%s", err, out)
	}
	t.Logf("newswatch status:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "FEED") {
		t.Fatalf("newswatch status printed %d lines, want a header and 3 feeds:\n%s", len(lines), out)
	}
	if !strings.HasPrefix(lines[3], "world ") || !strings.Contains(lines[1]+lines[2], "[http_server]") || !strings.Contains(lines[1]+lines[2], "[rate_limited]") {
		t.Errorf("newswatch status: want the failing feeds first with their error classes, world last:\n%s", out)
	}
	out, err = exec.Command(binary, "status", "-s", base, "--json").Output()
	if err != nil {
		t.Fatalf("newswatch status --json: %v", err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var f watcher.FeedStatus
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("newswatch status --json line %q: %v", line, err)
		}
		ids = append(ids, f.ID)
	}
	if len(ids) != 3 || ids[2] != "world" {
		t.Errorf("newswatch status --json: feeds %v, want 3, world last", ids)
	}
	out, err = exec.Command(binary, "status", "-s", base, "--problems", "--json").Output()
	if err != nil || strings.Count(string(out), "\n") != 2 || strings.Contains(string(out), `"id":"world"`) {
		t.Errorf("newswatch status --problems --json: %v %q, want the two failing feeds", err, out)
	}
	if out, err := exec.Command(binary, "status", "-s", base, "--feed", "limited").Output(); err != nil || !strings.Contains(string(out), "[rate_limited]") || strings.Contains(string(out), "world") {
		t.Errorf("newswatch status --feed limited: %v %q, want the one feed", err, out)
	}
	if out, err := exec.Command(binary, "status", "-s", base, "--feed", "nope").CombinedOutput(); err == nil || !strings.Contains(string(out), "no such feed") {
		t.Errorf("newswatch status --feed nope: %v %q, want a failure naming the missing feed", err, out)
	}

	// Poll now: the feed backing off for an hour is polled at once, and is healthy again.
	if n := limitedHits.Load(); n != 1 {
		t.Fatalf("the rate-limited feed got %d requests before poll, want 1", n)
	}
	if out, err := exec.Command(binary, "poll", "-s", base, "limited").CombinedOutput(); err != nil || !strings.Contains(string(out), "limited: poll queued") {
		t.Fatalf("newswatch poll limited: %v\n%s", err, out)
	}
	waitFor(t, 60*time.Second, "the rate-limited feed polled again", func() bool { return limitedHits.Load() >= 2 })
	waitFor(t, 60*time.Second, "the rate-limited feed healthy", func() bool {
		f := byID(feeds(""))["limited"]
		return f.LastResult == "ok" && f.Problem == "" && f.BackoffUntil.IsZero()
	})
	if out, err := exec.Command(binary, "poll", "-s", base, "nope").CombinedOutput(); err == nil || !strings.Contains(string(out), "404") {
		t.Errorf("newswatch poll nope: %v %q, want a failure with 404", err, out)
	}

	// Recent alerts.
	world.add(feedItem{GUID: "k", Title: "Fighting near Kursk"})
	var alerts console.AlertPage
	waitFor(t, 60*time.Second, "the kursk alert in /api/v1/alerts", func() bool {
		code, body := get(t, base+"/api/v1/alerts?rule=kursk&since=1h")
		if code != http.StatusOK {
			return false
		}
		if err := json.Unmarshal([]byte(body), &alerts); err != nil {
			t.Fatalf("GET /api/v1/alerts: %v in %q", err, body)
		}
		return len(alerts.Alerts) > 0
	})
	if len(alerts.Alerts) != 1 || !strings.Contains(string(alerts.Alerts[0].Event), "Fighting near Kursk") || !strings.Contains(alerts.Alerts[0].Subject, ".kursk.world") {
		t.Errorf("GET /api/v1/alerts?rule=kursk: %+v, want the one alert of the Kursk item", alerts)
	}
	if code, body := get(t, base+"/api/v1/alerts?rule=dprk-troops"); code != http.StatusOK || !strings.Contains(body, `"alerts":[]`) {
		t.Errorf("GET /api/v1/alerts?rule=dprk-troops: %d %q, want no alerts", code, body)
	}
	if code, _ := get(t, base+"/api/v1/alerts?since=yesterday"); code != http.StatusBadRequest {
		t.Errorf("GET /api/v1/alerts?since=yesterday: %d, want 400", code)
	}
	d.stop(t, 60*time.Second)
}

// TestStatusBehindWebConfig runs status and poll against a daemon whose endpoints need TLS and
// basic auth, with the client flags they share with healthcheck.
func TestStatusBehindWebConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := selfSignedCert(t, dir)
	webFile, passwordFile := webConfig(t, dir, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
	world := newFeedServer(t, feedItem{GUID: "a", Title: "Markets close higher"})
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": world.URL}})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr, "web_config_file": webFile}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	d := startDaemon(t, path)
	base := "https://" + httpAddr
	client := []string{"-s", base, "--user", webUser, "--password-file", passwordFile, "--ca-file", certFile}

	waitFor(t, 60*time.Second, "world polled, in newswatch status", func() bool {
		out, err := exec.Command(binary, append([]string{"status", "--json"}, client...)...).Output()
		return err == nil && strings.Contains(string(out), `"last_result":"ok"`)
	})
	out, err := exec.Command(binary, "status", "-s", base, "--ca-file", certFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") {
		t.Errorf("newswatch status without credentials: %v %q, want a failure with 401", err, out)
	}
	if out, err := exec.Command(binary, append([]string{"poll"}, append(client, "world")...)...).CombinedOutput(); err != nil || !strings.Contains(string(out), "world: poll queued") {
		t.Errorf("newswatch poll world with credentials: %v %q, want queued", err, out)
	}
	d.stop(t, 60*time.Second)
}
