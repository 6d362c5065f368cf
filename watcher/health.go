package watcher

import (
	"context"
	"slices"
	"time"
)

// HealthReporter publishes changes in the health of feeds. Reports are best effort: a poll logs
// a failed report and goes on, since the state it describes is committed already.
type HealthReporter interface {
	ReportHealth(ctx context.Context, h FeedHealth) error
}

// HealthStatus is the kind of a change in a feed's health.
type HealthStatus string

// Health statuses.
const (
	// HealthError: the first failure of a run of failures, or a feed gone (410).
	HealthError HealthStatus = "error"
	// HealthRecovered: a success after failures, or a new item after the feed was stale.
	HealthRecovered HealthStatus = "recovered"
	// HealthStale: no new item for much longer than the feed's usual gap between items.
	HealthStale HealthStatus = "stale"
	// HealthFlood: one poll found far more new items than the feed adds; they were recorded
	// as seen without alerting.
	HealthFlood HealthStatus = "flood"
	// HealthCapped: one poll's matches were more than its feed's MaxAlertsPerPoll; the first
	// ones were published, the rest of its items recorded as seen without (all) their alerts.
	HealthCapped HealthStatus = "capped"
)

// FeedHealth is one change in a feed's health.
type FeedHealth struct {
	FeedID, FeedURL string // the URL redacted
	Status          HealthStatus
	Error           string     // what failed (HealthError)
	ErrorClass      ErrorClass // HealthError
	Failures        int        // consecutive failures: so far (HealthError), before this success (HealthRecovered)
	// Since is when the feed last polled successfully (HealthError), or when it last had a new
	// item (HealthStale); zero if never.
	Since    time.Time
	NextPoll time.Time // HealthError: when the feed is polled again
	// Items is how many new items were recorded without alerting (HealthFlood), or without
	// some of their alerts (HealthCapped).
	Items int
	// Alerts and AlertsDropped are how many alerts the poll published, and how many matches
	// it did not publish (HealthCapped).
	Alerts, AlertsDropped int
	Time                  time.Time
}

// Bounds of stale detection.
const (
	// staleFactor times a feed's usual gap between items without a new item makes it stale.
	staleFactor = 5
	// minStale is the least silence that makes a feed stale, however busy it usually is.
	minStale = time.Hour
	// gapSamples is how many of a document's newest dated items its usual gap is taken from.
	gapSamples = 20
)

// itemGap is the median gap between the publication dates of the newest gapSamples dated items,
// ignoring dates after now; 0 when fewer than three items have dates.
func itemGap(items []Item, now time.Time) time.Duration {
	dates := make([]time.Time, 0, len(items))
	for _, it := range items {
		if d := it.date(); !d.IsZero() && !d.After(now) {
			dates = append(dates, d)
		}
	}
	if len(dates) < 3 {
		return 0
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return b.Compare(a) })
	dates = dates[:min(len(dates), gapSamples)]
	gaps := make([]time.Duration, len(dates)-1)
	for i := range gaps {
		gaps[i] = dates[i].Sub(dates[i+1])
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// healthChanges are the health events of a committed poll that took the state from prev to next.
func healthChanges(f *feedPlan, prev, next feedState, out pollOutcome, flood int, now time.Time) []FeedHealth {
	base := FeedHealth{FeedID: f.ID, FeedURL: redactURL(f.URL), Time: now}
	var hs []FeedHealth
	if out.err != nil {
		if prev.ConsecutiveFailures == 0 || next.Gone != "" && prev.Gone == "" {
			h := base
			h.Status, h.Error, h.ErrorClass = HealthError, out.err.Error(), next.LastErrorClass
			h.Failures, h.Since, h.NextPoll = next.ConsecutiveFailures, prev.LastSuccess, next.NextPoll
			hs = append(hs, h)
		}
		return hs
	}
	if prev.ConsecutiveFailures > 0 {
		h := base
		h.Status, h.Failures = HealthRecovered, prev.ConsecutiveFailures
		hs = append(hs, h)
	}
	switch {
	case prev.StaleSince.IsZero() && !next.StaleSince.IsZero():
		h := base
		h.Status, h.Since = HealthStale, next.LastNewItem
		hs = append(hs, h)
	case !prev.StaleSince.IsZero() && next.StaleSince.IsZero() && prev.ConsecutiveFailures == 0:
		h := base
		h.Status, h.Since = HealthRecovered, prev.StaleSince
		hs = append(hs, h)
	}
	if flood > 0 {
		h := base
		h.Status, h.Items = HealthFlood, flood
		hs = append(hs, h)
	}
	return hs
}

// cappedHealth is the event of a poll whose alerts were capped.
func cappedHealth(f *feedPlan, t alertTally, now time.Time) FeedHealth {
	return FeedHealth{FeedID: f.ID, FeedURL: redactURL(f.URL), Status: HealthCapped,
		Items: t.droppedItems, Alerts: t.published, AlertsDropped: t.dropped, Time: now}
}
