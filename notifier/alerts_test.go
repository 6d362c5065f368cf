package notifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natstest "github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func TestPublishAlertShape(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)

	// A subscriber on the listener sees the message as any client would.
	sub, err := nats.Connect(n.ClientURL(), nats.UserCredentials(notifiertest.Creds(t, cfg, notifier.RoleSubscriber)))
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
	if err := n.Alerts().Publish(ctx, []event.Alert{a}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	msg, err := s.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("next alert: %v", err)
	}
	if got, want := msg.Subject, "newswatch.alert.dprk-troops.world"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	wantID := notifier.EventID(a.RuleID, a.FeedID, a.Item.Key)
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
		alerts []event.Alert
		want   uint64
	}{
		{"first", []event.Alert{a}, 1},
		{"again", []event.Alert{a}, 1},
		{"twice in one batch, later", []event.Alert{later, later}, 1},
		{"other rule", []event.Alert{a, other}, 2},
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
	alerts := make([]event.Alert, 1200) // more than one chunk of PubAcks in flight
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
	err := n.Alerts().Publish(testContext(t), []event.Alert{sampleAlert(), bad})
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
	err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()})
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
	if err := n.Alerts().Publish(testContext(t), []event.Alert{a}); err != nil {
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
	err := n.Alerts().Publish(ctx, []event.Alert{b})
	if err == nil || !strings.Contains(err.Error(), "rule kursk feed world") {
		t.Fatalf("Publish while the server is down: got %v, want an error naming rule kursk feed world", err)
	}

	up := n.Conn().StatusChanged(nats.CONNECTED)
	notifiertest.RunServer(t, srvPort, dir)
	waitStatus(t, up, nats.CONNECTED)
	if err := n.Ready(testContext(t)); err != nil {
		t.Fatalf("Ready after reconnect: %v", err)
	}
	if err := n.Alerts().Publish(testContext(t), []event.Alert{a, b}); err != nil {
		t.Fatalf("Publish after reconnect: %v", err)
	}
	if got := streamMsgs(t, n, "NEWSWATCH_ALERTS"); got != 2 {
		t.Errorf("stream holds %d alerts, want 2", got)
	}
}

// streamItems is the item key of every alert the stream holds, sorted.
func streamItems(t *testing.T, n *notifier.Notifier) []string {
	t.Helper()
	ctx := testContext(t)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	cons, err := js.OrderedConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer: %v", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	var keys []string
	for range info.NumPending {
		m, err := cons.Next(jetstream.FetchMaxWait(waitTimeout))
		if err != nil {
			t.Fatalf("reading the alert stream: %v", err)
		}
		ev, err := notifier.ParseEvent(m.Data())
		if err != nil {
			t.Fatalf("alert on %s: %v", m.Subject(), err)
		}
		keys = append(keys, ev.Data.Item.Key)
	}
	slices.Sort(keys)
	return keys
}

// alertFor is sampleAlert for the given rule, feed and item key.
func alertFor(rule, feed, key string) event.Alert {
	a := sampleAlert()
	a.RuleID, a.FeedID, a.Item.Key, a.Item.GUID = rule, feed, key, key
	return a
}

// updateAlertStream changes the alert stream's configuration with change.
func updateAlertStream(t *testing.T, n *notifier.Notifier, change func(*jetstream.StreamConfig)) {
	t.Helper()
	ctx := testContext(t)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	s, err := js.Stream(ctx, "NEWSWATCH_ALERTS")
	if err != nil {
		t.Fatalf("alert stream: %v", err)
	}
	cfg := s.CachedInfo().Config
	change(&cfg)
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("update alert stream: %v", err)
	}
}

// TestPublishRejected publishes batches in which one alert is refused for good: Publish
// returns an error wrapping ErrRejected that names that alert's rule and feed, and every other
// alert of the batch is stored.
func TestPublishRejected(t *testing.T) {
	huge := alertFor("kursk", "huge", "huge-1")
	huge.Item.Summary = strings.Repeat("Kursk ", 400_000) // 2.4 MB, over the default max_payload of 1 MB
	big := alertFor("kursk", "big", "big-1")
	big.Item.Summary = strings.Repeat("Kursk ", 2_000) // 12 kB, under max_payload

	tests := []struct {
		name   string
		stream func(*jetstream.StreamConfig) // nil: as provisioned
		bad    event.Alert
		cause  error // nil: only ErrRejected is checked
		names  string
	}{
		{"over the server's max_payload", nil, huge, nats.ErrMaxPayload, "rule kursk feed huge"},
		{"over the stream's max_msg_size", func(c *jetstream.StreamConfig) { c.MaxMsgSize = 8 << 10 }, big, nil, "rule kursk feed big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := notifiertest.Open(t, notifiertest.Config(t))
			if tt.stream != nil {
				updateAlertStream(t, n, tt.stream)
			}
			batch := []event.Alert{alertFor("dprk-troops", "world", "a"), tt.bad, alertFor("kursk", "world", "b")}
			err := n.Alerts().Publish(testContext(t), batch)
			if !errors.Is(err, notifier.ErrRejected) {
				t.Fatalf("Publish: got %v, want an error wrapping ErrRejected", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("Publish: got %v, want it to wrap %v", err, tt.cause)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("Publish: got %q, want it to name %q", err, tt.names)
			}
			if got, want := streamItems(t, n), []string{"a", "b"}; !slices.Equal(got, want) {
				t.Errorf("stream holds the alerts of items %v, want %v", got, want)
			}
		})
	}
}

