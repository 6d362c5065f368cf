package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

// TestAlertPublisherReportsRejections: an alert the server refuses for good (larger than its
// maximum payload) reaches the watcher as watcher.ErrRejected, and the other alerts of the
// batch are stored.
func TestAlertPublisherReportsRejections(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	alert := func(key, snippet string) event.Alert {
		return event.Alert{RuleID: "kursk", RuleQuery: "kursk", FeedID: "world", FeedURL: "https://example.org/rss",
			Item: event.Item{Key: key, GUID: key, Title: "Kursk"}, Snippet: snippet, Time: time.Now()}
	}
	huge := strings.Repeat("x", 2<<20) // above the server's 1 MiB maximum payload
	err := alertPublisher{n.Alerts()}.Publish(t.Context(), []event.Alert{alert("a", "ok"), alert("b", huge), alert("c", "ok")})
	if !errors.Is(err, watcher.ErrRejected) {
		t.Fatalf("Publish: %v, want watcher.ErrRejected", err)
	}
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if got := streamMsgCount(js, 10*time.Second); got != 2 {
		t.Errorf("alert stream holds %d messages, want the 2 that fit", got)
	}
}

// TestRetentionByDefault: a configuration that says nothing of retention keeps alerts 30 days
// and at most 1 GiB.
func TestRetentionByDefault(t *testing.T) {
	c, err := config.Parse("nw.yaml", []byte("feeds: [{id: world, url: 'https://example.org/rss'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := notifierConfig(c)
	if n.AlertMaxAge != 30*24*time.Hour || n.AlertMaxBytes != 1<<30 {
		t.Errorf("alert retention: got %s and %d bytes, want 720h and 1 GiB", n.AlertMaxAge, n.AlertMaxBytes)
	}
}
