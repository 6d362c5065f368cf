package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/notifier"
)

// The deliverer runs each rule's delivery policy over the alert stream: it decides every alert
// (budgets, digests, spikes), keeps each rule's state in the delivery bucket with
// compare-and-swap, publishes notices, spikes and the alerts a rule in mode budget delivers at
// once as their alerts are decided, and on a timer freezes and publishes the digests whose
// period ended.
//
// It lives here rather than in watcher because it joins the delivery package and the bus, which
// watcher does not import; and it follows the alert stream rather than being called by the poll
// loop, so that an alert counts once whichever replica or backfill published it. Every replica
// runs one: the compare-and-swap makes them agree on each rule's state, and the ids of digests,
// notices, spikes and delivered alerts (rule and period, window, time or alert) make the
// delivery stream keep each once.
type deliverer struct {
	d   *notifier.Deliveries
	log *zap.Logger
	// tick is how often ended digest periods are looked for.
	tick time.Duration
	// lookback is how far back in the alert stream a deliverer that finds no cursor begins.
	lookback time.Duration

	policies atomic.Pointer[map[string]*delivery.Policy]
	seq      atomic.Uint64 // the latest alert decided by this deliverer
}

// cursorKey is the key of the alert stream sequence the deliverers decided up to; it cannot be a
// rule id, which starts with a letter or a digit.
const cursorKey = "_cursor"

// ruleDoc is a rule's entry in the delivery bucket.
type ruleDoc struct {
	// Seq is the alert stream sequence of the latest alert of the rule decided.
	Seq   uint64          `json:"seq"`
	State *delivery.State `json:"state"`
}

func newDeliverer(d *notifier.Deliveries, ps map[string]*delivery.Policy, log *zap.Logger) *deliverer {
	dl := &deliverer{d: d, log: log, tick: time.Second, lookback: 10 * time.Minute}
	dl.policies.Store(&ps)
	return dl
}

// set takes the policies of a reloaded configuration.
func (dl *deliverer) set(ps map[string]*delivery.Policy) { dl.policies.Store(&ps) }

func (dl *deliverer) policy(rule string) *delivery.Policy { return (*dl.policies.Load())[rule] }

// run follows the alert stream from the cursor, and looks for ended digests every tick, until
// ctx is done.
func (dl *deliverer) run(ctx context.Context) {
	var from uint64
	var since time.Time
	if b, _, err := dl.d.State().Load(ctx, cursorKey); err == nil && b != nil {
		var c struct{ Seq uint64 }
		if json.Unmarshal(b, &c) == nil && c.Seq > 0 {
			from = c.Seq + 1
		}
	}
	if from == 0 {
		// The first deliverer of a bus: alerts from shortly before it started, so that those
		// published while it started are decided; older ones would make digests of the past.
		since = time.Now().Add(-dl.lookback)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { dl.timer(ctx) })
	err := dl.d.FollowAlerts(ctx, from, since, func(a notifier.FollowedAlert) error {
		for ctx.Err() == nil {
			err := dl.decide(ctx, a)
			if err == nil {
				dl.seq.Store(max(dl.seq.Load(), a.Seq))
				return nil
			}
			dl.log.Warn("delivery of an alert failed; retrying", zap.String("rule", a.Event.Data.Rule.ID), zap.String("alert", a.Event.ID), zap.Error(err))
			sleep(ctx, time.Second)
		}
		return nil
	})
	if err != nil {
		dl.log.Error("following the alert stream stopped", zap.Error(err))
	}
}

// timer publishes ended digests and advances the cursor every tick.
func (dl *deliverer) timer(ctx context.Context) {
	t := time.NewTicker(dl.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for rule, p := range *dl.policies.Load() {
			if p.Options().Mode == delivery.ModeImmediate {
				continue
			}
			if err := dl.due(ctx, rule, p, time.Now()); err != nil && ctx.Err() == nil {
				dl.log.Warn("digest of a rule failed; retrying", zap.String("rule", rule), zap.Error(err))
			}
		}
		if err := dl.saveCursor(ctx); err != nil && ctx.Err() == nil {
			dl.log.Warn("saving the delivery cursor failed", zap.Error(err))
		}
	}
}

