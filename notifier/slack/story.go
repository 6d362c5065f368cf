package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/notifier"
)

// byStory reports whether the alert goes to its story's message rather than its item's.
func (b *Bridge) byStory(ev notifier.Event) bool {
	return b.cfg.Group == GroupStories && ev.Data.Story != nil && ev.Data.Story.ID != ""
}

// deliverStory makes one attempt to bring the alert to channel, where its story has one
// message: it posts the story's message when the channel has none, showing the alert's item;
// otherwise it updates the message (chat.update) to count the story's sources as the alert
// says and to name the alert's rule, and, with threads, first replies in the message's thread
// with the alert's item when the channel does not have it yet. The story's ledger record says
// what the channel has: "pending" before the message is posted, then its ts, the items it has
// (in the message or its thread) and the rules it names; a thread reply is announced in the
// record before it is sent. A post or a reply begun and never recorded is looked for in Slack
// before it is sent again.
func (b *Bridge) deliverStory(ctx context.Context, l *ledger, msg jetstream.Msg, ev notifier.Event, channel string) outcome {
	o := outcome{channel: channel}
	st, err := l.getStory(ctx, ev.Data.Story.ID, channel)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	if st.rev != 0 && st.rec.pending() {
		found, wait, err := b.settleStory(ctx, l, channel, &st)
		var rl *RateLimitError
		switch {
		case errors.As(err, &rl):
			o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
			return o
		case err != nil:
			o.result, o.retryAfter, o.err = postError, wait, err
			return o
		case found && st.rec.EventID == ev.ID:
			if err := l.record(ctx, ev.ID, channel, st.rec.receipt(), b.now()); err != nil {
				o.result, o.err = postError, err
				return o
			}
			o.result, o.ts = postRecovered, st.rec.TS
			return o
		}
	}
	if st.rev == 0 || st.rec.pending() {
		return b.postStory(ctx, l, msg, ev, channel, st.rev)
	}
	return b.joinStory(ctx, l, msg, ev, channel, st)
}

// settleStory decides about a pending story record, as settle does about an item's: found is
// true when Slack has the story's message, which is then recorded as posted in *st.
func (b *Bridge) settleStory(ctx context.Context, l *ledger, channel string, st *storyEntry) (found bool, wait time.Duration, err error) {
	rec := st.rec
	logf := []zap.Field{zap.String("event_id", rec.EventID), zap.String("channel", channel), zap.String("story", rec.Story)}
	rcpt, found, wait, err := b.lookPending(ctx, channel, rec.Owner, rec.Begun, MessageKey{EventID: rec.EventID, Story: rec.Story}, logf)
	if err != nil || !found {
		return false, wait, err
	}
	rec.State, rec.Owner, rec.ChannelID, rec.TS, rec.Posted = statePosted, "", rcpt.Channel, rcpt.TS, b.now().UTC()
	e, err := l.putStory(ctx, rec, st.rev)
	if err != nil {
		return false, 0, err
	}
	*st = e
	b.log.Info("slack has the story's message of a post that was not recorded; recorded it without posting again", append(logf, zap.String("ts", rcpt.TS))...)
	return true, 0, nil
}

// postStory posts the story's message, showing the alert's item, and replaces a pending
// record at prev (a post begun that Slack does not have, whose alert is not acknowledged yet
// and will join the story when it comes again).
func (b *Bridge) postStory(ctx context.Context, l *ledger, msg jetstream.Msg, ev notifier.Event, channel string, prev uint64) outcome {
	o := outcome{channel: channel}
	d := ev.Data
	rec := storyRecord{Story: d.Story.ID, Channel: channel, State: statePending, Owner: b.instance, EventID: ev.ID,
		First: trimmed(ev), Rules: []string{d.Rule.ID}, Sources: []string{sourceKey(d.Feed.ID, d.Item.Key)}, Begun: b.now().UTC()}
	rec.observe(d.Story)
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	// No message leaves without a pending record; a conflict is another bridge at work on the
	// story: the next attempt sees what it did.
	st, err := l.putStory(ctx, rec, prev)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	rcpt, err := b.send(ctx, channel, formatStory(rec, b.cfg.Threads))
	return b.settlePost(ctx, l, posted{msg: msg, ev: ev, channel: channel, rcpt: rcpt, err: err, gate: gate,
		record: func(rcpt Receipt) error {
			rec.State, rec.Owner, rec.ChannelID, rec.TS, rec.Posted = statePosted, "", rcpt.Channel, rcpt.TS, b.now().UTC()
			_, err := l.putStory(ctx, rec, st.rev)
			return err
		},
		drop: func() { b.dropStory(ctx, l, st) },
	}, o)
}

