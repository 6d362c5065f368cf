package slack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack"
)

// budgetDeliveries runs the alerts through the budget policy of their rule as the daemon's
// deliverer does, and returns what it publishes to the delivery stream: each alert delivered at
// once, the budget notice, and the window's digest.
func budgetDeliveries(t *testing.T, max int, alerts []event.Alert) (out []notifier.DeliveryEvent, delivered, held []string) {
	t.Helper()
	p, err := delivery.New(alerts[0].RuleID, delivery.Options{Mode: delivery.ModeBudget, Max: max, Spike: delivery.SpikeOptions{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	st := &delivery.State{}
	for _, a := range alerts {
		ev, err := notifier.NewEvent(a)
		if err != nil {
			t.Fatal(err)
		}
		d := p.Decide(st, delivery.Event{ID: ev.ID, Story: a.Story.ID, Title: a.Item.Title, Link: a.Item.Link, Publisher: "example.org", Time: a.Time})
		switch d.Action {
		case delivery.Deliver:
			delivered = append(delivered, ev.ID)
			out = append(out, notifier.NewDelivered(notifier.DeliveredAlert{Rule: a.RuleID, Mode: "budget", Max: max, Sent: d.Sent,
				Window: notifier.DeliveryWindow{ID: d.Period.ID, Start: d.Period.Start, End: d.Period.End}, Alert: ev}))
		case delivery.Hold:
			held = append(held, ev.ID)
		}
		if d.Notice != nil {
			out = append(out, notifier.DeliveryEvent{Kind: notifier.KindNotice, RuleID: a.RuleID, ID: d.Notice.ID, Subject: d.Notice.Window.ID, Time: a.Time, Data: d.Notice})
		}
	}
	for _, d := range p.Due(st, alerts[len(alerts)-1].Time.Add(24*time.Hour)) {
		out = append(out, notifier.DeliveryEvent{Kind: notifier.KindDigest, RuleID: d.Rule, ID: d.ID, Subject: d.Period.ID, Time: d.Period.End, Data: d})
	}
	return out, delivered, held
}

// TestBridgePostsDeliveredAlertsOnce: kursk is in mode budget (two alerts a window) and in
// DigestRules. Its five alerts are all in the alert stream; the daemon delivered the first two
// at once (both of story s1), held three (one more of s1, s2, s3) and published a notice and the
// window's digest. Every delivery is published twice (two replicas), and two bridges run one
// after the other on one ledger, the second reading both streams again. kursk's channel gets the
// story message of s1 once, updated once for the second delivered alert (the story grouping of
// the alert stream's alerts), the notice once and the digest once; no held alert is posted or
// shown singly. dprk, not in DigestRules, has its alert posted once from the alert stream,
// although a delivered alert of it is in the delivery stream too.
func TestBridgePostsDeliveredAlertsOnce(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)

	start := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	var kursk []event.Alert
	for i, story := range []string{"s1", "s1", "s1", "s2", "s3"} {
		a := alert("kursk", "world", i+1)
		a.Time = start.Add(time.Duration(i+1) * time.Minute)
		a.Story = &event.StoryRef{ID: story, First: i == 0 || i > 2, Size: 1, Feeds: []string{"world"}, Languages: []string{"en"}, FirstSeen: a.Time}
		kursk = append(kursk, a)
	}
	dprk := alert("dprk", "world", 9)
	publish(t, n, append(slices.Clone(kursk), dprk)...)

	events, delivered, held := budgetDeliveries(t, 2, kursk)
	if len(delivered) != 2 || len(held) != 3 {
		t.Fatalf("the policy delivered %d and held %d, want 2 and 3", len(delivered), len(held))
	}
	dprkEvent, err := notifier.NewEvent(dprk)
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, notifier.NewDelivered(notifier.DeliveredAlert{Rule: "dprk", Mode: "budget", Max: 5, Sent: 1,
		Window: notifier.DeliveryWindow{ID: "20261126T150000Z", Start: start, End: start.Add(time.Hour)}, Alert: dprkEvent}))
	for range 2 {
		if err := n.Deliveries().Publish(testContext(t), events); err != nil {
			t.Fatal(err)
		}
	}

	cfg := baseConfig(nc, botPoster(t, s))
	cfg.DigestRules = []string{"kursk"}
	cfg.Routes = []slack.Route{{Rule: "dprk", Channels: []string{"#dprk"}}}
	cfg.DefaultChannel = "#kursk"
	// The second bridge reads both streams again: the ledger alone keeps it from posting.
	runBridgeTwice(t, cfg, nc, s, 4, "NEWSWATCH_DELIVERIES", "NEWSWATCH_ALERTS")

	posts := s.Posts()
	byID := map[string][]string{}
	for _, p := range posts {
		var blocks []struct{ Text struct{ Text string } }
		_ = json.Unmarshal(p.Blocks, &blocks)
		text := p.Channel
		for _, b := range blocks {
			text += " " + b.Text.Text
		}
		byID[p.EventID] = append(byID[p.EventID], text)
	}
	if len(posts) != 4 {
		t.Errorf("%d posts, want 4 (kursk's story s1, its notice and digest, dprk's alert): %v", len(posts), byID)
	}
	for _, p := range posts {
		if p.EventID == delivered[0] && (p.Channel != "C0KURSK" || p.Updates != 1) {
			t.Errorf("story s1 of kursk: in %s, updated %d times, want in C0KURSK updated once (for the second delivered alert)", p.Channel, p.Updates)
		}
	}
	if got := byID[delivered[0]]; len(got) != 1 {
		t.Errorf("the first delivered alert of kursk: %d posts, want 1", len(got))
	}
	for _, id := range append(slices.Clone(held), delivered[1]) {
		if got := byID[id]; len(got) != 0 {
			t.Errorf("alert %s of kursk posted as a message of its own: %v", id, got)
		}
	}
	var notice, digest []string
	for id, texts := range byID {
		switch {
		case strings.HasPrefix(id, "kursk.budget."):
			notice = append(notice, texts...)
		case strings.HasPrefix(id, "kursk."):
			digest = append(digest, texts...)
		}
	}
	if len(notice) != 1 || !strings.HasPrefix(notice[0], "C0KURSK ") || !strings.Contains(notice[0], "Budget reached") {
		t.Errorf("notices of kursk: %q, want one in C0KURSK", notice)
	}
	if len(digest) != 1 || !strings.HasPrefix(digest[0], "C0KURSK ") || !strings.Contains(digest[0], "3 alerts") {
		t.Errorf("digests of kursk: %q, want one in C0KURSK of the 3 held alerts", digest)
	}
	if got := byID[dprkEvent.ID]; len(got) != 1 || !strings.HasPrefix(got[0], "C0DPRK ") {
		t.Errorf("dprk's alert: %q, want one post in C0DPRK", got)
	}
}

// TestBridgeDeadLettersDeliveredAlert: a delivered alert that its channel refuses for good goes
// to the dead-letter stream as the alert it carries, on <dead>.<rule>.<feed>, and its delivery
// is acknowledged.
func TestBridgeDeadLettersDeliveredAlert(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fake(t, 10*time.Millisecond)
	nc := connect(t, n)
	dead, err := nc.SubscribeSync("newswatch.slack.dead.>")
	if err != nil {
		t.Fatal(err)
	}

	a := alert("lost", "world", 1)
	ev, err := notifier.NewEvent(a)
	if err != nil {
		t.Fatal(err)
	}
	w := a.Time.Truncate(time.Hour)
	if err := n.Deliveries().Publish(testContext(t), []notifier.DeliveryEvent{notifier.NewDelivered(notifier.DeliveredAlert{Rule: "lost",
		Mode: "budget", Max: 3, Sent: 1, Window: notifier.DeliveryWindow{ID: "20261126T150000Z", Start: w, End: w.Add(time.Hour)}, Alert: ev})}); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(nc, botPoster(t, s))
	cfg.DigestRules = []string{"lost"}
	cfg.Routes = []slack.Route{{Rule: "lost", Channels: []string{"#nowhere"}}}
	runBridge(t, cfg, zap.NewNop())

	dl, err := dead.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if got, want := dl.Subject, "newswatch.slack.dead.lost.world"; got != want {
		t.Errorf("dead letter subject: got %q, want %q", got, want)
	}
	if got, want := dl.Header.Get(slack.HeaderAlertSubject), "newswatch.digest.lost"; got != want {
		t.Errorf("dead letter %s: got %q, want %q", slack.HeaderAlertSubject, got, want)
	}
	if got, err := notifier.ParseEvent(dl.Data); err != nil || got.ID != ev.ID {
		t.Errorf("dead letter body: got event %q (%v), want the alert %q", got.ID, err, ev.ID)
	}
	consumerIdleOn(t, nc, "NEWSWATCH_DELIVERIES", "newswatch_slack_deliveries")
	if posts := s.Posts(); len(posts) != 0 {
		t.Errorf("%d posts, want none: %+v", len(posts), posts)
	}
}
