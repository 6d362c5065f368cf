package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/newswatch/newswatch/notifier"
)

// TestExampleConsumers runs the example consumers of examples/consumers (Go with nats.go, and
// Node with the nats and cloudevents packages) against the daemon: each prints every alert once,
// its matched words highlighted, and a second run under the same durable name prints nothing
// again.
func TestExampleConsumers(t *testing.T) {
	nodeModules := "../../examples/consumers/node/node_modules"
	if _, err := os.Stat(nodeModules); err != nil {
		t.Fatalf("the Node consumer's packages are not installed (run `make test`, or `npm ci --prefix examples/consumers/node`): %v", err)
	}
	goConsumer := filepath.Join(t.TempDir(), "consumer")
	if out, err := exec.Command("go", "build", "-o", goConsumer, "../../examples/consumers/go").CombinedOutput(); err != nil {
		t.Fatalf("build the Go consumer: %v\n%s", err, out)
	}

	feed := newFeedServer(t)
	dir := t.TempDir()
	config, natsURL := testConfig(t, dir, []map[string]any{{"id": "world", "url": feed.URL}})
	d := startDaemon(t, config)
	nc := connect(t, natsURL)
	waitForState(t, nc, "world")
	feed.add(
		feedItem{GUID: "new-1", Title: "North Korean troops fighting in Russia's Kursk region",
			Description: "Pyongyang has sent soldiers to fight for Russia in the Kursk region."},
		feedItem{GUID: "new-2", Title: "Бои под Курском продолжаются", Description: "Kursk."},
	)
	// Three alerts: new-1 for dprk-troops and kursk, new-2 for kursk.
	want := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^[0-9a-f]{32} dprk-troops/world: \*\*North Korean\*\* \*\*troops\*\* fighting in Russia's Kursk region$`),
		regexp.MustCompile(`(?m)^[0-9a-f]{32} kursk/world: North Korean troops fighting in Russia's \*\*Kursk\*\* region$`),
		regexp.MustCompile(`(?m)^[0-9a-f]{32} kursk/world: Бои под \*\*Курском\*\* продолжаются$`),
	}
	// The consumers sign in as subscribers, the role the daemon makes for them.
	creds := credsFor(natsURL, notifier.RoleSubscriber)
	consumers := []struct {
		name string
		cmd  func(ctx context.Context, durable string) *exec.Cmd
	}{
		{"go", func(ctx context.Context, durable string) *exec.Cmd {
			return exec.CommandContext(ctx, goConsumer, "-s", natsURL, "--creds", creds, "--durable", durable, "--count", "3")
		}},
		{"node", func(ctx context.Context, durable string) *exec.Cmd {
			return exec.CommandContext(ctx, "node", "../../examples/consumers/node/consumer.mjs", "--server", natsURL, "--creds", creds, "--durable", durable, "--count", "3")
		}},
	}
	for _, c := range consumers {
		t.Run(c.name, func(t *testing.T) {
			out := runConsumer(t, c.cmd, "test_"+c.name, 60*time.Second)
			t.Logf("%s consumer printed:\n%s", c.name, out)
			if n := strings.Count(out, "\n  "); n != 3 {
				t.Errorf("printed %d alerts, want 3:\n%s", n, out)
			}
			for _, re := range want {
				if len(re.FindAllString(out, -1)) != 1 {
					t.Errorf("want one line matching %s in:\n%s", re, out)
				}
			}
			// The server kept the consumer's place: a second run, once it reads, prints nothing.
			if again := runIdleConsumer(t, c.cmd, "test_"+c.name); again != "" {
				t.Errorf("second run printed alerts again:\n%s", again)
			}
		})
	}
	d.stop(t, 30*time.Second)
}

// runConsumer runs a consumer under the durable name until it exits or timeout passes, and
// returns what it printed on stdout.
func runConsumer(t *testing.T, cmd func(context.Context, string) *exec.Cmd, durable string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := cmd(ctx, durable)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if err != nil && ctx.Err() == nil {
		t.Fatalf("consumer: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// runIdleConsumer runs a consumer under the durable name until it says it reads (at most a
// minute), then three seconds more, and returns what it printed on stdout meanwhile.
func runIdleConsumer(t *testing.T, cmd func(context.Context, string) *exec.Cmd, durable string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := cmd(ctx, durable)
	var stdout bytes.Buffer
	c.Stdout = &stdout
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	reading := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		found := false
		for sc.Scan() {
			if !found && strings.HasPrefix(sc.Text(), "consumer: reading ") {
				found = true
				reading <- true
			}
		}
		if !found {
			reading <- false
		}
	}()
	select {
	case ok := <-reading:
		if !ok {
			t.Fatalf("the consumer ended without reading")
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the consumer did not start reading within a minute")
	}
	// Room for an alert delivered again to show: the consumer got its pending ones at once.
	time.Sleep(3 * time.Second)
	cancel()
	_ = c.Wait()
	return stdout.String()
}
