package watcher

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// Ledger records, for every replica to see, when each rule version first went live and whose
// backfill of it is claimed or done. A rule version is "<rule id>.<event.RuleVersion(query)>".
type Ledger interface {
	// Live records now as the time each of versions first went live, for those that have none
	// yet, and returns the recorded time of every one.
	Live(ctx context.Context, versions []string, now time.Time) (map[string]time.Time, error)
	// Claim takes the backfill of version for owner until until: when no live claim of another
	// owner holds it and it is not done. It reports whether it is done already.
	Claim(ctx context.Context, version, owner string, until time.Time) (claimed, done bool, err error)
	// Done marks the backfill of version done.
	Done(ctx context.Context, version string) error
}

// Backfill is a rule whose new versions are matched against the archive's items of Window
// before they went live.
type Backfill struct {
	Rule   string
	Window time.Duration
}

// Tuning of backfills.
const (
	// backfillLease is how long a claim of a backfill holds without being renewed; a replica
	// that dies leaves it to another after that. It is renewed every third of it.
	backfillLease = time.Minute
	// backfillRetry is how often the backfills not done (claimed by another replica, or failed)
	// are tried again.
	backfillRetry = 30 * time.Second
	// backfillDrain bounds the wait for the polls in flight when a rule went live: they may still
	// archive items first seen before it, which its backfill must read.
	backfillDrain = 2 * time.Minute
	// backfillRate bounds the archived items a backfill reads a second, so that it takes a
	// fraction of a core from the live polls: a day of 100,000 feeds that publish five items a
	// day each (500,000 items) in under a minute.
	backfillRate = 10000
)

// ruleVersion names a version of a rule in the ledger.
func ruleVersion(r matcher.Rule) string { return r.ID + "." + event.RuleVersion(r.Query) }

