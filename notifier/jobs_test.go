package notifier_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

const (
	pollStream = "NEWSWATCH_POLLS"
	pollerName = "newswatch_pollers"
)

var slot0 = time.Date(2026, 11, 26, 15, 35, 0, 0, time.UTC)

// job is one handler call.
type job struct {
	feed string
	slot time.Time
}

// consume runs Consume in the background until the test ends and returns a channel of every
// handler call. handle decides each call's result.
func consume(t *testing.T, q *notifier.JobQueue, workers int, handle func(ctx context.Context, j job) error) <-chan job {
	t.Helper()
	calls := make(chan job, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(ctx, workers, func(ctx context.Context, feed string, slot time.Time) error {
			j := job{feed, slot}
			calls <- j
			return handle(ctx, j)
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Consume: got %v, want nil after cancel", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Consume did not return within %s of cancel", waitTimeout)
		}
	})
	return calls
}

// next is the next handler call.
func next(t *testing.T, calls <-chan job) job {
	t.Helper()
	select {
	case j := <-calls:
		return j
	case <-time.After(waitTimeout):
		t.Fatalf("no job handled within %s", waitTimeout)
		return job{}
	}
}

func consumerInfo(t *testing.T, n *notifier.Notifier) *jetstream.ConsumerInfo {
	t.Helper()
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	c, err := js.Consumer(testContext(t), pollStream, pollerName)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	info, err := c.Info(testContext(t))
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info
}