// TestPublishRejectsForbiddenSubject runs a server on which newswatch's user may not publish
// the alerts of one rule: the server answers those with a permissions violation and no PubAck,
// which Publish reports as ErrRejected, while the rest of the batch is stored.
func TestPublishRejectsForbiddenSubject(t *testing.T) {
	opts := natstest.DefaultTestOptions
	opts.Port = -1
	opts.JetStream = true
	opts.StoreDir = t.TempDir()
	opts.Users = []*server.User{{
		Username: "newswatch",
		Password: "s3cret",
		Permissions: &server.Permissions{Publish: &server.SubjectPermission{
			Allow: []string{">"},
			Deny:  []string{"newswatch.alert.forbidden.>"},
		}},
	}}
	srv := natstest.RunServer(&opts)
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	cfg := notifiertest.Config(t)
	cfg.URL = fmt.Sprintf("nats://newswatch:s3cret@127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port)
	cfg.Embedded = notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)

	batch := []event.Alert{alertFor("kursk", "world", "a"), alertFor("forbidden", "world", "x"), alertFor("dprk-troops", "world", "b")}
	err := n.Alerts().Publish(testContext(t), batch)
	if !errors.Is(err, notifier.ErrRejected) || !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("Publish: got %v, want an error wrapping ErrRejected and nats.ErrPermissionViolation", err)
	}
	if !strings.Contains(err.Error(), "rule forbidden feed world") {
		t.Errorf("Publish: got %q, want it to name rule forbidden feed world", err)
	}
	if got, want := streamItems(t, n), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("stream holds the alerts of items %v, want %v", got, want)
	}
}

// TestPublishRetriesUntilStreamAnswers takes the alert subjects from the alert stream, so that
// nothing answers an alert (no responders, as while a server starts or a stream leader moves),
// and gives them back while Publish waits: Publish retries, leaves the stream that is there
// alone (it is not deleted, so not re-created), and returns nil once the alerts are stored.
func TestPublishRetriesUntilStreamAnswers(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	s, err := js.Stream(ctx, "NEWSWATCH_ALERTS")
	if err != nil {
		t.Fatalf("alert stream: %v", err)
	}
	created := s.CachedInfo().Created
	subjects := s.CachedInfo().Config.Subjects
	updateAlertStream(t, n, func(c *jetstream.StreamConfig) { c.Subjects = []string{"elsewhere.>"} })

	done := make(chan error, 1)
	go func() {
		done <- n.Alerts().Publish(ctx, []event.Alert{alertFor("kursk", "world", "a"), alertFor("kursk", "world", "b")})
	}()
	select {
	case err := <-done:
		t.Fatalf("Publish without a stream for its subjects returned %v, want it to wait for one", err)
	case <-time.After(1500 * time.Millisecond): // the client's own no-responder retries take 500ms
	}
	updateAlertStream(t, n, func(c *jetstream.StreamConfig) { c.Subjects = subjects })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Publish did not return within %s of the stream's return", waitTimeout)
	}
	if got, want := streamItems(t, n), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("stream holds the alerts of items %v, want %v", got, want)
	}
	s, err = js.Stream(ctx, "NEWSWATCH_ALERTS")
	if err != nil {
		t.Fatalf("alert stream after Publish: %v", err)
	}
	if got := s.CachedInfo().Created; !got.Equal(created) {
		t.Errorf("alert stream created at %v, want the one of %v (not re-created)", got, created)
	}
}

// TestPublishWaitsForReconnect publishes while the external server is down and brings it back
// on the same port and store: Publish returns nil once the server has stored the alert.
func TestPublishWaitsForReconnect(t *testing.T) {
	dir := t.TempDir()
	srv := notifiertest.RunServer(t, -1, dir)
	port := srv.Addr().(*net.TCPAddr).Port
	cfg := notifiertest.Config(t)
	cfg.URL = srv.ClientURL()
	cfg.Embedded = notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)

	down := n.Conn().StatusChanged(nats.RECONNECTING)
	srv.Shutdown()
	srv.WaitForShutdown()
	waitStatus(t, down, nats.RECONNECTING)
	done := make(chan error, 1)
	go func() { done <- n.Alerts().Publish(testContext(t), []event.Alert{alertFor("kursk", "world", "a")}) }()
	select {
	case err := <-done:
		t.Fatalf("Publish with the server down returned %v, want it to wait for the server", err)
	case <-time.After(time.Second):
	}
	notifiertest.RunServer(t, port, dir)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Publish did not return within %s of the server's return", waitTimeout)
	}
	if got, want := streamItems(t, n), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("stream holds the alerts of items %v, want %v", got, want)
	}
}

// TestPublishRejectedAmongFailures has one alert refused for good and another not
// acknowledged before ctx ends: the error does not wrap ErrRejected, so that the caller does
// not take the batch as done, and it names both alerts.
func TestPublishRejectedAmongFailures(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	// Nothing answers the others.
	updateAlertStream(t, n, func(c *jetstream.StreamConfig) { c.Subjects = []string{"elsewhere.>"} })
	huge := alertFor("kursk", "huge", "huge-1")
	huge.Item.Summary = strings.Repeat("Kursk ", 400_000)
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	err := n.Alerts().Publish(short, []event.Alert{huge, alertFor("kursk", "world", "a")})
	if err == nil || errors.Is(err, notifier.ErrRejected) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish: got %v, want a context.DeadlineExceeded error that does not wrap ErrRejected", err)
	}
	for _, name := range []string{"rule kursk feed huge", "rule kursk feed world"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Publish: got %q, want it to name %q", err, name)
		}
	}
}
