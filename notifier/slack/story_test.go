package slack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// source is one item of a story: its feed, its language, and the rules that match it.
type source struct {
	feed, lang string
	rules      []string
}

// storyAlerts are the alerts of a story's items, in order: each alert carries the story as it
// stands after its item joined, as the daemon sends it.
func storyAlerts(id string, first int, sources []source) []event.Alert {
	var out []event.Alert
	var feeds, langs []string
	for i, s := range sources {
		if !contains(feeds, s.feed) {
			feeds = append(feeds, s.feed)
		}
		if !contains(langs, s.lang) {
			langs = append(langs, s.lang)
		}
		for j, rule := range s.rules {
			a := alert(rule, s.feed, first+i)
			a.Item.Title = fmt.Sprintf("Story %s, report %d (%s)", id, i, s.lang)
			a.Story = &event.StoryRef{ID: id, First: j == 0 && i == 0, Size: i + 1, Feeds: append([]string(nil), feeds...),
				Languages: append([]string(nil), langs...), FirstSeen: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)}
			out = append(out, a)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// parents and replies are a channel's messages and its thread replies.
func parents(posts []fakeslack.Post, channel string) (top []fakeslack.Post, replies map[string][]fakeslack.Post) {
	replies = map[string][]fakeslack.Post{}
	for _, p := range postsIn(posts, channel) {
		if p.ThreadTS == "" {
			top = append(top, p)
		} else {
			replies[p.ThreadTS] = append(replies[p.ThreadTS], p)
		}
	}
	return top, replies
}

// A story has one message in each channel its alerts are routed to, whatever the feeds,
// languages and rules of its items: the first alert posts it, each later one updates it to
// count the story's sources and name its rule, and, with threads, each later item routed to the
// channel is a reply in the message's thread, once. A second bridge reading every alert again
// with the same ledger posts, replies and updates nothing.
func TestBridgePostsOneMessagePerStoryAndChannel(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 100, 10
	cfg.Threads = true
	cfg.Routes = []slack.Route{
		{Rule: "kursk", Channels: []string{"#newsroom"}},
		{Rule: "dprk-*", Channels: []string{"#dprk", "#newsroom"}},
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	troops := storyAlerts("a1b2c3d4e5f60718", 1, []source{
		{"world", "en", []string{"dprk-troops", "kursk"}},
		{"tass", "ru", []string{"dprk-troops"}},
		{"yonhap", "ko", []string{"dprk-troops", "kursk"}},
		{"ukrinform", "uk", []string{"kursk"}},
		{"nhk", "ja", []string{"dprk-troops"}},
	})
	strike := storyAlerts("0f1e2d3c4b5a6978", 100, []source{
		{"world", "en", []string{"kursk"}},
		{"tass", "ru", []string{"kursk"}},
	})
	publish(t, n, troops[:3]...)
	publish(t, n, strike[:1]...)
	publish(t, n, troops[3:]...)
	publish(t, n, strike[1:]...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	consumerIdle(t, nc, "newswatch_slack")

	posts := s.Posts()
	tests := []struct {
		channel string
		story   string
		replies int
		want    []string
	}{
		// #dprk: the troops story's items matching dprk-troops: world, tass, yonhap, nhk.
		{"C0DPRK", "a1b2c3d4e5f60718", 3, []string{"+4 sources in 5 languages", "Rule `dprk-troops`", "3 sources routed here are in the thread"}},
		{"C0NEWS", "a1b2c3d4e5f60718", 4, []string{"+4 sources in 5 languages", "Rules `dprk-troops`, `kursk`", "4 sources routed here are in the thread"}},
		{"C0NEWS", "0f1e2d3c4b5a6978", 1, []string{"+1 source in 2 languages", "Rule `kursk`"}},
	}
	for _, tt := range tests {
		top, replies := parents(posts, tt.channel)
		var msg *fakeslack.Post
		for i, p := range top {
			if p.Payload["story"] == tt.story {
				if msg != nil {
					t.Errorf("messages of story %s in %s: more than one", tt.story, tt.channel)
				}
				msg = &top[i]
			}
		}
		if msg == nil {
			t.Errorf("messages of story %s in %s: none, want 1", tt.story, tt.channel)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(string(msg.Blocks), w) {
				t.Errorf("message of story %s in %s: got %s, want it to contain %q", tt.story, tt.channel, msg.Blocks, w)
			}
		}
		if !strings.Contains(msg.Text, "report 0 (en)") {
			t.Errorf("fallback of story %s in %s: got %q, want the first item's title", tt.story, tt.channel, msg.Text)
		}
		got := replies[msg.TS]
		if len(got) != tt.replies {
			t.Errorf("replies under story %s in %s: got %d, want %d", tt.story, tt.channel, len(got), tt.replies)
		}
		seen := map[string]bool{}
		for _, r := range got {
			key, _ := r.Payload["item_key"].(string)
			if seen[key] {
				t.Errorf("reply of %s under story %s in %s: twice", key, tt.story, tt.channel)
			}
			seen[key] = true
			if !strings.Contains(string(r.Blocks), `"bold":true`) || !strings.Contains(string(r.Blocks), "Read the article") {
				t.Errorf("reply %s: got %s, want the link and the matched words in bold", key, r.Blocks)
			}
		}
	}
	if got := len(posts); got != 3+3+4+1 {
		t.Errorf("messages and replies: got %d, want 11", got)
	}
	if got := len(postsIn(posts, "C0KURSK")); got != 0 {
		t.Errorf("messages in #kursk: got %d, want none", got)
	}
	updates := s.Updates()
	if updates == 0 {
		t.Errorf("updates: got none")
	}
	for _, r := range []struct {
		result string
		want   float64
	}{{"posted", 3}, {"replied", 8}, {"duplicate", 0}} {
		if got := metricValue(t, reg, "newswatch_slack_posts_total", r.result); got != r.want {
			t.Errorf("newswatch_slack_posts_total{result=%s}: got %v, want %v", r.result, got, r.want)
		}
	}

	again := cfg
	again.Durable, again.Registerer = "again", nil
	again.PostedBucket = "newswatch_slack_posted"
	runBridge(t, again, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	consumerIdle(t, nc, "again")
	if got := len(s.Posts()); got != len(posts) {
		t.Errorf("messages after a redelivery: got %d, want %d", got, len(posts))
	}
	if got := s.Updates(); got != updates {
		t.Errorf("updates after a redelivery: got %d, want %d", got, updates)
	}
}

// Slack takes the story's message and a thread reply, and the answers are lost: the bridge
// finds each by its metadata (the message in the channel's history, the reply in the thread)
// and records it, posting neither twice.
func TestBridgeFindsStoryMessagesWhoseAnswerWasLost(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 100, 10
	cfg.Threads = true
	cfg.DefaultChannel = "C0NEWS"
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	alerts := storyAlerts("a1b2c3d4e5f60718", 1, []source{
		{"world", "en", []string{"kursk"}}, {"tass", "ru", []string{"kursk"}}, {"yonhap", "ko", []string{"kursk"}},
	})
	publish(t, n, alerts...)
	s.DropAnswers("C0NEWS", 2) // the message and the first reply
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	consumerIdle(t, nc, "newswatch_slack")

	top, replies := parents(s.Posts(), "C0NEWS")
	if len(top) != 1 {
		t.Fatalf("messages: got %d, want 1", len(top))
	}
	if got := len(replies[top[0].TS]); got != 2 {
		t.Errorf("replies: got %d, want 2", got)
	}
	if b := string(top[0].Blocks); !strings.Contains(b, "+2 sources in 3 languages") || !strings.Contains(b, "2 sources routed here are in the thread") {
		t.Errorf("message: got %s, want it to count 2 sources in 3 languages, 2 in the thread", b)
	}
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "recovered"); got != 1 {
		t.Errorf("newswatch_slack_posts_total{result=recovered}: got %v, want 1 (the message; the reply's alert is replied)", got)
	}
	if s.Lookups() < 2 {
		t.Errorf("lookups: got %d, want at least 2 (the history and the thread)", s.Lookups())
	}
}

// Without threads, the story's message lists the later sources routed to the channel; with
// --group items, each item has its message as before; through a webhook, which can neither
// update nor reply, the story's first alert posts and the others are covered by it.
func TestBridgeStoryGroupings(t *testing.T) {
	alerts := storyAlerts("a1b2c3d4e5f60718", 1, []source{
		{"world", "en", []string{"kursk"}}, {"tass", "ru", []string{"kursk"}}, {"yonhap", "ko", []string{"kursk"}},
	})
	tests := []struct {
		name     string
		group    slack.Group
		webhook  bool
		messages int
		want     string
	}{
		{name: "stories without threads", messages: 1, want: "Story a1b2c3d4e5f60718, report 2 (ko)"},
		{name: "items", group: slack.GroupItems, messages: 3, want: "report 0 (en)"},
		{name: "stories through a webhook", webhook: true, messages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := notifiertest.Open(t, notifiertest.Config(t))
			s := fake(t, 10*time.Millisecond)
			nc := connect(t, n)
			p := botPoster(t, s)
			if tt.webhook {
				var err error
				if p, err = slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL()}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := baseConfig(nc, p)
			cfg.Rate, cfg.Burst = 100, 10
			cfg.Group = tt.group
			cfg.DefaultChannel = "#newsroom"
			publish(t, n, alerts...)
			runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
			consumerIdle(t, nc, "newswatch_slack")
			posts := s.Posts()
			if len(posts) != tt.messages {
				t.Fatalf("messages: got %d, want %d", len(posts), tt.messages)
			}
			if tt.webhook {
				// The message was posted for the first alert, which knew of one item.
				if strings.Contains(string(posts[0].Blocks), "sources") {
					t.Errorf("webhook message: got %s, want no count of sources", posts[0].Blocks)
				}
				return
			}
			if !strings.Contains(string(posts[0].Blocks), tt.want) {
				t.Errorf("first message: got %s, want it to contain %q", posts[0].Blocks, tt.want)
			}
			for _, p := range posts {
				if p.ThreadTS != "" {
					t.Errorf("a reply in a thread without --threads")
				}
			}
		})
	}
}

// FindReply reads a thread through every page and knows a reply by the item in its metadata,
// never by the thread's parent; the channel's history does not show the replies, so a story's
// message is found there by its story id and not mistaken for a reply.
func TestBotPosterFindReply(t *testing.T) {
	s := fake(t, time.Nanosecond)
	p := botPoster(t, s).(*slack.BotPoster)
	ctx := testContext(t)
	parent, err := p.Post(ctx, "C0NEWS", slack.Message{Text: "story", EventID: "e0", Feed: "world", ItemKey: "k0", Story: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	var target slack.Receipt
	for i := range 450 { // more than two pages
		r, err := p.Post(ctx, "C0NEWS", slack.Message{Text: "reply", EventID: fmt.Sprint("e", i+1), Feed: "tass", ItemKey: fmt.Sprint("k", i+1),
			Story: "s1", ThreadTS: parent.TS})
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if i == 420 {
			target = r
		}
	}
	tests := []struct {
		name  string
		key   slack.MessageKey
		found bool
		want  slack.Receipt
	}{
		{"by item, three pages in", slack.MessageKey{Feed: "tass", ItemKey: "k421"}, true, target},
		{"the parent is no reply", slack.MessageKey{Feed: "world", ItemKey: "k0"}, false, slack.Receipt{}},
		{"another feed's item", slack.MessageKey{Feed: "world", ItemKey: "k421"}, false, slack.Receipt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := p.FindReply(ctx, parent, tt.key)
			if err != nil || found != tt.found || got != tt.want {
				t.Errorf("FindReply: got %+v, %v, %v; want %+v, %v", got, found, err, tt.want, tt.found)
			}
		})
	}
	got, found, err := p.FindMessage(ctx, "C0NEWS", slack.MessageKey{Story: "s1"}, time.Now().Add(-time.Minute))
	if err != nil || !found || got != parent {
		t.Errorf("FindMessage by story: got %+v, %v, %v; want the parent %+v", got, found, err, parent)
	}
	if _, found, _ := p.FindMessage(ctx, "C0NEWS", slack.MessageKey{Feed: "tass", ItemKey: "k421"}, time.Now().Add(-time.Minute)); found {
		t.Errorf("FindMessage found a thread reply in the channel's history")
	}
	if _, err := p.Post(ctx, "C0NEWS", slack.Message{Text: "orphan", ThreadTS: "1.000001"}); !errors.Is(err, slack.ErrPermanent) {
		t.Errorf("a reply to no message: got %v, want a permanent refusal", err)
	}
}

// A bridge killed between Slack accepting a thread reply and recording it leaves the reply
// announced in the story's record; the next bridge finds the reply in the thread by its item,
// records it, and updates the story's message: the reply is not posted twice.
func TestBridgeFindsTheThreadReplyOfADeadBridge(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, time.Nanosecond)
	nc := connect(t, n)
	p := botPoster(t, s)
	cfg := baseConfig(nc, p)
	cfg.Rate, cfg.Burst = 100, 10
	cfg.Threads = true
	cfg.DefaultChannel = "C0NEWS"
	const story = "a1b2c3d4e5f60718"
	alerts := storyAlerts(story, 1, []source{
		{"world", "en", []string{"kursk"}}, {"tass", "ru", []string{"kursk"}}, {"yonhap", "ko", []string{"kursk"}},
	})
	ctx := testContext(t)
	first, err := notifier.NewEvent(alerts[0])
	if err != nil {
		t.Fatal(err)
	}
	second, err := notifier.NewEvent(alerts[1])
	if err != nil {
		t.Fatal(err)
	}
	parent, err := p.Post(ctx, "C0NEWS", slack.Message{Text: "story", EventID: first.ID, Feed: "world", ItemKey: alerts[0].Item.Key, Story: story})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Post(ctx, "C0NEWS", slack.Message{Text: "reply", EventID: second.ID, Feed: "tass", ItemKey: alerts[1].Item.Key,
		Story: story, ThreadTS: parent.TS}); err != nil { // Slack took it; the bridge died
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "newswatch_slack_posted", History: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := json.Marshal(map[string]any{"story": story, "channel": "C0NEWS", "state": "posted", "event_id": first.ID, "first": first,
		"rules": []string{"kursk"}, "sources": []string{slack.SourceKey("world", alerts[0].Item.Key)}, "size": 1, "feeds": 1,
		"languages": []string{"en"}, "channel_id": parent.Channel, "ts": parent.TS,
		"reply": map[string]any{"source": slack.SourceKey("tass", alerts[1].Item.Key), "feed": "tass", "item_key": alerts[1].Item.Key,
			"event_id": second.ID, "owner": "dead-bridge", "begun": time.Now().Add(-time.Minute)}})
	if _, err := kv.Create(ctx, slack.StoryLedgerKey(story, "C0NEWS"), v); err != nil {
		t.Fatal(err)
	}

	publish(t, n, alerts...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	consumerIdle(t, nc, "newswatch_slack")
	top, replies := parents(s.Posts(), "C0NEWS")
	if len(top) != 1 {
		t.Fatalf("messages: got %d, want the one the dead bridge posted", len(top))
	}
	var keys []string
	for _, r := range replies[parent.TS] {
		keys = append(keys, r.Payload["item_key"].(string))
	}
	if want := []string{alerts[1].Item.Key, alerts[2].Item.Key}; !slices.Equal(keys, want) {
		t.Errorf("replies: got %v, want %v (the dead bridge's once, then the next item's)", keys, want)
	}
	if b := string(top[0].Blocks); !strings.Contains(b, "+2 sources in 3 languages") || !strings.Contains(b, "2 sources routed here are in the thread") {
		t.Errorf("message: got %s, want it to count 2 sources in 3 languages, 2 in the thread", b)
	}
}

// Two replicas sharing the consumer and the ledger split a story's alerts between them, and
// still give each story one message per channel and each later item one reply: they write the
// story's record by compare-and-set, and wait for a post or a reply the other has begun.
func TestReplicasPostOneMessagePerStory(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, time.Microsecond)
	cfg := baseConfig(nil, botPoster(t, s))
	cfg.Rate, cfg.Burst = 1000, 100
	cfg.Threads = true
	cfg.PostTimeout = time.Second
	cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	cfg.Routes = []slack.Route{{Rule: "*", Channels: []string{"#newsroom", "#dprk"}}}
	var alerts []event.Alert
	for i := range 4 {
		alerts = append(alerts, storyAlerts(fmt.Sprintf("%016x", uint64(0xa1b2c3d4e5f60000)+uint64(i)), 100*i, []source{
			{"world", "en", []string{"kursk", "dprk-troops"}}, {"tass", "ru", []string{"kursk"}}, {"yonhap", "ko", []string{"dprk-troops"}},
			{"nhk", "ja", []string{"kursk"}}, {"ukrinform", "uk", []string{"kursk", "dprk-troops"}},
		})...)
	}
	publish(t, n, alerts...)
	cfg.MaxInFlight = 4 // the consumer hands out 4 at a time, to either replica
	var regs []*prometheus.Registry
	for range 2 {
		c := cfg
		c.Conn = connect(t, n)
		reg := prometheus.NewRegistry()
		c.Registerer, regs = reg, append(regs, reg)
		runBridge(t, c, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	}
	// Each wait for a post the other replica began lasts up to PostTimeout and 5s: allow for
	// several in a row on a loaded machine.
	for range 3 {
		if idle(t, connect(t, n), "newswatch_slack") {
			break
		}
	}
	consumerIdle(t, connect(t, n), "newswatch_slack")
	for i, reg := range regs {
		sent := 0.0
		for _, r := range []string{"posted", "replied", "updated"} {
			sent += metricValue(t, reg, "newswatch_slack_posts_total", r)
		}
		if sent == 0 {
			t.Errorf("replica %d sent nothing; the test proves nothing", i)
		}
		t.Logf("replica %d: %v messages, replies and updates", i, sent)
	}

	posts := s.Posts()
	for _, ch := range []string{"C0NEWS", "C0DPRK"} {
		top, replies := parents(posts, ch)
		if len(top) != 4 {
			t.Errorf("messages in %s: got %d, want 4 (one a story)", ch, len(top))
		}
		for _, p := range top {
			var keys []string
			for _, r := range replies[p.TS] {
				keys = append(keys, r.Payload["item_key"].(string))
			}
			slices.Sort(keys)
			if len(keys) != 4 || len(slices.Compact(slices.Clone(keys))) != 4 {
				t.Errorf("replies under story %v in %s: got %v, want the 4 later items once each", p.Payload["story"], ch, keys)
			}
			if b := string(p.Blocks); !strings.Contains(b, "+4 sources in 5 languages") || !strings.Contains(b, "`kursk`") || !strings.Contains(b, "`dprk-troops`") {
				t.Errorf("message of story %v in %s: got %s, want +4 sources in 5 languages and both rules", p.Payload["story"], ch, b)
			}
		}
	}
	if got, want := len(posts), 2*4*5; got != want {
		t.Errorf("messages and replies: got %d, want %d", got, want)
	}
}

// idle reports whether the consumer has nothing pending and nothing unacknowledged, waiting for
// it at most waitTimeout.
func idle(t *testing.T, nc *nats.Conn, durable string) bool {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if c, err := js.Consumer(testContext(t), "NEWSWATCH_ALERTS", durable); err == nil {
			if info, err := c.Info(testContext(t)); err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