// decide runs one alert through its rule's policy: publish what the decision asks, then commit
// the state; a conflict (another replica committed first) decides again on its state, where the
// alert is a duplicate when that replica decided it.
func (dl *deliverer) decide(ctx context.Context, a notifier.FollowedAlert) error {
	data := a.Event.Data
	p := dl.policy(data.Rule.ID)
	if p == nil {
		return nil // a rule since removed
	}
	if o := p.Options(); o.Mode == delivery.ModeImmediate && o.Spike.Off {
		return nil // the alert stream is its delivery, and nothing is counted
	}
	ev := deliveryEvent(a.Event)
	for {
		doc, rev, err := dl.load(ctx, data.Rule.ID)
		if err != nil {
			return err
		}
		if doc.Seq >= a.Seq {
			return nil
		}
		dec := p.Decide(doc.State, ev)
		var out []notifier.DeliveryEvent
		if o := p.Options(); dec.Action == delivery.Deliver && o.Mode != delivery.ModeImmediate {
			// The readers of a rule in mode budget get the alerts it delivers at once from its
			// deliveries, where the held ones are not: the alert stream has them all.
			w := notifier.DeliveryWindow{ID: dec.Period.ID, Start: dec.Period.Start, End: dec.Period.End}
			out = append(out, notifier.NewDelivered(notifier.DeliveredAlert{Rule: p.Rule(), Mode: string(o.Mode), Max: o.Max,
				Sent: dec.Sent, Window: w, Alert: a.Event}))
		}
		if dec.Notice != nil {
			out = append(out, notifier.DeliveryEvent{Kind: notifier.KindNotice, RuleID: p.Rule(), ID: dec.Notice.ID,
				Subject: dec.Notice.Window.ID, Time: ev.Time, Data: dec.Notice})
		}
		if dec.Spike != nil {
			out = append(out, notifier.DeliveryEvent{Kind: notifier.KindSpike, RuleID: p.Rule(), ID: dec.Spike.ID,
				Subject: dec.Spike.End.UTC().Format(time.RFC3339), Time: dec.Spike.End, Data: dec.Spike})
		}
		if len(out) > 0 {
			if err := dl.d.Publish(ctx, out); err != nil {
				return err
			}
		}
		doc.Seq = a.Seq
		err = dl.save(ctx, data.Rule.ID, doc, rev)
		if !errors.Is(err, notifier.ErrConflict) {
			return err
		}
	}
}

// due freezes the rule's ended digests and publishes them: commit the frozen state, publish,
// mark each done and commit again (see delivery.Policy.Due).
func (dl *deliverer) due(ctx context.Context, rule string, p *delivery.Policy, now time.Time) error {
	for {
		doc, rev, err := dl.load(ctx, rule)
		if err != nil || rev == 0 {
			return err
		}
		before, _ := json.Marshal(doc.State)
		digests := p.Due(doc.State, now)
		if len(digests) == 0 {
			return nil
		}
		if after, _ := json.Marshal(doc.State); !bytes.Equal(before, after) {
			rev, err = dl.d.State().Save(ctx, rule, mustJSON(doc), rev)
			if errors.Is(err, notifier.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
		}
		out := make([]notifier.DeliveryEvent, len(digests))
		for i, d := range digests {
			out[i] = notifier.DeliveryEvent{Kind: notifier.KindDigest, RuleID: rule, ID: d.ID, Subject: d.Period.ID, Time: d.Period.End, Data: d}
			p.Done(doc.State, d.ID)
		}
		if err := dl.d.Publish(ctx, out); err != nil {
			return err
		}
		err = dl.save(ctx, rule, doc, rev)
		if !errors.Is(err, notifier.ErrConflict) {
			return err
		}
		// Another replica committed first: it published the same digests (same ids) or will.
	}
}

func (dl *deliverer) load(ctx context.Context, rule string) (ruleDoc, uint64, error) {
	b, rev, err := dl.d.State().Load(ctx, rule)
	if err != nil {
		return ruleDoc{}, 0, err
	}
	doc := ruleDoc{State: &delivery.State{}}
	if b != nil {
		if err := json.Unmarshal(b, &doc); err != nil {
			return ruleDoc{}, 0, fmt.Errorf("delivery state of rule %s: %w", rule, err)
		}
		if doc.State == nil {
			doc.State = &delivery.State{}
		}
	}
	return doc, rev, nil
}

func (dl *deliverer) save(ctx context.Context, rule string, doc ruleDoc, rev uint64) error {
	_, err := dl.d.State().Save(ctx, rule, mustJSON(doc), rev)
	return err
}

// saveCursor raises the stored cursor to the latest alert decided here.
func (dl *deliverer) saveCursor(ctx context.Context) error {
	seq := dl.seq.Load()
	if seq == 0 {
		return nil
	}
	for {
		b, rev, err := dl.d.State().Load(ctx, cursorKey)
		if err != nil {
			return err
		}
		var c struct{ Seq uint64 }
		if b != nil {
			_ = json.Unmarshal(b, &c)
		}
		if c.Seq >= seq {
			return nil
		}
		_, err = dl.d.State().Save(ctx, cursorKey, mustJSON(map[string]uint64{"seq": seq}), rev)
		if !errors.Is(err, notifier.ErrConflict) {
			return err
		}
	}
}

// deliveryEvent is an alert as the delivery policy sees it: its story (the item alone when the
// daemon keeps no stories), publisher (the host of its link, else its feed) and own time.
func deliveryEvent(e notifier.Event) delivery.Event {
	d := e.Data
	story := d.Item.Key
	if d.Story != nil && d.Story.ID != "" {
		story = d.Story.ID
	}
	publisher := delivery.Publisher(d.Item.Link, d.Feed.ID)
	t, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		t = time.Now()
	}
	return delivery.Event{ID: e.ID, Story: story, Title: d.Item.Title, Link: d.Item.Link, Publisher: publisher, Time: t}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("delivery state does not marshal: %v", err)) // plain types only
	}
	return b
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
