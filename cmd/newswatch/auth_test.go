package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
)

// authTimeout bounds every wait of these tests.
const authTimeout = 60 * time.Second

// roleConn is a connection as one role, which collects the permission violations the server
// reports to it.
type roleConn struct {
	*nats.Conn
	js         jetstream.JetStream
	violations chan string
}

func connectAs(t *testing.T, url string, role notifier.Role) *roleConn {
	t.Helper()
	rc := &roleConn{violations: make(chan string, 64)}
	nc, err := nats.Connect(url, nats.UserCredentials(credsFor(url, role)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				select {
				case rc.violations <- err.Error():
				default:
				}
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	rc.Conn = nc
	if rc.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return rc
}

// refused requires the server to report a permission violation on subject, which op attempted.
// op's own result is not looked at: a refused request times out on its own schedule.
func (rc *roleConn) refused(t *testing.T, subject string, op func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	op(ctx)
	deadline := time.After(authTimeout)
	for {
		select {
		case v := <-rc.violations:
			if strings.Contains(v, `"`+subject+`"`) {
				return
			}
		case <-deadline:
			t.Fatalf("no permission violation reported for %s", subject)
		}
	}
}

// TestEmbeddedServerAuth runs the daemon and attacks its embedded server as a local client
// would: without credentials it is refused; as a subscriber it may read alerts and keep its own
// consumers, but not publish an alert, purge or delete a stream, or write the feed state or the
// Slack bridge's ledger; as the bridge it may not write feed state, publish alerts or poll jobs.
// The credentials files are private to the daemon's user.
func TestEmbeddedServerAuth(t *testing.T) {
	feed := newFeedServer(t, feedItem{GUID: "old-1", Title: "Markets close higher", Description: "Stocks rose."})
	dir := t.TempDir()
	config, url := testConfig(t, dir, []map[string]any{{"id": "world", "url": feed.URL}})
	d := startDaemon(t, config)
	admin := connect(t, url)
	waitForState(t, admin, "world")

	credsDir := notifier.CredentialsDir(filepath.Join(dir, "nats"))
	if !strings.Contains(d.output(), credsDir) {
		t.Errorf("the daemon's log does not say where the credentials are (%s)", credsDir)
	}
	modes := map[string]os.FileMode{credsDir: 0o700 | os.ModeDir, filepath.Join(credsDir, "account.nk"): 0o600}
	for _, role := range notifier.Roles {
		modes[credsFor(url, role)] = 0o600
	}
	for path, want := range modes {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}

	// Alerts to read: a new item about the troops.
	feed.add(feedItem{GUID: "new-1", Title: "North Korean troops near Kursk", Description: "Soldiers from North Korea were seen in the Kursk region."})
	adminJS, err := jetstream.New(admin)
	if err != nil {
		t.Fatal(err)
	}
	alertCount := func(t *testing.T) uint64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
		defer cancel()
		s, err := adminJS.Stream(ctx, "NEWSWATCH_ALERTS")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	waitFor(t, authTimeout, "the new item's alerts", func() bool { return alertCount(t) >= 1 })

	t.Run("anonymous", func(t *testing.T) {
		nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
		if err == nil {
			nc.Close()
			t.Fatal("a client without credentials was let in")
		}
		if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("connect without credentials: got %v, want an authorization violation", err)
		}
	})

	t.Run("subscriber", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
		defer cancel()
		sub := connectAs(t, url, notifier.RoleSubscriber)
		// May: read the alerts, with a core subscription, an ordered consumer and a durable one.
		if _, err := sub.SubscribeSync("newswatch.alert.>"); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.SubscribeSync("newswatch.feed.>"); err != nil {
			t.Fatal(err)
		}
		oc, err := sub.js.OrderedConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			t.Fatalf("ordered consumer: %v", err)
		}
		if m, err := oc.Next(jetstream.FetchMaxWait(authTimeout)); err != nil {
			t.Fatalf("ordered consumer: %v", err)
		} else if !strings.HasPrefix(m.Subject(), "newswatch.alert.") {
			t.Errorf("ordered consumer: got %s", m.Subject())
		}
		dc, err := sub.js.CreateOrUpdateConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.ConsumerConfig{Durable: "my_reader", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			t.Fatalf("durable consumer: %v", err)
		}
		m, err := dc.Next(jetstream.FetchMaxWait(authTimeout))
		if err != nil {
			t.Fatalf("durable consumer: %v", err)
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}

		// May not.
		before := alertCount(t)
		sub.refused(t, "newswatch.alert.kursk.world", func(context.Context) {
			_ = sub.Publish("newswatch.alert.kursk.world", []byte(`{"forged":true}`))
			_ = sub.Flush()
		})
		sub.refused(t, "$JS.API.STREAM.PURGE.NEWSWATCH_ALERTS", func(ctx context.Context) {
			s, _ := sub.js.Stream(ctx, "NEWSWATCH_ALERTS")
			if s != nil {
				_ = s.Purge(ctx)
			}
		})
		sub.refused(t, "$JS.API.STREAM.DELETE.NEWSWATCH_ALERTS", func(ctx context.Context) { _ = sub.js.DeleteStream(ctx, "NEWSWATCH_ALERTS") })
		sub.refused(t, "$JS.API.STREAM.DELETE.KV_newswatch_feeds", func(ctx context.Context) { _ = sub.js.DeleteKeyValue(ctx, "newswatch_feeds") })
		sub.refused(t, "$KV.newswatch_feeds.world", func(context.Context) {
			_ = sub.Publish("$KV.newswatch_feeds.world", []byte(`{"gone":"permanent"}`))
			_ = sub.Flush()
		})
		sub.refused(t, "$KV.newswatch_slack_posted.x", func(context.Context) {
			_ = sub.Publish("$KV.newswatch_slack_posted.x", []byte(`{"state":"posted"}`))
			_ = sub.Flush()
		})
		sub.refused(t, "newswatch.poll.world", func(context.Context) {
			_ = sub.Publish("newswatch.poll.world", []byte(`2100-01-01T00:00:00Z`))
			_ = sub.Flush()
		})
		// The bridge's consumer is not for subscribers to take alerts from or to remove.
		sub.refused(t, "$JS.API.CONSUMER.DELETE.NEWSWATCH_ALERTS.newswatch_slack", func(ctx context.Context) {
			_ = sub.js.DeleteConsumer(ctx, "NEWSWATCH_ALERTS", "newswatch_slack")
		})
		// Nor to rewrite through the create request that names the consumer only in its body.
		sub.refused(t, "$JS.API.CONSUMER.CREATE.NEWSWATCH_ALERTS", func(context.Context) {
			_ = sub.Publish("$JS.API.CONSUMER.CREATE.NEWSWATCH_ALERTS", []byte(`{"stream_name":"NEWSWATCH_ALERTS",`+
				`"config":{"name":"newswatch_slack","durable_name":"newswatch_slack","filter_subject":"nothing.at.all","ack_policy":"explicit"}}`))
			_ = sub.Flush()
		})
		sub.refused(t, "newswatch.poll.>", func(context.Context) {
			_, _ = sub.SubscribeSync("newswatch.poll.>")
			_ = sub.Flush()
		})
		if got := alertCount(t); got != before {
			t.Errorf("alert stream: %d messages after the attacks, want %d", got, before)
		}
	})

	t.Run("bridge", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
		defer cancel()
		br := connectAs(t, url, notifier.RoleBridge)
		before := alertCount(t)
		br.refused(t, "newswatch.alert.kursk.world", func(context.Context) {
			_ = br.Publish("newswatch.alert.kursk.world", []byte(`{"forged":true}`))
			_ = br.Flush()
		})
		br.refused(t, "newswatch.poll.world", func(context.Context) {
			_ = br.Publish("newswatch.poll.world", []byte(`2100-01-01T00:00:00Z`))
			_ = br.Flush()
		})
		br.refused(t, "$KV.newswatch_feeds.world", func(context.Context) {
			_ = br.Publish("$KV.newswatch_feeds.world", []byte(`{"gone":"permanent"}`))
			_ = br.Flush()
		})
		br.refused(t, "$JS.API.STREAM.PURGE.NEWSWATCH_ALERTS", func(ctx context.Context) {
			s, _ := br.js.Stream(ctx, "NEWSWATCH_ALERTS")
			if s != nil {
				_ = s.Purge(ctx)
			}
		})
		br.refused(t, "$JS.API.STREAM.DELETE.KV_newswatch_feeds", func(ctx context.Context) { _ = br.js.DeleteKeyValue(ctx, "newswatch_feeds") })
		if got := alertCount(t); got != before {
			t.Errorf("alert stream: %d messages after the attacks, want %d", got, before)
		}
		// May: its own ledger bucket.
		kv, err := br.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "newswatch_slack_posted", History: 1, TTL: time.Hour})
		if err != nil {
			t.Fatalf("ledger bucket: %v", err)
		}
		if _, err := kv.Put(ctx, "e1.c1", []byte(`{"state":"posted"}`)); err != nil {
			t.Fatalf("ledger put: %v", err)
		}
		if _, err := kv.Get(ctx, "e1.c1"); err != nil {
			t.Fatalf("ledger get: %v", err)
		}
	})

	// The daemon polls on, its state unchanged by the attacks.
	n := feed.count()
	waitFor(t, authTimeout, "two more polls", func() bool { return feed.count() >= n+2 })
	d.stop(t, authTimeout)
}

