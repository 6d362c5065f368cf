package notifier_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// closedPort is a loopback port that the kernel handed out and that nothing listens on now.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestConnectSaysWhatHappened connects to a port where nothing listens and to a host that does
// not resolve: each fails at once with the dial error, not "no servers available" nor a
// deadline; and Tail fails the same way.
func TestConnectSaysWhatHappened(t *testing.T) {
	url := fmt.Sprintf("nats://127.0.0.1:%d", closedPort(t))
	start := time.Now()
	_, err := notifier.Connect(url)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Connect took %s to fail, want it at once", took)
	}
	want := "cannot connect to " + url + ": connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if ce, ok := errors.AsType[*notifier.ConnectError](err); !ok || ce.URL != url {
		t.Errorf("got %#v, want a *ConnectError for %s", err, url)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("got %v, want it to wrap ECONNREFUSED", err)
	}

	_, err = notifier.Connect("nats://nats.invalid:4222")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot connect to nats://nats.invalid:4222: lookup nats.invalid") {
		t.Errorf("unknown host: got %v, want cannot connect ... lookup nats.invalid", err)
	}

	err = notifier.Tail(testContext(t), notifier.TailConfig{URL: url, SubjectPrefix: "newswatch", AlertStream: "NEWSWATCH_ALERTS"},
		testLogger(t), func(notifier.TailedAlert) error { return nil })
	if err == nil || err.Error() != want {
		t.Errorf("Tail: got %v, want %q", err, want)
	}
}

// TestConnectWithCredentials connects to a server that requires credentials: with them it
// connects; without, the error says the server refused them.
func TestConnectWithCredentials(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	nc, err := notifier.Connect(n.ClientURL(), nats.UserCredentials(notifiertest.Creds(t, cfg, notifier.RoleSubscriber)))
	if err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	nc.Close()
	_, err = notifier.Connect(n.ClientURL())
	if err == nil || !strings.HasPrefix(err.Error(), "cannot connect to "+n.ClientURL()+": ") || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("without credentials: got %v, want cannot connect ...: authorization violation", err)
	}
}
