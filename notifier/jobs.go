package notifier

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

const (
	// pullWait is how long one pull request waits for jobs before it is renewed. A request the
	// server lost (sent while a restarted server was still recovering its consumers) costs no
	// more than this.
	pullWait = 5 * time.Second
	// ackTimeout bounds the wait for the server to confirm an acknowledgement.
	ackTimeout = 5 * time.Second
	// minMaxAckPending keeps the shared consumer's limit above any one replica's workers.
	minMaxAckPending = 1024
)

// JobQueue carries poll jobs between the schedules and the workers of every replica over the
// poll work-queue stream. It satisfies watcher.JobQueue and is safe for concurrent use.
type JobQueue struct {
	js     jetstream.JetStream
	names  names
	cfg    JobsConfig
	log    *zap.Logger
	stream string
	store  *store
	// shared is set when other replicas may enqueue the same slots (an external server): jobs
	// then carry a message id, so that the server keeps one copy of each. The embedded server
	// serves this process alone, and a message id would only fill the server's memory with
	// one entry a job for the duplicate window (300,000 at 100,000 feeds on five minutes).
	shared bool
}

// Enqueue submits the poll of feedID for slot and waits for JetStream to store it. Enqueueing
// any slot while the feed has a job pending is a no-op: that job polls the feed as it is when
// it runs. On a shared server the message id poll.<feed>.<unix seconds> makes enqueueing the
// same slot again (from any replica, within the poll stream's duplicate window) a no-op too;
// a copy that gets through anyway polls nothing, since the slot is done in the feed's state.
func (q *JobQueue) Enqueue(ctx context.Context, feedID string, slot time.Time) error {
	if !validToken(feedID) {
		return fmt.Errorf("enqueue poll: feed id %q is not a subject token", feedID)
	}
	m := nats.NewMsg(pollSubject(q.names.prefix, feedID))
	m.Data = []byte(slot.UTC().Format(time.RFC3339Nano))
	if q.shared {
		m.Header.Set(jetstream.MsgIDHeader, "poll."+feedID+"."+strconv.FormatInt(slot.Unix(), 10))
	}
	_, err := q.js.PublishMsg(ctx, m, jetstream.WithExpectStream(q.stream))
	if q.store.heal(ctx, pollStream, err) {
		_, err = q.js.PublishMsg(ctx, m, jetstream.WithExpectStream(q.stream))
	}
	if err != nil && !duplicateInProcess(err) && !jobPending(err) {
		return fmt.Errorf("enqueue poll %s at %s: %w", feedID, slot.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Consume runs handle for queued jobs, at most workers at once, until ctx is done; then it stops
// pulling, waits for the handlers in flight and returns nil. A job is pulled only when a worker
// is free, so none waits in a local buffer while its AckWait runs. Handlers get ctx; while one
// runs, its job's AckWait is renewed every AckWait/3 so long polls are not delivered twice. A
// handler's nil acknowledges the job; an error is logged and the job is delivered again after
// Jobs.RetryDelay, up to Jobs.MaxDeliver times, the last failure removing it; a job that comes
// again past that (its last handler never answered) is removed unhandled. A job handed back
// unhandled at shutdown counts as a delivery too. Pull failures
// (NATS unreachable, consumer removed) are logged and retried with backoff, so Consume outlives
// outages and reconnects.
// Consume returns an error only for invalid arguments or a consumer the server refuses.
func (q *JobQueue) Consume(ctx context.Context, workers int, handle func(ctx context.Context, feedID string, slot time.Time) error) error {
	if workers < 1 {
		return fmt.Errorf("consume polls: workers must be positive, got %d", workers)
	}
	if handle == nil {
		return errors.New("consume polls: handle is nil")
	}
	cons, err := q.consumer(ctx, workers)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// A pull request does not survive a server restart; renew it as soon as the connection is back
	// instead of waiting for its missed heartbeats.
	reconnected := q.js.Conn().StatusChanged(nats.CONNECTED)
	defer q.js.Conn().RemoveStatusListener(reconnected)
	slots := make(chan struct{}, workers) // a token per running handler
	var wg sync.WaitGroup
	defer wg.Wait()
	wait := retryFirst
	for {
		n, ok := acquire(ctx, slots)
		if !ok {
			return nil
		}
		started, err := q.pull(ctx, cons, n, reconnected, func(msg jetstream.Msg) {
			wg.Go(func() {
				defer func() { <-slots }()
				q.run(ctx, msg, handle)
			})
		})
		for range n - started {
			<-slots
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			if wait != retryFirst {
				q.log.Info("pulling poll jobs again")
			}
			wait = retryFirst
			continue
		}
		level := zap.DebugLevel // an outage is logged once, not at every retry
		if wait == retryFirst {
			level = zap.WarnLevel
		}
		q.log.Log(level, "pull poll jobs", zap.Error(err), zap.Duration("retry_in", wait))
		// The consumer was removed, alone or with its stream: a pull then finds no responder.
		// Create it again, and the stream first if it is gone (consumer does).
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) || mayBeMissing(err) {
			if c, cerr := q.consumer(ctx, workers); cerr == nil {
				cons = c
			}
		}
		if !pause(ctx, wait) {
			return nil
		}
		wait = min(2*wait, retryMax)
	}
}

// acquire blocks for one free worker slot, then takes every other free one; it returns how many
// it took, or false when ctx is done first.
func acquire(ctx context.Context, slots chan struct{}) (int, bool) {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0, false
	}
	n := 1
	for n < cap(slots) {
		select {
		case slots <- struct{}{}:
			n++
		default:
			return n, true
		}
	}
	return n, true
}

// pull fetches up to n jobs with one pull request and starts each with start. The request ends
// early when the connection is re-established. Jobs that arrive after ctx is done are handed
// back at once.
func (q *JobQueue) pull(ctx context.Context, cons jetstream.Consumer, n int, reconnected <-chan nats.Status, start func(jetstream.Msg)) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, pullWait)
	var watch sync.WaitGroup
	defer watch.Wait()
	defer cancel()
	watch.Go(func() {
		select {
		case <-reconnected:
			cancel()
		case <-fctx.Done():
		}
	})
	batch, err := cons.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, err
	}
	started := 0
	for msg := range batch.Messages() {
		if ctx.Err() != nil {
			_ = msg.Nak() // another worker, here or elsewhere, takes it now
			continue
		}
		start(msg)
		started++
	}
	err = batch.Error()
	if err != nil && fctx.Err() == nil {
		return started, err
	}
	return started, nil
}

