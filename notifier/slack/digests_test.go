package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// TestBridgePostsDeliveriesOnce publishes a digest, a budget notice and a spike to the delivery
// stream, twice (as two replicas would: the stream keeps one of each), and runs two bridges one
// after the other on one ledger, the second reading every event again: each event is one
// message in its rule's channel, the digest a list of its stories with their links, the spike
// highlighted with its stories. The alerts of a rule of DigestRules are not posted one by one.
func TestBridgePostsDeliveriesOnce(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)

	now := time.Now().UTC()
	w := delivery.Period{ID: "20261126T150000Z", Start: now.Truncate(time.Hour), End: now.Truncate(time.Hour).Add(time.Hour)}
	digest := delivery.Digest{ID: "kursk." + w.ID, Rule: "kursk", Kind: delivery.KindDigest, Period: w, Items: 3, Stories: []delivery.DigestStory{
		{ID: "s1", Title: "Troops <cross> the border", Link: "https://a.example/1", Sources: 2, Items: 2, FirstSeen: now},
		{ID: "s2", Title: "Drone strike on a depot", Link: "https://b.example/2", Sources: 1, Items: 1, FirstSeen: now},
	}}
	notice := delivery.Notice{ID: "dprk.budget." + w.ID, Rule: "dprk", Max: 10, Window: w}
	spike := delivery.Spike{ID: "kursk.spike.20261126T151500Z", Rule: "kursk", Start: w.Start, End: now, Count: 5, Publishers: 4,
		Baseline: 1, BaselineDays: 7, Ratio: 5, Stories: []delivery.SpikeStory{{ID: "s1", Title: "Troops cross the border", Publisher: "a.example", FirstSeen: now}}}
	events := []notifier.DeliveryEvent{
		{Kind: notifier.KindDigest, RuleID: "kursk", ID: digest.ID, Subject: w.ID, Time: w.End, Data: digest},
		{Kind: notifier.KindNotice, RuleID: "dprk", ID: notice.ID, Subject: w.ID, Time: now, Data: notice},
		{Kind: notifier.KindSpike, RuleID: "kursk", ID: spike.ID, Subject: now.Format(time.RFC3339), Time: now, Data: spike},
	}
	for range 2 {
		if err := n.Deliveries().Publish(testContext(t), events); err != nil {
			t.Fatal(err)
		}
	}

	// kursk is left to its digests; dprk's alerts are posted one by one.
	kurskAlert, dprkAlert := alert("kursk", "world", 1), alert("dprk", "world", 2)
	publish(t, n, kurskAlert, dprkAlert)
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.DigestRules = []string{"kur*"}
	cfg.Routes = []slack.Route{{Rule: "dprk", Channels: []string{"#dprk"}}}
	cfg.DefaultChannel = "#kursk"
	// The second bridge reads every delivery again: the ledger alone keeps it from posting.
	runBridgeTwice(t, cfg, nc, s, 4, "NEWSWATCH_DELIVERIES")
	posts := s.Posts()
	if len(posts) != 4 {
		t.Fatalf("%d posts, want 4 (a digest, a notice, a spike and dprk's alert, once each): %+v", len(posts), posts)
	}
	byID := map[string]string{}
	for _, p := range posts {
		var blocks []struct{ Text struct{ Text string } }
		if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		text := p.Channel
		for _, b := range blocks {
			text += " " + b.Text.Text
		}
		byID[p.EventID] = text
	}
	if _, ok := byID[notifier.EventID("kursk", "world", kurskAlert.Item.Key)]; ok {
		t.Errorf("the alert of kursk, a digest rule, was posted")
	}
	if _, ok := byID[notifier.EventID("dprk", "world", dprkAlert.Item.Key)]; !ok {
		t.Errorf("the alert of dprk was not posted")
	}
	if got := byID[digest.ID]; !strings.HasPrefix(got, "C0KURSK ") || !strings.Contains(got, "https://a.example/1|Troops &lt;cross&gt; the border") ||
		!strings.Contains(got, "https://b.example/2") {
		t.Errorf("digest message: %s", got)
	}
	if got := byID[notice.ID]; !strings.HasPrefix(got, "C0DPRK ") || !strings.Contains(got, "Budget reached") {
		t.Errorf("notice message: %s", got)
	}
	if got := byID[spike.ID]; !strings.HasPrefix(got, "C0KURSK ") || !strings.Contains(got, "rotating_light") || !strings.Contains(got, "a.example") {
		t.Errorf("spike message: %s", got)
	}
}

