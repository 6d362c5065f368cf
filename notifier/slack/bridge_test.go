package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	slackapi "github.com/slack-go/slack"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack"
)

// Every alert reaches every channel it is routed to once, in the right format; an unknown
// channel sends the alert to the dead-letter stream, and every alert ends acknowledged.
func TestBridgePostsEveryAlertOnceToEachRoute(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)

	dead, err := nc.SubscribeSync("newswatch.slack.dead.>")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 100, 10
	cfg.Routes = []slack.Route{
		{Rule: "dprk-*", Channels: []string{"#dprk", "#newsroom"}},
		{Rule: "kursk", Feed: "world", Channels: []string{"C0KURSK"}},
		{Rule: "lost", Channels: []string{"#nowhere"}},
	}
	cfg.DefaultChannel = "#newsroom"
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg

	alerts := []event.Alert{
		alert("dprk-troops", "world", 1), alert("dprk-troops", "asia", 2), alert("dprk-missiles", "world", 3),
		alert("kursk", "world", 4), alert("kursk", "europe", 5), alert("lost", "world", 6),
	}
	publish(t, n, alerts...)
	runBridge(t, cfg, zap.New(core))

	id := func(a event.Alert) string { return notifier.EventID(a.RuleID, a.FeedID, a.Item.Key) }
	want := map[[2]string]int{
		{"C0DPRK", id(alerts[0])}: 1, {"C0NEWS", id(alerts[0])}: 1,
		{"C0DPRK", id(alerts[1])}: 1, {"C0NEWS", id(alerts[1])}: 1,
		{"C0DPRK", id(alerts[2])}: 1, {"C0NEWS", id(alerts[2])}: 1,
		{"C0KURSK", id(alerts[3])}: 1,
		{"C0NEWS", id(alerts[4])}:  1, // no route: the default channel
	}
	if _, err := s.WaitPosts(len(want), waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	got := countPosts(s.Posts())
	if len(got) != len(want) {
		t.Errorf("got %d (channel, event) pairs posted, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("posts of event %s to %s: got %d, want %d", k[1], k[0], got[k], w)
		}
	}

	dl, err := dead.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if got, want := dl.Subject, "newswatch.slack.dead.lost.world"; got != want {
		t.Errorf("dead letter subject: got %q, want %q", got, want)
	}
	if got, want := dl.Header.Get(slack.HeaderChannel), "#nowhere"; got != want {
		t.Errorf("dead letter channel: got %q, want %q", got, want)
	}
	if got := dl.Header.Get(slack.HeaderError); !strings.Contains(got, "channel_not_found") {
		t.Errorf("dead letter error: got %q, want it to name channel_not_found", got)
	}
	if ev, err := notifier.ParseEvent(dl.Data); err != nil || ev.ID != id(alerts[5]) {
		t.Errorf("dead letter body: got event %q (%v), want the alert %q", ev.ID, err, id(alerts[5]))
	}
	if extra, err := dead.NextMsg(200 * time.Millisecond); err == nil {
		t.Errorf("a second dead letter: %s %v", extra.Subject, extra.Header)
	}
	if logs.FilterMessageSnippet("dead-letter").FilterField(zap.String("event_id", id(alerts[5]))).Len() != 1 {
		t.Errorf("got no error line naming the dead-lettered alert %s", id(alerts[5]))
	}
	for _, e := range logs.All() {
		for _, f := range e.Context {
			if strings.Contains(f.String, testToken) || strings.Contains(e.Message, testToken) {
				t.Errorf("the token leaked into a log line: %q %v", e.Message, e.Context)
			}
		}
	}
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "dead"); got != 1 {
		t.Errorf("newswatch_slack_posts_total{result=dead}: got %v, want 1", got)
	}
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "posted"); got != float64(len(want)) {
		t.Errorf("newswatch_slack_posts_total{result=posted}: got %v, want %d", got, len(want))
	}

	// The format, as Slack received it.
	var post0 *struct {
		Text   string
		Blocks []map[string]any
	}
	for _, p := range s.Posts() {
		if p.EventID == id(alerts[0]) && p.Channel == "C0DPRK" {
			post0 = &struct {
				Text   string
				Blocks []map[string]any
			}{Text: p.Text}
			if err := json.Unmarshal(p.Blocks, &post0.Blocks); err != nil {
				t.Fatalf("blocks: %v", err)
			}
		}
	}
	if post0 == nil {
		t.Fatal("no post of the first alert to #dprk")
	}
	if want := "North Korea sends troops &lt;1&gt; &amp; more https://example.org/world/1?a=1&amp;b=2 (rule dprk-troops, feed world)"; post0.Text != want {
		t.Errorf("fallback text: got %q, want %q", post0.Text, want)
	}
	var types []string
	for _, b := range post0.Blocks {
		types = append(types, b["type"].(string))
	}
	if got, want := strings.Join(types, ","), "header,section,rich_text,context"; got != want {
		t.Errorf("blocks: got %s, want %s", got, want)
	}
	raw, _ := json.Marshal(post0.Blocks)
	for _, want := range []string{
		`"text":"North Korea sends troops \u003c1\u003e \u0026 more"`, // header: plain text
		`\u003chttps://example.org/world/1?a=1\u0026amp;b=2|Read the article\u003e`,
		`Feed: *World \u0026amp; \u0026lt;News\u0026gt;*`,
		`{"style":{"bold":true},"text":"North Korea","type":"text"}`,
		`{"style":{"bold":true},"text":"troops","type":"text"}`,
		"Rule `dprk-troops`",
		"Published \\u003c!date^1795707000^{date_short_pretty} {time}|2026-11-26T15:30:00Z\\u003e",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("blocks: got %s, want them to contain %s", raw, want)
		}
	}
}

