package watcher

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"
)

// maxSaveAttempts is how many times a poll tries to commit its state, re-reading it after each
// failure, before it returns the error and lets the job be redelivered.
const maxSaveAttempts = 5

// pollOutcome is what the network gave a poll: a 304, a parsed feed, or a failure of the feed
// (fetch or parse) that is recorded in its state rather than returned.
type pollOutcome struct {
	notModified bool
	validators  validators
	title       string
	items       []Item
	err         error
}

// Poll is the JobQueue handler: it polls feedID for slot, publishes an alert for every match of
// a new item, and commits the feed's state. It returns nil when the job is done (including when
// the feed failed, which is recorded in its state, or the slot was done already) and an error
// when the job must be redelivered: the state store or the publisher failed, or ctx ended.
// Publishing comes before the state commit, so a crash repeats alerts (which the publisher
// de-duplicates) and never loses one. Poll is safe for concurrent use.
func (w *Watcher) Poll(ctx context.Context, feedID string, slot time.Time) error {
	p := w.plan.Load()
	f, ok := p.feeds[feedID]
	if !ok {
		w.log.Debug("job for a feed not configured acknowledged", zap.String("feed", feedID), zap.Time("slot", slot))
		return nil
	}
	st, rev, err := w.loadState(ctx, feedID)
	if err != nil {
		return fmt.Errorf("poll %s: %w", feedID, err)
	}
	if !slot.After(st.LastSlot) {
		return nil
	}
	out := w.fetchAndParse(ctx, f, st.validatorsFor(f.URL))
	if out.err != nil && ctx.Err() != nil {
		// The job was cancelled (shutdown); that is no failure of the feed.
		return fmt.Errorf("poll %s: %w", feedID, context.Cause(ctx))
	}
	for attempt := 1; ; attempt++ {
		now := time.Now()
		next, alerts := advance(p, f, st, slot, out, now)
		if len(alerts) > 0 {
			if err := w.pub.Publish(ctx, alerts); err != nil {
				return fmt.Errorf("poll %s: publish %d alerts: %w", feedID, len(alerts), err)
			}
		}
		err := w.saveState(ctx, feedID, next, rev)
		if err == nil {
			w.logOutcome(f, st, out)
			return nil
		}
		if attempt == maxSaveAttempts || ctx.Err() != nil {
			return fmt.Errorf("poll %s: attempt %d: %w", feedID, attempt, err)
		}
		// Someone else wrote the state (another replica, a redelivered job): redo the matching
		// against what they wrote, with the same body.
		if st, rev, err = w.loadState(ctx, feedID); err != nil {
			return fmt.Errorf("poll %s: %w", feedID, err)
		}
		if !slot.After(st.LastSlot) {
			return nil
		}
	}
}

func (w *Watcher) fetchAndParse(ctx context.Context, f *feedPlan, v validators) pollOutcome {
	res, err := w.fetcher.fetch(ctx, f.URL, f.fetchOptions(w.userAgent), v)
	if err != nil {
		return pollOutcome{err: err}
	}
	if res.NotModified {
		return pollOutcome{notModified: true, validators: res.Validators}
	}
	title, items, err := ParseItems(res.Body)
	if err != nil {
		return pollOutcome{err: fmt.Errorf("parse %s: %w", redactURL(f.URL), err)}
	}
	return pollOutcome{validators: res.Validators, title: title, items: items}
}

// advance computes the state after a poll of slot and the alerts to publish before committing
// it. It does not modify st.
func advance(p *plan, f *feedPlan, st feedState, slot time.Time, out pollOutcome, now time.Time) (feedState, []Alert) {
	next := st
	next.LastSlot = slot
	if out.err != nil {
		next.ConsecutiveFailures++
		next.LastError = out.err.Error()
		next.LastFailure = now
		return next, nil
	}
	next.ConsecutiveFailures = 0
	next.LastError = ""
	next.LastSuccess = now
	next.URL = redactURL(f.URL)
	if out.notModified {
		// A 304 may repeat or refresh the validators; absent ones stay as they were.
		if out.validators.ETag != "" {
			next.ETag = out.validators.ETag
		}
		if out.validators.LastModified != "" {
			next.LastModified = out.validators.LastModified
		}
		return next, nil
	}
	next.ETag, next.LastModified = out.validators.ETag, out.validators.LastModified

	seen := make(map[string]bool, len(st.Seen))
	for _, k := range st.Seen {
		seen[k] = true
	}
	current := make(map[string]bool, len(out.items))
	var fresh []Item
	for _, it := range out.items {
		if current[it.Key] {
			continue
		}
		current[it.Key] = true
		if !seen[it.Key] {
			fresh = append(fresh, it)
		}
	}
	// Feeds list the newest item first; remember the oldest first, so it is dropped first.
	added := make([]string, 0, len(fresh))
	for _, it := range slices.Backward(fresh) {
		added = append(added, it.Key)
	}
	next.Seen = boundSeen(st.Seen, added, current)

	alerting := fresh
	if !st.Baselined {
		alerting = firstPollItems(f.FirstPoll, fresh, now)
	}
	next.Baselined = true
	return next, alertsFor(p, f, out.title, alerting, now)
}

// firstPollItems are the items of a feed's first successful poll that its policy alerts.
func firstPollItems(fp FirstPoll, items []Item, now time.Time) []Item {
	switch fp.Mode {
	case FirstPollAll:
		return items
	case FirstPollWindow:
		var out []Item
		for _, it := range items {
			if d := it.date(); !d.IsZero() && d.After(now.Add(-fp.Window)) {
				out = append(out, it)
			}
		}
		return out
	default:
		return nil
	}
}

func (w *Watcher) loadState(ctx context.Context, feedID string) (feedState, uint64, error) {
	data, rev, err := w.state.Load(ctx, feedID)
	if err != nil {
		return feedState{}, 0, fmt.Errorf("load state: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return feedState{}, 0, err
	}
	return st, rev, nil
}

func (w *Watcher) saveState(ctx context.Context, feedID string, st feedState, rev uint64) error {
	data, err := st.encode()
	if err != nil {
		return err
	}
	if _, err := w.state.Save(ctx, feedID, data, rev); err != nil {
		return fmt.Errorf("save state at revision %d: %w", rev, err)
	}
	return nil
}

// logOutcome logs a feed failure once: when it starts or its message changes, not at every poll
// that repeats it. prev is the state the committed one was computed from.
func (w *Watcher) logOutcome(f *feedPlan, prev feedState, out pollOutcome) {
	fields := []zap.Field{zap.String("feed", f.ID), zap.String("url", redactURL(f.URL))}
	switch {
	case out.err != nil && (prev.ConsecutiveFailures == 0 || prev.LastError != out.err.Error()):
		w.log.Warn("feed poll failed", append(fields, zap.Int("consecutive_failures", prev.ConsecutiveFailures+1), zap.Error(out.err))...)
	case out.err != nil:
		w.log.Debug("feed poll failed again", append(fields, zap.Int("consecutive_failures", prev.ConsecutiveFailures+1), zap.Error(out.err))...)
	case prev.ConsecutiveFailures > 0:
		w.log.Info("feed recovered", append(fields, zap.Int("failures", prev.ConsecutiveFailures))...)
	}
}