// backfills runs until ctx is done: at start and after every Update, it records when each rule
// version went live and backfills those of rules with a window that no replica has backfilled.
func (w *Watcher) backfills(ctx context.Context) {
	if w.ledger == nil {
		return
	}
	retry := time.NewTicker(backfillRetry)
	defer retry.Stop()
	todo := map[string]bool{} // versions to backfill that are not done
	for {
		p := w.plan.Load()
		inFlight := w.pollsInFlight()
		pending, err := w.recordLive(ctx, p, *w.backfillRules.Load())
		if err != nil {
			w.log.Warn("rule versions not recorded; backfills wait", zap.Error(err))
		} else {
			w.log.Debug("rule versions recorded", zap.Int("rules", len(p.rules)), zap.Int("backfills", len(pending)))
		}
		for v := range pending {
			todo[v] = true
		}
		for _, v := range slices.Sorted(maps.Keys(todo)) {
			if ctx.Err() != nil {
				return
			}
			b, ok := pending[v]
			if !ok {
				if err == nil {
					delete(todo, v) // no longer configured
				}
				continue
			}
			w.awaitPolls(ctx, inFlight)
			done, err := w.backfill(ctx, p, b)
			switch {
			case err != nil && ctx.Err() == nil:
				w.log.Error("backfill failed; retried", zap.String("rule", b.rule.ID), zap.Error(err))
			case done:
				delete(todo, v)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.backfillWake:
		case <-retry.C:
		}
	}
}

// planBackfill is a rule version to backfill: the window before it went live.
type planBackfill struct {
	rule   matcher.Rule
	window time.Duration
	since  time.Time // when the version went live
}

// recordLive records in the ledger when each rule version of p went live, and returns those
// of the rules with a backfill window, by version.
func (w *Watcher) recordLive(ctx context.Context, p *plan, windows map[string]time.Duration) (map[string]*planBackfill, error) {
	versions := make([]string, 0, len(p.rules))
	for _, r := range p.rules {
		versions = append(versions, ruleVersion(r))
	}
	slices.Sort(versions)
	live, err := w.ledger.Live(ctx, versions, time.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]*planBackfill{}
	for _, r := range p.rules {
		v := ruleVersion(r)
		if since, ok := live[v]; ok && windows[r.ID] > 0 {
			out[v] = &planBackfill{rule: r, window: windows[r.ID], since: since}
		}
	}
	return out, nil
}

// SetBackfills replaces the backfill windows of the rules (see Backfill), and has the rule
// versions that went live with the last Update backfilled. Call it after Update.
func (w *Watcher) SetBackfills(bs []Backfill) {
	windows := make(map[string]time.Duration, len(bs))
	for _, b := range bs {
		windows[b.Rule] = b.Window
	}
	w.backfillRules.Store(&windows)
	select {
	case w.backfillWake <- struct{}{}:
	default:
	}
}

// pollsInFlight is the feeds polled now, with their slots.
func (w *Watcher) pollsInFlight() map[string]time.Time {
	out := map[string]time.Time{}
	w.inFlight.Range(func(k, v any) bool {
		out[k.(string)] = v.(time.Time)
		return true
	})
	return out
}

// awaitPolls waits until none of the polls of before runs any more, at most backfillDrain.
func (w *Watcher) awaitPolls(ctx context.Context, before map[string]time.Time) {
	deadline := time.Now().Add(backfillDrain)
	for len(before) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		for id, slot := range before {
			if v, ok := w.inFlight.Load(id); !ok || !v.(time.Time).Equal(slot) {
				delete(before, id)
			}
		}
		if len(before) > 0 {
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// backfill publishes the alerts of rule version b for the archive's items first seen in the
// window before it went live, when this replica can claim it; it reports whether the backfill
// is done (here or elsewhere). Its alerts have the ids live matches would have, so that a
// backfill run twice, or a live match of the same item, publishes each alert once.
func (w *Watcher) backfill(ctx context.Context, p *plan, b *planBackfill) (bool, error) {
	version := ruleVersion(b.rule)
	claimed, done, err := w.ledger.Claim(ctx, version, w.owner, time.Now().Add(backfillLease))
	if err != nil || done || !claimed {
		return done, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(backfillLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if ok, _, err := w.ledger.Claim(ctx, version, w.owner, time.Now().Add(backfillLease)); err == nil && !ok {
					cancel(errors.New("backfill claim lost to another replica"))
					return
				}
			}
		}
	}()
	defer func() { cancel(nil); <-renewed }()

	from := b.since.Add(-b.window)
	w.log.Info("backfill started", zap.String("rule", b.rule.ID), zap.String("version", version),
		zap.Time("from", from), zap.Time("to", b.since))
	start := time.Now()
	var batch []event.Alert
	alerts := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.publishBackfill(ctx, batch); err != nil {
			return err
		}
		alerts += len(batch)
		batch = nil
		return nil
	}
	q := BacktestQuery{Archive: event.ArchiveQuery{From: from, To: b.since}, Index: p.index, Rules: []string{b.rule.ID},
		Pace: rate.NewLimiter(backfillRate, 4096)}
	st, err := Backtest(ctx, w.archiveReader, q, func(f BacktestFound) error {
		it := Item{Item: f.Item.Item, Content: f.Item.Content}
		mi := archivedItem(f.Item)
		src := alertSource{feedID: f.Item.FeedID, feedURL: f.Item.FeedURL, feedTitle: f.Item.FeedTitle, it: it, mi: &mi}
		for _, m := range f.Matches {
			batch = append(batch, src.alert(m, b.rule.Query, time.Now()))
		}
		if len(batch) >= alertBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return false, fmt.Errorf("backfill rule %s: %w", b.rule.ID, errors.Join(err, context.Cause(ctx)))
	}
	if err := w.ledger.Done(ctx, version); err != nil {
		return false, fmt.Errorf("backfill rule %s: %w", b.rule.ID, err)
	}
	w.log.Info("backfill done", zap.String("rule", b.rule.ID), zap.String("version", version),
		zap.Int("items", st.Items), zap.Int("alerts", alerts), zap.Duration("took", time.Since(start)))
	return true, nil
}

// publishBackfill publishes a backfill's alerts; those refused for good are logged and dropped,
// as a poll's are.
func (w *Watcher) publishBackfill(ctx context.Context, alerts []event.Alert) error {
	err := w.pub.Publish(ctx, alerts)
	if errors.Is(err, ErrRejected) {
		w.log.Error("backfill alerts rejected by the server for good; not retried", zap.Int("alerts", len(alerts)), zap.Error(err))
		return nil
	}
	return err
}
