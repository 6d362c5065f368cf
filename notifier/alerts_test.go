package notifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestPublishAlertShape(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)

	// A subscriber on the listener sees the message as any client would.
	sub, err := nats.Connect(n.ClientURL())
	if err != nil {
		t.Fatalf("connect to ClientURL %q: %v", n.ClientURL(), err)
	}
	defer sub.Close()
	s, err := sub.SubscribeSync("newswatch.alert.>")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}

	a := sampleAlert()
	if err := n.Alerts().Publish(ctx, []notifier.Alert{a}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	msg, err := s.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("next alert: %v", err)
	}
	if got, want := msg.Subject, "newswatch.alert.dprk-troops.world"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	wantID := notifier.EventID(a.RuleID, a.Item.Key)
	headers := []struct{ name, want string }{
		{"Content-Type", "application/cloudevents+json"},
		{"Nats-Msg-Id", wantID},
	}
	for _, h := range headers {
		if got := msg.Header.Get(h.name); got != h.want {
			t.Errorf("header %s: got %q, want %q", h.name, got, h.want)
		}
	}
	checkCloudEvent(t, msg.Data, a)

	// The body is exactly the golden event, and the stream stored it.
	ev, err := notifier.NewEvent(a)
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if string(msg.Data) != string(want) {
		t.Errorf("body:\ngot  %s\nwant %s", msg.Data, want)
	}
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	stream, err := js.Stream(ctx, "NEWSWATCH_ALERTS")
	if err != nil {
		t.Fatalf("alert stream: %v", err)
	}
	stored, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("get stored alert: %v", err)
	}
	if string(stored.Data) != string(want) || stored.Header.Get("Nats-Msg-Id") != wantID {
		t.Errorf("stored alert: got id %q body %s, want id %q body %s", stored.Header.Get("Nats-Msg-Id"), stored.Data, wantID, want)
	}
}

func TestPublishDeduplicates(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	a := sampleAlert()
	later := a
	later.Time = a.Time.Add(time.Hour) // a later match of the same item is the same alert
	other := a
	other.RuleID = "kursk"

	steps := []struct {
		name   string
		alerts []notifier.Alert
		want   uint64
	}{
		{"first", []notifier.Alert{a}, 1},
		{"again", []notifier.Alert{a}, 1},
		{"twice in one batch, later", []notifier.Alert{later, later}, 1},
		{"other rule", []notifier.Alert{a, other}, 2},
	}
	for _, st := range steps {
		if err := n.Alerts().Publish(ctx, st.alerts); err != nil {
			t.Fatalf("%s: Publish: %v", st.name, err)
		}
		if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != st.want {
			t.Errorf("%s: stream holds %d alerts, want %d", st.name, got, st.want)
		}
	}
}

func TestPublishManyAlerts(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	alerts := make([]notifier.Alert, 1200) // more than one chunk of PubAcks in flight
	for i := range alerts {
		alerts[i] = sampleAlert()
		alerts[i].Item.Key = "item-" + time.Duration(i).String()
	}
	if err := n.Alerts().Publish(testContext(t), alerts); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got, want := streamMsgs(t, n, "NEWSWATCH_ALERTS"), uint64(len(alerts)); got != want {
		t.Errorf("stream holds %d alerts, want %d", got, want)
	}
}

func TestPublishRefusesInvalidAlertAndSendsNothing(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	bad := sampleAlert()
	bad.FeedID = "world.europe"
	err := n.Alerts().Publish(testContext(t), []notifier.Alert{sampleAlert(), bad})
	if !errors.Is(err, notifier.ErrInvalidAlert) {
		t.Fatalf("Publish: got %v, want ErrInvalidAlert", err)
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 0 {
		t.Errorf("stream holds %d alerts, want 0", got)
	}
}

func TestPublishCancelledContext(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	err := n.Alerts().Publish(ctx, []notifier.Alert{sampleAlert()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish: got %v, want context.Canceled", err)
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 0 {
		t.Errorf("stream holds %d alerts, want 0", got)
	}
}

// TestExternalServerOutage publishes to an external server, loses it, and gets it back on the
// same port: Publish fails while it is away, naming the rule and feed, and works again after
// the connection comes back, with the earlier alert still de-duplicated.
func TestExternalServerOutage(t *testing.T) {
	dir := t.TempDir()
	srv := notifiertest.RunServer(t, -1, dir)
	cfg := notifiertest.Config(t)
	cfg.URL = srv.ClientURL()
	cfg.Embedded = notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)
	if got, want := n.ClientURL(), srv.ClientURL(); got != want {
		t.Errorf("ClientURL: got %q, want %q", got, want)
	}
	a := sampleAlert()
	if err := n.Alerts().Publish(testContext(t), []notifier.Alert{a}); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	srvPort := srv.Addr().(*net.TCPAddr).Port
	down := n.Conn().StatusChanged(nats.RECONNECTING)
	srv.Shutdown()
	srv.WaitForShutdown()
	waitStatus(t, down, nats.RECONNECTING)
	if err := n.Ready(testContext(t)); err == nil {
		t.Errorf("Ready while the server is down: got nil, want an error")
	}
	ctx, cancel := context.WithTimeout(testContext(t), 2*time.Second)
	defer cancel()
	b := a
	b.RuleID = "kursk"
	err := n.Alerts().Publish(ctx, []notifier.Alert{b})
	if err == nil || !strings.Contains(err.Error(), "rule kursk feed world") {
		t.Fatalf("Publish while the server is down: got %v, want an error naming rule kursk feed world", err)
	}

	up := n.Conn().StatusChanged(nats.CONNECTED)
	notifiertest.RunServer(t, srvPort, dir)
	waitStatus(t, up, nats.CONNECTED)
	if err := n.Ready(testContext(t)); err != nil {
		t.Fatalf("Ready after reconnect: %v", err)
	}
	if err := n.Alerts().Publish(testContext(t), []notifier.Alert{a, b}); err != nil {
		t.Fatalf("Publish after reconnect: %v", err)
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 2 {
		t.Errorf("stream holds %d alerts, want 2", got)
	}
}
