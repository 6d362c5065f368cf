package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestOpenValidatesConfig(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "missing.creds")
	tests := []struct {
		name   string
		mutate func(*notifier.Config)
		field  string
	}{
		{"no prefix", func(c *notifier.Config) { c.SubjectPrefix = "" }, "SubjectPrefix"},
		{"prefix with wildcard", func(c *notifier.Config) { c.SubjectPrefix = "news.*" }, "SubjectPrefix"},
		{"prefix with empty token", func(c *notifier.Config) { c.SubjectPrefix = "news..x" }, "SubjectPrefix"},
		{"no alert stream", func(c *notifier.Config) { c.AlertStream = "" }, "AlertStream"},
		{"alert stream with dot", func(c *notifier.Config) { c.AlertStream = "A.B" }, "AlertStream"},
		{"no duplicate window", func(c *notifier.Config) { c.DuplicateWindow = 0 }, "DuplicateWindow"},
		{"max age below window", func(c *notifier.Config) { c.AlertMaxAge = time.Minute }, "AlertMaxAge"},
		{"too many replicas", func(c *notifier.Config) { c.Replicas = 7 }, "Replicas"},
		{"no store dir", func(c *notifier.Config) { c.Embedded.StoreDir = "" }, "Embedded.StoreDir"},
		{"listen without port", func(c *notifier.Config) { c.Embedded.Listen = "127.0.0.1" }, "Embedded.Listen"},
		{"listen port out of range", func(c *notifier.Config) { c.Embedded.Listen = "127.0.0.1:70000" }, "Embedded.Listen"},
		{"creds with embedded server", func(c *notifier.Config) { c.CredsFile = creds }, "CredsFile"},
		{"missing creds file", func(c *notifier.Config) { c.URL = "nats://127.0.0.1:1"; c.CredsFile = creds }, "CredsFile"},
		{"short ack wait", func(c *notifier.Config) { c.Jobs.AckWait = time.Millisecond }, "Jobs.AckWait"},
		{"negative retry delay", func(c *notifier.Config) { c.Jobs.RetryDelay = -time.Second }, "Jobs.RetryDelay"},
		{"negative max deliver", func(c *notifier.Config) { c.Jobs.MaxDeliver = -1 }, "Jobs.MaxDeliver"},
		{"job max age below window", func(c *notifier.Config) { c.Jobs.MaxAge = time.Minute }, "Jobs.MaxAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := notifiertest.Config(t)
			tt.mutate(&cfg)
			n, err := notifier.Open(testContext(t), cfg, testLogger(t))
			if err == nil {
				_ = n.Close(context.Background())
				t.Fatalf("Open: got nil error, want one naming %s", tt.field)
			}
			if !errors.Is(err, notifier.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("Open: got %v, want ErrInvalidConfig naming %s", err, tt.field)
			}
		})
	}
	if _, err := notifier.Open(testContext(t), notifiertest.Config(t), nil); !errors.Is(err, notifier.ErrInvalidConfig) {
		t.Errorf("Open with a nil logger: got %v, want ErrInvalidConfig", err)
	}
}

func TestClientURLReportsRealPort(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	host, port, err := net.SplitHostPort(strings.TrimPrefix(n.ClientURL(), "nats://"))
	if err != nil || host != "127.0.0.1" || port == "0" || port == "4222" {
		t.Fatalf("ClientURL: got %q, want nats://127.0.0.1:<port chosen by the kernel>", n.ClientURL())
	}
	nc, err := nats.Connect(n.ClientURL(), nats.UserCredentials(notifiertest.Creds(t, cfg, notifier.RoleSubscriber)))
	if err != nil {
		t.Fatalf("connect to %s: %v", n.ClientURL(), err)
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		t.Errorf("flush over %s: %v", n.ClientURL(), err)
	}
}

func TestWildcardListenReportsLoopback(t *testing.T) {
	cfg := notifiertest.Config(t)
	cfg.Embedded.Listen = "0.0.0.0:0"
	cfg.Embedded.AllowInsecure = true
	n := notifiertest.Open(t, cfg)
	if !strings.HasPrefix(n.ClientURL(), "nats://127.0.0.1:") {
		t.Errorf("ClientURL: got %q, want a loopback URL", n.ClientURL())
	}
}

func TestInProcessServer(t *testing.T) {
	cfg := notifiertest.Config(t)
	cfg.Embedded.Listen = ""
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	if got := n.ClientURL(); got != "" {
		t.Errorf("ClientURL: got %q, want \"\" without a listener", got)
	}
	if err := n.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 1 {
		t.Errorf("stream holds %d alerts, want 1", got)
	}
	if _, err := n.State().Save(ctx, "world", []byte("s"), 0); err != nil {
		t.Errorf("Save: %v", err)
	}
}

