package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

const (
	alertStream = "NEWSWATCH_ALERTS"
	stateBucket = "newswatch_feeds"
)

// openObserved opens an embedded server as notifiertest.Open does, with its log lines of info
// level and above kept for the test to read.
func openObserved(t *testing.T) (*notifier.Notifier, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Core(), core))
	ctx, cancel := context.WithTimeout(context.Background(), notifiertest.Timeout)
	defer cancel()
	n, err := notifier.Open(ctx, notifiertest.Config(t), log)
	if err != nil {
		t.Fatalf("notifier.Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), notifiertest.Timeout)
		defer cancel()
		if err := n.Close(ctx); err != nil {
			t.Errorf("notifier Close: %v", err)
		}
	})
	return n, logs
}

// admin is another client of the notifier's server, as an operator's `nats` CLI with the
// daemon's credentials would be.
func admin(t *testing.T, n *notifier.Notifier) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(notifiertest.Connect(t, n, notifier.RoleDaemon))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// deleteStream deletes a stream (a bucket is the stream KV_<bucket>).
func deleteStream(t *testing.T, js jetstream.JetStream, name string) {
	t.Helper()
	if err := js.DeleteStream(testContext(t), name); err != nil {
		t.Fatalf("delete stream %s: %v", name, err)
	}
}

