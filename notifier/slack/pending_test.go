package slack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

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

// Find reads the channel's history from since on, through every page, and knows a message by
// the event id in its metadata; a channel given by name is resolved with conversations.list.
func TestBotPosterFind(t *testing.T) {
	s := fake(t, time.Nanosecond)
	p := botPoster(t, s).(*slack.BotPoster)
	ctx := testContext(t)
	post := func(channel, eventID string) slack.Receipt {
		t.Helper()
		r, err := p.Post(ctx, channel, slack.Message{Text: "text of " + eventID, EventID: eventID})
		if err != nil {
			t.Fatalf("Post %s: %v", eventID, err)
		}
		return r
	}
	post("C0DPRK", "before")
	time.Sleep(2 * time.Millisecond)
	since := time.Now()
	time.Sleep(2 * time.Millisecond)
	target := post("C0DPRK", "target")
	post("C0NEWS", "elsewhere")
	for i := range 450 { // more than two pages after the target
		post("C0DPRK", fmt.Sprintf("filler-%d", i))
	}

	// A bot that never posted to #dprk by name has to resolve it.
	fresh := botPoster(t, s).(*slack.BotPoster)
	tests := []struct {
		name, channel, eventID string
		since                  time.Time
		found                  bool
		want                   slack.Receipt
	}{
		{"by id, two pages back", "C0DPRK", "target", since, true, target},
		{"by name", "#dprk", "target", since, true, target},
		{"older than since", "C0DPRK", "before", since, false, slack.Receipt{}},
		{"older, in range", "C0DPRK", "before", since.Add(-time.Minute), true, slack.Receipt{Channel: "C0DPRK"}},
		{"in another channel", "#dprk", "elsewhere", since, false, slack.Receipt{}},
		{"never posted", "#newsroom", "target", since, false, slack.Receipt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := fresh.Find(ctx, tt.channel, tt.eventID, tt.since)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if found != tt.found {
				t.Fatalf("found: got %v, want %v", found, tt.found)
			}
			if tt.want.TS != "" && got != tt.want || tt.want.TS == "" && found && got.Channel != tt.want.Channel {
				t.Errorf("receipt: got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("unknown channel", func(t *testing.T) {
		_, _, err := fresh.Find(ctx, "#nowhere", "target", since)
		if !errors.Is(err, slack.ErrPermanent) {
			t.Errorf("got %v, want ErrPermanent", err)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		bad, err := slack.NewBotPoster(slack.BotConfig{Token: "xoxb-wrong", APIURL: s.APIURL()})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = bad.Find(ctx, "C0DPRK", "target", since)
		if !errors.Is(err, slack.ErrPermanent) {
			t.Errorf("got %v, want ErrPermanent (invalid_auth)", err)
		}
	})
}

// A message whose answer was lost (Slack took it, the bridge never heard) is found in the
// channel's history on the next delivery, and not posted again: every alert once.
func TestBridgeDoesNotRepostWhenTheAnswerWasLost(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	s.DropAnswers("C0DPRK", 2)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Rate, cfg.Burst = 100, 10
	cfg.DefaultChannel = "#dprk" // by name: the lost answer was to tell its id
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	const count = 4
	var alerts []event.Alert
	for i := range count {
		alerts = append(alerts, alert("dprk-troops", "world", i))
	}
	publish(t, n, alerts...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))

	if _, err := s.WaitPosts(count, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	assertOnce(t, s, "C0DPRK", alerts)
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "recovered"); got != 2 {
		t.Errorf("newswatch_slack_posts_total{result=recovered}: got %v, want 2", got)
	}
}

// Pending records left by a bridge that died: the message Slack has is recorded and not posted
// again, the one it does not have is posted, and a record too young to be over makes the alert
// wait rather than race the bridge that may still be posting it.
func TestBridgeSettlesPendingRecordsOfAnotherBridge(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	p := botPoster(t, s)
	cfg := baseConfig(nc, p)
	cfg.Rate, cfg.Burst = 100, 10
	cfg.DefaultChannel = "C0NEWS"
	cfg.PostTimeout = time.Second
	alerts := []event.Alert{alert("kursk", "world", 1), alert("kursk", "world", 2), alert("kursk", "world", 3)}
	id := func(a event.Alert) string { return notifier.EventID(a.RuleID, a.FeedID, a.Item.Key) }

	ctx := testContext(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "newswatch_slack_posted", History: 1, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	longAgo := time.Now().Add(-time.Minute)
	pending := func(a event.Alert, begun time.Time) {
		t.Helper()
		v, _ := json.Marshal(map[string]any{"event_id": id(a), "channel": "C0NEWS", "state": "pending", "owner": "dead-bridge", "begun": begun})
		if _, err := kv.Create(ctx, slack.LedgerKey(id(a), "C0NEWS"), v); err != nil {
			t.Fatal(err)
		}
	}
	pending(alerts[0], longAgo) // posted, then the bridge died
	if _, err := p.Post(ctx, "C0NEWS", format(t, alerts[0])); err != nil {
		t.Fatal(err)
	}
	pending(alerts[1], longAgo) // died before Slack took it
	started := time.Now()
	pending(alerts[2], started) // may still be in flight

	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	publish(t, n, alerts...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	posts, err := s.WaitPosts(len(alerts), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	assertOnce(t, s, "C0NEWS", alerts)
	for _, p := range posts {
		if p.EventID == id(alerts[2]) && p.At.Sub(started) < cfg.PostTimeout {
			t.Errorf("the alert of a young pending record was posted %s after the record, want at least the post timeout %s", p.At.Sub(started), cfg.PostTimeout)
		}
	}
	if got := metricValue(t, reg, "newswatch_slack_posts_total", "recovered"); got != 1 {
		t.Errorf("newswatch_slack_posts_total{result=recovered}: got %v, want 1", got)
	}
}

// Through a webhook, which has no history to ask, a lost answer means the message is posted
// again: never lost, and once more for each answer lost (the two may hit the same alert).
func TestWebhookLosesNoAlertWhenAnswersAreLost(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	s.DropAnswers("C0HOOK", 2)
	p, err := slack.NewWebhookPoster(slack.WebhookConfig{URL: s.WebhookURL()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(nc, p)
	cfg.Rate, cfg.Burst = 100, 10
	cfg.DefaultChannel = "#hook"
	const count = 4
	var alerts []event.Alert
	for i := range count {
		alerts = append(alerts, alert("kursk", "world", i))
	}
	publish(t, n, alerts...)
	runBridge(t, cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)))
	if _, err := s.WaitPosts(count+2, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdle(t, nc, "newswatch_slack")
	byTitle := map[string]int{}
	for _, p := range s.Posts() {
		byTitle[p.Text]++
	}
	for _, a := range alerts {
		m := format(t, a)
		if got := byTitle[m.Text]; got < 1 {
			t.Errorf("webhook messages of %s: got %d, want at least 1", a.Item.Key, got)
		}
	}
	if got := len(s.Posts()); got != count+2 {
		t.Errorf("webhook messages: got %d, want %d (each lost answer posts once more)", got, count+2)
	}
}

// assertOnce checks that channel got the message of every alert exactly once, and nothing else.
func assertOnce(t *testing.T, s *fakeslack.Server, channel string, alerts []event.Alert) {
	t.Helper()
	got := countPosts(s.Posts())
	for _, a := range alerts {
		id := notifier.EventID(a.RuleID, a.FeedID, a.Item.Key)
		if c := got[[2]string{channel, id}]; c != 1 {
			t.Errorf("messages of %s in %s: got %d, want 1", a.Item.Key, channel, c)
		}
	}
	if len(s.Posts()) != len(alerts) {
		t.Errorf("messages: got %d, want %d", len(s.Posts()), len(alerts))
	}
}

// format is the message of an alert, as the bridge posts it.
func format(t *testing.T, a event.Alert) slack.Message {
	t.Helper()
	ev, err := notifier.NewEvent(a)
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	return slack.Format(ev)
}
