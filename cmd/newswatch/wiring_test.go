package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

// TestAlertPublisherReportsRejections: an alert the server refuses for good (larger than its
// maximum payload) reaches the watcher as watcher.ErrRejected, and the other alerts of the
// batch are stored.
func TestAlertPublisherReportsRejections(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	alert := func(key, snippet string) watcher.Alert {
		return watcher.Alert{RuleID: "kursk", RuleQuery: "kursk", FeedID: "world", FeedURL: "https://example.org/rss",
			Item: watcher.AlertItem{Key: key, GUID: key, Title: "Kursk"}, Snippet: snippet, Time: time.Now()}
	}
	huge := strings.Repeat("x", 2<<20) // above the server's 1 MiB maximum payload
	err := alertPublisher{n.Alerts()}.Publish(t.Context(), []watcher.Alert{alert("a", "ok"), alert("b", huge), alert("c", "ok")})
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
