package notifier_test

import (
	"errors"
	"strings"
	"testing"

	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestOpenRefusesServerWithoutJetStream(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	srv := natstest.RunServer(&opts) // no JetStream
	t.Cleanup(srv.Shutdown)
	cfg := notifiertest.Config(t)
	cfg.URL, cfg.Embedded = srv.ClientURL(), notifier.EmbeddedConfig{}
	_, err := notifier.Open(testContext(t), cfg, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "start nats-server with -js") {
		t.Fatalf("Open against a server without JetStream: %v, want an error that says to enable it", err)
	}
}

func TestReplicasChosenByTheServer(t *testing.T) {
	// A standalone server is no cluster: every stream and the bucket get one replica.
	srv := notifiertest.RunServer(t, -1, t.TempDir())
	cfg := notifiertest.Config(t)
	cfg.URL, cfg.Embedded, cfg.Replicas = srv.ClientURL(), notifier.EmbeddedConfig{}, 0
	n := notifiertest.Open(t, cfg)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"NEWSWATCH_ALERTS", "NEWSWATCH_POLLS", "KV_newswatch_feeds"} {
		s, err := js.Stream(testContext(t), name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if r := s.CachedInfo().Config.Replicas; r != 1 {
			t.Errorf("stream %s: %d replicas, want 1 on a standalone server", name, r)
		}
	}
}

func TestConfigRefusesReplicasAndTLSWithTheEmbeddedServer(t *testing.T) {
	for name, change := range map[string]func(*notifier.Config){
		"replicas": func(c *notifier.Config) { c.Replicas = 3 },
		"tls":      func(c *notifier.Config) { c.TLS.CAFile = "ca.pem" },
	} {
		cfg := notifiertest.Config(t)
		change(&cfg)
		if _, err := notifier.Open(testContext(t), cfg, zaptest.NewLogger(t)); !errors.Is(err, notifier.ErrInvalidConfig) {
			t.Errorf("%s with the embedded server: %v, want ErrInvalidConfig", name, err)
		}
	}
}
