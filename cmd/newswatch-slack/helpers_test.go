package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 60 * time.Second

// binary is the newswatch-slack binary built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "newswatch-slack-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "newswatch-slack")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building newswatch-slack: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer is a log buffer that the process writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bridge is a running newswatch-slack process.
type bridge struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{} // closed when the process ended; then err is its exit error
	err  error
}

func startBridge(t *testing.T, env []string, args ...string) *bridge {
	t.Helper()
	b := &bridge{cmd: exec.Command(binary, args...), log: new(lockedBuffer), done: make(chan struct{})}
	b.cmd.Env = append(os.Environ(), env...)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
		if t.Failed() {
			t.Logf("bridge log:\n%s", b.log)
		}
	})
	return b
}

// kill sends SIGKILL and waits for the process to end.
func (b *bridge) kill(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.done:
	case <-time.After(waitTimeout):
		t.Fatalf("bridge did not die within %s of SIGKILL", waitTimeout)
	}
}

// stop sends SIGTERM and requires a clean exit within the timeout.
func (b *bridge) stop(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.done:
		if b.err != nil {
			t.Fatalf("bridge exited with %v after SIGTERM, want status 0", b.err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("bridge did not exit within %s of SIGTERM", waitTimeout)
	}
}

var httpAddr = regexp.MustCompile(`"msg":"http listening","addr":"([^"]+)"`)

// httpAddr waits for the address the bridge's HTTP server listens on.
func (b *bridge) httpAddr(t *testing.T) string {
	t.Helper()
	var addr string
	waitFor(t, "http listening", func() bool {
		m := httpAddr.FindStringSubmatch(b.log.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, waitTimeout)
		}
		<-tick.C
	}
}

// restartMidway starts the bridge, kills it (SIGKILL) once the fake Slack has at least from
// messages, and starts it again. It returns both bridges and how many messages Slack had at
// the kill, failing the test when all total came before it: a kill after the work proves
// nothing.
func restartMidway(t *testing.T, s *fakeslack.Server, from, total int, env []string, args ...string) (first, second *bridge, killedAt int) {
	t.Helper()
	first = startBridge(t, env, args...)
	if _, err := s.WaitPosts(from, waitTimeout); err != nil {
		t.Fatal(err)
	}
	first.kill(t)
	killedAt = len(s.Posts())
	if killedAt >= total {
		t.Fatalf("all %d messages were posted before the kill; the test proves nothing", killedAt)
	}
	return first, startBridge(t, env, args...), killedAt
}

// waitAllAcked waits until the bridge's consumer has acknowledged every alert of the stream.
func waitAllAcked(t *testing.T, ctx context.Context, js jetstream.JetStream) {
	t.Helper()
	waitFor(t, "every alert acknowledged", func() bool {
		c, err := js.Consumer(ctx, "NEWSWATCH_ALERTS", "newswatch_slack")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}