func TestEnqueueDeduplicatesSlots(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	q := n.Jobs()
	steps := []struct {
		name string
		feed string
		slot time.Time
		want uint64
	}{
		{"first", "world", slot0, 1},
		{"same slot again", "world", slot0, 1},
		{"same slot, other zone", "world", slot0.In(time.FixedZone("X", 7200)), 1},
		{"other feed", "bbc", slot0, 2},
		{"next slot while one waits: the waiting one stays", "world", slot0.Add(5 * time.Minute), 2},
	}
	for _, s := range steps {
		if err := q.Enqueue(ctx, s.feed, s.slot); err != nil {
			t.Fatalf("%s: Enqueue: %v", s.name, err)
		}
		if got := streamMsgs(t, n, pollStream); got != s.want {
			t.Errorf("%s: poll stream holds %d jobs, want %d", s.name, got, s.want)
		}
	}
	if err := q.Enqueue(ctx, "a.b", slot0); err == nil {
		t.Errorf("Enqueue(a.b): got nil error, want one")
	}

	calls := consume(t, q, 1, func(context.Context, job) error { return nil })
	got := map[string]time.Time{}
	for range 2 {
		j := next(t, calls)
		got[j.feed] = j.slot
	}
	want := map[string]time.Time{"world": slot0, "bbc": slot0}
	for feed, slot := range want {
		if !got[feed].Equal(slot) {
			t.Errorf("job %s: got slot %s, want %s", feed, got[feed], slot)
		}
	}
	// Once its job is done, the feed takes the next slot again.
	waitFor(t, "both jobs acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	later := slot0.Add(10 * time.Minute)
	if err := q.Enqueue(ctx, "world", later); err != nil {
		t.Fatalf("Enqueue after the job: %v", err)
	}
	if j := next(t, calls); j.feed != "world" || !j.slot.Equal(later) {
		t.Errorf("after the first job: got %s at %s, want world at %s", j.feed, j.slot, later)
	}
}

// TestEnqueueSlotAgainAfterItsJob: once a slot's job is done, the same slot enqueued again is
// dropped by the server when other replicas may share the queue (an external server: the job
// carries a message id), and kept when the embedded server serves this process alone (no id,
// nothing held for the duplicate window; its poll finds the slot done and does nothing).
func TestEnqueueSlotAgainAfterItsJob(t *testing.T) {
	external := notifiertest.Config(t)
	external.URL = notifiertest.RunServer(t, -1, t.TempDir()).ClientURL()
	external.Embedded = notifier.EmbeddedConfig{}
	for _, tt := range []struct {
		name string
		cfg  notifier.Config
		kept bool // the copy enqueued after the job is stored and delivered
	}{
		{"external server", external, false},
		{"embedded server", notifiertest.Config(t), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := notifiertest.Open(t, tt.cfg)
			ctx := testContext(t)
			q := n.Jobs()
			if err := q.Enqueue(ctx, "world", slot0); err != nil {
				t.Fatal(err)
			}
			calls := consume(t, q, 1, func(context.Context, job) error { return nil })
			next(t, calls)
			waitFor(t, "the job acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })
			last := streamState(t, n, pollStream).LastSeq
			if err := q.Enqueue(ctx, "world", slot0); err != nil {
				t.Fatal(err)
			}
			// Enqueue returns once the server has answered: a stored copy has a sequence.
			if stored := streamState(t, n, pollStream).LastSeq > last; stored != tt.kept {
				t.Fatalf("the slot enqueued again stored: %v, want %v", stored, tt.kept)
			}
			if !tt.kept {
				return
			}
			if j := next(t, calls); j.feed != "world" || !j.slot.Equal(slot0) {
				t.Errorf("got %s at %s, want world at %s", j.feed, j.slot, slot0)
			}
		})
	}
}

func TestConsumeAcksAndRetries(t *testing.T) {
	cfg := notifiertest.Config(t)
	cfg.Jobs.RetryDelay = 50 * time.Millisecond
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	q := n.Jobs()
	slot := slot0.Add(123 * time.Millisecond)
	for _, feed := range []string{"world", "bbc", "cnn"} {
		if err := q.Enqueue(ctx, feed, slot); err != nil {
			t.Fatalf("Enqueue %s: %v", feed, err)
		}
	}
	var (
		mu    sync.Mutex
		tries = map[string]int{}
	)
	calls := consume(t, q, 2, func(_ context.Context, j job) error {
		mu.Lock()
		defer mu.Unlock()
		tries[j.feed]++
		if j.feed == "bbc" && tries[j.feed] == 1 {
			return errors.New("feed unreachable")
		}
		return nil
	})
	for range 4 {
		if j := next(t, calls); !j.slot.Equal(slot) {
			t.Errorf("job %s: got slot %s, want %s", j.feed, j.slot, slot)
		}
	}
	waitFor(t, "every job acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	info := consumerInfo(t, n)
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer: got %d unacknowledged and %d pending, want 0 and 0", info.NumAckPending, info.NumPending)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"world": 1, "bbc": 2, "cnn": 1}
	for feed, w := range want {
		if tries[feed] != w {
			t.Errorf("job %s: handled %d times, want %d", feed, tries[feed], w)
		}
	}
}

func TestConsumeLimitsWorkers(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	q := n.Jobs()
	feeds := []string{"a", "b", "c", "d", "e"}
	for _, f := range feeds {
		if err := q.Enqueue(ctx, f, slot0); err != nil {
			t.Fatalf("Enqueue %s: %v", f, err)
		}
	}
	var (
		mu           sync.Mutex
		running, top int
	)
	release := make(chan struct{})
	calls := consume(t, q, 2, func(ctx context.Context, _ job) error {
		mu.Lock()
		running++
		top = max(top, running)
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	next(t, calls)
	next(t, calls)
	waitFor(t, "two jobs out, three waiting", func() bool {
		info := consumerInfo(t, n)
		return info.NumAckPending == 2 && info.NumPending == 3
	})
	close(release)
	for range 3 {
		next(t, calls)
	}
	waitFor(t, "every job acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	mu.Lock()
	defer mu.Unlock()
	if top != 2 {
		t.Errorf("handlers at once: got %d, want 2", top)
	}
}

// TestConsumeKeepsLongJobAlive runs a job for several AckWaits: the heartbeats keep the server
// from delivering it again.
func TestConsumeKeepsLongJobAlive(t *testing.T) {
	// A server of its own, since the daemon's role on the embedded server may not read the acks.
	cfg := notifiertest.Config(t)
	cfg.URL, cfg.Embedded = notifiertest.RunServer(t, -1, t.TempDir()).ClientURL(), notifier.EmbeddedConfig{}
	cfg.Jobs.AckWait = time.Second
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	q := n.Jobs()

	acks, err := n.Conn().SubscribeSync("$JS.ACK." + pollStream + ".>")
	if err != nil {
		t.Fatalf("subscribe to acks: %v", err)
	}
	defer acks.Unsubscribe() // a sync subscription with unread messages holds up Close's drain
	if err := q.Enqueue(ctx, "world", slot0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	release := make(chan struct{})
	calls := consume(t, q, 1, func(context.Context, job) error {
		<-release
		return nil
	})
	next(t, calls)
	// Four heartbeats at AckWait/3 span more than one AckWait.
	for i := 0; i < 4; {
		m, err := acks.NextMsg(waitTimeout)
		if err != nil {
			t.Fatalf("heartbeat %d: %v", i+1, err)
		}
		if string(m.Data) == "+WPI" {
			i++
		}
	}
	info := consumerInfo(t, n)
	if info.NumRedelivered != 0 || info.NumAckPending != 1 {
		t.Errorf("consumer while the job runs: got %d redelivered, %d unacknowledged, want 0, 1", info.NumRedelivered, info.NumAckPending)
	}
	close(release)
	waitFor(t, "job acknowledged", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	select {
	case j := <-calls:
		t.Errorf("job handled again: %+v", j)
	default:
	}
}

func TestConsumeDropsMalformedJob(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	if _, err := js.Publish(ctx, "newswatch.poll.world", []byte("not a time")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := n.Jobs().Enqueue(ctx, "bbc", slot0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	calls := consume(t, n.Jobs(), 1, func(context.Context, job) error { return nil })
	if j := next(t, calls); j.feed != "bbc" {
		t.Errorf("handled job: got feed %q, want bbc", j.feed)
	}
	waitFor(t, "both jobs settled", func() bool {
		info := consumerInfo(t, n)
		return info.NumAckPending == 0 && info.NumPending == 0
	})
	select {
	case j := <-calls:
		t.Errorf("malformed job reached the handler: %+v", j)
	default:
	}
}

func TestConsumeInvalidArguments(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ok := func(context.Context, string, time.Time) error { return nil }
	if err := n.Jobs().Consume(testContext(t), 0, ok); err == nil {
		t.Errorf("Consume with 0 workers: got nil error, want one")
	}
	if err := n.Jobs().Consume(testContext(t), 1, nil); err == nil {
		t.Errorf("Consume with a nil handler: got nil error, want one")
	}
}

// TestConsumeAcrossRestart keeps a consumer running while its external server restarts.
func TestConsumeAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	srv := notifiertest.RunServer(t, -1, dir)
	cfg := notifiertest.Config(t)
	cfg.URL = srv.ClientURL()
	cfg.Embedded = notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	calls := consume(t, n.Jobs(), 2, func(context.Context, job) error { return nil })

	if err := n.Jobs().Enqueue(ctx, "world", slot0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if j := next(t, calls); j.feed != "world" {
		t.Errorf("first job: got %q, want world", j.feed)
	}

	port := srv.Addr().(*net.TCPAddr).Port
	down := n.Conn().StatusChanged(nats.RECONNECTING)
	srv.Shutdown()
	srv.WaitForShutdown()
	waitStatus(t, down, nats.RECONNECTING)
	up := n.Conn().StatusChanged(nats.CONNECTED)
	notifiertest.RunServer(t, port, dir)
	waitStatus(t, up, nats.CONNECTED)

	if err := n.Jobs().Enqueue(ctx, "bbc", slot0); err != nil {
		t.Fatalf("Enqueue after restart: %v", err)
	}
	if j := next(t, calls); j.feed != "bbc" {
		t.Errorf("job after restart: got %q, want bbc", j.feed)
	}
}

func TestOpenUpdatesAnOlderPollStream(t *testing.T) {
	// A store written by a version whose poll stream replaced a feed's pending job with the
	// next slot's, and kept job ids for 2 minutes, is brought to the present settings.
	srv := notifiertest.RunServer(t, -1, t.TempDir())
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: pollStream, Subjects: []string{"newswatch.poll.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute, MaxAge: 24 * time.Hour,
		MaxMsgsPerSubject: 1, Discard: jetstream.DiscardOld,
	}); err != nil {
		t.Fatal(err)
	}
	cfg := notifiertest.Config(t)
	cfg.URL = srv.ClientURL()
	cfg.Embedded = notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)
	s, err := js.Stream(ctx, pollStream)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.Discard != jetstream.DiscardNew || !c.DiscardNewPerSubject || c.Duplicates != 15*time.Minute {
		t.Errorf("poll stream: discard %v, per subject %v, duplicate window %s; want new, true, 15m", c.Discard, c.DiscardNewPerSubject, c.Duplicates)
	}
	q := n.Jobs()
	for _, slot := range []time.Time{slot0, slot0.Add(5 * time.Minute)} {
		if err := q.Enqueue(ctx, "world", slot); err != nil {
			t.Fatalf("Enqueue %s: %v", slot, err)
		}
	}
	if got := streamMsgs(t, n, pollStream); got != 1 {
		t.Errorf("poll stream holds %d jobs, want 1", got)
	}
}

func TestGivenUpJobFreesItsFeed(t *testing.T) {
	// A job that fails MaxDeliver times is removed, not kept undelivered: the feed's next slot
	// is queued and handled.
	cfg := notifiertest.Config(t)
	cfg.Jobs.RetryDelay = 50 * time.Millisecond
	cfg.Jobs.MaxDeliver = 2
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	q := n.Jobs()
	if err := q.Enqueue(ctx, "world", slot0); err != nil {
		t.Fatal(err)
	}
	calls := consume(t, q, 1, func(_ context.Context, j job) error {
		if j.slot.Equal(slot0) {
			return errors.New("state store unreachable")
		}
		return nil
	})
	for range 2 {
		if j := next(t, calls); !j.slot.Equal(slot0) {
			t.Fatalf("got slot %s, want %s", j.slot, slot0)
		}
	}
	nextSlotHandled(t, n, calls, "the given-up job")
}

// nextSlotHandled waits until the poll stream holds no job, as when the feed "world" has none
// pending, then enqueues that feed's next slot and checks that it is the next job handled.
func nextSlotHandled(t *testing.T, n *notifier.Notifier, calls <-chan job, what string) {
	t.Helper()
	waitFor(t, what+" gone from the poll stream", func() bool { return streamMsgs(t, n, pollStream) == 0 })
	later := slot0.Add(5 * time.Minute)
	if err := n.Jobs().Enqueue(testContext(t), "world", later); err != nil {
		t.Fatal(err)
	}
	if j := next(t, calls); !j.slot.Equal(later) {
		t.Errorf("after %s: got slot %s, want %s", what, j.slot, later)
	}
}

func TestJobWhoseLastDeliveryDiesIsRemoved(t *testing.T) {
	// The daemon stops (here: loses its connection for good) while it handles a job's last
	// delivery. The job must not stay in the stream undelivered, refusing the feed's later
	// slots: the next process gets it once more and removes it without polling.
	srv := notifiertest.RunServer(t, -1, t.TempDir())
	cfg := notifiertest.Config(t)
	cfg.URL = srv.ClientURL()
	cfg.Embedded = notifier.EmbeddedConfig{}
	cfg.Jobs.AckWait = time.Second
	cfg.Jobs.RetryDelay = 50 * time.Millisecond
	cfg.Jobs.MaxDeliver = 2
	first := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	if err := first.Jobs().Enqueue(ctx, "world", slot0); err != nil {
		t.Fatal(err)
	}
	dying := make(chan struct{})
	calls := consume(t, first.Jobs(), 1, func(ctx context.Context, _ job) error {
		select {
		case <-dying: // the second delivery: the process dies while it polls
			<-ctx.Done()
			return ctx.Err()
		default:
			close(dying)
			return errors.New("feed unreachable")
		}
	})
	next(t, calls)
	next(t, calls)
	first.Conn().Close()

	second := notifiertest.Open(t, cfg)
	calls = consume(t, second.Jobs(), 1, func(context.Context, job) error { return nil })
	nextSlotHandled(t, second, calls, "the job whose last delivery died")
}

func TestConsumeDeliversJobsAnEarlierVersionGaveUp(t *testing.T) {
	// An earlier version let the server stop delivering a job after MaxDeliver deliveries; one
	// whose last delivery ended with no answer stayed in the stream, never delivered again, and
	// refused its feed's later slots. Consuming delivers it.
	srv := notifiertest.RunServer(t, -1, t.TempDir())
	cfg := notifiertest.Config(t)
	cfg.URL = srv.ClientURL()
	cfg.Embedded = notifier.EmbeddedConfig{}
	n := notifiertest.Open(t, cfg)
	ctx := testContext(t)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	old, err := js.CreateOrUpdateConsumer(ctx, pollStream, jetstream.ConsumerConfig{
		Durable: pollerName, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Second,
		MaxDeliver: 1, MaxAckPending: 1024, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	q := n.Jobs()
	if err := q.Enqueue(ctx, "world", slot0); err != nil {
		t.Fatal(err)
	}
	batch, err := old.Fetch(1, jetstream.FetchMaxWait(waitTimeout))
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() { // delivered once and never answered
	}
	waitFor(t, "the server to give the job up", func() bool {
		info, err := old.Info(ctx)
		return err == nil && info.NumAckPending == 0
	})
	later := slot0.Add(5 * time.Minute)
	if err := q.Enqueue(ctx, "world", later); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, n, pollStream); got != 1 {
		t.Fatalf("before: poll stream holds %d jobs, want the given-up one alone", got)
	}

	calls := consume(t, q, 1, func(context.Context, job) error { return nil })
	if j := next(t, calls); !j.slot.Equal(slot0) {
		t.Errorf("the given-up job: got slot %s, want %s", j.slot, slot0)
	}
	nextSlotHandled(t, n, calls, "the given-up job")
	if info := consumerInfo(t, n); info.Config.MaxDeliver != -1 {
		t.Errorf("consumer MaxDeliver: got %d, want -1 (counted by the daemon)", info.Config.MaxDeliver)
	}
}