// A channel that gets more than a message a second is answered 429; the bridge waits for each
// Retry-After before it sends to that channel again, and loses no alert.
func TestBridgeRespectsRetryAfter(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, time.Second)
	nc := connect(t, n)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 3, 1 // faster than Slack allows
	cfg.DefaultChannel = "#dprk"
	const count = 5
	var alerts []event.Alert
	for i := range count {
		alerts = append(alerts, alert("dprk-troops", "world", i))
	}
	publish(t, n, alerts...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))

	if _, err := s.WaitPosts(count, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	got := countPosts(s.Posts())
	for _, a := range alerts {
		if c := got[[2]string{"C0DPRK", notifier.EventID(a.RuleID, a.FeedID, a.Item.Key)}]; c != 1 {
			t.Errorf("posts of %s: got %d, want 1", a.Item.Key, c)
		}
	}
	_, limited, early := s.Stats()
	if limited == 0 {
		t.Errorf("429 answers: got 0, want some (the bridge sends faster than the fake allows)")
	}
	if early != 0 {
		t.Errorf("requests within a Retry-After: got %d, want 0", early)
	}
	posts := s.Posts()
	for i := 1; i < len(posts); i++ {
		if gap := posts[i].At.Sub(posts[i-1].At); gap < time.Second {
			t.Errorf("messages %d and %d to one channel: %s apart, want at least 1s", i-1, i, gap)
		}
	}
}

// 5xx answers are retried with backoff until Slack takes the message.
func TestBridgeRetriesServerErrors(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	s.Fail("C0KURSK", http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusBadGateway)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.DefaultChannel = "#kursk"
	publish(t, n, alert("kursk", "world", 1))
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))

	if _, err := s.WaitPosts(1, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	if got := len(s.Posts()); got != 1 {
		t.Errorf("posts: got %d, want 1", got)
	}
	if requests, _, _ := s.Stats(); requests != 4 {
		t.Errorf("requests: got %d, want 4 (three failures, then the post)", requests)
	}
}

// An alert delivered again after its message was posted is not posted again: a second bridge
// with its own consumer but the same ledger reads every alert once more and posts nothing.
func TestBridgeSkipsAlertsAlreadyPosted(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 100, 10
	cfg.DefaultChannel = "#newsroom"
	cfg.PostedBucket = "shared_posted"
	const count = 4
	for i := range count {
		publish(t, n, alert("kursk", "world", i))
	}
	first, err := slack.New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	if _, err := s.WaitPosts(count, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	cfg.Durable = "second"
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	consumerIdle(t, nc, "second")
	if got := len(s.Posts()); got != count {
		t.Errorf("posts: got %d, want %d", got, count)
	}
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "duplicate"); got != count {
		t.Errorf("newswatch_slack_posts_total{result=duplicate}: got %v, want %d", got, count)
	}
}

// Through an incoming webhook, messages arrive; a webhook that is gone is a permanent error.
func TestBridgePostsThroughWebhook(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	p, err := slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL()})
	if err != nil {
		t.Fatalf("NewWebhookPoster: %v", err)
	}
	cfg := baseConfig(nc, p)
	cfg.DefaultChannel = "#hook"
	publish(t, n, alert("kursk", "world", 1), alert("kursk", "world", 2))
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	posts, err := s.WaitPosts(2, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	for _, p := range posts {
		if !p.Webhook || p.Channel != "C0HOOK" || !strings.Contains(string(p.Blocks), `"type":"header"`) {
			t.Errorf("post: got webhook=%v channel=%s blocks=%s, want a webhook post with a header to C0HOOK", p.Webhook, p.Channel, p.Blocks)
		}
	}

	gone, err := slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL() + "x"})
	if err != nil {
		t.Fatalf("NewWebhookPoster: %v", err)
	}
	_, err = gone.Post(testContext(t), "#hook", slack.Message{Text: "hi"})
	if !errors.Is(err, slack.ErrPermanent) {
		t.Errorf("post to a missing webhook: got %v, want ErrPermanent", err)
	}
	if err != nil && strings.Contains(err.Error(), s.WebhookURL()) {
		t.Errorf("the error quotes the webhook URL: %v", err)
	}
}