// joinStory brings an alert to a channel where its story has a message already: with threads,
// a reply with the alert's item when the channel does not have it yet; then an update of the
// message when it does not show all the record knows (the item, the rule, the story's size).
// An update is idempotent, so a bridge killed before it recorded one does it again,
// harmlessly. A transport that cannot update (a webhook), or a message that cannot be updated
// any more, leaves the message as it is: the alert is recorded as covered by it.
func (b *Bridge) joinStory(ctx context.Context, l *ledger, msg jetstream.Msg, ev notifier.Event, channel string, st storyEntry) outcome {
	o := outcome{channel: channel, ts: st.rec.TS}
	d := ev.Data
	src := sourceKey(d.Feed.ID, d.Item.Key)
	u, canUpdate := b.cfg.Poster.(Updater)
	canUpdate = canUpdate && st.rec.TS != "" && st.rec.ChannelID != ""

	if st.rec.Reply != nil {
		if wait, err := b.settleReply(ctx, l, channel, &st); err != nil {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
				return o
			}
			o.result, o.retryAfter, o.err = postError, wait, err
			return o
		}
	}
	replied := false
	if b.cfg.Threads && canUpdate && !slices.Contains(st.rec.Sources, src) {
		ro := b.postReply(ctx, l, msg, ev, channel, &st)
		switch ro.result {
		case postReplied:
			replied, o.ts = true, ro.ts
		case "":
		default:
			return ro
		}
	}

	rec := st.rec.clone()
	changed := rec.observe(d.Story)
	if !slices.Contains(rec.Rules, d.Rule.ID) {
		rec.Rules, changed = append(rec.Rules, d.Rule.ID), true
	}
	if !slices.Contains(rec.Sources, src) {
		rec.addSource(src, d)
		changed = true
	}
	done := postCovered
	if replied {
		done = postReplied
	}
	if !changed && !rec.Stale {
		if err := l.record(ctx, ev.ID, channel, rec.receipt(), b.now()); err != nil {
			o.result, o.err = postError, err
			return o
		}
		o.result = done
		return o
	}
	rec.Stale = false
	if !canUpdate {
		return b.recordJoin(ctx, l, ev, channel, rec, st.rev, o, postCovered)
	}
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	uctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("update in %s took more than %s", channel, b.cfg.PostTimeout))
	start := time.Now()
	err := u.Update(uctx, rec.receipt(), formatStory(rec, b.cfg.Threads))
	b.metrics.duration.Observe(time.Since(start).Seconds())
	cancel()

	var rl *RateLimitError
	switch {
	case err == nil:
		if !replied {
			done = postUpdated
		}
		return b.recordJoin(ctx, l, ev, channel, rec, st.rev, o, done)
	case errors.As(err, &rl):
		gate.pause(rl.RetryAfter)
		o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
	case errors.Is(err, ErrPermanent):
		b.log.Warn("cannot update the story's message; left as it is", zap.String("event_id", ev.ID),
			zap.String("channel", channel), zap.String("ts", rec.TS), zap.Error(err))
		return b.recordJoin(ctx, l, ev, channel, rec, st.rev, o, done)
	default:
		o.result, o.err = postError, err
	}
	return o
}