// TestNonLoopbackListenRefused: a listener beyond loopback without TLS stops the daemon at start
// with an error that names the key, unless allow_insecure says so; it is logged at warn level.
func TestNonLoopbackListenRefused(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfigMap(t, dir, nil)
	cfg["feeds"] = []map[string]any{{"id": "world", "url": "http://127.0.0.1:1/feed"}}
	emb := cfg["nats"].(map[string]any)["embedded"].(map[string]any)
	emb["listen"] = "0.0.0.0:0"
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	out, err := exec.Command(binary, "run", "-c", path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("run with listen 0.0.0.0: got %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "nats.embedded.listen") || !strings.Contains(string(out), "allow_insecure") {
		t.Errorf("the error does not name nats.embedded.listen and allow_insecure:\n%s", out)
	}

	emb["allow_insecure"] = true
	writeConfig(t, path, cfg)
	d := startDaemon(t, path)
	waitFor(t, authTimeout, "the warning of an insecure listener", func() bool {
		return strings.Contains(d.output(), `"level":"warn"`) && strings.Contains(d.output(), "beyond loopback without TLS")
	})
	waitFor(t, authTimeout, "the daemon running", func() bool { return strings.Contains(d.output(), `"msg":"running"`) })
	d.stop(t, authTimeout)
}
