package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// setupAttempt bounds one attempt to create the consumer, the bucket and the dead-letter stream.
const setupAttempt = 10 * time.Second

// setup creates (or finds) the consumer, the posted bucket and the dead-letter stream, trying
// again with a backoff until it succeeds or ctx is done. A failure is logged when it first
// happens and whenever its text changes.
func (b *Bridge) setup(ctx context.Context) (jetstream.Consumer, error) {
	wait := b.cfg.RetryMin
	var last string
	for {
		actx, cancel := context.WithTimeout(ctx, setupAttempt)
		cons, err := b.setupOnce(actx)
		cancel()
		if err == nil {
			b.log.Info("consuming alerts", zap.String("stream", b.cfg.AlertStream), zap.String("consumer", b.cfg.Durable),
				zap.String("posted_bucket", b.cfg.PostedBucket), zap.String("dead_letter_stream", b.cfg.DeadLetterStream))
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if b.cfg.Conn.Status() != nats.CONNECTED {
			// Not connected: the connection's owner logs why; a timeout here says nothing more.
			b.log.Debug("cannot set up the Slack bridge while NATS is not connected; retrying", zap.Error(err))
		} else if err.Error() != last {
			msg := "cannot set up the Slack bridge; retrying"
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				msg = "the alert stream does not exist yet (is newswatch running?); waiting"
			}
			b.log.Warn(msg, zap.Error(err))
			last = err.Error()
		}
		b.sleep(ctx, wait)
		wait = min(2*wait, 30*time.Second)
	}
}

func (b *Bridge) setupOnce(ctx context.Context) (jetstream.Consumer, error) {
	stream, err := b.js.Stream(ctx, b.cfg.AlertStream)
	if err != nil {
		return nil, fmt.Errorf("alert stream %s: %w", b.cfg.AlertStream, err)
	}
	if b.ledger.Load() == nil {
		l, err := openLedger(ctx, b.js, b.cfg)
		if err != nil {
			return nil, err
		}
		b.ledger.Store(l)
	}
	if _, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        b.cfg.DeadLetterStream,
		Description: "newswatch Slack bridge: alerts Slack refused for good",
		Subjects:    []string{b.cfg.DeadLetterSubject + ".>"},
		Storage:     jetstream.FileStorage,
		MaxAge:      b.cfg.PostedTTL,
	}); err != nil {
		return nil, fmt.Errorf("dead-letter stream %s: %w", b.cfg.DeadLetterStream, err)
	}
	return b.consumer(ctx, stream)
}

// consumer updates the durable consumer of the alert stream when it exists, keeping where it
// started, and creates it otherwise.
func (b *Bridge) consumer(ctx context.Context, stream jetstream.Stream) (jetstream.Consumer, error) {
	return b.openConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       b.cfg.Durable,
		Description:   "newswatch Slack bridge",
		FilterSubject: b.cfg.SubjectPrefix + ".alert.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.cfg.AckWait,
		MaxDeliver:    -1, // transient failures are retried forever; permanent ones are dead-lettered
		// The server never hands out more than this bridge handles at once, so that no alert waits
		// in a buffer long enough to be delivered again.
		MaxAckPending: b.cfg.MaxInFlight,
	})
}

// openConsumer updates the durable consumer want names when it exists, keeping where it
// started, and creates it otherwise, starting where the configuration's Start says.
func (b *Bridge) openConsumer(ctx context.Context, stream jetstream.Stream, want jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := stream.Consumer(ctx, want.Durable)
	if err == nil {
		have := cons.CachedInfo().Config
		want.DeliverPolicy, want.OptStartTime, want.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
		cons, err = stream.UpdateConsumer(ctx, want)
		if err != nil {
			return nil, fmt.Errorf("update consumer %s: %w", want.Durable, err)
		}
		return cons, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("consumer %s: %w", want.Durable, err)
	}
	switch b.cfg.Start.Mode {
	case StartAll:
		want.DeliverPolicy = jetstream.DeliverAllPolicy
	case StartSince:
		want.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		t := b.now().Add(-b.cfg.Start.Since)
		want.OptStartTime = &t
	default:
		want.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	cons, err = stream.CreateConsumer(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", want.Durable, err)
	}
	b.log.Info("created the consumer", zap.String("consumer", want.Durable), zap.Stringer("start", b.cfg.Start))
	return cons, nil
}
