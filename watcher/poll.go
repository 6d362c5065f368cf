package watcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/event"
)

// publishTimeout bounds the wait for the acknowledgements of one batch of alerts or archived
// items. The publisher retries what is not acknowledged until then; past it the poll fails, and
// its job is delivered again, rather than hold a worker and the feed's one pending job for as
// long as the acknowledgements do not come.
const publishTimeout = 45 * time.Second

// errPublishTimeout is the cause of a batch that publishTimeout ended.
var errPublishTimeout = errors.New("no acknowledgement within the publish timeout")

// maxSaveAttempts is how many times a poll tries to commit its state, re-reading it after each
// failure, before it returns the error and lets the job be redelivered.
const maxSaveAttempts = 5

// pollOutcome is what the network gave a poll: a 304, a parsed feed, or a failure of the feed
// (fetch or parse) that is recorded in its state rather than returned.
type pollOutcome struct {
	url         string // the URL fetched: the configured one, or where the feed moved
	movedTo     string // see fetchResult.MovedTo
	notModified bool
	unchanged   bool   // a 200 whose body is the one parsed last time: treated as a 304
	bodyHash    string // of the body of a 200
	validators  validators
	maxAge      time.Duration
	doc         Document
	err         error
	took        time.Duration // the fetch and parse
}

// step is what a poll commits: the feed's next state, the items whose alerts are published
// before it, and the health events reported after it.
type step struct {
	state    feedState
	fresh    []Item // the new items, archived before the state commits
	alerting []Item // the new items to match and alert
	muted    string // why the fresh items not alerting are not: event.MutedBaseline, MutedFlood
	first    bool   // the feed's first successful poll, archived by Archiver.ArchiveFirst
	title    string // the feed's title, for the alerts
	alerts   alertTally
	health   []FeedHealth
	flood    int // new items recorded without alerting by the flood guard
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
	if limit := slotLimit(f, w.clock()); slot.After(limit) {
		// Whoever can publish on the job subject could otherwise make a slot of 2100 the
		// feed's last, and every real slot one it has done.
		w.metrics.jobsRefused.Inc()
		w.logLimited(zap.WarnLevel, "refused_job", feedID, "poll job for a slot beyond the feed's schedule refused",
			zap.String("feed", feedID), zap.Time("slot", slot), zap.Time("latest_slot", limit))
		return nil
	}
	if _, busy := w.inFlight.LoadOrStore(feedID, slot); busy {
		// A poll of this feed runs here already (slower than the feed's interval): it fetches
		// what this job would, and the next slot polls again.
		w.log.Debug("job for a feed being polled acknowledged", zap.String("feed", feedID), zap.Time("slot", slot))
		return nil
	}
	defer w.inFlight.Delete(feedID)
	st, rev, err := w.loadState(ctx, f)
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
	if notDue(st, slot) {
		w.log.Debug("job for a feed not due acknowledged", zap.String("feed", feedID), zap.Time("slot", slot), zap.Time("next_poll", st.NextPoll), zap.Time("next_due", st.NextDue))
		return nil
	}
	w.observeLag(f, slot)
	u := st.fetchURL(f.URL)
	start := time.Now()
	out := w.fetchAndParse(ctx, f, u, st.validatorsFor(u), st.bodyHashFor(u))
	out.took = time.Since(start)
	if out.err != nil && ctx.Err() != nil {
		// The job was cancelled (shutdown); that is no failure of the feed.
		return fmt.Errorf("poll %s: %w", feedID, context.Cause(ctx))
	}
	for attempt := 1; ; attempt++ {
		now := time.Now()
		next := advance(p, f, st, slot, out, now, w.backoffCeiling)
		w.fullText(ctx, f, &next)
		// Every new item is archived, and every alert published, before the state that records
		// the item is committed; they are built and published in batches, so that a poll holds
		// one batch at a time.
		if err := w.archive(ctx, f, next, now); err != nil {
			return fmt.Errorf("poll %s: archive items: %w", feedID, err)
		}
		storiesOf := w.storiesOf(ctx, f, next.alerting)
		if next.alerts, err = w.publishAlerts(ctx, p, f, alertInput{title: next.title, items: next.alerting, stories: storiesOf}, now); err != nil {
			return fmt.Errorf("poll %s: publish alerts: %w", feedID, err)
		}
		if next.alerts.dropped > 0 {
			next.health = append(next.health, cappedHealth(f, next.alerts, now))
		}
		_, err := w.saveState(ctx, feedID, next.state, rev)
		if err == nil {
			w.logOutcome(f, slot, st, next, out)
			w.metrics.committed(f, next, out)
			result, _ := pollResult(out)
			w.summary.add(result, next)
			w.reportHealth(ctx, next.health)
			return nil
		}
		if attempt == maxSaveAttempts || ctx.Err() != nil {
			return fmt.Errorf("poll %s: attempt %d: %w", feedID, attempt, err)
		}
		// Someone else wrote the state (another replica, a redelivered job): redo the matching
		// against what they wrote, with the same body.
		w.metrics.conflicts.Inc()
		w.log.Debug("feed state changed by another poll; matching again", zap.String("feed", feedID), zap.Time("slot", slot), zap.Int("attempt", attempt), zap.Error(err))
		if st, rev, err = w.loadState(ctx, f); err != nil {
			return fmt.Errorf("poll %s: %w", feedID, err)
		}
		if !slot.After(st.LastSlot) || notDue(st, slot) {
			return nil
		}
	}
}

