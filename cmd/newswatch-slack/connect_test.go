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
// what happened rather than a deadline.
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
	b := startBridge(t, []string{"NATS_URL=" + url}, "run", "--token-file", token, "--default-channel", "#x", "--http-listen", "")
	want := "cannot connect to " + url + ": connection refused; retrying"
	waitFor(t, "the log line "+want, func() bool { return strings.Contains(b.log.String(), want) })
	b.stop(t)
	if n := strings.Count(b.log.String(), want); n != 1 {
		t.Errorf("logged %q %d times, want once while its cause stays the same", want, n)
	}
}