func TestDerivedNames(t *testing.T) {
	cfg := notifiertest.Config(t)
	cfg.SubjectPrefix = "acme.news"
	cfg.AlertStream = "ACME_ALERTS"
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := n.Jobs().Enqueue(ctx, "world", slot0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if got := streamMsgs(t, n, "ACME_ALERTS"); got != 1 {
		t.Errorf("ACME_ALERTS holds %d alerts, want 1", got)
	}
	if got := streamMsgs(t, n, "ACME_NEWS_POLLS"); got != 1 {
		t.Errorf("ACME_NEWS_POLLS holds %d jobs, want 1", got)
	}
	if _, err := n.State().Save(ctx, "world", []byte("s"), 0); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if got := streamMsgs(t, n, "KV_acme_news_feeds"); got != 1 {
		t.Errorf("KV_acme_news_feeds holds %d entries, want 1", got)
	}
}

func TestCloseIsIdempotentAndLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := notifiertest.Config(t)
	n, err := notifier.Open(testContext(t), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := testContext(t)
	if err := n.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := n.Jobs().Enqueue(ctx, "world", slot0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- n.Jobs().Consume(cctx, 2, func(context.Context, string, time.Time) error { return nil })
	}()
	waitFor(t, "job consumed", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Consume: %v", err)
	}
	for i := range 3 {
		if err := n.Close(ctx); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	if !n.Conn().IsClosed() {
		t.Errorf("connection still open after Close")
	}
	if err := n.Ready(ctx); err == nil {
		t.Errorf("Ready after Close: got nil, want an error")
	}
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err == nil {
		t.Errorf("Publish after Close: got nil, want an error")
	}
}

func TestOpenFailsWhenListenPortIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	cfg := notifiertest.Config(t)
	cfg.Embedded.Listen = l.Addr().String()
	cfg.Embedded.ReadyTimeout = 2 * time.Second
	n, err := notifier.Open(testContext(t), cfg, zap.NewNop())
	if err == nil {
		_ = n.Close(context.Background())
		t.Fatalf("Open on a taken port: got nil error, want one")
	}
	t.Logf("Open on a taken port: %v", err)
	if !strings.Contains(err.Error(), "listen") {
		t.Errorf("Open on a taken port: got %v, want the listen failure", err)
	}
}

func TestOpenGivesUpWithItsContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg := notifiertest.Config(t)
	cfg.URL = "nats://" + addr
	cfg.Embedded = notifier.EmbeddedConfig{}
	ctx, cancel := context.WithTimeout(testContext(t), time.Second)
	defer cancel()
	n, err := notifier.Open(ctx, cfg, zap.NewNop())
	if err == nil {
		_ = n.Close(context.Background())
		t.Fatalf("Open without a server: got nil error, want one")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open without a server: got %v, want context.DeadlineExceeded", err)
	}
}

// TestCredentialsNeverLogged opens an external server through a URL with a user and password,
// restarts nothing, and checks that no log line carries the password.
func TestCredentialsNeverLogged(t *testing.T) {
	srv := notifiertest.RunServer(t, -1, t.TempDir())
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := notifiertest.Config(t)
	u := strings.Replace(srv.ClientURL(), "nats://", "nats://alice:hunter2-secret@", 1)
	cfg.URL = u + ", nats://tok-secret@127.0.0.1:1"
	cfg.Embedded = notifier.EmbeddedConfig{}
	n, err := notifier.Open(testContext(t), cfg, zap.New(core))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := n.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if logs.Len() == 0 {
		t.Fatalf("no log lines recorded; the test would prove nothing")
	}
	urlLogged := false
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		if strings.Contains(line, "secret") {
			t.Errorf("log line leaks a secret: %s", line)
		}
		urlLogged = urlLogged || strings.Contains(line, "nats://redacted@127.0.0.1:1")
	}
	if !urlLogged {
		t.Errorf("no log line names the server URL with its user information redacted")
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "newswatch-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	n, err := notifier.Open(ctx, notifier.Config{
		Embedded:        notifier.EmbeddedConfig{StoreDir: dir}, // in-process only
		SubjectPrefix:   "newswatch",
		AlertStream:     "NEWSWATCH_ALERTS",
		DuplicateWindow: 30 * time.Minute,
	}, zap.NewNop())
	if err != nil {
		panic(err)
	}
	defer n.Close(ctx)

	alert := event.Alert{
		RuleID: "kursk", FeedID: "world", FeedURL: "https://example.org/rss.xml",
		Item: event.Item{Key: "urn:1", Title: "Fighting near Kursk"},
		Hits: []event.Hit{{Field: "title", Start: 17, End: 22, Text: "Kursk"}},
		Time: time.Now(),
	}
	// Publishing twice is harmless: the second copy is de-duplicated by its event id.
	for range 2 {
		if err := n.Alerts().Publish(ctx, []event.Alert{alert}); err != nil {
			panic(err)
		}
	}
	fmt.Println(notifier.AlertSubject("newswatch", alert.RuleID, alert.FeedID))
	// Output: newswatch.alert.kursk.world
}

func ExampleEventID() {
	// The same (rule, feed, item key) always yields the same id: JetStream de-duplicates on it.
	fmt.Println(notifier.EventID("kursk", "world", "urn:example:item:1"))
	// Output: 081b854d0e347ebb1761c102d07177c9
}

func TestOpenFailsOnUnusableStoreDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatalf("write: %v", err)
	}
	cfg := notifiertest.Config(t)
	cfg.Embedded.StoreDir = file
	n, err := notifier.Open(testContext(t), cfg, zap.NewNop())
	if err == nil {
		_ = n.Close(context.Background())
		t.Fatalf("Open with a file as store dir: got nil error, want one")
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("Open with a file as store dir: got %v, want a failure that names it", err)
	}
}
