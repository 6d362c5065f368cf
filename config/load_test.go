package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// yamlLines joins lines into a file, so that tests show the line numbers they
// assert.
func yamlLines(lines ...string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

// mustParse parses data and fails the test on any error.
func mustParse(t *testing.T, data []byte) *Config {
	t.Helper()
	cfg, err := Parse("nw.yaml", data)
	if err != nil {
		t.Fatalf("Parse: got error\n%v\nwant none", err)
	}
	if cfg == nil {
		t.Fatal("Parse: got nil config and nil error")
	}
	return cfg
}

func TestParseDefaults(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "")
	os.Unsetenv("STATE_DIRECTORY")
	cfg := mustParse(t, yamlLines(
		"feeds:",
		"  - id: world",
		"    url: https://example.org/rss",
	))
	want := &Config{
		File: "nw.yaml",
		NATS: NATS{
			Embedded:        Embedded{Listen: "127.0.0.1:4222", StoreDir: "./newswatch-data/nats"},
			SubjectPrefix:   "newswatch",
			AlertStream:     "NEWSWATCH_ALERTS",
			DuplicateWindow: 30 * time.Minute,
			AlertMaxAge:     30 * 24 * time.Hour,
			AlertMaxBytes:   1 << 30,
			AckWait:         time.Minute,
		},
		HTTP:    HTTP{Listen: "127.0.0.1:9780", Console: true},
		Archive: Archive{Enabled: true, Stream: "NEWSWATCH_ITEMS", MaxAge: 30 * 24 * time.Hour, MaxBytes: 10 << 30},
		Stories: Stories{Enabled: true, Window: 48 * time.Hour, MaxStories: 200000},
		Defaults: Defaults{
			Schedule:         "@every 5m",
			AutoMin:          5 * time.Minute,
			AutoMax:          time.Hour,
			Timeout:          30 * time.Second,
			MaxBody:          10 << 20,
			FirstPoll:        FirstPoll{Mode: FirstPollBaseline},
			FloodGuard:       10,
			MaxAlertsPerPoll: 1000,
			FullText:         FullTextNever,
		},
		Feeds: []Feed{{
			ID: "world", URL: "https://example.org/rss", Schedule: "@every 5m", AutoMin: 5 * time.Minute, AutoMax: time.Hour,
			Timeout: 30 * time.Second, MaxBody: 10 << 20, FirstPoll: FirstPoll{Mode: FirstPollBaseline}, FloodGuard: 10, MaxAlertsPerPoll: 1000,
			FullText: FullTextNever, Reposts: true, Pos: Position{Line: 2, Column: 5},
		}},
		Lists: map[string][]string{},
	}
	assertPublic(t, cfg, want)
}