// fetchAndParse polls rawURL, the feed's configured URL or the one it moved to. A body whose
// hash is prevHash, the hash of the body parsed last time, is not parsed again: many servers
// send no validators, or ignore them, and answer every poll with the same document.
func (w *Watcher) fetchAndParse(ctx context.Context, f *feedPlan, rawURL string, v validators, prevHash string) pollOutcome {
	out := pollOutcome{url: rawURL}
	if !f.reader.conditional() {
		v, prevHash = validators{}, ""
	}
	get := w.getter(f)
	target, err := f.reader.target(ctx, rawURL, get)
	if err != nil {
		out.err = err
		return out
	}
	opts := f.fetchOptions(w.userAgent)
	opts.raw = f.reader.page()
	res, err := w.fetcher.fetch(ctx, target, opts, v)
	if err != nil {
		out.err = err
		return out
	}
	out.movedTo, out.validators, out.maxAge = res.MovedTo, res.Validators, res.MaxAge
	if res.NotModified {
		out.notModified = true
		return out
	}
	out.bodyHash = bodyHash(res.Body)
	if out.bodyHash == prevHash {
		out.notModified, out.unchanged = true, true
		return out
	}
	body := res.Body
	if opts.raw {
		body = decodePage(body, res.ContentType)
	}
	out.doc, err = f.reader.read(ctx, body, target, get)
	if err != nil {
		out.err = fmt.Errorf("parse %s: %w", redactURL(rawURL), err)
	}
	return out
}

// notDue reports whether a job for slot comes before the feed may be polled again: it backs
// off after a failure, or its auto schedule says it is not due.
func notDue(st feedState, slot time.Time) bool {
	return slot.Before(st.NextPoll) || slot.Before(st.NextDue)
}

// advance computes the state after a poll of slot, the alerts to publish before committing it
// and the health events to report after. It does not modify st.
// A failure sets the time before which the feed is not polled again: a 410 stops it for good.
func advance(p *plan, f *feedPlan, st feedState, slot time.Time, out pollOutcome, now time.Time, ceiling time.Duration) step {
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
		return step{state: next, health: healthChanges(f, st, next, out, 0, now)}
	}
	next.ConsecutiveFailures = 0
	next.LastError = ""
	next.LastErrorClass = ""
	next.NextPoll = time.Time{}
	next.Gone = ""
	next.LastSuccess = now
	next.URL = redactURL(out.url)
	trackMove(&next, redactURL(f.URL), adoptableMove(f.URL, out.movedTo))
	var s step
	if out.notModified {
		// A 304 may repeat or refresh the validators; absent ones stay as they were.
		if out.validators.ETag != "" {
			next.ETag = out.validators.ETag
		}
		if out.validators.LastModified != "" {
			next.LastModified = out.validators.LastModified
		}
	} else {
		next.ETag, next.LastModified = out.validators.ETag, out.validators.LastModified
		next.BodyHash = out.bodyHash
		s = newItems(f, st, &next, out.doc, now)
	}
	checkStale(&next, now)
	if f.auto() {
		schedule(&next, f, out, now)
	} else {
		next.Interval, next.NextDue = 0, time.Time{}
	}
	s.state = next
	s.health = healthChanges(f, st, next, out, s.flood, now)
	return s
}

