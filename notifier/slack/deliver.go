package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/notifier"
)

// job is an alert received, routed, with its turns taken in the lanes of its channels.
type job struct {
	msg     jetstream.Msg
	seq     uint64
	ev      notifier.Event
	err     error   // not an alert event
	claimed bool    // false: the same event is being handled now
	turns   []*turn // one per channel routed to
}

// receive parses and routes an alert and takes its turns; it runs in the consumer's loop, so
// that turns are taken in the order the alerts come.
func (b *Bridge) receive(msg jetstream.Msg) job {
	j := job{msg: msg}
	if meta, err := msg.Metadata(); err == nil {
		j.seq = meta.Sequence.Stream
	}
	j.ev, j.err = notifier.ParseEvent(msg.Data())
	if j.err != nil {
		return j
	}
	// A rule of DigestRules is routed nowhere here: its deliveries carry the alerts its readers
	// get (see receiveDelivered).
	return b.take(j, !b.digestRule(j.ev.Data.Rule.ID))
}

// take claims the job's alert and, when route is true, takes its turns in the lanes of the
// channels it is routed to.
func (b *Bridge) take(j job, route bool) job {
	if j.claimed = b.claim(j.ev.ID); !j.claimed || !route {
		return j
	}
	for _, ch := range b.router.channels(j.ev.Data.Rule.ID, j.ev.Data.Feed.ID) {
		j.turns = append(j.turns, b.lanes.enqueue(ch, j.seq))
	}
	return j
}

// outcome is what became of one alert for one channel.
type outcome struct {
	channel    string
	result     string        // one of the post* results
	retryAfter time.Duration // for postRateLimited; for postError, the least wait, if any
	ts         string        // the message's ts, when known
	err        error
}

