package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

const testToken = "xoxb-cmd-test-secret-0000"

func TestHelpNamesEveryEnvironmentTwin(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"run", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("run --help: got status %d, want 0; stderr %s", code, errOut.String())
	}
	for _, want := range []string{
		"$NEWSWATCH_SLACK_SERVER", "$NATS_URL", "$NATS_CREDS", "$NEWSWATCH_SLACK_TOKEN_FILE", "$NEWSWATCH_SLACK_WEBHOOK_URL_FILE",
		"$NEWSWATCH_SLACK_API_URL", "$NEWSWATCH_SLACK_ROUTE", "$NEWSWATCH_SLACK_DEFAULT_CHANNEL",
		"$NEWSWATCH_SLACK_RATE", "$NEWSWATCH_SLACK_HTTP_LISTEN", "$NEWSWATCH_SLACK_START",
		"$NEWSWATCH_SLACK_WEB_CONFIG_FILE", "$NEWSWATCH_SLACK_GROUP", "$NEWSWATCH_SLACK_THREADS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help: got\n%s\nwant it to name %s", out.String(), want)
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("version: got status %d, want 0", code)
	}
	if !strings.HasPrefix(out.String(), "newswatch-slack ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("version: got %q, want newswatch-slack, its version and the Go version", out.String())
	}
}

func TestBadInvocationsFail(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(plain, []byte("basic_auth_users:\n  prometheus: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"web config with a password, not its hash", []string{"run", "--token-file", token, "--default-channel", "#x", "--web-config-file", plain}, "web config file " + plain},
		{"no transport", []string{"run", "--default-channel", "#x", "--http-listen", ""}, "one of --token-file and --webhook-url-file is required"},
		{"both transports", []string{"run", "--token-file", token, "--webhook-url-file", token, "--default-channel", "#x", "--http-listen", ""}, "exclude each other"},
		{"bad route", []string{"run", "--token-file", token, "--route", "dprk", "--http-listen", ""}, `route \"dprk\"`},
		{"bad start", []string{"run", "--token-file", token, "--default-channel", "#x", "--start", "yesterday", "--http-listen", ""}, `start \"yesterday\"`},
		{"bad group", []string{"run", "--token-file", token, "--default-channel", "#x", "--group", "feeds", "--http-listen", ""}, `group \"feeds\": want stories or items`},
		{"no route", []string{"run", "--token-file", token, "--http-listen", ""}, "no --route and no --default-channel: nothing would be posted"},
		{"bad rate", []string{"run", "--token-file", token, "--default-channel", "#x", "--rate=-1", "--http-listen", ""}, "--rate: must be positive, got -1"},
		{"bad default channel", []string{"run", "--token-file", token, "--default-channel", "#a b", "--http-listen", ""}, "--default-channel: "},
		{"bad stream", []string{"run", "--token-file", token, "--default-channel", "#x", "--alert-stream", "A.B", "--http-listen", ""}, "--alert-stream: "},
		{"missing token file", []string{"run", "--token-file", filepath.Join(dir, "nope"), "--default-channel", "#x", "--http-listen", ""}, "read secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append(tt.args, "--nats-url", "nats://127.0.0.1:1"), &out, &errOut)
			if code != 1 {
				t.Errorf("status: got %d, want 1", code)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr: got %s, want it to contain %s", errOut.String(), tt.want)
			}
			for _, field := range []string{"DefaultChannel", "AlertStream", "Routes", "Rate:"} {
				if strings.Contains(errOut.String(), field) {
					t.Errorf("stderr names the Go field %s, not a flag: %s", field, errOut.String())
				}
			}
			if strings.Contains(errOut.String(), testToken) {
				t.Errorf("stderr leaks the token: %s", errOut.String())
			}
		})
	}
}

// The bridge, killed with SIGKILL while it posts and started again, posts the rest of the
// alerts to each routed channel, losing none. With a bot token every alert reaches each channel
// exactly once: a post the kill left unrecorded is looked up in the channel's history before it
// is posted again. A webhook has no history to ask, so there a post in flight at the kill may
// be posted once more, at most one a channel. The bridge serves its health and metrics
// endpoints, and SIGTERM stops it cleanly.
func TestKilledBridgeResumesLosingNothing(t *testing.T) {
	tests := []struct {
		name    string
		webhook bool
	}{
		{name: "bot token, exactly once"},
		{name: "webhook, at most one repeat a channel", webhook: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testKilledBridge(t, tt.webhook) })
	}
}