// recordJoin writes the story's record as the message now stands, then the event's, and
// returns o with result.
func (b *Bridge) recordJoin(ctx context.Context, l *ledger, ev notifier.Event, channel string, rec storyRecord, rev uint64, o outcome, result string) outcome {
	// A conflict is another bridge that changed the message meanwhile: the next attempt
	// updates it again, showing both.
	if _, err := l.putStory(ctx, rec, rev); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			// Our update may have reached Slack after the other bridge's, and shows less than
			// the record it wrote: mark the record stale, so that the next attempt of this event
			// updates the message as the record then stands.
			if cur, gerr := l.getStory(ctx, rec.Story, rec.Channel); gerr == nil && cur.rev != 0 && !cur.rec.Stale {
				cur.rec.Stale = true
				_, _ = l.putStory(ctx, cur.rec, cur.rev)
			}
		}
		o.result, o.err = postError, err
		return o
	}
	if err := l.record(ctx, ev.ID, channel, rec.receipt(), b.now()); err != nil {
		o.result, o.err = postError, err
		return o
	}
	o.result = result
	return o
}

// postReply replies in the thread of the story's message with the alert's item, announcing it
// in the record first. On success *st is the record with the item among its sources and the
// message to update (Stale), and the result is postReplied. A reply Slack refuses for good is
// logged and left out: the result is "" and the item joins the message alone. Any other
// result is the attempt's failure.
func (b *Bridge) postReply(ctx context.Context, l *ledger, msg jetstream.Msg, ev notifier.Event, channel string, st *storyEntry) outcome {
	o := outcome{channel: channel}
	d := ev.Data
	src := sourceKey(d.Feed.ID, d.Item.Key)
	rec := st.rec.clone()
	rec.Reply = &pendingReply{Source: src, Feed: d.Feed.ID, ItemKey: d.Item.Key, EventID: ev.ID, Owner: b.instance, Begun: b.now().UTC()}
	gate := b.gates.get(channel)
	if err := gate.wait(ctx); err != nil {
		o.result, o.err = postError, fmt.Errorf("waiting for channel %s: %w", channel, err)
		return o
	}
	e, err := l.putStory(ctx, rec, st.rev)
	if err != nil {
		o.result, o.err = postError, err
		return o
	}
	*st = e
	rcpt, err := b.send(ctx, channel, formatSource(ev, rec.Story, rec.TS))
	var rl *RateLimitError
	switch {
	case err == nil:
		rec.Reply = nil
		rec.addSource(src, d)
		rec.Replies++
		rec.Stale = true
		e, err := l.putStory(ctx, rec, st.rev)
		if err != nil {
			// The announcement stays: the next attempt finds the reply in the thread.
			o.result, o.err = postError, err
			return o
		}
		*st = e
		o.result, o.ts = postReplied, rcpt.TS
		return o
	case errors.As(err, &rl):
		gate.pause(rl.RetryAfter)
		o.result, o.retryAfter, o.err = postRateLimited, rl.RetryAfter, err
	case errors.Is(err, ErrPermanent):
		b.log.Warn("slack refused the thread reply; the item joins the story's message alone", zap.String("event_id", ev.ID),
			zap.String("channel", channel), zap.String("ts", rec.TS), zap.Error(err))
		o.result = ""
	default:
		// Slack may have taken the reply: the announcement stays, and the next attempt asks.
		o.result, o.err = postError, err
		return o
	}
	rec.Reply = nil
	e, perr := l.putStory(ctx, rec, st.rev)
	if perr != nil {
		return outcome{channel: channel, result: postError, err: perr}
	}
	*st = e
	return o
}

