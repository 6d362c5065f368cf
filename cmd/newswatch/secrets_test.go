package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// canary returns a string that appears nowhere unless a secret leaked.
func secretCanary(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "canary" + what + hex.EncodeToString(b)
}

// userCreds writes a NATS user credentials file, a user JWT signed by a fresh account with the
// user's seed, plus a comment line holding comment, and returns its path and its secrets.
func natsUserCreds(t *testing.T, dir, comment string) (path string, secrets []string) {
	t.Helper()
	account, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := user.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.NewUserClaims(pub)
	claims.Name = comment
	token, err := claims.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "nats.creds")
	text := "# " + comment + "\n" + string(creds)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, []string{string(seed), token, comment}
}

// runBinary runs the built newswatch with args until it exits, or sends it SIGTERM after wait,
// and returns its exit status and everything it printed.
func runNewswatch(t *testing.T, wait time.Duration, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(wait):
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			err = <-done
		}
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// TestSecretsNeverLogged runs `check` and `run` at debug level with every secret the
// configuration can hold, each carrying a canary: the user name, password and query tokens
// (?token=, ?apikey=) of feed URLs (of a feed that answers and alerts, one that fails with 500,
// one that refuses the password, one whose port is closed) and a NATS credentials file (its
// seed, its JWT, a comment). Through polls, alerts, errors, a reload by SIGHUP and a failed one
// by HTTP, and a stop, no canary may appear in what the process prints, nor in anything it
// publishes to NATS (alerts, health events, state, jobs), nor in any message the server stores
// (the alert stream, the state bucket), nor in what `newswatch test` prints of those feeds.
// Runs with a credentials file that is not one, and with TLS files that are not PEM, read them,
// fail, and print none of them either.
func TestSecretsNeverLogged(t *testing.T) {
	dir := t.TempDir()
	var secrets []string
	secret := func(what string) string {
		c := secretCanary(t, what)
		secrets = append(secrets, c)
		return c
	}

	// NATS: a standalone server the daemon reaches with a real credentials file. The server asks
	// for no authentication, so the daemon's connection works, and the client still reads the
	// file, sends the JWT and signs with the seed.
	ns := notifiertest.RunServer(t, -1, filepath.Join(dir, "js"))
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", ns.Addr().(*net.TCPAddr).Port)
	credsPath, credsSecrets := natsUserCreds(t, dir, secretCanary(t, "credscomment"))
	secrets = append(secrets, credsSecrets...)

	// Feeds with credentials in their URLs.
	// The good feed takes its password before and after the reload, and tells which it got last.
	user, pass, newPass := secret("user"), secret("pass"), secret("newpass")
	goodToken := secret("querytoken")
	var lastPass atomic.Value
	good := &feedServer{items: []feedItem{{GUID: "kursk-1", Title: "Fighting in the Kursk region", Description: "Troops advanced."}}}
	good.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || (p != pass && p != newPass) {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		lastPass.Store(p)
		good.serve(w, r)
	}))
	t.Cleanup(good.Close)
	var brokenHits, deniedHits hitCounter
	broken := httptest.NewServer(brokenHits.wrap(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the database is on fire", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	denied := httptest.NewServer(deniedHits.wrap(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "wrong password", http.StatusUnauthorized)
	}))
	t.Cleanup(denied.Close)
	withUserinfo := func(rawURL, user, pass string) string {
		return strings.Replace(rawURL, "http://", "http://"+user+":"+pass+"@", 1)
	}
	closedPort := fmt.Sprintf("http://127.0.0.1:%d/feed.xml", freePort(t))
	feeds := func(pass string) []map[string]any {
		return []map[string]any{
			{"id": "good", "url": withUserinfo(good.URL, user, pass) + "/rss.xml?token=" + goodToken, "first_poll": "all"},
			{"id": "broken", "url": withUserinfo(broken.URL, secret("brokenuser"), secret("brokenpass")) + "/rss.xml?lang=en&apikey=" + secret("brokenquery")},
			{"id": "denied", "url": withUserinfo(denied.URL, secret("denieduser"), secret("deniedpass")) + "/rss.xml?" + secret("deniedbare")},
			{"id": "closed", "url": withUserinfo(closedPort, secret("closeduser"), secret("closedpass")) + "?token=" + secret("closedquery")},
			{"id": "tokenonly", "url": broken.URL + "/other.xml?token=" + secret("tokenonly")},
		}
	}
	cfg, _ := testConfigMap(t, dir, feeds(pass))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["nats"] = map[string]any{"url": natsURL, "creds_file": credsPath}
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	// Everything the daemon publishes.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var published syncBuffer
	var alerted atomic.Bool
	sub, err := nc.Subscribe(">", func(m *nats.Msg) {
		fmt.Fprintf(&published, "%s %v %s %s\n", m.Subject, m.Header, m.Data, m.Reply)
		if strings.HasPrefix(m.Subject, "newswatch.alert.") {
			alerted.Store(true)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	var outputs []string // what each run printed, in order
	name := []string{}
	record := func(what, out string) { name, outputs = append(name, what), append(outputs, out) }

	code, out := runNewswatch(t, 30*time.Second, "--log-level", "debug", "check", "-c", path)
	record("check", out)
	if code != 0 {
		t.Fatalf("check: exit %d, want 0:\n%s", code, out)
	}

	d := startDaemon(t, path) // --log-level debug
	waitFor(t, 60*time.Second, "an alert from the feed with credentials", alerted.Load)
	waitFor(t, 30*time.Second, "polls of the failing feeds", func() bool { return brokenHits.count() >= 1 && deniedHits.count() >= 1 })
	waitFor(t, 30*time.Second, "the closed feed's health event", func() bool {
		return strings.Contains(published.String(), "newswatch.feed.closed.error")
	})
	waitFor(t, 30*time.Second, "the failing feeds' health events", func() bool {
		p := published.String()
		return strings.Contains(p, "newswatch.feed.broken.error") && strings.Contains(p, "newswatch.feed.tokenonly.error")
	})

	// newswatch test reads the feeds as a poll does, and names them.
	for _, args := range [][]string{
		{"test", "-c", path, "good", "broken", "tokenonly"},
		{"test", "-c", path, withUserinfo(good.URL, user, pass) + "/rss.xml?token=" + goodToken, broken.URL + "/rss.xml?token=" + goodToken},
	} {
		code, out := runNewswatch(t, 30*time.Second, args...)
		record("newswatch "+strings.Join(args[:3], " ")+" …", out)
		if code != 2 || !strings.Contains(out, "token=redacted") {
			t.Errorf("newswatch %v: exit %d, want 2 (a feed fails) and its URL redacted:\n%s", args, code, out)
		}
	}

	// A reload by SIGHUP with a new password.
	cfg["feeds"] = feeds(newPass)
	writeConfig(t, path, cfg)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a poll with the new password", func() bool { return lastPass.Load() == newPass })
	n := good.count()
	waitFor(t, 30*time.Second, "polls after the reload", func() bool { return good.count() >= n+2 })

	// A reload by HTTP of a file that does not load, with the secrets in it.
	cfg["feeds"] = append(feeds(newPass), map[string]any{"id": "typo", "url": good.URL, "shedule": "@hourly"})
	writeConfig(t, path, cfg)
	if code, body := post(t, "http://"+httpAddr+"/-/reload"); code != http.StatusBadRequest {
		t.Errorf("POST /-/reload of an invalid file: %d %q, want 400", code, body)
	} else {
		record("POST /-/reload answer", body)
	}
	n = good.count()
	waitFor(t, 30*time.Second, "polls after the failed reload", func() bool { return good.count() >= n+2 })
	d.stop(t, 60*time.Second)
	record("run", d.log.String())
	record("stored in JetStream", storedMessages(t, nc))

	code, out = runNewswatch(t, 30*time.Second, "--log-level", "debug", "check", "-c", path)
	record("check of the invalid file", out)
	if code != 1 {
		t.Errorf("check of the invalid file: exit %d, want 1:\n%s", code, out)
	}
	cfg["feeds"] = feeds(newPass)

	// A credentials file that is not one: the daemon reads it, fails, and says so without it.
	garbage := secretCanary(t, "garbagecreds")
	secrets = append(secrets, garbage)
	if err := os.WriteFile(credsPath, []byte("-----BEGIN NATS USER JWT-----\n"+garbage+"\n------END NATS USER JWT------\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, path, cfg)
	code, out = runNewswatch(t, 5*time.Second, "--log-level", "debug", "run", "-c", path)
	record("run with a broken credentials file", out)
	if !strings.Contains(out, "nats") {
		t.Errorf("run with a broken credentials file (exit %d) says nothing about NATS:\n%s", code, out)
	}

	// TLS files that are not PEM, the key holding a secret: read at start, refused.
	certPath, keyPath := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	for file, what := range map[string]string{certPath: "tlscert", keyPath: "tlskey"} {
		c := secretCanary(t, what)
		secrets = append(secrets, c)
		text := "-----BEGIN PRIVATE KEY-----\n" + c + "\n-----END PRIVATE KEY-----\n"
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg["nats"] = map[string]any{"url": natsURL, "tls": map[string]any{"cert_file": certPath, "key_file": keyPath}}
	writeConfig(t, path, cfg)
	code, out = runNewswatch(t, 10*time.Second, "--log-level", "debug", "run", "-c", path)
	record("run with broken TLS files", out)
	if !strings.Contains(out, "certificate") && !strings.Contains(out, "tls") {
		t.Errorf("run with broken TLS files (exit %d) says nothing about them:\n%s", code, out)
	}
	record("published to NATS", published.String())

	for i, out := range outputs {
		for _, s := range secrets {
			if at := strings.Index(out, s); at >= 0 {
				line := out[strings.LastIndex(out[:at], "\n")+1:]
				if end := strings.IndexByte(line, '\n'); end >= 0 {
					line = line[:end]
				}
				t.Errorf("%s leaks the secret %s:\n%s", name[i], s, line)
			}
		}
	}
	if t.Failed() {
		return
	}
	// The test proves something only if the paths it means to cover ran.
	all := strings.Join(outputs, "\n")
	for _, want := range []string{`"feed":"broken"`, `"feed":"denied"`, `"feed":"closed"`, "configuration reloaded", "reload failed"} {
		if !strings.Contains(all, want) {
			t.Errorf("no log line with %s: the test did not cover that path", want)
		}
	}
	// The feeds' URLs were published and stored, redacted: in an alert and in health events.
	var alertWithURL, healthWithURL bool
	for line := range strings.SplitSeq(published.String(), "\n") {
		if strings.Contains(line, "/rss.xml?token=redacted") && strings.HasPrefix(line, "newswatch.alert.") {
			alertWithURL = true
		}
		if strings.Contains(line, "/rss.xml?lang=redacted") && strings.HasPrefix(line, "newswatch.feed.broken.error") {
			healthWithURL = true
		}
	}
	if !alertWithURL || !healthWithURL {
		t.Errorf("published: an alert with the good feed's redacted URL %v, an error event with the broken one's %v; want both:\n%s",
			alertWithURL, healthWithURL, published.String())
	}
	if stored := outputs[slices.Index(name, "stored in JetStream")]; !strings.Contains(stored, "token=redacted") || !strings.Contains(stored, `"url":`) {
		t.Errorf("the stored messages hold no redacted feed URL: the test read neither alerts nor states:\n%.2000s", stored)
	}
}

// storedMessages returns every message that every stream of nc's server holds (the alert stream
// and the KV buckets' streams among them), one a line: subject, headers and data.
func storedMessages(t *testing.T, nc *nats.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		stream, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
			m, err := stream.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue // deleted, or a KV value since replaced
			}
			if err != nil {
				t.Fatalf("stream %s, message %d: %v", name, seq, err)
			}
			fmt.Fprintf(&b, "%s %s %v %s\n", name, m.Subject, m.Header, m.Data)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatalf("list streams: %v", err)
	}
	return b.String()
}

// TestSecretsNotInConfigErrors: a configuration error on the line of a feed URL with
// credentials names neither its user, its password nor its query token, in `check`, in `run`
// refusing to start, or in a failed reload (logged, and answered to POST /-/reload).
func TestSecretsNotInConfigErrors(t *testing.T) {
	user, pass, token := secretCanary(t, "user"), secretCanary(t, "pass"), secretCanary(t, "token")
	path := writeFile(t, "newswatch.yaml", "feeds:\n"+
		"  - {id: world, url: 'ftp://"+user+":"+pass+"@news.example/rss.xml?token="+token+"', schedule: '@hourly'}\n"+
		"  - {id: asia, url: https://news.example/asia.xml?apikey="+token+", shedule: '@hourly'}\n"+
		"  - id: europe\n"+
		"    url: 'https://"+user+":"+pass+"@news.example:http/europe.xml'\n")
	var outputs []string
	code, out, errOut := runCLI(t, "", "check", "-c", path)
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	outputs = append(outputs, "check: "+out+errOut)
	code, out, errOut = runCLI(t, "", "--log-level", "debug", "run", "-c", path)
	if code != 1 {
		t.Errorf("run: exit %d, want 1", code)
	}
	outputs = append(outputs, "run: "+out+errOut)
	_, err := load(path) // what a failed reload logs and answers
	if err == nil {
		t.Fatal("load: got no error")
	}
	outputs = append(outputs, "reload: "+err.Error())
	for _, out := range outputs {
		what, _, _ := strings.Cut(out, ":")
		if !strings.Contains(out, "url") {
			t.Errorf("%s does not report the invalid urls:\n%s", what, out)
		}
		// The error names the first URL; check and run quote the second's line as well.
		if !strings.Contains(out, "token=redacted") || what != "reload" && !strings.Contains(out, "apikey=*") {
			t.Errorf("%s does not name the URLs' query keys:\n%s", what, out)
		}
		for _, s := range []string{user, pass, token} {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks the secret %s:\n%s", what, s, out)
			}
		}
	}
}

// hitCounter counts the requests of a test server.
type hitCounter struct {
	mu sync.Mutex
	n  int
}

func (c *hitCounter) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		h(w, r)
	}
}

func (c *hitCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