// run handles one job and settles it.
func (q *JobQueue) run(ctx context.Context, msg jetstream.Msg, handle func(context.Context, string, time.Time) error) {
	feedID, slot, err := q.parse(msg)
	if err != nil {
		q.log.Error("dropping malformed poll job", zap.String("subject", msg.Subject()), zap.Error(err))
		_ = msg.TermWithReason("malformed poll job")
		return
	}
	var delivery uint64 // 0 when the metadata cannot be read: the job is then never given up here
	if md, err := msg.Metadata(); err == nil {
		delivery = md.NumDelivered
	}
	// fields describe the job in a log line; built only when one is written.
	fields := func(more ...zap.Field) []zap.Field {
		return append([]zap.Field{zap.String("feed", feedID), zap.Time("slot", slot), zap.Uint64("delivery", delivery)}, more...)
	}
	if delivery > uint64(q.cfg.MaxDeliver) {
		// Its MaxDeliver deliveries are spent and the last ended with no answer: the daemon
		// stopped while it polled, a crash on this feed perhaps. Remove it, so that the feed's
		// next slot is queued, instead of polling it once more.
		q.log.Error("poll job given up: its last delivery ended with no answer; the feed's next slot polls it", fields()...)
		q.term(msg, feedID, "max deliveries")
		return
	}
	// A poll re-creates a stream or the bucket that was deleted, including the alert stream
	// when it has no alert to publish, which would otherwise stay missing until one comes.
	q.store.healMissing(ctx)
	stop := KeepAlive(msg, q.cfg.AckWait/3)
	err = handle(ctx, feedID, slot)
	stop()

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if err == nil {
		if aerr := msg.DoubleAck(sctx); aerr != nil {
			// The job comes back after AckWait; handling it again is harmless.
			q.log.Warn("ack poll job", fields(zap.Error(aerr))...)
		}
		return
	}
	if delivery >= uint64(q.cfg.MaxDeliver) {
		// The server delivers jobs without limit and keeps each until it is settled, and the
		// feed's later slots are refused while it stays: remove it, so that the next slot is queued.
		q.log.Error("poll job given up; the feed's next slot polls it", fields(zap.Error(err))...)
		q.term(msg, feedID, "max deliveries")
		return
	}
	if errors.Is(err, context.Canceled) {
		// Abandoned at shutdown: not a failure worth a warning.
		q.log.Debug("poll job abandoned, will be retried", fields(zap.Error(err))...)
	} else {
		q.log.Warn("poll job failed, will be retried", fields(zap.Error(err))...)
	}
	if nerr := msg.NakWithDelay(q.cfg.RetryDelay); nerr != nil {
		q.log.Warn("nak poll job", zap.String("feed", feedID), zap.Error(nerr))
	}
}