// metricValue is the value of the counter name{result=result} in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{result=%q} not found", name, result)
	return 0
}

// An alert as large as a hostile feed makes it is posted within Block Kit's limits, by the bot
// and by the webhook: the test Slack refuses nothing, and nothing goes to the dead letters.
func TestBridgePostsHugeAlertsWithinTheLimits(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	dead, err := nc.SubscribeSync("newswatch.slack.dead.>")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}

	huge := func(i int) event.Alert {
		a := alert("dprk-troops", "world", i)
		a.FeedTitle = strings.Repeat("Мировые новости & <co> ", 500)
		a.Item.Title = strings.Repeat("Войска КНДР 🇰🇷 북한군 & <troops> ", 400) // about 12 KB
		a.Item.Link += "&" + strings.Repeat("q=<x>|", 50)
		a.Item.Summary = strings.Repeat(`<a href="https://example.org/?a=1&b=2">North Korea</a> <!channel> troops 👨‍👩‍👧 `, 150)
		a.Snippet = a.Item.Summary
		a.Hits = nil
		for j := range 25 {
			a.Hits = append(a.Hits, event.Hit{Field: "summary", Start: 0, End: 1, Text: []string{"North Korea", "troops", "<!channel>", fmt.Sprintf("term %d", j)}[j%4]})
		}
		for j := range 2000 {
			a.Item.Authors = append(a.Item.Authors, fmt.Sprintf("Автор <%d> & Co", j))
			a.Item.Categories = append(a.Item.Categories, fmt.Sprintf("category %d", j))
		}
		return a
	}
	bot := baseConfig(nc, botPoster(t, s))
	bot.Rate, bot.Burst = 100, 10
	bot.DefaultChannel = "#dprk"
	hook, err := slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL()})
	if err != nil {
		t.Fatalf("NewWebhookPoster: %v", err)
	}
	viaHook := baseConfig(nc, hook)
	viaHook.Durable = "newswatch_slack_hook"
	viaHook.DefaultChannel = "#hook"
	publish(t, n, huge(1), huge(2))
	runBridge(t, bot, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	runBridge(t, viaHook, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))

	posts, err := s.WaitPosts(4, waitTimeout)
	if err != nil {
		t.Fatalf("%v; refusals: %v", err, s.Refusals())
	}
	consumerIdle(t, nc, "newswatch_slack")
	consumerIdle(t, nc, "newswatch_slack_hook")
	if r := s.Refusals(); len(r) > 0 {
		t.Errorf("the test Slack refused %d messages: %v", len(r), r)
	}
	if msg, err := dead.NextMsg(200 * time.Millisecond); err == nil {
		t.Errorf("a dead letter: %s %v", msg.Subject, msg.Header)
	}
	webhook := 0
	for _, p := range posts {
		if p.Webhook {
			webhook++
		}
		if !strings.Contains(string(p.Blocks), `|Read the article\u003e`) {
			t.Errorf("post %s: the link is missing: %.300s", p.EventID, p.Blocks)
		}
	}
	if webhook != 2 {
		t.Errorf("webhook posts: got %d, want 2", webhook)
	}
}

// A message over a limit is refused for good: retrying it cannot help.
func TestOverTheLimitsIsPermanent(t *testing.T) {
	s := fake(t, time.Millisecond)
	m := slack.Message{Text: "x", Blocks: []slackapi.Block{slackapi.NewSectionBlock(
		slackapi.NewTextBlockObject(slackapi.MarkdownType, strings.Repeat("x", 3001), false, true), nil, nil)}}
	if _, err := botPoster(t, s).Post(testContext(t), "#dprk", m); !errors.Is(err, slack.ErrPermanent) || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Errorf("bot: got %v, want invalid_blocks, permanent", err)
	}
	hook, err := slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL()})
	if err != nil {
		t.Fatalf("NewWebhookPoster: %v", err)
	}
	if _, err := hook.Post(testContext(t), "#hook", m); !errors.Is(err, slack.ErrPermanent) {
		t.Errorf("webhook: got %v, want permanent", err)
	}
}
