package notifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
)

// waitTimeout bounds every wait for a condition in these tests.
const waitTimeout = 20 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testLogger(t *testing.T) *zap.Logger {
	t.Helper()
	return zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
}

// testContext is a context that ends with the test or after waitTimeout.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// streamMsgs is the number of messages the stream holds.
func streamMsgs(t *testing.T, n *notifier.Notifier, stream string) uint64 {
	t.Helper()
	return streamState(t, n, stream).Msgs
}

// streamOf is the stream named stream, over n's connection.
func streamOf(t *testing.T, n *notifier.Notifier, stream string) jetstream.Stream {
	t.Helper()
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	s, err := js.Stream(testContext(t), stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	return s
}

// streamState is the stream's state: its messages, and the sequence of the last one stored.
func streamState(t *testing.T, n *notifier.Notifier, stream string) jetstream.StreamState {
	t.Helper()
	info, err := streamOf(t, n, stream).Info(testContext(t))
	if err != nil {
		t.Fatalf("stream %s info: %v", stream, err)
	}
	return info.State
}

// sampleAlert is a complete alert with fixed times.
func sampleAlert() event.Alert {
	return event.Alert{
		RuleID:    "dprk-troops",
		RuleQuery: `@dprk NEAR/15 (troop* OR soldier*)`,
		FeedID:    "world",
		FeedURL:   "https://example.org/world/rss.xml",
		FeedTitle: "World news",
		Item: event.Item{
			Key:        "urn:example:item:1",
			GUID:       "urn:example:item:1",
			Link:       "https://example.org/world/1",
			Title:      "North Korea confirms troops in Kursk",
			Summary:    "North Korea confirmed for the first time that its soldiers fight for Russia.",
			Published:  time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC),
			Updated:    time.Date(2026, 11, 26, 16, 30, 0, 0, time.FixedZone("CET", 3600)),
			Authors:    []string{"Jane Doe"},
			Categories: []string{"Asia", "Europe"},
		},
		Hits: []event.Hit{
			{Field: "title", Start: 0, End: 11, Text: "North Korea"},
			{Field: "category", Index: 1, Start: 0, End: 6, Text: "Europe"},
		},
		Snippet: "… North Korea confirmed for the first time …",
		Time:    time.Date(2026, 11, 26, 15, 37, 26, 123456789, time.UTC),
	}
}

// waitStatus waits for the connection status want on ch, from Conn.StatusChanged.
func waitStatus(t *testing.T, ch <-chan nats.Status, want nats.Status) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("connection status: got %s, want %s", got, want)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("connection status: no %s within %s", want, waitTimeout)
	}
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, waitTimeout)
		}
		<-tick.C
	}
}
