package notifier_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestTail replays the stored alerts of one rule, then delivers new ones as they come, and stops
// cleanly when its context ends.
func TestTail(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)

	stored := sampleAlert()
	other := sampleAlert()
	other.RuleID = "kursk"
	if err := n.Alerts().Publish(ctx, []event.Alert{stored, other}); err != nil {
		t.Fatal(err)
	}

	tailCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan notifier.TailedAlert, 4)
	done := make(chan error, 1)
	go func() {
		done <- notifier.Tail(tailCtx, notifier.TailConfig{
			URL: n.ClientURL(), CredsFile: notifiertest.Creds(t, cfg, notifier.RoleSubscriber),
			SubjectPrefix: "newswatch", AlertStream: "NEWSWATCH_ALERTS",
			Rule: "dprk-troops", Since: time.Hour,
		}, testLogger(t), func(a notifier.TailedAlert) error {
			got <- a
			return nil
		})
	}()

	next := func() notifier.TailedAlert {
		t.Helper()
		select {
		case a := <-got:
			return a
		case err := <-done:
			t.Fatalf("Tail returned %v before delivering", err)
		case <-time.After(waitTimeout):
			t.Fatal("timed out waiting for a tailed alert")
		}
		return notifier.TailedAlert{}
	}
	replayed := next()
	if want := notifier.EventID(stored.RuleID, stored.FeedID, stored.Item.Key); replayed.Event.ID != want || replayed.Subject != "newswatch.alert.dprk-troops.world" {
		t.Errorf("replayed %s on %s, want %s on newswatch.alert.dprk-troops.world", replayed.Event.ID, replayed.Subject, want)
	}

	fresh := sampleAlert()
	fresh.Item.Key = "urn:example:item:2"
	if err := n.Alerts().Publish(ctx, []event.Alert{fresh}); err != nil {
		t.Fatal(err)
	}
	live := next()
	if want := notifier.EventID(fresh.RuleID, fresh.FeedID, fresh.Item.Key); live.Event.ID != want {
		t.Errorf("live alert %s, want %s (the kursk alert must be filtered out)", live.Event.ID, want)
	}
	if len(live.Body) == 0 || live.Event.Data.Item.Key != fresh.Item.Key {
		t.Errorf("live alert body %q, event item key %q; want the stored body of item %s", live.Body, live.Event.Data.Item.Key, fresh.Item.Key)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Tail after cancel: %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Tail did not return after its context ended")
	}
}

func TestTailStopsOnCallbackError(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	if err := n.Alerts().Publish(ctx, []event.Alert{sampleAlert()}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	err := notifier.Tail(ctx, notifier.TailConfig{
		URL: n.ClientURL(), CredsFile: notifiertest.Creds(t, cfg, notifier.RoleSubscriber), SubjectPrefix: "newswatch", AlertStream: "NEWSWATCH_ALERTS", Since: time.Hour,
	}, testLogger(t), func(notifier.TailedAlert) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Tail returned %v, want the callback's error", err)
	}
}

func TestTailValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  notifier.TailConfig
	}{
		{name: "no url", cfg: notifier.TailConfig{SubjectPrefix: "newswatch", AlertStream: "A"}},
		{name: "no prefix", cfg: notifier.TailConfig{URL: "nats://127.0.0.1:1", AlertStream: "A"}},
		{name: "negative since", cfg: notifier.TailConfig{URL: "nats://127.0.0.1:1", SubjectPrefix: "newswatch", AlertStream: "A", Since: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := notifier.Tail(t.Context(), tt.cfg, testLogger(t), func(notifier.TailedAlert) error { return nil })
			if !errors.Is(err, notifier.ErrInvalidConfig) {
				t.Errorf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}
