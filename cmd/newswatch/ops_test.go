package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/config"
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
	expectMetric := func(line string) {
		t.Helper()
		if code, body := get(t, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("/metrics: %d, want 200 with the line %q:\n%.3000s", code, line, body)
		}
	}
	expectMetric("newswatch_config_last_reload_successful 1")

	// An invalid file: the running configuration stays.
	if err := os.WriteFile(path, []byte("feeds: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expectNote("RELOADING=1")
	expectNote("READY=1")
	expectMetric("newswatch_config_last_reload_successful 0")
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
	expectMetric("newswatch_config_last_reload_successful 1")
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
	expectMetric("newswatch_config_last_reload_successful 1")

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

// TestReloadMetrics: a reload of a valid file sets newswatch_config_last_reload_successful to 1
// and advances the success timestamp; an invalid file, or one the watcher refuses, sets it to 0
// and keeps the timestamp of the last success.
func TestReloadMetrics(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "") // the reloader's sd_notify calls do nothing
	valid := "feeds:\n  - id: world\n    url: https://news.example/rss.xml\nrules:\n  - id: kursk\n    query: kursk\n"
	path := writeFile(t, "newswatch.yaml", valid)
	reg := prometheus.NewRegistry()
	m := newReloadMetrics(reg)
	start := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	m.record(true, start) // as run does after the first load

	now := start
	var refuse error // what the fake watcher's Update returns
	var updates int
	r := &reloader{
		path: path,
		update: func(*loaded) error {
			updates++
			return refuse
		},
		log:     zap.NewNop(),
		sd:      sdNotifier{log: zap.NewNop()},
		metrics: m,
		now:     func() time.Time { return now },
	}
	seconds := func(tm time.Time) float64 { return float64(tm.UnixNano()) / 1e9 }
	tests := []struct {
		name        string
		file        string
		refuse      error
		wantErr     bool
		wantSuccess float64
		wantTime    time.Time
	}{
		{"valid", valid, nil, false, 1, start.Add(time.Minute)},
		{"invalid", "feedz: []\n", nil, true, 0, start.Add(time.Minute)},
		{"still invalid", "feeds: [\n", nil, true, 0, start.Add(time.Minute)},
		{"valid again", valid, nil, false, 1, start.Add(4 * time.Minute)},
		{"refused by the watcher", valid, errors.New("watcher: update: bad plan"), true, 0, start.Add(4 * time.Minute)},
	}
	for i, tt := range tests {
		now = start.Add(time.Duration(i+1) * time.Minute)
		refuse = tt.refuse
		if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := r.reload(); (err != nil) != tt.wantErr {
			t.Errorf("%s: reload: got %v, want an error %v", tt.name, err, tt.wantErr)
		}
		if got := testutil.ToFloat64(m.successful); got != tt.wantSuccess {
			t.Errorf("%s: newswatch_config_last_reload_successful = %v, want %v", tt.name, got, tt.wantSuccess)
		}
		if got, want := testutil.ToFloat64(m.successTime), seconds(tt.wantTime); got != want {
			t.Errorf("%s: newswatch_config_last_reload_success_timestamp_seconds = %v, want %v", tt.name, got, want)
		}
	}
	if updates != 3 {
		t.Errorf("the watcher was updated %d times, want 3 (the files that loaded)", updates)
	}
	if n, err := testutil.GatherAndCount(reg, "newswatch_config_last_reload_successful", "newswatch_config_last_reload_success_timestamp_seconds"); err != nil || n != 2 {
		t.Errorf("registry holds %d of the reload metrics (%v), want 2", n, err)
	}
}

// TestLiveness is the rule behind /healthz and the watchdog: alive while the scheduler loop ticked
// within the bound, and, before its first tick, while the daemon started within the bound.
func TestLiveness(t *testing.T) {
	started := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	const bound = 30 * time.Second
	tests := []struct {
		name     string
		lastTick time.Time
		now      time.Time
		alive    bool
	}{
		{"starting", time.Time{}, started.Add(time.Second), true},
		{"started at the bound", time.Time{}, started.Add(bound), true},
		{"never started", time.Time{}, started.Add(bound + time.Second), false},
		{"ticked just now", started.Add(time.Hour), started.Add(time.Hour + time.Second), true},
		{"ticked at the bound", started.Add(time.Hour), started.Add(time.Hour + bound), true},
		{"stuck", started.Add(time.Hour), started.Add(time.Hour + bound + time.Millisecond), false},
		{"stuck long ago", started.Add(time.Minute), started.Add(time.Hour), false},
		{"clock stepped back", started.Add(time.Hour), started.Add(time.Hour - time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := liveness{lastTick: func() time.Time { return tt.lastTick }, started: started, bound: bound}
			err := l.check(tt.now)
			if (err == nil) != tt.alive {
				t.Errorf("check: got %v, want alive %v", err, tt.alive)
			}
			if err != nil && !strings.Contains(err.Error(), "schedule") {
				t.Errorf("check: %q does not say the schedule is the problem", err)
			}
		})
	}
}

// TestHealthzFollowsLiveness: /healthz answers 200 while alive, 503 with the reason while not.
func TestHealthzFollowsLiveness(t *testing.T) {
	var stuck atomic.Bool
	alive := func() error {
		if stuck.Load() {
			return errors.New("the schedule last ticked 1m0s ago, more than 30s")
		}
		return nil
	}
	ops, err := listenOps(config.HTTP{Listen: "127.0.0.1:0"}, opsHandlers{registry: prometheus.NewRegistry(), alive: alive,
		ready: func(context.Context) error { return nil }, reload: func() error { return nil }}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); ops.serve() }()
	defer func() { ops.shutdown(5 * time.Second); <-done }()
	url := "http://" + ops.srv.Addr().String() + "/healthz"
	if code, body := get(t, url); code != http.StatusOK {
		t.Errorf("/healthz while alive: %d %q, want 200", code, body)
	}
	stuck.Store(true)
	if code, body := get(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, "last ticked") {
		t.Errorf("/healthz while stuck: %d %q, want 503 with the reason", code, body)
	}
}

// TestWatchdogPingsOnlyWhileAlive: the watchdog is pinged every period while the daemon is alive,
// not while it is stuck, and again once it recovers.
func TestWatchdogPingsOnlyWhileAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const period = 10 * time.Second
		var stuck atomic.Bool
		var pings atomic.Int64
		alive := func() error {
			if stuck.Load() {
				return errors.New("stuck")
			}
			return nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			sdNotifier{log: zap.NewNop()}.pingWhileAlive(ctx, period, alive, func() { pings.Add(1) })
		}()
		step := func(periods int, want int64) {
			t.Helper()
			pings.Store(0)
			time.Sleep(time.Duration(periods)*period + period/2)
			synctest.Wait()
			if got := pings.Load(); got != want {
				t.Errorf("%d pings in %d periods, want %d", got, periods, want)
			}
		}
		step(3, 3)
		stuck.Store(true)
		step(3, 0)
		stuck.Store(false)
		step(2, 2)
		cancel()
		<-done
	})
}