// assertPublic compares the exported fields of two configs.
func assertPublic(t *testing.T, got, want *Config) {
	t.Helper()
	g, w := *got, *want
	g.src, g.queries, g.terms = source{}, nil, nil
	w.src, w.queries, w.terms = source{}, nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %+v\nwant %+v", g, w)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		check func(t *testing.T, c *Config)
	}{
		{
			name: "spec example",
			data: mustRead(t, "testdata/spec.yaml"),
			check: func(t *testing.T, c *Config) {
				if got, want := c.Feeds[0].Schedule, "*/2 * * * *"; got != want {
					t.Errorf("feed schedule: got %q, want %q", got, want)
				}
				if got, want := c.Feeds[0].Tags, []string{"world", "en"}; !reflect.DeepEqual(got, want) {
					t.Errorf("tags: got %q, want %q", got, want)
				}
				wantList := []string{`"north korea*"`, "dprk", "pyongyang", `"kim jong un"`, "кндр", "북한"}
				if got := c.Lists["dprk"]; !reflect.DeepEqual(got, wantList) {
					t.Errorf("list: got %q, want %q", got, wantList)
				}
				wantRules := []Rule{
					{ID: "dprk-troops", Query: `@dprk NEAR/15 (troop* OR soldier* OR "armed forces")`,
						Feeds: []string{"world", "tag:en"}, Pos: Position{Line: 27, Column: 5}},
					{ID: "kursk", Query: "kursk OR курск OR курськ", Pos: Position{Line: 30, Column: 5}},
				}
				if !reflect.DeepEqual(c.Rules, wantRules) {
					t.Errorf("rules: got %+v, want %+v", c.Rules, wantRules)
				}
			},
		},
		{
			name: "an external cluster",
			data: yamlLines(
				"nats:",
				"  url: nats://a:4222,nats://b:4222,nats://c:4222",
				"  creds_file: /run/credentials/newswatch/nats.creds",
				"  replicas: 3",
				"  ack_wait: 20s",
				"  alert_max_age: 720h",
				"  tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key}",
			),
			check: func(t *testing.T, c *Config) {
				want := NATS{
					URL: "nats://a:4222,nats://b:4222,nats://c:4222", CredsFile: "/run/credentials/newswatch/nats.creds",
					Embedded:      Embedded{Listen: "127.0.0.1:4222", StoreDir: "./newswatch-data/nats"},
					SubjectPrefix: "newswatch", AlertStream: "NEWSWATCH_ALERTS", DuplicateWindow: 30 * time.Minute,
					AlertMaxAge: 720 * time.Hour, AlertMaxBytes: 1 << 30, Replicas: 3, AckWait: 20 * time.Second,
					TLS: TLS{CAFile: "ca.pem", CertFile: "client.pem", KeyFile: "client.key"},
				}
				if !reflect.DeepEqual(c.NATS, want) {
					t.Errorf("nats:\ngot  %+v\nwant %+v", c.NATS, want)
				}
			},
		},
		{
			name: "feed inherits changed defaults and overrides them",
			data: yamlLines(
				"defaults:",
				"  schedule: '@hourly'",
				"  timeout: 10s",
				"  max_body: 512KiB",
				"  first_poll: all",
				"  allow_private: true",
				"  auto_min: 1m",
				"  flood_guard: 0",
				"feeds:",
				"  - id: inherits",
				"    url: http://a.example/feed",
				"  - id: overrides",
				"    url: https://b.example/feed",
				"    timeout: 1m",
				"    max_body: 1MB",
				"    first_poll: 24h",
				"    allow_private: false",
				"    schedule: auto",
				"    auto_max: 2h",
				"    flood_guard: 25",
				"    max_alerts_per_poll: 50",
			),
			check: func(t *testing.T, c *Config) {
				want := []Feed{
					{ID: "inherits", URL: "http://a.example/feed", Schedule: "@hourly", Timeout: 10 * time.Second,
						MaxBody: 512 << 10, FirstPoll: FirstPoll{Mode: FirstPollAll}, AllowPrivate: true,
						AutoMin: time.Minute, AutoMax: time.Hour, MaxAlertsPerPoll: 1000, FullText: FullTextNever, Reposts: true, Pos: Position{Line: 10, Column: 5}},
					{ID: "overrides", URL: "https://b.example/feed", Schedule: "auto", Timeout: time.Minute,
						MaxBody: 1_000_000, FirstPoll: FirstPoll{Mode: FirstPollWindow, Window: 24 * time.Hour},
						AutoMin: time.Minute, AutoMax: 2 * time.Hour, FloodGuard: 25, MaxAlertsPerPoll: 50, FullText: FullTextNever, Reposts: true, Pos: Position{Line: 12, Column: 5}},
				}
				if !reflect.DeepEqual(c.Feeds, want) {
					t.Errorf("feeds:\ngot  %+v\nwant %+v", c.Feeds, want)
				}
			},
		},
		{
			name: "listeners off and external nats",
			data: yamlLines(
				"nats:",
				"  url: nats://a:4222, tls://b:4222,c:4222",
				"  creds_file: /run/secrets/nats.creds",
				"  embedded: {listen: '', store_dir: /var/lib/nw, sync_always: true}",
				"  subject_prefix: acme.news",
				"  alert_stream: ACME",
				"  duplicate_window: 2h",
				"http:",
				"  listen: ''",
			),
			check: func(t *testing.T, c *Config) {
				want := NATS{
					URL: "nats://a:4222, tls://b:4222,c:4222", CredsFile: "/run/secrets/nats.creds",
					Embedded:      Embedded{Listen: "", StoreDir: "/var/lib/nw", SyncAlways: true},
					SubjectPrefix: "acme.news", AlertStream: "ACME", DuplicateWindow: 2 * time.Hour, AckWait: time.Minute,
					AlertMaxAge: 30 * 24 * time.Hour, AlertMaxBytes: 1 << 30,
				}
				if c.NATS != want {
					t.Errorf("nats: got %+v, want %+v", c.NATS, want)
				}
				if c.HTTP.Listen != "" {
					t.Errorf("http.listen: got %q, want empty", c.HTTP.Listen)
				}
			},
		},
		{
			name: "null values keep defaults",
			data: yamlLines(
				"nats:",
				"  embedded:",
				"    listen:",
				"    store_dir: ''",
				"http:",
				"defaults:",
				"  timeout: ~",
				"feeds:",
				"lists:",
				"rules:",
			),
			check: func(t *testing.T, c *Config) {
				if got, want := c.NATS.Embedded.Listen, DefaultEmbeddedListen; got != want {
					t.Errorf("embedded.listen: got %q, want %q", got, want)
				}
				if got, want := c.NATS.Embedded.StoreDir, DefaultStoreDir; got != want {
					t.Errorf("store_dir: got %q, want %q", got, want)
				}
				if got, want := c.Defaults.Timeout, DefaultTimeout; got != want {
					t.Errorf("timeout: got %v, want %v", got, want)
				}
				if len(c.Feeds) != 0 || len(c.Rules) != 0 {
					t.Errorf("got %d feeds and %d rules, want none", len(c.Feeds), len(c.Rules))
				}
			},
		},
		{
			name: "anchors, aliases, merge keys and tags",
			data: yamlLines(
				"feeds:",
				"  - &base {id: a, url: 'https://x.example/a', timeout: 5s, tags: &t [news]}",
				"  - <<: *base",
				"    id: b",
				"    tags: *t",
				"    max_body: !!str 2048",
				"rules:",
				"  - {id: r, query: !!str 42, feeds: [a, b]}",
			),
			check: func(t *testing.T, c *Config) {
				b := c.Feeds[1]
				if b.ID != "b" || b.URL != "https://x.example/a" || b.Timeout != 5*time.Second ||
					b.MaxBody != 2048 || !reflect.DeepEqual(b.Tags, []string{"news"}) {
					t.Errorf("merged feed: got %+v, want id b, url and timeout of a, max_body 2048, tags [news]", b)
				}
				if got := c.Rules[0].Query; got != "42" {
					t.Errorf("query: got %q, want %q", got, "42")
				}
			},
		},
		{
			name: "empty file",
			data: nil,
			check: func(t *testing.T, c *Config) {
				if c.HTTP.Listen != DefaultHTTPListen || len(c.Feeds) != 0 {
					t.Errorf("got %+v, want defaults and no feeds", c)
				}
			},
		},
		{
			name: "block scalar query and comments only lists",
			data: yamlLines(
				"# a comment",
				"rules:",
				"  - id: multi",
				"    query: |",
				"      kursk",
				"      OR курск",
			),
			check: func(t *testing.T, c *Config) {
				if got, want := c.Rules[0].Query, "kursk\nOR курск\n"; got != want {
					t.Errorf("query: got %q, want %q", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.data))
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStoreDirFromStateDirectory(t *testing.T) {
	tests := []struct {
		name, env, file, want string
	}{
		{name: "systemd state directory", env: "/var/lib/newswatch", want: "/var/lib/newswatch/nats"},
		{name: "first of several", env: "/var/lib/a:/var/lib/b", want: "/var/lib/a/nats"},
		{name: "unset", env: "", want: "./newswatch-data/nats"},
		{name: "explicit wins", env: "/var/lib/newswatch", file: "nats: {embedded: {store_dir: /data}}", want: "/data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("STATE_DIRECTORY", tt.env)
			if tt.env == "" {
				os.Unsetenv("STATE_DIRECTORY")
			}
			cfg := mustParse(t, []byte(tt.file))
			if got := cfg.NATS.Embedded.StoreDir; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "newswatch.yaml")
	if err := os.WriteFile(path, []byte("http: {listen: ':8080'}\nfeedz: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %T %v, want Errors", err, err)
	}
	if got, want := err.Error(), path+`:2:1: unknown key "feedz"; did you mean "feeds"?`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var one *Error
	if !errors.As(err, &one) || one.Line != 2 {
		t.Errorf("errors.As *Error: got %+v, want the error at line 2", one)
	}

	if err := os.WriteFile(path, []byte("http: {listen: ':8080'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.File != path || cfg.HTTP.Listen != ":8080" {
		t.Errorf("got file %q listen %q, want %q and :8080", cfg.File, cfg.HTTP.Listen, path)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

// TestMergeChainIsLinear guards against "billion laughs": each level merges
// the previous one twice, which would cost 2^40 steps if merges were
// expanded rather than visited once.
func TestMergeChainIsLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("feeds:\n  - &m0 {id: a, url: 'https://a.example'}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - &m%d {<<: [*m%d, *m%d], id: f%d}\n", i, i-1, i-1, i)
	}
	cfg := mustParse(t, []byte(b.String()))
	if got, want := len(cfg.Feeds), 41; got != want {
		t.Fatalf("got %d feeds, want %d", got, want)
	}
	if got, want := cfg.Feeds[40].URL, "https://a.example"; got != want {
		t.Errorf("merged url: got %q, want %q", got, want)
	}
}