// newItems finds the new items of a parsed document, records them in next, and returns those
// to alert. An item is new when none of its identities is in the seen set.
func newItems(f *feedPlan, st feedState, next *feedState, doc Document, now time.Time) step {
	seen := make(map[uint64]bool, len(st.SeenIDs))
	for _, h := range st.SeenIDs {
		seen[h] = true
	}
	current := make(map[uint64]bool, 2*len(doc.Items))
	hashes := make([][]uint64, 0, len(doc.Items)) // of the fresh items
	var fresh []Item
	for _, it := range doc.Items {
		hs := make([]uint64, len(it.ids)) // it.ids[0] is it.Key
		for i, id := range it.ids {
			hs[i] = idHash(id)
		}
		if current[hs[0]] {
			continue // the same item twice in one document
		}
		isNew := true
		for _, h := range hs {
			isNew = isNew && !seen[h]
			current[h] = true
		}
		if isNew {
			fresh = append(fresh, it)
			hashes = append(hashes, hs)
		}
	}
	// Feeds list the newest item first; remember the oldest first, so it is dropped first.
	var added []uint64
	for _, hs := range slices.Backward(hashes) {
		added = append(added, hs...)
	}
	next.SeenIDs = boundSeen(st.SeenIDs, added, current)
	if gap := itemGap(doc.Items, now); gap > 0 {
		next.ItemGap = gap
	}
	if len(fresh) > 0 || !st.Baselined {
		next.LastNewItem = now
		next.StaleSince = time.Time{}
	}

	s := step{fresh: fresh}
	alerting := fresh
	switch {
	case !st.Baselined:
		alerting = firstPollItems(f.FirstPoll, fresh, now)
		s.muted, s.first = event.MutedBaseline, true
	case isFlood(f, st, fresh):
		s.flood, alerting = len(fresh), nil
		s.muted = event.MutedFlood
	default:
		// The flood guard learns from the polls it lets through.
		const weight = 0.2
		next.NewItemsAvg = (1-weight)*st.NewItemsAvg + weight*float64(len(fresh))
	}
	next.Baselined = true
	s.alerting, s.title = alerting, doc.Title
	return s
}

// isFlood applies the feed's flood guard to the new items of a poll of a baselined feed.
func isFlood(f *feedPlan, st feedState, fresh []Item) bool {
	if f.FloodGuard == 0 || len(fresh) <= f.FloodGuard || float64(len(fresh)) <= 5*st.NewItemsAvg {
		return false
	}
	var dated, old int
	for _, it := range fresh {
		if d := it.date(); !d.IsZero() {
			dated++
			if d.Before(st.LastSuccess) {
				old++
			}
		}
	}
	// Items published since the last successful poll are news however many there are; items
	// without dates cannot tell, and count as old.
	return 2*(old+len(fresh)-dated) > len(fresh)
}

// checkStale marks the feed stale when it has had no new item for much longer than its usual
// gap between items. A feed whose usual gap is unknown is never stale.
func checkStale(next *feedState, now time.Time) {
	if next.ItemGap <= 0 || next.LastNewItem.IsZero() || !next.StaleSince.IsZero() {
		return
	}
	if now.Sub(next.LastNewItem) > max(staleFactor*next.ItemGap, minStale) {
		next.StaleSince = now
	}
}

