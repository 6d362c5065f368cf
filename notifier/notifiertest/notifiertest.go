// Package notifiertest gives tests a real NATS: newswatch's embedded server through notifier.Open,
// or a standalone JetStream server, each on a random loopback port and stopped when the test ends.
package notifiertest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/newswatch/newswatch/notifier"
)

// Timeout bounds opening and closing.
const Timeout = 20 * time.Second

// Config is a valid configuration for an embedded server on a random loopback port, with its
// store in a directory of the test.
func Config(t testing.TB) notifier.Config {
	t.Helper()
	return notifier.Config{
		Embedded:        notifier.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()},
		SubjectPrefix:   "newswatch",
		AlertStream:     "NEWSWATCH_ALERTS",
		DuplicateWindow: 30 * time.Minute,
		Name:            "newswatch-test",
	}
}

// Open opens cfg, failing the test if it cannot, and closes the notifier when the test ends.
func Open(t testing.TB, cfg notifier.Config) *notifier.Notifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	n, err := notifier.Open(ctx, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatalf("notifier.Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("notifier Close: %v", err)
		}
	})
	return n
}

// RunServer runs a standalone JetStream server on port (-1: one the kernel picks) with its store
// in dir, shut down when the test ends (shutting it down earlier is fine).
func RunServer(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	opts := natstest.DefaultTestOptions
	opts.Port = port
	opts.JetStream = true
	opts.StoreDir = dir
	s := natstest.RunServer(&opts)
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Creds is the credentials file of role that the embedded server of cfg wrote when it started.
func Creds(t testing.TB, cfg notifier.Config, role notifier.Role) string {
	t.Helper()
	return notifier.CredsFile(cfg.Embedded.StoreDir, role)
}

// Connect connects to the embedded server of n as role; the connection is closed when the test
// ends.
func Connect(t testing.TB, n *notifier.Notifier, role notifier.Role) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.ClientURL(), nats.UserCredentials(n.CredsFile(role)))
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", n.ClientURL(), role, err)
	}
	t.Cleanup(nc.Close)
	return nc
}