// consumerIdleOn waits until the durable consumer of stream has nothing pending or unacknowledged.
func consumerIdleOn(t *testing.T, nc *nats.Conn, stream, durable string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "consumer "+durable+" idle", func() bool {
		c, err := js.Consumer(testContext(t), stream, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(testContext(t))
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// durables are the bridge's durable consumers by stream, as cfg's defaults name them.
var durables = map[string]string{"NEWSWATCH_DELIVERIES": "newswatch_slack_deliveries", "NEWSWATCH_ALERTS": "newswatch_slack"}

// runBridgeTwice runs a bridge of cfg until its consumers are idle, once after it made posts
// posts, then again after the durables of the streams reread are deleted, so that the second
// bridge reads those streams from their start.
func runBridgeTwice(t *testing.T, cfg slack.Config, nc *nats.Conn, s *fakeslack.Server, posts int, reread ...string) {
	t.Helper()
	for i := range 2 {
		b, err := slack.New(cfg, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		if i == 0 {
			if _, err := s.WaitPosts(posts, waitTimeout); err != nil {
				t.Fatalf("posts: %v", err)
			}
		}
		consumerIdleOn(t, nc, "NEWSWATCH_DELIVERIES", durables["NEWSWATCH_DELIVERIES"])
		consumerIdleOn(t, nc, "NEWSWATCH_ALERTS", durables["NEWSWATCH_ALERTS"])
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			for _, stream := range reread {
				if err := js.DeleteConsumer(testContext(t), stream, durables[stream]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestBridgeDeliveriesStartWhereConfigured: a new bridge reads the delivery stream from where
// its Start says, as it reads the alert stream: started at "new", it leaves a digest published
// before it came and posts the one published after.
func TestBridgeDeliveriesStartWhereConfigured(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)

	now := time.Now().UTC()
	notice := func(id string) notifier.DeliveryEvent {
		w := delivery.Period{ID: id, Start: now.Truncate(time.Hour), End: now.Truncate(time.Hour).Add(time.Hour)}
		return notifier.DeliveryEvent{Kind: notifier.KindNotice, RuleID: "dprk", ID: "dprk.budget." + id, Subject: id, Time: now,
			Data: delivery.Notice{ID: "dprk.budget." + id, Rule: "dprk", Max: 10, Window: w}}
	}
	if err := n.Deliveries().Publish(testContext(t), []notifier.DeliveryEvent{notice("20261126T140000Z")}); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.Start = slack.Start{Mode: slack.StartNew}
	cfg.Routes = []slack.Route{{Rule: "dprk", Channels: []string{"#dprk"}}}
	runBridge(t, cfg, zap.NewNop())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bridge's consumer of the delivery stream", func() bool {
		_, err := js.Consumer(testContext(t), "NEWSWATCH_DELIVERIES", durables["NEWSWATCH_DELIVERIES"])
		return err == nil
	})
	if err := n.Deliveries().Publish(testContext(t), []notifier.DeliveryEvent{notice("20261126T150000Z")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitPosts(1, waitTimeout); err != nil {
		t.Fatal(err)
	}
	consumerIdleOn(t, nc, "NEWSWATCH_DELIVERIES", durables["NEWSWATCH_DELIVERIES"])
	var ids []string
	for _, p := range s.Posts() {
		ids = append(ids, p.EventID)
	}
	if len(ids) != 1 || ids[0] != "dprk.budget.20261126T150000Z" {
		t.Fatalf("posted %v, want only the notice published after the bridge started", ids)
	}
}