// handle delivers one alert to every channel it is routed to, then acknowledges it, or naks it
// for a later delivery when a channel has not got it yet (the bridge is stopping). The channels
// that got it are in the ledger, so the next delivery skips them. Once stop is done, no
// message is begun.
func (b *Bridge) handle(stop, ctx context.Context, j job) {
	msg := j.msg
	b.metrics.inFlight.Inc()
	defer b.metrics.inFlight.Dec()
	keep := notifier.KeepAlive(msg, b.cfg.AckWait/3)
	defer keep()

	delivered := uint64(1)
	if meta, _ := msg.Metadata(); meta != nil {
		delivered = max(meta.NumDelivered, 1)
	}
	log := b.log.With(zap.Uint64("stream_seq", j.seq), zap.String("subject", msg.Subject()))

	if j.err != nil {
		log.Error("not an alert event; sent to the dead-letter stream", zap.Error(j.err))
		if derr := b.deadLetter(ctx, msg, "", "", j.err); derr != nil {
			log.Warn("cannot dead-letter the event; retrying", zap.Error(derr))
			b.nak(msg, b.backoff(delivered), log)
			return
		}
		b.metrics.alerts.WithLabelValues(alertInvalid).Inc()
		b.ack(msg, log)
		return
	}
	ev := j.ev
	log = log.With(zap.String("event_id", ev.ID), zap.String("rule", ev.Data.Rule.ID), zap.String("feed", ev.Data.Feed.ID))
	if b.byStory(ev) {
		log = log.With(zap.String("story", ev.Data.Story.ID))
	}

	if !j.claimed {
		// The same alert is being handled now (published twice, or delivered again): try later.
		b.nak(msg, b.cfg.RetryMin, log)
		return
	}
	defer b.release(ev.ID)

	if len(j.turns) == 0 {
		log.Debug("no route for the alert")
		b.metrics.alerts.WithLabelValues(alertNoRoute).Inc()
		b.ack(msg, log)
		return
	}
	outcomes := make([]outcome, len(j.turns))
	var wg sync.WaitGroup
	for i, t := range j.turns {
		wg.Go(func() { outcomes[i] = b.deliverInTurn(stop, ctx, msg, ev, t, log) })
	}
	wg.Wait()

	var delay time.Duration
	retry := false
	for _, o := range outcomes {
		switch o.result {
		case postRateLimited, postError:
			retry = true
			delay = max(delay, o.retryAfter, b.cfg.RetryMin)
		case postDead:
			log.Error("slack refused the alert for good; sent to the dead-letter stream", zap.String("channel", o.channel), zap.Error(o.err))
		case postPosted:
			log.Info("posted to slack", zap.String("channel", o.channel), zap.String("ts", o.ts))
		case postUpdated:
			if b.byStory(ev) {
				log.Info("updated the story's message in slack", zap.String("channel", o.channel), zap.String("ts", o.ts))
			} else {
				log.Info("updated the item's message in slack to name the rule", zap.String("channel", o.channel), zap.String("ts", o.ts))
			}
		case postReplied:
			log.Info("posted a thread reply under the story's message", zap.String("channel", o.channel), zap.String("ts", o.ts))
		case postCovered:
			if b.byStory(ev) {
				log.Info("the story's message shows the alert already; nothing sent", zap.String("channel", o.channel), zap.String("ts", o.ts))
			} else {
				log.Info("the item's message is in slack already; not posted again", zap.String("channel", o.channel), zap.String("ts", o.ts))
			}
		case postRecovered:
			log.Info("slack had the message already; not posted again", zap.String("channel", o.channel), zap.String("ts", o.ts))
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

// deliverInTurn waits for the alert's turn in channel's lane, then delivers it there, trying
// again in place after a 429 (once the channel's Retry-After is over) or a transient error
// (after a backoff), so that the messages after it in the lane wait: a channel's messages go
// out in stream order. It gives up, with the last failure, when stop or ctx is done.
func (b *Bridge) deliverInTurn(stop, ctx context.Context, msg jetstream.Msg, ev notifier.Event, t *turn, log *zap.Logger) outcome {
	defer b.lanes.done(t)
	if err := b.lanes.wait(stop, ctx, t); err != nil {
		return outcome{channel: t.channel, result: postError, err: err}
	}
	for attempt := uint64(1); ; attempt++ {
		o := b.deliver(ctx, msg, ev, t.channel)
		b.metrics.posts.WithLabelValues(o.result).Inc()
		var wait time.Duration
		switch o.result {
		case postRateLimited:
			wait = o.retryAfter
			log.Info("slack rate limit; the channel waits", zap.String("channel", o.channel), zap.Duration("retry_after", o.retryAfter))
		case postError:
			wait = max(b.backoff(attempt), o.retryAfter)
			log.Warn("cannot post the alert; retrying", zap.String("channel", o.channel), zap.Uint64("attempt", attempt), zap.Error(o.err))
		default:
			return o
		}
		tm := time.NewTimer(wait)
		select {
		case <-tm.C:
		case <-stop.Done():
			tm.Stop()
			return o
		case <-ctx.Done():
			tm.Stop()
			return o
		}
	}
}

// deliver makes one attempt to bring the alert to channel, where its item has one message: it
// posts the item's message when the channel has none, or updates it to name the alert's rule
// too (see join). The ledger says what is there: the event's record, written once the channel
// has the alert, and the item's, "pending" before the item's message is posted and "posted"
// after; a pending record found here is a post begun and never recorded, and Slack is asked
// whether it has the message before it is posted again.
func (b *Bridge) deliver(ctx context.Context, msg jetstream.Msg, ev notifier.Event, channel string) outcome {
	o := outcome{channel: channel}
	l := b.ledger.Load()
	e, err := l.get(ctx, ev.ID, channel)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	if e.rev != 0 && !e.rec.pending() {
		o.result, o.ts = postDuplicate, e.rec.TS
		return o
	}
	if b.byStory(ev) {
		return b.deliverStory(ctx, l, msg, ev, channel)
	}
	d := ev.Data
	it, err := l.getItem(ctx, d.Feed.ID, d.Item.Key, channel)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	if it.rev == 0 && e.rev != 0 {
		// The event's own pending record, written by a bridge that kept no item records: its
		// post is settled as the item's.
		it.rec = itemRecord{Feed: d.Feed.ID, ItemKey: d.Item.Key, Channel: channel, State: statePending,
			Owner: e.rec.Owner, EventID: ev.ID, Rules: []string{d.Rule.ID}, Begun: e.rec.Begun}
	}
	if it.rec.pending() {
		found, wait, err := b.settle(ctx, l, channel, &it)
		var rl *RateLimitError
		switch {
		case errors.As(err, &rl):
			o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
			return o
		case err != nil:
			o.result, o.retryAfter, o.err = postError, wait, err
			return o
		case found && slices.Contains(it.rec.Rules, d.Rule.ID):
			if err := l.record(ctx, ev.ID, channel, it.rec.receipt(), b.now()); err != nil {
				o.result, o.err = postError, err
				return o
			}
			o.result, o.ts = postRecovered, it.rec.TS
			return o
		}
	}
	if it.rev != 0 && !it.rec.pending() {
		return b.join(ctx, l, ev, channel, it)
	}
	return b.post(ctx, l, msg, ev, channel, it)
}

// post posts the item's message, naming the alert's rule and those of a pending record it
// takes over (a post begun that Slack does not have, whose alerts are not acknowledged yet).
func (b *Bridge) post(ctx context.Context, l *ledger, msg jetstream.Msg, ev notifier.Event, channel string, prev itemEntry) outcome {
	o := outcome{channel: channel}
	d := ev.Data
	rules := slices.Clone(prev.rec.Rules)
	if !slices.Contains(rules, d.Rule.ID) {
		rules = append(rules, d.Rule.ID)
	}
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	// No message leaves without a pending record: if this write fails, nothing is posted. A
	// conflict is another bridge at work on the item: the next attempt sees what it did.
	it, err := l.putItem(ctx, itemRecord{Feed: d.Feed.ID, ItemKey: d.Item.Key, Channel: channel, State: statePending,
		Owner: b.instance, EventID: ev.ID, Rules: rules, Begun: b.now().UTC()}, prev.rev)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	rcpt, err := b.send(ctx, channel, FormatRules(ev, rules))
	return b.settlePost(ctx, l, posted{msg: msg, ev: ev, channel: channel, rcpt: rcpt, err: err, gate: gate,
		record: func(rcpt Receipt) error {
			rec := it.rec
			rec.State, rec.Owner, rec.ChannelID, rec.TS, rec.Posted = statePosted, "", rcpt.Channel, rcpt.TS, b.now().UTC()
			_, err := l.putItem(ctx, rec, it.rev)
			return err
		},
		drop: func() { b.dropItem(ctx, l, it) },
	}, o)
}

// posted is a post of a new message (an item's or a story's) and what to do after it: record
// writes the message's own record as posted, drop removes its pending record.
type posted struct {
	msg     jetstream.Msg
	ev      notifier.Event
	channel string
	rcpt    Receipt
	err     error
	gate    *gate
	record  func(Receipt) error
	drop    func()
}

// settlePost is the outcome o of a post of a new message. Posted, it is recorded (its record,
// then the event's; recording may fail, NATS down: the pending record stays, and the next alert
// finds the message in Slack). Rate limited or refused for good, its pending record is dropped,
// and a refused message dead-lettered. Any other failure (a 5xx, a network error: Slack may
// have taken the message all the same) leaves the pending record, and the next attempt asks
// Slack.
func (b *Bridge) settlePost(ctx context.Context, l *ledger, p posted, o outcome) outcome {
	var rl *RateLimitError
	switch {
	case p.err == nil:
		o.result, o.ts = postPosted, p.rcpt.TS
		if rerr := p.record(p.rcpt); rerr != nil {
			b.log.Warn("posted, but cannot record it", zap.String("event_id", p.ev.ID), zap.String("channel", p.channel), zap.Error(rerr))
		}
		if rerr := l.record(ctx, p.ev.ID, p.channel, p.rcpt, b.now()); rerr != nil {
			b.log.Warn("posted, but cannot record it", zap.String("event_id", p.ev.ID), zap.String("channel", p.channel), zap.Error(rerr))
		}
	case errors.As(p.err, &rl):
		p.gate.pause(rl.RetryAfter)
		p.drop()
		o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, p.err
	case errors.Is(p.err, ErrPermanent):
		p.drop()
		if derr := b.deadLetter(ctx, p.msg, p.ev.ID, p.channel, p.err); derr != nil {
			o.result, o.err = postError, fmt.Errorf("%w; and cannot dead-letter it: %w", p.err, derr)
			return o
		}
		o.result, o.err = postDead, p.err
	default:
		o.result, o.err = postError, p.err
	}
	return o
}

// join brings an alert to a channel where its item has a message already, posted for another
// rule: the message is updated (chat.update) to name the alert's rule too, and nothing is
// posted. An update is idempotent, so a bridge killed before it recorded one does it again,
// harmlessly. A transport that cannot update (a webhook), or a message that cannot be updated
// any more (deleted in Slack), leaves the message as it is: the alert is recorded as covered
// by it.
func (b *Bridge) join(ctx context.Context, l *ledger, ev notifier.Event, channel string, it itemEntry) outcome {
	o := outcome{channel: channel, ts: it.rec.TS}
	rule := ev.Data.Rule.ID
	u, ok := b.cfg.Poster.(Updater)
	if slices.Contains(it.rec.Rules, rule) || !ok || it.rec.TS == "" || it.rec.ChannelID == "" {
		if err := l.record(ctx, ev.ID, channel, it.rec.receipt(), b.now()); err != nil {
			o.result, o.err = postError, err
			return o
		}
		o.result = postCovered
		return o
	}
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	rules := append(slices.Clone(it.rec.Rules), rule)
	m := FormatRules(ev, rules)
	m.EventID = it.rec.EventID // the metadata stays the first alert's
	uctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("update in %s took more than %s", channel, b.cfg.PostTimeout))
	start := time.Now()
	err := u.Update(uctx, it.rec.receipt(), m)
	b.metrics.duration.Observe(time.Since(start).Seconds())
	cancel()

	var rl *RateLimitError
	switch {
	case err == nil:
		rec := it.rec
		rec.Rules = rules
		// A conflict is another bridge that updated the message for another rule meanwhile:
		// the next attempt updates it again, naming every rule.
		if _, err := l.putItem(ctx, rec, it.rev); err != nil {
			o.result, o.err = postError, err
			return o
		}
		if err := l.record(ctx, ev.ID, channel, it.rec.receipt(), b.now()); err != nil {
			o.result, o.err = postError, err
			return o
		}
		o.result = postUpdated
	case errors.As(err, &rl):
		gate.pause(rl.RetryAfter)
		o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
	case errors.Is(err, ErrPermanent):
		b.log.Warn("cannot update the item's message to name the rule; left as it is", zap.String("event_id", ev.ID),
			zap.String("channel", channel), zap.String("ts", it.rec.TS), zap.Error(err))
		if err := l.record(ctx, ev.ID, channel, it.rec.receipt(), b.now()); err != nil {
			o.result, o.err = postError, err
			return o
		}
		o.result = postCovered
	default:
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

// settle decides about a pending item record: found is true when Slack has the item's message
// (known by the item in its metadata, or by the event id of the post begun), which is then
// recorded as posted in *it; false when it must be posted (again). A record of another bridge
// instance younger than PostTimeout may belong to a post still in flight: settle returns
// errPostInFlight and how long to wait. A transport that cannot look (a webhook), or a lookup
// that Slack refuses for good (a missing scope), means posting again.
func (b *Bridge) settle(ctx context.Context, l *ledger, channel string, it *itemEntry) (found bool, wait time.Duration, err error) {
	rec := it.rec
	logf := []zap.Field{zap.String("event_id", rec.EventID), zap.String("channel", channel), zap.String("feed", rec.Feed), zap.String("item_key", rec.ItemKey)}
	rcpt, found, wait, err := b.lookPending(ctx, channel, rec.Owner, rec.Begun, MessageKey{EventID: rec.EventID, Feed: rec.Feed, ItemKey: rec.ItemKey}, logf)
	if err != nil || !found {
		return false, wait, err
	}
	rec.State, rec.Owner, rec.ChannelID, rec.TS, rec.Posted = statePosted, "", rcpt.Channel, rcpt.TS, b.now().UTC()
	e, err := l.putItem(ctx, rec, it.rev)
	if err != nil {
		return false, 0, err
	}
	*it = e
	b.log.Info("slack has the message of a post that was not recorded; recorded it without posting again", append(logf, zap.String("ts", rcpt.TS))...)
	return true, 0, nil
}

// lookPending asks Slack whether channel has the message of a post that owner began at begun
// and did not record, known by key. A post of another bridge instance younger than PostTimeout
// may be in flight still: it returns errPostInFlight and how long to wait. A transport that
// cannot look (a webhook), or a lookup that Slack refuses for good (a missing scope), means not
// found.
func (b *Bridge) lookPending(ctx context.Context, channel, owner string, begun time.Time, key MessageKey, logf []zap.Field) (Receipt, bool, time.Duration, error) {
	if wait, err := b.postInFlight(owner, begun); err != nil {
		return Receipt{}, false, wait, err
	}
	f, ok := b.cfg.Poster.(Finder)
	if !ok {
		b.log.Info("a post was begun and not recorded; the transport cannot tell whether Slack has it, so it is posted again", logf...)
		return Receipt{}, false, 0, nil
	}
	fctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("looking for the message in %s took more than %s", channel, b.cfg.PostTimeout))
	rcpt, found, err := f.FindMessage(fctx, channel, key, begun.Add(-historyMargin))
	cancel()
	switch {
	case errors.Is(err, ErrPermanent):
		b.log.Warn("cannot look for the message in slack; posting it again", append(logf, zap.Error(err))...)
		return Receipt{}, false, 0, nil
	case err != nil:
		return Receipt{}, false, 0, err
	}
	return rcpt, found, 0, nil
}

// postInFlight returns errPostInFlight, and how long to wait, for a post that another bridge
// instance began less than PostTimeout ago: it may be in flight still. The wait is at most
// inFlightRecheck, so that a post the other bridge records soon is seen soon.
func (b *Bridge) postInFlight(owner string, begun time.Time) (time.Duration, error) {
	if owner == b.instance {
		return 0, nil
	}
	if age := b.now().Sub(begun); age < b.cfg.PostTimeout+pendingGrace {
		return min(b.cfg.PostTimeout+pendingGrace-age, inFlightRecheck), fmt.Errorf("pending since %s: %w", begun.Format(time.RFC3339Nano), errPostInFlight)
	}
	return 0, nil
}

// inFlightRecheck bounds the wait before the ledger is read again while another bridge's post
// may be in flight.
const inFlightRecheck = time.Second

// dropItem drops the pending record of a message Slack refused. Should that fail, the record
// stays and the next attempt asks Slack, which does not have the message.
func (b *Bridge) dropItem(ctx context.Context, l *ledger, it itemEntry) {
	if err := l.dropItem(ctx, it.rec, it.rev); err != nil {
		b.log.Debug("cannot drop the pending record", zap.String("event_id", it.rec.EventID), zap.String("channel", it.rec.Channel), zap.Error(err))
	}
}

// backoff is the delay before the next attempt after the n-th one failed.
func (b *Bridge) backoff(n uint64) time.Duration {
	d := b.cfg.RetryMin
	for i := uint64(1); i < n && d < b.cfg.RetryMax; i++ {
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
