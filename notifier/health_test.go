package notifier_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestHealthPublish(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	ctx := t.Context() // no deadline, as the watcher's polls have none
	nc, err := nats.Connect(n.ClientURL(), nats.UserCredentials(notifiertest.Creds(t, cfg, notifier.RoleSubscriber)))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("newswatch.feed.>")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}

	at := time.Date(2026, 11, 26, 15, 40, 0, 0, time.UTC)
	tests := []struct {
		fh          notifier.FeedHealth
		wantSubject string
		wantType    string
	}{
		{
			fh: notifier.FeedHealth{FeedID: "world", FeedURL: "https://example.org/rss", Status: notifier.FeedError, Error: "GET: 503",
				ErrorClass: "unavailable", Failures: 1, Since: at.Add(-time.Hour), NextPoll: at.Add(time.Minute), Time: at},
			wantSubject: "newswatch.feed.world.error",
			wantType:    "io.newswatch.feed.error.v1",
		},
		{
			fh:          notifier.FeedHealth{FeedID: "world", Status: notifier.FeedRecovered, Time: at.Add(time.Minute)},
			wantSubject: "newswatch.feed.world.recovered",
			wantType:    "io.newswatch.feed.recovered.v1",
		},
		{
			fh:          notifier.FeedHealth{FeedID: "bbc", Status: notifier.FeedStale, Since: at.Add(-6 * time.Hour), Time: at},
			wantSubject: "newswatch.feed.bbc.stale",
			wantType:    "io.newswatch.feed.stale.v1",
		},
		{
			fh:          notifier.FeedHealth{FeedID: "bbc", Status: notifier.FeedFlood, Items: 40, Time: at},
			wantSubject: "newswatch.feed.bbc.flood",
			wantType:    "io.newswatch.feed.flood.v1",
		},
		{
			fh:          notifier.FeedHealth{FeedID: "bbc", Status: notifier.FeedCapped, Items: 980, Alerts: 1000, AlertsDropped: 49000, Time: at},
			wantSubject: "newswatch.feed.bbc.capped",
			wantType:    "io.newswatch.feed.capped.v1",
		},
	}
	for _, tt := range tests {
		if err := n.Health().Publish(ctx, tt.fh); err != nil {
			t.Fatalf("Publish %s: %v", tt.wantSubject, err)
		}
		m, err := sub.NextMsg(waitTimeout)
		if err != nil {
			t.Fatalf("next health event: %v", err)
		}
		if m.Subject != tt.wantSubject {
			t.Errorf("subject: got %q, want %q", m.Subject, tt.wantSubject)
		}
		if got := m.Header.Get("Content-Type"); got != "application/cloudevents+json" {
			t.Errorf("Content-Type: got %q, want application/cloudevents+json", got)
		}
		ce := event.New()
		if err := json.Unmarshal(m.Data, &ce); err != nil {
			t.Fatalf("cloudevents unmarshal: %v", err)
		}
		if err := ce.Validate(); err != nil {
			t.Fatalf("cloudevents validate: %v", err)
		}
		if ce.Type() != tt.wantType || ce.Source() != "newswatch/feeds/"+tt.fh.FeedID || ce.Subject() != tt.fh.FeedID {
			t.Errorf("event: got type %q source %q subject %q, want %q, newswatch/feeds/%s, %s",
				ce.Type(), ce.Source(), ce.Subject(), tt.wantType, tt.fh.FeedID, tt.fh.FeedID)
		}
		var data notifier.HealthData
		if err := ce.DataAs(&data); err != nil {
			t.Fatalf("DataAs: %v", err)
		}
		want := notifier.HealthData{
			Feed:   notifier.EventFeed{ID: tt.fh.FeedID, URL: tt.fh.FeedURL},
			Status: string(tt.fh.Status), Error: tt.fh.Error, ErrorClass: tt.fh.ErrorClass, Failures: tt.fh.Failures,
			Since: rfc3339(tt.fh.Since), NextPoll: rfc3339(tt.fh.NextPoll), Items: tt.fh.Items,
			Alerts: tt.fh.Alerts, AlertsDropped: tt.fh.AlertsDropped,
		}
		if data != want {
			t.Errorf("data: got %+v, want %+v", data, want)
		}
	}

	bad := []notifier.FeedHealth{
		{FeedID: "a.b", Status: notifier.FeedError, Time: at},
		{FeedID: "world", Status: "sleepy", Time: at},
		{FeedID: "world", Status: notifier.FeedError},
	}
	for _, fh := range bad {
		if err := n.Health().Publish(ctx, fh); !errors.Is(err, notifier.ErrInvalidAlert) {
			t.Errorf("Publish(%+v): got %v, want ErrInvalidAlert", fh, err)
		}
	}
}

// rfc3339 formats t as events do, and the zero time as "".
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
