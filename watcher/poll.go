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
	url         string // the URL fetched: the configured one, or where the feed moved
	movedTo     string // see fetchResult.MovedTo
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
	if st.Gone != "" && st.Gone == redactURL(f.URL) {
		w.log.Debug("job for a gone feed acknowledged", zap.String("feed", feedID), zap.Time("slot", slot))
		return nil
	}
	if slot.Before(st.NextPoll) {
		w.log.Debug("job for a feed backing off acknowledged", zap.String("feed", feedID), zap.Time("slot", slot), zap.Time("next_poll", st.NextPoll))
		return nil
	}
	u := st.fetchURL(f.URL)
	out := w.fetchAndParse(ctx, f, u, st.validatorsFor(u))
	if out.err != nil && ctx.Err() != nil {
		// The job was cancelled (shutdown); that is no failure of the feed.
		return fmt.Errorf("poll %s: %w", feedID, context.Cause(ctx))
	}
	for attempt := 1; ; attempt++ {
		now := time.Now()
		next, alerts := advance(p, f, st, slot, out, now, w.backoffCeiling)
		if len(alerts) > 0 {
			if err := w.pub.Publish(ctx, alerts); err != nil {
				return fmt.Errorf("poll %s: publish %d alerts: %w", feedID, len(alerts), err)
			}
		}
		err := w.saveState(ctx, feedID, next, rev)
		if err == nil {
			w.logOutcome(f, st, next, out)
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
		if !slot.After(st.LastSlot) || slot.Before(st.NextPoll) {
			return nil
		}
	}
}

// fetchAndParse polls rawURL, the feed's configured URL or the one it moved to.
func (w *Watcher) fetchAndParse(ctx context.Context, f *feedPlan, rawURL string, v validators) pollOutcome {
	out := pollOutcome{url: rawURL}
	res, err := w.fetcher.fetch(ctx, rawURL, f.fetchOptions(w.userAgent), v)
	if err != nil {
		out.err = err
		return out
	}
	out.movedTo, out.validators = res.MovedTo, res.Validators
	if res.NotModified {
		out.notModified = true
		return out
	}
	out.title, out.items, err = ParseItems(res.Body)
	if err != nil {
		out.err = fmt.Errorf("parse %s: %w", redactURL(rawURL), err)
	}
	return out
}

// advance computes the state after a poll of slot and the alerts to publish before committing
// it. It does not modify st.
// A failure sets the time before which the feed is not polled again: a 410 stops it for good.
func advance(p *plan, f *feedPlan, st feedState, slot time.Time, out pollOutcome, now time.Time, ceiling time.Duration) (feedState, []Alert) {
	next := st
	next.LastSlot = slot
	if out.err != nil {
		next.ConsecutiveFailures++
		next.LastError = out.err.Error()
		next.LastErrorClass = ClassifyError(out.err)
		next.LastFailure = now
		next.NextPoll = now.Add(backoff(out.err, next.ConsecutiveFailures, ceiling))
		if next.LastErrorClass == ClassGone {
			next.Gone = redactURL(f.URL)
		}
		return next, nil
	}
	next.ConsecutiveFailures = 0
	next.LastError = ""
	next.LastErrorClass = ""
	next.NextPoll = time.Time{}
	next.Gone = ""
	next.LastSuccess = now
	next.URL = redactURL(out.url)
	trackMove(&next, redactURL(f.URL), out.movedTo)
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

// trackMove records a permanent redirect of a successful poll: the first time as a candidate,
// and when the next poll is redirected to the same URL, as the feed's new URL.
func trackMove(st *feedState, cfgURL, movedTo string) {
	if st.MovedFrom != cfgURL {
		st.MovedFrom, st.MoveCandidate, st.MovedTo = cfgURL, "", ""
	}
	switch {
	case movedTo == "":
		st.MoveCandidate = ""
	case movedTo == st.MoveCandidate:
		st.MovedTo, st.MoveCandidate = movedTo, ""
	default:
		st.MoveCandidate = movedTo
	}
	if st.MovedTo == "" && st.MoveCandidate == "" {
		st.MovedFrom = ""
	}
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
// that repeats it; and a feed that moved or is gone once, when that is found. prev is the state
// the committed one, next, was computed from.
func (w *Watcher) logOutcome(f *feedPlan, prev, next feedState, out pollOutcome) {
	fields := []zap.Field{zap.String("feed", f.ID), zap.String("url", redactURL(f.URL))}
	if next.MovedTo != "" && next.MovedTo != prev.MovedTo {
		w.log.Info("feed moved permanently; polling its new URL", append(fields, zap.String("moved_to", next.MovedTo))...)
	}
	if next.Gone != "" && prev.Gone == "" {
		w.log.Warn("feed gone (410); polling stopped until its URL changes", append(fields, zap.Error(out.err))...)
		return
	}
	if out.err != nil {
		fields = append(fields, zap.String("error_class", string(next.LastErrorClass)), zap.Time("next_poll", next.NextPoll))
	}
	switch {
	case out.err != nil && (prev.ConsecutiveFailures == 0 || prev.LastError != out.err.Error()):
		w.log.Warn("feed poll failed", append(fields, zap.Int("consecutive_failures", prev.ConsecutiveFailures+1), zap.Error(out.err))...)
	case out.err != nil:
		w.log.Debug("feed poll failed again", append(fields, zap.Int("consecutive_failures", prev.ConsecutiveFailures+1), zap.Error(out.err))...)
	case prev.ConsecutiveFailures > 0:
		w.log.Info("feed recovered", append(fields, zap.Int("failures", prev.ConsecutiveFailures))...)
	}
}