func testKilledBridge(t *testing.T, webhook bool) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fakeslack.New(fakeslack.Config{
		Token:          testToken,
		Channels:       map[string]string{"#dprk": "C0DPRK", "#newsroom": "C0NEWS"},
		WebhookChannel: "C0HOOK",
		Interval:       100 * time.Millisecond,
	})
	t.Cleanup(s.Close)
	secret, secretEnv := testToken, "NEWSWATCH_SLACK_TOKEN_FILE"
	if webhook {
		secret, secretEnv = s.WebhookURL(), "NEWSWATCH_SLACK_WEBHOOK_URL_FILE"
	}
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	const count = 20
	var alerts []event.Alert
	for i := range count {
		alerts = append(alerts, event.Alert{
			RuleID: "dprk-troops", RuleQuery: "dprk", FeedID: "world", FeedURL: "https://example.org/rss",
			Item: event.Item{Key: fmt.Sprintf("item-%d", i), Title: fmt.Sprintf("Item %d", i), Link: "https://example.org/" + fmt.Sprint(i)},
			Hits: []event.Hit{{Field: "title", Start: 0, End: 4, Text: "Item"}},
			Time: time.Now(),
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := n.Alerts().Publish(ctx, alerts); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	env := []string{
		secretEnv + "=" + secretFile,
		"NEWSWATCH_SLACK_ROUTE=dprk-*=#dprk,#newsroom",
		"NEWSWATCH_SLACK_START=all",
	}
	args := []string{"run", "--nats-url", n.ClientURL(), "--creds", n.CredsFile(notifier.RoleBridge), "--api-url", s.APIURL(),
		"--rate", "5", "--burst", "1", "--http-listen", "127.0.0.1:0", "--log-level", "debug"}

	first, second, killedAt := restartMidway(t, s, count/2, 2*count, env, args...)
	addr := second.httpAddr(t)
	if _, err := s.WaitPosts(2*count, waitTimeout); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	waitAllAcked(t, ctx, js)

	// A message is known by its channel and its event id; a webhook's carry no metadata, so
	// there by the channel the bridge named and the item's title in the text.
	seen := map[[2]string]int{}
	for _, p := range s.Posts() {
		if webhook {
			seen[[2]string{p.AsGiven, strings.Fields(p.Text)[1]}]++
		} else {
			seen[[2]string{p.Channel, p.EventID}]++
		}
	}
	repeats := 0
	for i, a := range alerts {
		id := notifier.EventID(a.RuleID, a.FeedID, a.Item.Key)
		for _, ch := range [][2]string{{"C0DPRK", "#dprk"}, {"C0NEWS", "#newsroom"}} {
			key := [2]string{ch[0], id}
			if webhook {
				key = [2]string{ch[1], fmt.Sprint(i)}
			}
			got := seen[key]
			switch {
			case got < 1:
				t.Errorf("messages of %s in %s: got none, want 1", a.Item.Key, ch[1])
			case got > 1 && !webhook:
				t.Errorf("messages of %s in %s: got %d, want 1", a.Item.Key, ch[1], got)
			case got > 2:
				t.Errorf("webhook messages of %s for %s: got %d, want 1, or 2 if it was in flight at the kill", a.Item.Key, ch[1], got)
			}
			repeats += max(got-1, 0)
		}
	}
	switch {
	case !webhook && repeats != 0:
		t.Errorf("messages posted twice: got %d, want none", repeats)
	case webhook && repeats > 2:
		t.Errorf("webhook messages posted twice: got %d, want at most 2 (one a channel, in flight at the kill)", repeats)
	}
	if len(s.Posts()) != 2*count+repeats {
		t.Errorf("messages: got %d, want %d", len(s.Posts()), 2*count+repeats)
	}

	metrics := ""
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": `newswatch_slack_posts_total{result="posted"}`,
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: got %d %q, want 200 with %q", path, resp.StatusCode, body, want)
		}
		if path == "/metrics" {
			metrics = string(body)
		}
	}
	recovered := recoveredLine.FindStringSubmatch(metrics)
	if recovered == nil {
		t.Errorf("/metrics: no newswatch_slack_posts_total{result=\"recovered\"}")
		recovered = []string{"", "?"}
	}
	t.Logf("killed after %d of %d messages; %d in all, %d posted twice, %s found in Slack after the restart",
		killedAt, 2*count, len(s.Posts()), repeats, recovered[1])

	second.stop(t)
	for _, b := range []*bridge{first, second} {
		for _, leak := range []string{testToken, s.WebhookURL()} {
			if strings.Contains(b.log.String(), leak) {
				t.Errorf("a secret leaked into the log: %q", leak)
			}
		}
	}
}

var recoveredLine = regexp.MustCompile(`newswatch_slack_posts_total\{result="recovered"\} (\d+)`)