// term removes a job for good, so that the feed's next slot can be queued.
func (q *JobQueue) term(msg jetstream.Msg, feedID, reason string) {
	if err := msg.TermWithReason(reason); err != nil {
		// The job comes back after AckWait and is removed then.
		q.log.Warn("term poll job", zap.String("feed", feedID), zap.Error(err))
	}
}

// parse reads the feed id from the subject and the slot from the body.
func (q *JobQueue) parse(msg jetstream.Msg) (string, time.Time, error) {
	feedID, ok := strings.CutPrefix(msg.Subject(), q.names.prefix+".poll.")
	if !ok || !validToken(feedID) {
		return "", time.Time{}, fmt.Errorf("subject %q is not %s.poll.<feed>", msg.Subject(), q.names.prefix)
	}
	slot, err := time.Parse(time.RFC3339Nano, string(msg.Data()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("poll job %s: slot: %w", feedID, err)
	}
	return feedID, slot, nil
}

// consumer creates or updates the durable pull consumer that every replica shares, retrying
// while NATS does not answer, and re-creating the poll stream if it is gone.
func (q *JobQueue) consumer(ctx context.Context, workers int) (jetstream.Consumer, error) {
	cc := jetstream.ConsumerConfig{
		Durable:     q.names.pollDurable,
		Description: "newswatch poll workers",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     q.cfg.AckWait,
		// Deliveries are counted here, not by the server: a server that stops at MaxDeliver
		// keeps a job whose last delivery ended with no answer, and the feed's later slots
		// are refused while it stays. run removes such a job when it comes once more.
		MaxDeliver:    -1,
		MaxAckPending: max(workers, minMaxAckPending),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	var cons jetstream.Consumer
	err := retry(ctx, q.log, "create poll consumer", func(ctx context.Context) error {
		if err := q.dropEarlier(ctx); err != nil {
			return err
		}
		c, err := q.js.CreateOrUpdateConsumer(ctx, q.stream, cc)
		if q.store.heal(ctx, pollStream, err) {
			c, err = q.js.CreateOrUpdateConsumer(ctx, q.stream, cc)
		}
		if err != nil {
			return fmt.Errorf("consumer %s on %s: %w", cc.Durable, q.stream, err)
		}
		cons = c
		return nil
	})
	return cons, err
}

// dropEarlier deletes a poll consumer made by an earlier version, so that it is made anew. Its
// server stopped delivering a job after MaxDeliver deliveries and kept it when the last ended with
// no answer; such a job refuses its feed's later slots, and changing the setting does not deliver
// it again, while a new consumer delivers every job the stream holds. A job in flight elsewhere
// is delivered again too; its two polls commit the feed's state once (compare-and-swap), so no
// alert or item is repeated.
func (q *JobQueue) dropEarlier(ctx context.Context) error {
	c, err := q.js.Consumer(ctx, q.stream, q.names.pollDurable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("consumer %s on %s: %w", q.names.pollDurable, q.stream, err)
	}
	maxDeliver := c.CachedInfo().Config.MaxDeliver
	if maxDeliver < 0 {
		return nil
	}
	if err := q.js.DeleteConsumer(ctx, q.stream, q.names.pollDurable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s of an earlier version: %w", q.names.pollDurable, err)
	}
	q.log.Info("deleted the poll consumer of an earlier version, so that a new one delivers the jobs it gave up",
		zap.Int("max_deliver", maxDeliver))
	return nil
}

// duplicateInProcess reports the answer of a clustered stream to a message whose id another
// publisher's copy is being stored under right now: every replica enqueues every slot, so this
// is the expected outcome of a race, and the other copy is the job.
func duplicateInProcess(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(server.JSStreamDuplicateMessageConflict)
}

// jobPending tells whether a publish was refused because its feed has a job pending already:
// the poll stream keeps one a feed (DiscardNewPerSubject).
func jobPending(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(server.JSStreamStoreFailedF) &&
		strings.Contains(apiErr.Description, server.ErrMaxMsgsPerSubject.Error())
}
