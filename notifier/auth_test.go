package notifier_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestCredentialsPersist: a restart reuses every credentials file as it is, and a deleted one is
// made again, with the account's data still there.
func TestCredentialsPersist(t *testing.T) {
	cfg := notifiertest.Config(t)
	ctx := testContext(t)
	open := func() *notifier.Notifier {
		n, err := notifier.Open(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return n
	}
	n := open()
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatal(err)
	}
	files := map[notifier.Role][]byte{}
	for _, role := range notifier.Roles {
		b, err := os.ReadFile(notifier.CredsFile(cfg.Embedded.StoreDir, role))
		if err != nil {
			t.Fatal(err)
		}
		files[role] = b
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(notifier.CredsFile(cfg.Embedded.StoreDir, notifier.RoleBridge)); err != nil {
		t.Fatal(err)
	}
	n = open()
	defer n.Close(context.Background())
	for _, role := range notifier.Roles {
		b, err := os.ReadFile(notifier.CredsFile(cfg.Embedded.StoreDir, role))
		if err != nil {
			t.Fatal(err)
		}
		if same := string(b) == string(files[role]); same != (role != notifier.RoleBridge) {
			t.Errorf("%s.creds after a restart: unchanged %v, want %v", role, same, role != notifier.RoleBridge)
		}
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 1 {
		t.Errorf("alerts after the restart: %d, want 1", got)
	}
	// The new bridge file works.
	nc := notifiertest.Connect(t, n, notifier.RoleBridge)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, "NEWSWATCH_ALERTS"); err != nil {
		t.Errorf("the bridge's new credentials: stream info: %v", err)
	}
}

// TestStoreOfServerWithoutAuth: the streams a server without authentication kept (in its
// global account) are there when it starts with credentials.
func TestStoreOfServerWithoutAuth(t *testing.T) {
	cfg := notifiertest.Config(t)
	ctx := testContext(t)
	srv := notifiertest.RunServer(t, -1, cfg.Embedded.StoreDir)
	old := cfg
	old.URL, old.Embedded = srv.ClientURL(), notifier.EmbeddedConfig{}
	n, err := notifier.Open(ctx, old, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()

	n = notifiertest.Open(t, cfg)
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 1 {
		t.Errorf("alerts once credentials are on: %d, want the 1 stored before", got)
	}
}

// TestAuthorizationBlock runs a nats-server with the README's authorization block: the daemon
// does its work as newswatch-daemon, the bridge and the subscriber only theirs.
func TestAuthorizationBlock(t *testing.T) {
	cfg := notifiertest.Config(t)
	block, err := notifier.AuthorizationBlock(cfg)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), block) {
		t.Errorf("README.md does not hold the authorization block:\n%s", block)
	}
	for _, role := range notifier.Roles {
		t.Setenv("NEWSWATCH_"+strings.ToUpper(string(role))+"_PASS", "pw-"+string(role))
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	text := fmt.Sprintf("listen: \"127.0.0.1:-1\"\njetstream { store_dir: %q }\n%s", filepath.Join(dir, "js"), block)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("the authorization block does not load: %v\n%s", err, text)
	}
	opts.NoLog, opts.NoSigs = true, true
	srv := natstest.RunServer(opts)
	t.Cleanup(srv.Shutdown)
	port := srv.Addr().(*net.TCPAddr).Port
	url := func(role notifier.Role) string {
		return fmt.Sprintf("nats://newswatch-%s:pw-%s@127.0.0.1:%d", role, role, port)
	}

	ctx := testContext(t)
	cfg.URL, cfg.Embedded = url(notifier.RoleDaemon), notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatalf("the daemon publishes an alert: %v", err)
	}
	if err := n.Health().Publish(ctx, notifier.FeedHealth{FeedID: "world", FeedURL: "https://example.org/rss", Status: notifier.FeedError, Error: "gone", ErrorClass: "gone", Time: time.Now()}); err != nil {
		t.Fatalf("the daemon publishes health: %v", err)
	}
	rev, err := n.State().Save(ctx, "world", []byte(`{}`), 0)
	if err != nil {
		t.Fatalf("the daemon saves state: %v", err)
	}
	if _, got, err := n.State().Load(ctx, "world"); err != nil || got != rev {
		t.Fatalf("the daemon loads state: revision %d, %v; want %d", got, err, rev)
	}
	if err := n.Jobs().Enqueue(ctx, "world", time.Now().Truncate(time.Minute)); err != nil {
		t.Fatalf("the daemon enqueues a job: %v", err)
	}
	handled := make(chan string, 1)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- n.Jobs().Consume(cctx, 1, func(_ context.Context, feed string, _ time.Time) error {
			select {
			case handled <- feed:
			default:
			}
			return nil
		})
	}()
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatal("the daemon's job was not handled")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Consume: %v", err)
	}

	// The subscriber reads alerts, and may not publish one.
	sub, err := nats.Connect(url(notifier.RoleSubscriber))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sjs, _ := jetstream.New(sub)
	oc, err := sjs.OrderedConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("subscriber: ordered consumer: %v", err)
	}
	if _, err := oc.Next(jetstream.FetchMaxWait(waitTimeout)); err != nil {
		t.Fatalf("subscriber: read an alert: %v", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	if _, err := sjs.Publish(pctx, "newswatch.alert.x.world", []byte("{}")); err == nil {
		t.Error("subscriber: published an alert")
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 1 {
		t.Errorf("alerts: %d, want 1", got)
	}

	// The bridge makes its bucket and its dead-letter stream, and may not publish an alert.
	br, err := nats.Connect(url(notifier.RoleBridge))
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	bjs, _ := jetstream.New(br)
	if _, err := bjs.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "newswatch_slack_posted"}); err != nil {
		t.Errorf("bridge: ledger bucket: %v", err)
	}
	if _, err := bjs.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "NEWSWATCH_SLACK_DEAD", Subjects: []string{"newswatch.slack.dead.>"}}); err != nil {
		t.Errorf("bridge: dead-letter stream: %v", err)
	}
	if _, err := bjs.Publish(ctx, "newswatch.slack.dead.x.world", []byte("{}")); err != nil {
		t.Errorf("bridge: dead letter: %v", err)
	}
	pctx2, pcancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel2()
	if _, err := bjs.Publish(pctx2, "newswatch.alert.x.world", []byte("{}")); err == nil {
		t.Error("bridge: published an alert")
	}
}
