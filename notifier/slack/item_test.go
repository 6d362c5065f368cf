package slack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

func eventID(a event.Alert) string { return notifier.EventID(a.RuleID, a.FeedID, a.Item.Key) }

// postsIn are the messages of one channel, in the order Slack accepted them.
func postsIn(posts []fakeslack.Post, channel string) []fakeslack.Post {
	var out []fakeslack.Post
	for _, p := range posts {
		if p.Channel == channel {
			out = append(out, p)
		}
	}
	return out
}

// One item that two rules matched has one message in each channel it is routed to: where both
// rules are routed, the message posted for the first is updated to name both, and nothing is
// posted twice; where one is, the message names that one. A second bridge reading every alert
// again with the same ledger posts and updates nothing. Every post is logged at info with its
// channel, event id and ts.
func TestBridgePostsOneMessagePerItemAndChannel(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	core, logs := observer.New(zapcore.InfoLevel)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 100, 10
	cfg.Routes = []slack.Route{
		{Rule: "kursk", Channels: []string{"#kursk", "#newsroom"}},
		{Rule: "dprk-*", Channels: []string{"#dprk", "#newsroom"}},
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	kursk, dprk := alert("kursk", "world", 1), alert("dprk-troops", "world", 1) // one item
	publish(t, n, kursk, dprk)
	runBridge(t, cfg, zap.New(core))

	if _, err := s.WaitPosts(3, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	posts := s.Posts()
	if len(posts) != 3 {
		t.Fatalf("messages: got %d, want 3 (one an item and channel)", len(posts))
	}
	if got := s.Updates(); got != 1 {
		t.Errorf("updates: got %d, want 1", got)
	}
	tests := []struct {
		channel      string
		want, absent []string
	}{
		{"C0NEWS", []string{"Rules `kursk`, `dprk-troops`"}, nil},
		{"C0KURSK", []string{"Rule `kursk`"}, []string{"dprk-troops"}},
		{"C0DPRK", []string{"Rule `dprk-troops`"}, []string{"`kursk`"}},
	}
	for _, tt := range tests {
		in := postsIn(posts, tt.channel)
		if len(in) != 1 {
			t.Errorf("messages in %s: got %d, want 1", tt.channel, len(in))
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(string(in[0].Blocks), w) {
				t.Errorf("message in %s: got %s, want it to contain %s", tt.channel, in[0].Blocks, w)
			}
		}
		for _, a := range tt.absent {
			if strings.Contains(string(in[0].Blocks), a) {
				t.Errorf("message in %s: got %s, want no %s", tt.channel, in[0].Blocks, a)
			}
		}
		if got, want := in[0].Payload["item_key"], kursk.Item.Key; got != want {
			t.Errorf("metadata item_key in %s: got %v, want %q", tt.channel, got, want)
		}
	}
	news := postsIn(posts, "C0NEWS")[0]
	if want := "(rules kursk, dprk-troops, feed world)"; !strings.Contains(news.Text, want) {
		t.Errorf("fallback in #newsroom: got %q, want it to contain %q", news.Text, want)
	}
	if news.EventID != eventID(kursk) {
		t.Errorf("metadata event_id in #newsroom: got %q, want the first alert's %q", news.EventID, eventID(kursk))
	}
	for _, r := range []struct {
		result string
		want   float64
	}{{"posted", 3}, {"updated", 1}, {"duplicate", 0}, {"covered", 0}} {
		if got := metricValue(t, reg, "newswatch_slack_posts_total", r.result); got != r.want {
			t.Errorf("newswatch_slack_posts_total{result=%s}: got %v, want %v", r.result, got, r.want)
		}
	}
	for _, p := range posts {
		lines := logs.FilterMessage("posted to slack").FilterField(zap.String("channel", map[string]string{
			"C0NEWS": "#newsroom", "C0KURSK": "#kursk", "C0DPRK": "#dprk"}[p.Channel])).FilterField(zap.String("ts", p.TS))
		if lines.FilterField(zap.String("event_id", p.EventID)).Len() != 1 {
			t.Errorf("no info line \"posted to slack\" with the channel, event id %s and ts %s", p.EventID, p.TS)
		}
	}
	if logs.FilterMessageSnippet("updated the item's message").FilterField(zap.String("event_id", eventID(dprk))).Len() != 1 {
		t.Errorf("no info line for the update of #newsroom's message")
	}

	// Delivered again, to another consumer with the same ledger: nothing more.
	again := cfg
	again.Durable, again.Registerer = "again", nil
	again.PostedBucket = "newswatch_slack_posted"
	runBridge(t, again, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	consumerIdle(t, nc, "again")
	if got := len(s.Posts()); got != 3 {
		t.Errorf("messages after a redelivery: got %d, want 3", got)
	}
	if got := s.Updates(); got != 1 {
		t.Errorf("updates after a redelivery: got %d, want 1", got)
	}
}

// Through a webhook, which cannot update a message, the item's second rule is recorded as
// covered by the first message, and nothing is posted for it.
func TestWebhookPostsOneMessagePerItem(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	p, err := slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(nc, p)
	cfg.Rate, cfg.Burst = 100, 10
	cfg.DefaultChannel = "#hook"
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	publish(t, n, alert("kursk", "world", 1), alert("dprk-troops", "world", 1), alert("kursk", "world", 2))
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if _, err := s.WaitPosts(2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	if got := len(s.Posts()); got != 2 {
		t.Errorf("webhook messages: got %d, want 2 (one an item)", got)
	}
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "covered"); got != 1 {
		t.Errorf("newswatch_slack_posts_total{result=covered}: got %v, want 1", got)
	}
}

// A bridge killed between Slack accepting an item's message and recording it leaves a pending
// item record; the next bridge finds the message in the channel's history by the item in its
// metadata, records it, and updates it for the item's other rule: one message, naming both.
func TestBridgeFindsTheItemMessageOfADeadBridge(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	p := botPoster(t, s)
	cfg := baseConfig(nc, p)
	cfg.Rate, cfg.Burst = 100, 10
	cfg.DefaultChannel = "C0NEWS"
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	kursk, dprk := alert("kursk", "world", 1), alert("dprk-troops", "world", 1)

	ctx := testContext(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "newswatch_slack_posted", History: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := json.Marshal(map[string]any{"feed": "world", "item_key": kursk.Item.Key, "channel": "C0NEWS", "state": "pending",
		"owner": "dead-bridge", "event_id": eventID(kursk), "rules": []string{"kursk"}, "begun": time.Now().Add(-time.Minute)})
	if _, err := kv.Create(ctx, slack.ItemLedgerKey("world", kursk.Item.Key, "C0NEWS"), v); err != nil {
		t.Fatal(err)
	}
	posted, err := p.Post(ctx, "C0NEWS", format(t, kursk)) // Slack took it; the bridge died
	if err != nil {
		t.Fatal(err)
	}
	// The message is known by its item alone, whatever event posted it.
	r, found, err := p.(slack.Finder).FindMessage(ctx, "C0NEWS", slack.MessageKey{Feed: "world", ItemKey: kursk.Item.Key}, time.Now().Add(-time.Minute))
	if err != nil || !found || r != posted {
		t.Fatalf("FindMessage by item: got %+v, %v, %v; want %+v", r, found, err, posted)
	}

	publish(t, n, dprk, kursk)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	consumerIdle(t, nc, "newswatch_slack")
	posts := s.Posts()
	if len(posts) != 1 {
		t.Fatalf("messages: got %d, want the one the dead bridge posted", len(posts))
	}
	if got, want := string(posts[0].Blocks), "Rules `kursk`, `dprk-troops`"; !strings.Contains(got, want) {
		t.Errorf("message: got %s, want it to name %s", got, want)
	}
	for _, r := range []struct {
		result string
		want   float64
	}{{"posted", 0}, {"updated", 1}, {"covered", 1}} {
		if got := metricValue(t, reg, "newswatch_slack_posts_total", r.result); got != r.want {
			t.Errorf("newswatch_slack_posts_total{result=%s}: got %v, want %v", r.result, got, r.want)
		}
	}
}

// Under concurrency (every alert of the stream handed out at once), with answers that fail and
// one lost, each channel gets its messages in stream order; a channel that Slack keeps failing
// does not change the order of another.
func TestBridgePostsAChannelsMessagesInStreamOrder(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, time.Microsecond)
	nc := connect(t, n)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 1000, 100
	cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	cfg.Routes = []slack.Route{
		{Rule: "kursk", Channels: []string{"#newsroom"}},
		{Rule: "dprk-*", Channels: []string{"#newsroom", "#dprk"}},
	}
	const count = 50
	var alerts []event.Alert
	for i := range count {
		rule := "kursk"
		if i%2 == 1 {
			rule = "dprk-troops"
		}
		alerts = append(alerts, alert(rule, "world", i))
	}
	for _, a := range alerts {
		publish(t, n, a) // one at a time: stream order is this order
	}
	s.Fail("C0NEWS", http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable)
	s.DropAnswers("C0NEWS", 1)
	s.Fail("C0DPRK", http.StatusInternalServerError, http.StatusInternalServerError)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	if _, err := s.WaitPosts(count+count/2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")

	order := map[string]int{}
	for i, a := range alerts {
		order[eventID(a)] = i
	}
	for _, ch := range []struct {
		id   string
		want int
	}{{"C0NEWS", count}, {"C0DPRK", count / 2}} {
		in := postsIn(s.Posts(), ch.id)
		if len(in) != ch.want {
			t.Errorf("messages in %s: got %d, want %d", ch.id, len(in), ch.want)
		}
		var got []string
		sorted := true
		for i, p := range in {
			got = append(got, fmt.Sprint(order[p.EventID]))
			if i > 0 && order[p.EventID] <= order[in[i-1].EventID] {
				sorted = false
			}
		}
		if !sorted {
			t.Errorf("messages in %s: got the alerts in the order %s, want stream order", ch.id, strings.Join(got, " "))
		}
	}
}

// A channel whose posts keep failing holds back its own later messages, not those of other
// channels: while the first alert, to #dprk, is retried, the alerts after it to #kursk are
// posted.
func TestBridgeSlowChannelDoesNotHoldOthers(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, time.Microsecond)
	nc := connect(t, n)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 1000, 100
	cfg.RetryMin, cfg.RetryMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.Routes = []slack.Route{{Rule: "dprk-*", Channels: []string{"#dprk"}}, {Rule: "kursk", Channels: []string{"#kursk"}}}
	const count = 10
	publish(t, n, alert("dprk-troops", "world", 0))
	for i := range count {
		publish(t, n, alert("kursk", "world", i+1))
	}
	failures := make([]int, 40) // about 8s of retries
	for i := range failures {
		failures[i] = http.StatusInternalServerError
	}
	s.Fail("C0DPRK", failures...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	if _, err := s.WaitPosts(count+1, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	posts := s.Posts()
	if last := posts[len(posts)-1]; last.Channel != "C0DPRK" {
		t.Errorf("last message: got one in %s, want the retried one in C0DPRK (the others did not wait for it)", last.Channel)
	}
	if got := len(postsIn(posts, "C0KURSK")); got != count {
		t.Errorf("messages in #kursk: got %d, want %d", got, count)
	}
}
