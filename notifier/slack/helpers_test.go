package slack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// waitTimeout bounds every wait for a condition in these tests.
const waitTimeout = 30 * time.Second

const testToken = "xoxb-test-0000-secret"

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// connect is a connection of the bridge's own, as the command makes. It signs in as the
// daemon, which may do all, since some tests give the bridge other names than the bridge role's.
func connect(t *testing.T, n *notifier.Notifier) *nats.Conn {
	t.Helper()
	return notifiertest.Connect(t, n, notifier.RoleDaemon)
}

// fake is a fake Slack with the channels #dprk (C0DPRK), #kursk (C0KURSK) and #newsroom (C0NEWS).
func fake(t *testing.T, interval time.Duration) *fakeslack.Server {
	t.Helper()
	s := fakeslack.New(fakeslack.Config{
		Token: testToken,
		Channels: map[string]string{
			"#dprk": "C0DPRK", "C0DPRK": "C0DPRK",
			"#kursk": "C0KURSK", "C0KURSK": "C0KURSK",
			"#newsroom": "C0NEWS", "C0NEWS": "C0NEWS",
		},
		WebhookChannel: "C0HOOK",
		Interval:       interval,
	})
	t.Cleanup(s.Close)
	return s
}

func botPoster(t *testing.T, s *fakeslack.Server) slack.Poster {
	t.Helper()
	p, err := slack.NewBotPoster(slack.BotConfig{Token: testToken, APIURL: s.APIURL()})
	if err != nil {
		t.Fatalf("NewBotPoster: %v", err)
	}
	return p
}

// runBridge runs a bridge until the test ends, and fails the test if Run fails.
func runBridge(t *testing.T, cfg slack.Config, log *zap.Logger) *slack.Bridge {
	t.Helper()
	b, err := slack.New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return within %s of its context's end", waitTimeout)
		}
	})
	waitFor(t, "bridge ready", func() bool { return b.Ready(testContext(t)) == nil })
	return b
}

// baseConfig is a bridge configuration for tests: fast retries, the default rate.
func baseConfig(nc *nats.Conn, p slack.Poster) slack.Config {
	return slack.Config{
		Conn:          nc,
		SubjectPrefix: "newswatch",
		AlertStream:   "NEWSWATCH_ALERTS",
		Start:         slack.Start{Mode: slack.StartAll},
		Poster:        p,
		RetryMin:      100 * time.Millisecond,
		RetryMax:      time.Second,
		AckWait:       5 * time.Second,
		DrainTimeout:  5 * time.Second,
	}
}

// alert is a complete alert of rule for feed about item i.
func alert(rule, feed string, i int) event.Alert {
	return event.Alert{
		RuleID:    rule,
		RuleQuery: `"north korea*" NEAR/15 troop*`,
		FeedID:    feed,
		FeedURL:   "https://example.org/" + feed + "/rss.xml",
		FeedTitle: "World & <News>",
		Item: event.Item{
			Key:       fmt.Sprintf("urn:example:%s:%d", feed, i),
			GUID:      fmt.Sprintf("urn:example:%s:%d", feed, i),
			Link:      fmt.Sprintf("https://example.org/%s/%d?a=1&b=2", feed, i),
			Title:     fmt.Sprintf("North Korea sends troops <%d> & more", i),
			Summary:   "North Korea confirmed that its troops fight in Kursk.",
			Published: time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC),
			Authors:   []string{"Jane Doe"},
		},
		Hits: []event.Hit{
			{Field: "title", Start: 0, End: 11, Text: "North Korea"},
			{Field: "title", Start: 18, End: 24, Text: "troops"},
		},
		Snippet: "… North Korea confirmed that its troops fight in Kursk …",
		Time:    time.Date(2026, 11, 26, 15, 37, 26, 0, time.UTC),
	}
}

func publish(t *testing.T, n *notifier.Notifier, alerts ...event.Alert) {
	t.Helper()
	if err := n.Alerts().Publish(testContext(t), alerts); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// consumerIdle waits until the consumer has nothing pending and nothing unacknowledged.
func consumerIdle(t *testing.T, nc *nats.Conn, durable string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	waitFor(t, "consumer "+durable+" idle", func() bool {
		c, err := js.Consumer(testContext(t), "NEWSWATCH_ALERTS", durable)
		if err != nil {
			return false
		}
		info, err := c.Info(testContext(t))
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
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

// countPosts counts the accepted messages by (channel id, event id).
func countPosts(posts []fakeslack.Post) map[[2]string]int {
	out := map[[2]string]int{}
	for _, p := range posts {
		out[[2]string{p.Channel, p.EventID}]++
	}
	return out
}