// settleReply decides about a thread reply announced and not recorded: when the thread has it
// (known by its item in its metadata), the item is recorded among the story's sources, and the
// message is to be updated; otherwise the announcement is dropped, and the reply is posted when
// the item's alert comes (again). Like a pending post, an announcement of another bridge
// younger than PostTimeout makes the alert wait.
func (b *Bridge) settleReply(ctx context.Context, l *ledger, channel string, st *storyEntry) (time.Duration, error) {
	p := *st.rec.Reply
	logf := []zap.Field{zap.String("event_id", p.EventID), zap.String("channel", channel), zap.String("story", st.rec.Story),
		zap.String("feed", p.Feed), zap.String("item_key", p.ItemKey)}
	if wait, err := b.postInFlight(p.Owner, p.Begun); err != nil {
		return wait, err
	}
	var rcpt Receipt
	found := false
	if f, ok := b.cfg.Poster.(ThreadFinder); ok {
		fctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("looking for the reply in %s took more than %s", channel, b.cfg.PostTimeout))
		r, ok, err := f.FindReply(fctx, st.rec.receipt(), MessageKey{EventID: p.EventID, Feed: p.Feed, ItemKey: p.ItemKey})
		cancel()
		switch {
		case errors.Is(err, ErrPermanent):
			b.log.Warn("cannot look for the thread reply in slack; posting it again", append(logf, zap.Error(err))...)
		case err != nil:
			return 0, err
		default:
			rcpt, found = r, ok
		}
	}
	rec := st.rec.clone()
	rec.Reply = nil
	if found && !slices.Contains(rec.Sources, p.Source) {
		rec.Sources = append(rec.Sources, p.Source)
		rec.Replies++
		rec.Stale = true
	}
	e, err := l.putStory(ctx, rec, st.rev)
	if err != nil {
		return 0, err
	}
	*st = e
	if found {
		b.log.Info("slack has the thread reply of a post that was not recorded; recorded it without posting again", append(logf, zap.String("ts", rcpt.TS))...)
	}
	return 0, nil
}

// send posts m to channel within PostTimeout.
func (b *Bridge) send(ctx context.Context, channel string, m Message) (Receipt, error) {
	pctx, cancel := context.WithTimeoutCause(ctx, b.cfg.PostTimeout, fmt.Errorf("post to %s took more than %s", channel, b.cfg.PostTimeout))
	defer cancel()
	start := time.Now()
	rcpt, err := b.cfg.Poster.Post(pctx, channel, m)
	b.metrics.duration.Observe(time.Since(start).Seconds())
	return rcpt, err
}

// dropStory drops the pending record of a story's message Slack refused. Should that fail, the
// record stays and the next attempt asks Slack, which does not have the message.
func (b *Bridge) dropStory(ctx context.Context, l *ledger, st storyEntry) {
	if err := l.dropStory(ctx, st.rec, st.rev); err != nil {
		b.log.Debug("cannot drop the pending record", zap.String("story", st.rec.Story), zap.String("channel", st.rec.Channel), zap.Error(err))
	}
}

// observe takes the story's size, feeds and languages from an alert, when they are more than
// the record has (alerts may come out of order); it reports whether anything changed.
func (r *storyRecord) observe(s *notifier.EventStory) bool {
	if s == nil {
		return false
	}
	changed := false
	if s.Size > r.Size {
		r.Size, changed = s.Size, true
	}
	if len(s.Feeds) > r.Feeds {
		r.Feeds, changed = len(s.Feeds), true
	}
	if len(s.Languages) > len(r.Langs) {
		r.Langs, changed = slices.Clone(s.Languages), true
	}
	return changed
}

// addSource adds an item to the story's sources in the channel, and to those the message
// lists while there is room.
func (r *storyRecord) addSource(src string, d notifier.EventData) {
	r.Sources = append(r.Sources, src)
	if len(r.Listed) < maxListed {
		link := d.Item.Link
		if len(link) > 4*maxListedLink { // not shown
			link = ""
		}
		r.Listed = append(r.Listed, storySource{Title: truncate(d.Item.Title, maxListedTitle), Link: link,
			Feed: truncate(feedName(d.Feed), maxListedFeed)})
	}
}