// schedule sets when an auto feed is due again after a successful poll: after half its usual
// gap between items, but not before the feed's <ttl> or its answer's max-age ask, within the
// feed's bounds. The slots come every AutoMin, so the due time is put half a slot early, lest
// a poll a little late in its slot postpone the next one by a whole slot.
func schedule(next *feedState, f *feedPlan, out pollOutcome, now time.Time) {
	lo, hi := f.autoBounds()
	d := next.Interval
	if next.ItemGap > 0 {
		d = next.ItemGap / 2
	}
	d = max(d, out.doc.TTL, out.maxAge)
	if out.notModified && next.Interval > 0 {
		d = max(next.Interval, out.maxAge)
	}
	next.Interval = min(max(d, lo), hi)
	next.NextDue = now.Add(next.Interval - lo/2)
}

// trackMove records a permanent redirect of a successful poll: the first time as a candidate,
// and when the next poll is redirected to the same URL, as the feed's new URL. Only a move
// within the configured URL's host is recorded: one to another host is followed by every poll
// (the fetcher follows redirects) but not remembered, so that a state in the bucket never
// sends polls to a host the configuration does not name (see repairState).
func trackMove(st *feedState, cfgURL, movedTo string) {
	if movedTo != "" && !sameHost(movedTo, cfgURL) {
		movedTo = ""
	}
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

// loadState loads the state of f as it applies to f's URL (see feedState.forURL) and repairs
// what no poll could have written (see repairState): a repaired state is logged and saved at
// once, so that it is repaired and logged once.
func (w *Watcher) loadState(ctx context.Context, f *feedPlan) (feedState, uint64, error) {
	data, rev, err := w.state.Load(ctx, f.ID)
	if err != nil {
		return feedState{}, 0, fmt.Errorf("load state: %w", err)
	}
	var fixed []string
	st, err := decodeState(data)
	if err != nil {
		// A state that no version wrote: the feed starts again as a new feed, rather than
		// fail every poll from now on.
		st, fixed = feedState{}, []string{err.Error()}
	}
	// What the state remembers of another configured URL is forgotten first: that is no
	// impossible value.
	st, more := repairState(st.forURL(f.URL), f, w.clock(), w.backoffCeiling)
	if fixed = append(fixed, more...); len(fixed) == 0 {
		return st, rev, nil
	}
	w.metrics.stateRepairs.Inc()
	w.log.Warn("feed state with impossible values repaired", zap.String("feed", f.ID), zap.String("url", redactURL(f.URL)), zap.Strings("repaired", fixed))
	if rev, err = w.saveState(ctx, f.ID, st, rev); err != nil {
		return feedState{}, 0, fmt.Errorf("repair state: %w", err)
	}
	return st, rev, nil
}

func (w *Watcher) saveState(ctx context.Context, feedID string, st feedState, rev uint64) (uint64, error) {
	data, err := st.encode()
	if err != nil {
		return 0, err
	}
	next, err := w.state.Save(ctx, feedID, data, rev)
	if err != nil {
		return 0, fmt.Errorf("save state at revision %d: %w", rev, err)
	}
	return next, nil
}

// logOutcome logs a feed failure once: when it starts or its message changes, not at every poll
// that repeats it; and a feed that moved or is gone once, when that is found. Every other poll
// is logged at debug level. prev is the state the committed step was computed from.
func (w *Watcher) logOutcome(f *feedPlan, slot time.Time, prev feedState, step step, out pollOutcome) {
	next := step.state
	fields := []zap.Field{zap.String("feed", f.ID), zap.String("url", redactURL(f.URL))}
	if next.MovedTo != "" && next.MovedTo != prev.MovedTo {
		w.log.Info("feed moved permanently; polling its new URL", append(fields, zap.String("moved_to", next.MovedTo))...)
	}
	if next.Gone != "" && prev.Gone == "" {
		w.log.Warn("feed gone (410); polling stopped until its URL changes", append(fields, zap.Error(out.err))...)
		return
	}
	if a := step.alerts; a.dropped > 0 {
		w.log.Warn("alerts of one poll capped; the rest of its items recorded as seen", append(fields,
			zap.Int("alerts", a.published), zap.Int("alerts_dropped", a.dropped), zap.Int("items", a.droppedItems),
			zap.Int("max_alerts_per_poll", orDefault(f.MaxAlertsPerPoll, DefaultMaxAlertsPerPoll)))...)
	}
	if out.movedTo != "" && !sameHost(out.movedTo, f.URL) {
		w.logLimited(zap.InfoLevel, "moved_host", f.ID, "feed redirected permanently to another host; followed at every poll, not remembered: update its url",
			append(fields, zap.String("moved_to", redactURL(out.movedTo)))...)
	}
	if out.err != nil {
		fields = append(fields, zap.String("error_class", string(next.LastErrorClass)), zap.Time("next_poll", next.NextPoll))
	}
	for _, h := range step.health {
		switch {
		case h.Status == HealthStale:
			w.log.Info("feed stale: no new item for much longer than usual", append(fields, zap.Time("last_new_item", h.Since))...)
		case h.Status == HealthFlood:
			w.log.Warn("flood of new items recorded without alerting", append(fields, zap.Int("items", h.Items))...)
		case h.Status == HealthRecovered && prev.ConsecutiveFailures == 0:
			w.log.Info("feed has new items again after being stale", append(fields, zap.Time("stale_since", h.Since))...)
		}
	}
	switch {
	case out.err != nil && (prev.ConsecutiveFailures == 0 || prev.LastError != out.err.Error()):
		w.log.Warn("feed poll failed", append(fields, zap.Int("consecutive_failures", prev.ConsecutiveFailures+1), zap.Error(out.err))...)
	case out.err != nil:
		w.log.Debug("feed poll failed again", append(fields, zap.Int("consecutive_failures", prev.ConsecutiveFailures+1), zap.Error(out.err))...)
	case prev.ConsecutiveFailures > 0:
		w.log.Info("feed recovered", append(fields, zap.Int("failures", prev.ConsecutiveFailures))...)
	default:
		if ce := w.log.Check(zap.DebugLevel, "feed polled"); ce != nil {
			ce.Write(append(fields, zap.Time("slot", slot), zap.Bool("not_modified", out.notModified || out.unchanged),
				zap.Int("new_items", len(step.fresh)), zap.Int("alerts", step.alerts.published), zap.Duration("took", out.took))...)
		}
	}
}

// observeLag records how late the poll of slot starts, when slot is the feed's latest: a job
// for an earlier slot waited while the daemon was down or the queue was behind, and its age
// says how long that was rather than how late the schedule runs; it is counted apart.
func (w *Watcher) observeLag(f *feedPlan, slot time.Time) {
	now := time.Now()
	if latest := f.group.sched.Prev(now); latest.After(slot) {
		w.metrics.pastSlots.Inc()
		return
	}
	w.metrics.lag.Observe(now.Sub(slot).Seconds())
}

// publish publishes the alerts of a poll of f and logs each one published. Alerts the server
// refuses for good are logged and dropped, so that they do not fail the feed's every poll from
// now on.
func (w *Watcher) publish(ctx context.Context, f *feedPlan, alerts []event.Alert) error {
	pctx, cancel := context.WithTimeoutCause(ctx, publishTimeout, errPublishTimeout)
	defer cancel()
	err := w.pub.Publish(pctx, alerts)
	if errors.Is(err, ErrRejected) {
		w.log.Error("alerts rejected by the server for good; not retried", zap.String("feed", f.ID), zap.Int("alerts", len(alerts)), zap.Error(err))
		return nil
	}
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if ce := w.log.Check(zap.InfoLevel, "alert published"); ce != nil {
			fields := []zap.Field{zap.String("rule", a.RuleID), zap.String("feed", a.FeedID), zap.String("title", a.Item.Title)}
			if w.eventID != nil {
				fields = append(fields, zap.String("event_id", w.eventID(a)))
			}
			ce.Write(fields...) // no link: a private feed's links may carry its token
		}
	}
	return nil
}

// reportHealth reports the health events of a committed poll, logging what fails.
func (w *Watcher) reportHealth(ctx context.Context, hs []FeedHealth) {
	if w.health == nil {
		return
	}
	for _, h := range hs {
		if err := w.health.ReportHealth(ctx, h); err != nil {
			w.log.Warn("feed health event not published", zap.String("feed", h.FeedID), zap.String("status", string(h.Status)), zap.Error(err))
		}
	}
}

// bodyHash identifies a document's bytes: the hex of the first 16 bytes of their SHA-256.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}
