package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/notifier"
)

// outcome is what became of one alert for one channel.
type outcome struct {
	channel    string
	result     string        // one of the post* results
	retryAfter time.Duration // for postRateLimited
	err        error
}

// handle delivers one alert to every channel it is routed to, then acknowledges it, or naks it
// for a later delivery when a channel has not got it yet. The channels that got it are in the
// ledger, so the next delivery skips them.
func (b *Bridge) handle(ctx context.Context, msg jetstream.Msg) {
	b.metrics.inFlight.Inc()
	defer b.metrics.inFlight.Dec()
	stop := b.heartbeat(msg)
	defer stop()

	meta, _ := msg.Metadata()
	var seq uint64
	delivered := uint64(1)
	if meta != nil {
		seq, delivered = meta.Sequence.Stream, max(meta.NumDelivered, 1)
	}
	log := b.log.With(zap.Uint64("stream_seq", seq), zap.String("subject", msg.Subject()))

	ev, err := notifier.ParseEvent(msg.Data())
	if err != nil {
		log.Error("not an alert event; sent to the dead-letter stream", zap.Error(err))
		if derr := b.deadLetter(ctx, msg, "", "", err); derr != nil {
			log.Warn("cannot dead-letter the event; retrying", zap.Error(derr))
			b.nak(msg, b.backoff(delivered), log)
			return
		}
		b.metrics.alerts.WithLabelValues(alertInvalid).Inc()
		b.ack(msg, log)
		return
	}
	log = log.With(zap.String("event_id", ev.ID), zap.String("rule", ev.Data.Rule.ID), zap.String("feed", ev.Data.Feed.ID))

	if !b.claim(ev.ID) {
		// The same alert is being handled now (published twice, or delivered again): try later.
		b.nak(msg, b.cfg.RetryMin, log)
		return
	}
	defer b.release(ev.ID)

	channels := b.router.channels(ev.Data.Rule.ID, ev.Data.Feed.ID)
	if len(channels) == 0 {
		log.Debug("no route for the alert")
		b.metrics.alerts.WithLabelValues(alertNoRoute).Inc()
		b.ack(msg, log)
		return
	}
	m := Format(ev)
	outcomes := make([]outcome, len(channels))
	var wg sync.WaitGroup
	for i, ch := range channels {
		wg.Go(func() { outcomes[i] = b.deliver(ctx, msg, ev, ch, m) })
	}
	wg.Wait()

	var delay time.Duration
	retry := false
	for _, o := range outcomes {
		b.metrics.posts.WithLabelValues(o.result).Inc()
		switch o.result {
		case postRateLimited:
			retry = true
			delay = max(delay, o.retryAfter)
			log.Info("slack rate limit; the alert waits", zap.String("channel", o.channel), zap.Duration("retry_after", o.retryAfter))
		case postError:
			retry = true
			delay = max(delay, b.backoff(delivered))
			log.Warn("cannot post the alert; retrying", zap.String("channel", o.channel), zap.Uint64("delivery", delivered), zap.Error(o.err))
		case postDead:
			log.Error("slack refused the alert for good; sent to the dead-letter stream", zap.String("channel", o.channel), zap.Error(o.err))
		case postPosted:
			log.Debug("posted", zap.String("channel", o.channel))
		}
	}
	if retry {
		b.metrics.alerts.WithLabelValues(alertRetried).Inc()
		b.nak(msg, delay, log)
		return
	}
	b.metrics.alerts.WithLabelValues(alertAcked).Inc()
	b.ack(msg, log)
}

// deliver posts the alert's message to one channel, unless the ledger says it is there already.
func (b *Bridge) deliver(ctx context.Context, msg jetstream.Msg, ev notifier.Event, channel string, m Message) outcome {
	o := outcome{channel: channel}
	l := b.ledger.Load()
	done, err := l.posted(ctx, ev.ID, channel)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	if done {
		o.result = postDuplicate
		return o
	}
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	pctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("post to %s took more than %s", channel, b.cfg.PostTimeout))
	start := time.Now()
	rcpt, err := b.cfg.Poster.Post(pctx, channel, m)
	b.metrics.duration.Observe(time.Since(start).Seconds())
	cancel()

	var rl *RateLimitError
	switch {
	case err == nil:
		o.result = postPosted
		// Recording may fail (NATS down): the alert is still acknowledged, and only a lost
		// acknowledgement on top of that would post it again.
		if rerr := l.record(ctx, ev.ID, channel, rcpt, b.now()); rerr != nil {
			b.log.Warn("posted, but cannot record it", zap.String("event_id", ev.ID), zap.String("channel", channel), zap.Error(rerr))
		}
	case errors.As(err, &rl):
		gate.pause(rl.RetryAfter)
		o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
	case errors.Is(err, ErrPermanent):
		if derr := b.deadLetter(ctx, msg, ev.ID, channel, err); derr != nil {
			o.result, o.err = postError, fmt.Errorf("%w; and cannot dead-letter it: %w", err, derr)
			return o
		}
		o.result, o.err = postDead, err
	default:
		o.result, o.err = postError, err
	}
	return o
}

// heartbeat tells JetStream every AckWait/3 that the alert is being worked on, until stop.
func (b *Bridge) heartbeat(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(b.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// backoff is the delay before the next delivery after the delivered-th one failed.
func (b *Bridge) backoff(delivered uint64) time.Duration {
	d := b.cfg.RetryMin
	for i := uint64(1); i < delivered && d < b.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, b.cfg.RetryMax)
}

func (b *Bridge) ack(msg jetstream.Msg, log *zap.Logger) {
	if err := msg.Ack(); err != nil {
		log.Warn("cannot acknowledge the alert; it will come again and be skipped", zap.Error(err))
	}
}

func (b *Bridge) nak(msg jetstream.Msg, delay time.Duration, log *zap.Logger) {
	if err := msg.NakWithDelay(delay); err != nil {
		log.Warn("cannot nak the alert; it comes again after the ack wait", zap.Error(err))
	}
}

// claim marks an event id as being handled; false when it already is.
func (b *Bridge) claim(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inFlight[id] {
		return false
	}
	b.inFlight[id] = true
	return true
}

func (b *Bridge) release(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inFlight, id)
}

// alertTokens are the rule and feed tokens of an alert subject, <prefix>.alert.<rule>.<feed>.
func (b *Bridge) alertTokens(subject string) string {
	rest, ok := strings.CutPrefix(subject, b.cfg.SubjectPrefix+".alert.")
	if !ok || rest == "" {
		return "invalid"
	}
	return rest
}
