package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// Items that two rules matched, both routed to two channels, have one message in each channel,
// naming both rules, also when the bridge is killed with SIGKILL while it posts and updates, and
// each channel's messages are in stream order. Each post is logged at info with its channel,
// event id and ts.
func TestKilledBridgePostsOneMessagePerItem(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fakeslack.New(fakeslack.Config{
		Token:    testToken,
		Channels: map[string]string{"#dprk": "C0DPRK", "#newsroom": "C0NEWS"},
		Interval: 100 * time.Millisecond,
	})
	t.Cleanup(s.Close)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	const count = 15 // items; two alerts each
	var alerts []event.Alert
	for i := range count {
		for _, rule := range []string{"dprk-troops", "dprk-missiles"} {
			alerts = append(alerts, event.Alert{
				RuleID: rule, RuleQuery: "dprk", FeedID: "world", FeedURL: "https://example.org/rss",
				Item: event.Item{Key: fmt.Sprintf("item-%d", i), Title: fmt.Sprintf("Item %d", i), Link: "https://example.org/" + fmt.Sprint(i)},
				Hits: []event.Hit{{Field: "title", Start: 0, End: 4, Text: "Item"}},
				Time: time.Now(),
			})
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitTimeout)
	defer cancel()
	for _, a := range alerts { // one at a time: stream order is this order
		if err := n.Alerts().Publish(ctx, []event.Alert{a}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}

	env := []string{
		"NEWSWATCH_SLACK_TOKEN_FILE=" + secretFile,
		"NEWSWATCH_SLACK_ROUTE=dprk-*=#dprk,#newsroom",
		"NEWSWATCH_SLACK_START=all",
	}
	args := []string{"run", "--nats-url", n.ClientURL(), "--creds", n.CredsFile(notifier.RoleBridge), "--api-url", s.APIURL(),
		"--rate", "5", "--burst", "1", "--http-listen", "", "--log-level", "info"}

	first, second, killedAt := restartMidway(t, s, count/2, 2*count, env, args...)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	waitAllAcked(t, ctx, js)

	posts := s.Posts()
	if len(posts) != 2*count {
		t.Errorf("messages: got %d, want %d (one an item and channel)", len(posts), 2*count)
	}
	for _, ch := range []string{"C0DPRK", "C0NEWS"} {
		last := -1
		seen := map[string]int{}
		for _, p := range posts {
			if p.Channel != ch {
				continue
			}
			key, _ := p.Payload["item_key"].(string)
			seen[key]++
			var i int
			if _, err := fmt.Sscanf(key, "item-%d", &i); err != nil {
				t.Errorf("message in %s: metadata item_key %q", ch, key)
				continue
			}
			if i <= last {
				t.Errorf("messages in %s: item %d after item %d, want stream order", ch, i, last)
			}
			last = i
			if b := string(p.Blocks); !strings.Contains(b, "`dprk-troops`") || !strings.Contains(b, "`dprk-missiles`") {
				t.Errorf("message of %s in %s: got %s, want it to name both rules", key, ch, b)
			}
		}
		for i := range count {
			if got := seen[fmt.Sprintf("item-%d", i)]; got != 1 {
				t.Errorf("messages of item-%d in %s: got %d, want 1", i, ch, got)
			}
		}
	}
	t.Logf("killed after %d of %d messages; %d updates in all", killedAt, 2*count, s.Updates())

	second.stop(t)
	logs := first.log.String() + second.log.String()
	// A post whose line the kill cut off is logged by the recovery; one recorded and killed
	// before its line (one a channel at most) is not.
	unlogged := 0
	for _, p := range posts {
		if !strings.Contains(logs, `"ts":"`+p.TS+`"`) {
			unlogged++
			t.Logf("no log line names the message %s of %s in %s", p.TS, p.EventID, p.Channel)
		}
	}
	if unlogged > 2 {
		t.Errorf("messages no log line names: got %d, want at most 2 (one a channel, at the kill)", unlogged)
	}
	if got := strings.Count(logs, `"msg":"posted to slack"`); got < 2*count-2 {
		t.Errorf("info lines \"posted to slack\": got %d, want at least %d", got, 2*count-2)
	}
}
