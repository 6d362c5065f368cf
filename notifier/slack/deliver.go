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
	retryAfter time.Duration // for postRateLimited; for postError, the least wait, if any
	err        error
}

// handle delivers one alert to every channel it is routed to, then acknowledges it, or naks it
// for a later delivery when a channel has not got it yet. The channels that got it are in the
// ledger, so the next delivery skips them.
func (b *Bridge) handle(ctx context.Context, msg jetstream.Msg) {
	b.metrics.inFlight.Inc()
	defer b.metrics.inFlight.Dec()
	stop := notifier.KeepAlive(msg, b.cfg.AckWait/3)
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
			delay = max(delay, b.backoff(delivered), o.retryAfter)
			log.Warn("cannot post the alert; retrying", zap.String("channel", o.channel), zap.Uint64("delivery", delivered), zap.Error(o.err))
		case postDead:
			log.Error("slack refused the alert for good; sent to the dead-letter stream", zap.String("channel", o.channel), zap.Error(o.err))
		case postPosted:
			log.Debug("posted", zap.String("channel", o.channel))
		case postRecovered:
			log.Info("slack had the message already; not posted again", zap.String("channel", o.channel))
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
// The ledger gets a pending record before the post and a posted one after it; a pending record
// found here is a post begun and never recorded, and Slack is asked whether it has the message
// before it is posted again.
func (b *Bridge) deliver(ctx context.Context, msg jetstream.Msg, ev notifier.Event, channel string, m Message) outcome {
	o := outcome{channel: channel}
	l := b.ledger.Load()
	e, err := l.get(ctx, ev.ID, channel)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	if e.rev != 0 {
		if !e.rec.pending() {
			o.result = postDuplicate
			return o
		}
		found, wait, err := b.settle(ctx, l, ev.ID, channel, e)
		var rl *RateLimitError
		switch {
		case errors.As(err, &rl):
			o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
			return o
		case err != nil:
			o.result, o.retryAfter, o.err = postError, wait, err
			return o
		case found:
			o.result = postRecovered
			return o
		}
	}
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	// No message leaves without a pending record: if this write fails, nothing is posted.
	e, err = l.begin(ctx, ev.ID, channel, b.instance, e, b.now())
	if err != nil {
		o.result, o.err = postError, err
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
		// Recording may fail (NATS down): the pending record stays, and a redelivery finds the
		// message in Slack.
		if rerr := l.record(ctx, ev.ID, channel, rcpt, b.now()); rerr != nil {
			b.log.Warn("posted, but cannot record it", zap.String("event_id", ev.ID), zap.String("channel", channel), zap.Error(rerr))
		}
	case errors.As(err, &rl):
		gate.pause(rl.RetryAfter)
		b.abandon(ctx, l, ev.ID, channel, e)
		o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
	case errors.Is(err, ErrPermanent):
		b.abandon(ctx, l, ev.ID, channel, e)
		if derr := b.deadLetter(ctx, msg, ev.ID, channel, err); derr != nil {
			o.result, o.err = postError, fmt.Errorf("%w; and cannot dead-letter it: %w", err, derr)
			return o
		}
		o.result, o.err = postDead, err
	default:
		// A 5xx or a network error: Slack may have taken the message all the same (a timeout
		// after it accepted). The pending record stays, and the next delivery asks Slack.
		o.result, o.err = postError, err
	}
	return o
}

// Margins of the pending records.
const (
	// historyMargin is how far before a pending record's time Slack's history is read: the
	// clocks of the bridge and of Slack may differ.
	historyMargin = 5 * time.Minute
	// pendingGrace is added to PostTimeout before a pending record of another bridge is taken
	// for a post that ended: until then, that bridge may still be posting.
	pendingGrace = 5 * time.Second
)

// errPostInFlight is the error of a pending record that another bridge may still be working on.
var errPostInFlight = errors.New("slack: another bridge may be posting the message now")

// settle decides about a pending record: found is true when Slack has the message, which is
// then recorded as posted; false when it must be posted (again). A record of another bridge
// instance younger than PostTimeout may belong to a post still in flight: settle returns
// errPostInFlight and how long to wait. A transport that cannot look (a webhook), or a lookup
// that Slack refuses for good (a missing scope), means posting again.
func (b *Bridge) settle(ctx context.Context, l *ledger, eventID, channel string, e ledgerEntry) (found bool, wait time.Duration, err error) {
	if e.rec.Owner != b.instance {
		if age := b.now().Sub(e.rec.Begun); age < b.cfg.PostTimeout+pendingGrace {
			return false, b.cfg.PostTimeout + pendingGrace - age, fmt.Errorf("pending since %s: %w", e.rec.Begun.Format(time.RFC3339Nano), errPostInFlight)
		}
	}
	f, ok := b.cfg.Poster.(Finder)
	if !ok {
		b.log.Info("a post was begun and not recorded; the transport cannot tell whether Slack has it, so it is posted again",
			zap.String("event_id", eventID), zap.String("channel", channel))
		return false, 0, nil
	}
	fctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("looking for the message in %s took more than %s", channel, b.cfg.PostTimeout))
	rcpt, found, err := f.Find(fctx, channel, eventID, e.rec.Begun.Add(-historyMargin))
	cancel()
	switch {
	case errors.Is(err, ErrPermanent):
		b.log.Warn("cannot look for the message in slack; posting it again", zap.String("event_id", eventID), zap.String("channel", channel), zap.Error(err))
		return false, 0, nil
	case err != nil:
		return false, 0, err
	case !found:
		return false, 0, nil
	}
	if err := l.record(ctx, eventID, channel, rcpt, b.now()); err != nil {
		return false, 0, err
	}
	b.log.Info("slack has the message of a post that was not recorded; recorded it without posting again",
		zap.String("event_id", eventID), zap.String("channel", channel), zap.String("ts", rcpt.TS))
	return true, 0, nil
}

// abandon drops the pending record of a message Slack refused. Should that fail, the record
// stays and the next delivery asks Slack, which does not have the message.
func (b *Bridge) abandon(ctx context.Context, l *ledger, eventID, channel string, e ledgerEntry) {
	if err := l.abandon(ctx, eventID, channel, e); err != nil {
		b.log.Debug("cannot drop the pending record", zap.String("event_id", eventID), zap.String("channel", channel), zap.Error(err))
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