// streamConfig is the stream's configuration.
func streamConfig(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	s, err := js.Stream(testContext(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return s.CachedInfo().Config
}

// waitNotReady waits until Ready fails saying want.
func waitNotReady(t *testing.T, n *notifier.Notifier, want string) {
	t.Helper()
	var last error
	waitFor(t, "Ready to report "+want, func() bool {
		last = n.Ready(testContext(t))
		return last != nil && strings.Contains(last.Error(), want)
	})
	t.Logf("Ready: %v", last)
}

// recreated is the number of error-level lines that say what was re-created.
func recreated(logs *observer.ObservedLogs, what string) int {
	return logs.FilterMessage(what + " missing; re-created").FilterLevelExact(zap.ErrorLevel).Len()
}

// TestDeletedAlertStreamRecreatedByPublish deletes the alert stream under a running notifier:
// Ready says so; publishes from several workers at once re-create it, with its configuration,
// once; and every alert published after the deletion is in the new stream.
func TestDeletedAlertStreamRecreatedByPublish(t *testing.T) {
	n, logs := openObserved(t)
	js := admin(t, n)
	ctx := testContext(t)
	if err := n.Alerts().Publish(ctx, []event.Alert{alertFor("r", "world", "before")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	want := streamConfig(t, js, alertStream)
	if err := n.Ready(ctx); err != nil {
		t.Fatalf("Ready before the deletion: %v", err)
	}

	deleteStream(t, js, alertStream)
	waitNotReady(t, n, "nats not ready: alert stream NEWSWATCH_ALERTS missing; re-created at the next poll")

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			errs[i] = n.Alerts().Publish(ctx, []event.Alert{
				alertFor("r", "world", fmt.Sprintf("after-%d", i)),
				alertFor("s", "world", fmt.Sprintf("after-%d", i)),
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Publish #%d after the deletion: %v", i, err)
		}
	}
	got := streamItems(t, n)
	wantItems := []string{"after-0", "after-0", "after-1", "after-1", "after-2", "after-2", "after-3", "after-3"}
	if !slices.Equal(got, wantItems) {
		t.Errorf("the new alert stream holds %q, want %q", got, wantItems)
	}
	if cfg := streamConfig(t, js, alertStream); !reflect.DeepEqual(cfg, want) {
		t.Errorf("re-created stream's configuration:\n got %+v\nwant %+v", cfg, want)
	}
	if err := n.Ready(ctx); err != nil {
		t.Errorf("Ready after the re-creation: %v", err)
	}
	if c := recreated(logs, "alert stream NEWSWATCH_ALERTS"); c != 1 {
		t.Errorf("re-creation logged %d times at error level, want once", c)
	}
}

// TestDeletedStateBucketRecreated deletes the feed-state bucket twice: a Load re-creates it the
// first time (empty: the feed has no state), a Save the second, and the state saved after the
// deletion is kept. A Save at a revision of the bucket that is gone is a conflict.
func TestDeletedStateBucketRecreated(t *testing.T) {
	n, logs := openObserved(t)
	js := admin(t, n)
	ctx := testContext(t)
	st := n.State()
	rev, err := st.Save(ctx, "world", []byte(`{"v":1}`), 0)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	want := streamConfig(t, js, "KV_"+stateBucket)

	deleteStream(t, js, "KV_"+stateBucket)
	waitNotReady(t, n, "state bucket newswatch_feeds missing")
	data, r, err := st.Load(ctx, "world")
	if err != nil || data != nil || r != 0 {
		t.Fatalf("Load after the deletion: got %q, %d, %v; want no state and no error", data, r, err)
	}
	if c := recreated(logs, "state bucket newswatch_feeds"); c != 1 {
		t.Errorf("re-creation logged %d times at error level, want once", c)
	}
	if cfg := streamConfig(t, js, "KV_"+stateBucket); !reflect.DeepEqual(cfg, want) {
		t.Errorf("re-created bucket's configuration:\n got %+v\nwant %+v", cfg, want)
	}
	if _, err := st.Save(ctx, "world", []byte(`{"v":2}`), rev); !errors.Is(err, notifier.ErrConflict) {
		t.Errorf("Save at a revision of the deleted bucket: got %v, want ErrConflict", err)
	}

	deleteStream(t, js, "KV_"+stateBucket)
	rev, err = st.Save(ctx, "world", []byte(`{"v":3}`), 0)
	if err != nil {
		t.Fatalf("Save after the second deletion: %v", err)
	}
	data, r, err = st.Load(ctx, "world")
	if err != nil || string(data) != `{"v":3}` || r != rev {
		t.Errorf("Load: got %q, %d, %v; want %q, %d", data, r, err, `{"v":3}`, rev)
	}
	if c := recreated(logs, "state bucket newswatch_feeds"); c != 2 {
		t.Errorf("re-creations logged %d times at error level, want twice", c)
	}
	if err := n.Ready(ctx); err != nil {
		t.Errorf("Ready after the re-creation: %v", err)
	}
}

// TestDeletedPollStreamRecreated deletes the poll stream twice: an Enqueue re-creates it the
// first time and its job is stored; the second time, under a running Consume, the pull that
// finds its consumer gone re-creates the stream and the consumer, and later jobs are handled.
func TestDeletedPollStreamRecreated(t *testing.T) {
	n, logs := openObserved(t)
	js := admin(t, n)
	ctx := testContext(t)
	want := streamConfig(t, js, pollStream)

	deleteStream(t, js, pollStream)
	waitNotReady(t, n, "poll stream NEWSWATCH_POLLS missing")
	if err := n.Jobs().Enqueue(ctx, "world", slot0); err != nil {
		t.Fatalf("Enqueue after the deletion: %v", err)
	}
	if got := streamMsgs(t, n, pollStream); got != 1 {
		t.Errorf("the new poll stream holds %d jobs, want 1", got)
	}
	if cfg := streamConfig(t, js, pollStream); !reflect.DeepEqual(cfg, want) {
		t.Errorf("re-created stream's configuration:\n got %+v\nwant %+v", cfg, want)
	}
	if c := recreated(logs, "poll stream NEWSWATCH_POLLS"); c != 1 {
		t.Errorf("re-creation logged %d times at error level, want once", c)
	}

	calls := consume(t, n.Jobs(), 2, func(context.Context, job) error { return nil })
	if j := next(t, calls); j.feed != "world" || !j.slot.Equal(slot0) {
		t.Fatalf("handled %v, want world at %s", j, slot0)
	}
	waitFor(t, "the job acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })

	deleteStream(t, js, pollStream)
	waitFor(t, "the poll stream and its consumer re-created", func() bool {
		_, err := js.Consumer(ctx, pollStream, pollerName)
		return err == nil
	})
	slot1 := slot0.Add(time.Minute)
	if err := n.Jobs().Enqueue(ctx, "world", slot1); err != nil {
		t.Fatalf("Enqueue after the second deletion: %v", err)
	}
	if j := next(t, calls); j.feed != "world" || !j.slot.Equal(slot1) {
		t.Errorf("handled %v, want world at %s", j, slot1)
	}
	if c := recreated(logs, "poll stream NEWSWATCH_POLLS"); c != 2 {
		t.Errorf("re-creations logged %d times at error level, want twice", c)
	}
}

// TestPollJobRecreatesMissingStreams deletes the alert stream and the bucket: Ready names both,
// and the next poll job re-creates them before its handler runs, though it publishes nothing.
func TestPollJobRecreatesMissingStreams(t *testing.T) {
	n, logs := openObserved(t)
	js := admin(t, n)
	deleteStream(t, js, alertStream)
	deleteStream(t, js, "KV_"+stateBucket)
	waitNotReady(t, n, "nats not ready: alert stream NEWSWATCH_ALERTS, state bucket newswatch_feeds missing; re-created at the next poll")

	present := func(name string) bool {
		_, err := js.Stream(testContext(t), name)
		return err == nil
	}
	calls := consume(t, n.Jobs(), 1, func(context.Context, job) error {
		if !present(alertStream) || !present("KV_"+stateBucket) {
			return errors.New("the job runs before the streams are back")
		}
		return nil
	})
	if err := n.Jobs().Enqueue(testContext(t), "world", slot0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	next(t, calls)
	waitFor(t, "the job acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	if delivered := consumerInfo(t, n).Delivered.Consumer; delivered != 1 {
		t.Errorf("job delivered %d times, want once (its handler found the streams back)", delivered)
	}
	if err := n.Ready(testContext(t)); err != nil {
		t.Errorf("Ready after the poll: %v", err)
	}
	for _, what := range []string{"alert stream NEWSWATCH_ALERTS", "state bucket newswatch_feeds"} {
		if c := recreated(logs, what); c != 1 {
			t.Errorf("%s: re-creation logged %d times at error level, want once", what, c)
		}
	}
}
