package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBridgeSaysWhyNATSIsUnreachable starts the bridge against a port where nothing listens,
// naming the server through NATS_URL as the nats CLI does: it keeps trying, and its log says
// what happened rather than a deadline, the setup attempts' timeouts being at debug level.
func TestBridgeSaysWhyNATSIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBridge(t, []string{"NATS_URL=" + url}, "run", "--log-level", "debug", "--token-file", token, "--default-channel", "#x", "--http-listen", "")
	want := "cannot connect to " + url + ": connection refused; retrying"
	// A first attempt to set up the consumer has timed out, at debug level only.
	setup := "cannot set up the Slack bridge while NATS is not connected"
	waitFor(t, "the log lines "+want+" and "+setup, func() bool {
		return strings.Contains(b.log.String(), want) && strings.Contains(b.log.String(), setup)
	})
	b.stop(t)
	if n := strings.Count(b.log.String(), want); n != 1 {
		t.Errorf("logged %q %d times, want once while its cause stays the same", want, n)
	}
	for line := range strings.Lines(b.log.String()) {
		if strings.Contains(line, "deadline") && !strings.Contains(line, `"level":"debug"`) {
			t.Errorf("log speaks of a deadline above debug level: %s", line)
		}
	}
}
