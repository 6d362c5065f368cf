package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// tailServer is an embedded NATS server holding three alerts, and the subscriber's credentials.
func tailServer(t *testing.T) (url, creds string) {
	t.Helper()
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	var alerts []event.Alert
	for i := range 3 {
		alerts = append(alerts, event.Alert{RuleID: "kursk", FeedID: "world", FeedURL: "https://example.org/rss.xml",
			Item: event.Item{Key: fmt.Sprintf("item-%d", i), Title: fmt.Sprintf("Kursk %d", i)},
			Time: time.Now()})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.Alerts().Publish(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	return n.ClientURL(), notifiertest.Creds(t, cfg, notifier.RoleSubscriber)
}

// runTail runs the built `newswatch tail` with args and env added, bounded by a minute.
func runTail(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"tail"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("tail %v did not exit within a minute; stderr: %s", args, errOut.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

// TestTailCountTimeout: --count N exits 0 after N alerts; --timeout D exits 0 after D, or 1
// when --count alerts did not come within it; the server comes from NATS_URL and the
// credentials from NATS_CREDS, as with the nats CLI.
func TestTailCountTimeout(t *testing.T) {
	url, creds := tailServer(t)
	env := []string{"NATS_URL=" + url, "NATS_CREDS=" + creds}

	code, out, errOut := runTail(t, env, "--since", "1h", "--json", "--count", "2")
	if lines := strings.Count(out, "\n"); code != 0 || lines != 2 {
		t.Errorf("--count 2: status %d and %d lines, want 0 and 2; stderr: %s", code, lines, errOut)
	}

	code, out, errOut = runTail(t, env, "--since", "1h", "--json", "--count", "5", "--timeout", "2s")
	if lines := strings.Count(out, "\n"); code != 1 || lines != 3 || !strings.Contains(errOut, "3 of 5 alerts within 2s") {
		t.Errorf("--count 5 --timeout 2s: status %d and %d lines, stderr %q; want 1, 3 lines and \"3 of 5 alerts within 2s\"", code, lines, errOut)
	}

	code, out, errOut = runTail(t, env, "--json", "--timeout", "1s")
	if code != 0 || out != "" {
		t.Errorf("--timeout 1s without new alerts: status %d, stdout %q, want 0 and nothing; stderr: %s", code, out, errOut)
	}
}

// TestTailUnreachableServer: tail against a port where nothing listens fails at once, saying
// what happened.
func TestTailUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close()
	start := time.Now()
	code, _, errOut := runTail(t, nil, "-s", url)
	if want := "cannot connect to " + url + ": connection refused"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("status %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	if strings.Contains(errOut, "deadline") {
		t.Errorf("stderr %q speaks of a deadline", errOut)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("tail took %s to fail, want it at once", took)
	}
}
