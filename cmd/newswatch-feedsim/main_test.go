package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/internal/feedsim"
	"github.com/newswatch/newswatch/watcher"
)

func TestWrittenConfigLoads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "newswatch.yaml")
	addrs := []string{"127.0.0.1:1001", "127.0.0.1:1002"}
	// The archive and the stories off, then the configuration the rest of the test reads.
	if _, _, err := writeConfig(path, configOptions{feeds: 5, schedule: "@every 30s", storeDir: filepath.Join(dir, "nats")}, addrs); err != nil {
		t.Fatal(err)
	}
	if off, err := config.Load(path); err != nil || off.Archive.Enabled || off.Stories.Enabled {
		t.Errorf("config with archive and stories false: got them on (%v), error %v; want off", off != nil && off.Archive.Enabled, err)
	}
	fullText := []bool{false, true, false, false, true}
	httpAddr, natsAddr, err := writeConfig(path, configOptions{feeds: 5, schedule: "@every 30s", storeDir: filepath.Join(dir, "nats"), archive: true, stories: true, fullText: fullText}, addrs)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if !cfg.Archive.Enabled || !cfg.Stories.Enabled {
		t.Error("archive or stories off, want them on")
	}
	if len(cfg.Feeds) != 5 || len(cfg.Rules) != 2 || len(cfg.Lists) != 2 {
		t.Fatalf("got %d feeds, %d rules, %d lists, want 5, 2, 2", len(cfg.Feeds), len(cfg.Rules), len(cfg.Lists))
	}
	f := cfg.Feeds[3]
	if f.ID != "f3" || f.URL != "http://127.0.0.1:1002/feeds/3.xml" || f.Schedule != "@every 30s" || !f.AllowPrivate || f.FirstPoll.Mode != config.FirstPollBaseline {
		t.Errorf("feeds[3] = %+v, want f3 on the second listener, @every 30s, allow_private, baseline", f)
	}
	for i, f := range cfg.Feeds {
		want := config.FullTextNever
		if fullText[i] {
			want = config.FullTextAuto
		}
		if f.FullText != want {
			t.Errorf("feeds[%d].fulltext = %q, want %q", i, f.FullText, want)
		}
	}
	if cfg.HTTP.Listen != httpAddr || cfg.NATS.Embedded.Listen != natsAddr || cfg.NATS.Embedded.StoreDir != filepath.Join(dir, "nats") {
		t.Errorf("http %q nats %q store %q, want %q %q %q", cfg.HTTP.Listen, cfg.NATS.Embedded.Listen, cfg.NATS.Embedded.StoreDir, httpAddr, natsAddr, filepath.Join(dir, "nats"))
	}
}

func TestModes(t *testing.T) {
	c := newControl(feedsim.New(feedsim.Config{Feeds: 3}), 3, time.Minute, nil)
	srv := httptest.NewServer(c)
	defer srv.Close()
	get := func(etag string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+feedsim.Path(1), nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	setMode := func(m string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/-/mode?set="+m, "", nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("set mode %s: %v %v", m, resp, err)
		}
		resp.Body.Close()
	}
	etag := get("").Header.Get("ETag")
	tests := []struct {
		mode, etag string
		want       int
	}{
		{modeLive, etag, http.StatusNotModified},
		{modeUnchanged, `"stale"`, http.StatusNotModified},
		{modeUnchanged, "", http.StatusOK},
		{modeChanged, etag, http.StatusOK},
	}
	for _, tt := range tests {
		setMode(tt.mode)
		if got := get(tt.etag).StatusCode; got != tt.want {
			t.Errorf("mode %s, If-None-Match %q: got %d, want %d", tt.mode, tt.etag, got, tt.want)
		}
	}
	// The changed mode's documents differ from one another and parse.
	resp, err := http.Get(srv.URL + feedsim.Path(1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte("<lastBuildDate>")) {
		t.Errorf("changed mode: document without lastBuildDate:\n%s", body)
	}
	if _, err := watcher.ParseDocument(t.Context(), body); err != nil {
		t.Errorf("changed mode: document does not parse: %v", err)
	}
	if s := c.late.stat(); s.Count != 6 {
		t.Errorf("lateness recorded %d requests, want 6", s.Count)
	}
	if got := c.perFeed[1].Load(); got != 6 {
		t.Errorf("feed 1 had %d requests counted, want 6", got)
	}
}
