package main

import (
	"bytes"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/nats-io/nats.go"

	"github.com/newswatch/newswatch/notifier"
)

// binary is the newswatch binary built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "newswatch-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "newswatch")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building newswatch: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// feedItem is one item of a test feed.
type feedItem struct {
	GUID, Title, Description string
}

// feedServer serves one RSS feed whose items a test changes, and counts the requests it gets.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	items    []feedItem
	requests int
}

func newFeedServer(t *testing.T, items ...feedItem) *feedServer {
	t.Helper()
	fs := &feedServer{items: items}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.requests++
	if !strings.HasPrefix(r.UserAgent(), "newswatch/") {
		http.Error(w, "want a newswatch User-Agent, got "+r.UserAgent(), http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>World</title>` +
		`<link>https://news.example/</link><description>World news</description>`)
	// Newest first, as feeds do.
	for i := len(fs.items) - 1; i >= 0; i-- {
		it := fs.items[i]
		fmt.Fprintf(&b, `<item><guid isPermaLink="false">%s</guid><title>%s</title><link>https://news.example/%s</link>`+
			`<description>%s</description><pubDate>%s</pubDate></item>`,
			html.EscapeString(it.GUID), html.EscapeString(it.Title), it.GUID,
			html.EscapeString(it.Description), time.Now().UTC().Format(time.RFC1123Z))
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write(b.Bytes())
}

func (fs *feedServer) add(items ...feedItem) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.items = append(fs.items, items...)
}

func (fs *feedServer) count() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback port that the kernel just handed out and that is free again.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testConfig writes a configuration with the example's lists and rules, the given feeds, and an
// embedded NATS server on a free loopback port with its store in dir. It returns the file's path
// and the NATS URL.
func testConfig(t *testing.T, dir string, feeds []map[string]any) (path, natsURL string) {
	t.Helper()
	cfg, natsURL := testConfigMap(t, dir, feeds)
	path = filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	return path, natsURL
}

// testConfigMap is the configuration of testConfig, for a test to change before writing it.
func testConfigMap(t *testing.T, dir string, feeds []map[string]any) (cfg map[string]any, natsURL string) {
	t.Helper()
	data, err := os.ReadFile("../../examples/newswatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := yaml.Unmarshal(data, &example); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	storeDirs.Store("nats://"+addr, filepath.Join(dir, "nats"))
	return map[string]any{
		"nats":     map[string]any{"embedded": map[string]any{"listen": addr, "store_dir": filepath.Join(dir, "nats")}},
		"http":     map[string]any{"listen": ""},
		"defaults": map[string]any{"schedule": "@every 1s", "timeout": "5s", "allow_private": true},
		"feeds":    feeds,
		"lists":    example["lists"],
		"rules":    example["rules"],
	}, "nats://" + addr
}

// storeDirs is the store directory of the embedded server of each URL that testConfigMap handed
// out, where the daemon writes the credentials that clients connect with.
var storeDirs sync.Map

// credsFor is the credentials file of role for the daemon's embedded server at url, or "" for a
// server that testConfigMap did not configure (an external one, without authentication).
func credsFor(url string, role notifier.Role) string {
	dir, ok := storeDirs.Load(url)
	if !ok {
		return ""
	}
	return notifier.CredsFile(dir.(string), role)
}

// credsOption signs in with the credentials of role at url, if the server needs any.
func credsOption(url string, role notifier.Role) nats.Option {
	if path := credsFor(url, role); path != "" {
		return nats.UserCredentials(path)
	}
	return func(*nats.Options) error { return nil }
}

// waitCreds waits until the daemon at url has written its credentials, if it has any.
func waitCreds(t *testing.T, url string) {
	t.Helper()
	path := credsFor(url, notifier.RoleDaemon)
	if path == "" {
		return
	}
	waitFor(t, 60*time.Second, "the daemon's credentials "+path, func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// writeConfig writes cfg as YAML to path.
func writeConfig(t *testing.T, path string, cfg map[string]any) {
	t.Helper()
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// daemon is a running `newswatch run` process.
type daemon struct {
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan error
	stopped bool // the process has exited and done was read
}

// syncBuffer is a buffer that a process writes while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// output is what the daemon has logged so far.
func (d *daemon) output() string { return d.log.String() }

func startDaemon(t *testing.T, config string, env ...string) *daemon {
	t.Helper()
	return startDaemonBinary(t, binary, config, env...)
}

// startDaemonBinary runs `bin run -c config` at debug level with env added to the environment.
func startDaemonBinary(t *testing.T, bin, config string, env ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(bin, "run", "-c", config, "--log-level", "debug"), log: new(syncBuffer), done: make(chan error, 1)}
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if !d.stopped {
			if t.Failed() {
				// A daemon that a failed test left running shows where its goroutines stand:
				// SIGQUIT has the Go runtime print every stack before it exits.
				_ = d.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-d.done:
					d.stopped = true
				case <-time.After(10 * time.Second):
				}
			}
			if !d.stopped {
				d.cmd.Process.Kill()
				<-d.done
			}
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log)
		}
	})
	return d
}

// stop sends SIGTERM and requires a clean exit within the timeout.
func (d *daemon) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		d.stopped = true
		if err != nil {
			t.Fatalf("daemon exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(timeout):
		t.Fatalf("daemon did not exit within %v of SIGTERM", timeout)
	}
}
