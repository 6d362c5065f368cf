package watcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Errors of PollNow.
var (
	// ErrUnknownFeed is wrapped for a feed id the configuration does not name.
	ErrUnknownFeed = errors.New("watcher: no such feed in the configuration")
	// ErrFeedGone is wrapped for a feed whose URL answered 410 Gone: no poll would fetch it.
	ErrFeedGone = errors.New("watcher: feed gone (410); change its URL to poll it again")
)

// FeedStatus is what a feed's shared state says of its health, for people and tools: the
// status API and `newswatch status`. Times are zero when unknown or not applicable.
type FeedStatus struct {
	ID   string   `json:"id"`
	URL  string   `json:"url,omitempty"` // redacted
	Tags []string `json:"tags,omitempty"`
	// Polled is false for a feed with no state yet: never polled by any replica.
	Polled bool `json:"polled"`
	// LastPoll is the later of LastSuccess and LastFailure; LastResult is "ok", "error" or
	// "" (never polled).
	LastPoll    time.Time `json:"last_poll,omitzero"`
	LastResult  string    `json:"last_result,omitempty"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	LastNewItem time.Time `json:"last_new_item,omitzero"`
	// NextPoll is when the feed is next polled: its next slot, or the end of its backoff (or
	// of its auto interval) when that comes later; zero for a gone feed.
	NextPoll            time.Time  `json:"next_poll,omitzero"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	BackoffUntil        time.Time  `json:"backoff_until,omitzero"`
	LastError           string     `json:"last_error,omitempty"`
	LastErrorClass      ErrorClass `json:"last_error_class,omitempty"`
	Gone                bool       `json:"gone"`
	MovedTo             string     `json:"moved_to,omitempty"` // redacted
	StaleSince          time.Time  `json:"stale_since,omitzero"`
	// Problem is the worst of "gone", "backing_off", "failing", "stale"; "" for a healthy feed.
	Problem string `json:"problem,omitempty"`

	gone     string    // the URL that answered 410, redacted
	nextDue  time.Time // an auto feed's next due time
	movedFor string    // the configured URL MovedTo belongs to
}

// DecodeStatus reads the status of a feed from its stored state document (the JSON the watcher
// writes to its StateStore); an empty document is a feed never polled. The result knows nothing
// of the configuration: ID, URL, Tags, NextPoll and Problem are set by Status.
func DecodeStatus(data []byte) (FeedStatus, error) {
	st, err := decodeState(data)
	if err != nil {
		return FeedStatus{}, err
	}
	s := FeedStatus{
		Polled:              len(data) > 0,
		LastSuccess:         st.LastSuccess,
		LastFailure:         st.LastFailure,
		LastNewItem:         st.LastNewItem,
		ConsecutiveFailures: st.ConsecutiveFailures,
		BackoffUntil:        st.NextPoll,
		LastError:           st.LastError,
		LastErrorClass:      st.LastErrorClass,
		MovedTo:             st.MovedTo,
		StaleSince:          st.StaleSince,
		gone:                st.Gone,
		nextDue:             st.NextDue,
		movedFor:            st.MovedFrom,
	}
	s.setLastPoll()
	return s, nil
}

// setLastPoll sets LastPoll and LastResult from LastSuccess and LastFailure. After a success the
// last error is kept for the record; the feed is healthy.
func (s *FeedStatus) setLastPoll() {
	switch {
	case s.LastSuccess.IsZero() && s.LastFailure.IsZero():
	case s.LastFailure.After(s.LastSuccess):
		s.LastPoll, s.LastResult = s.LastFailure, "error"
	default:
		s.LastPoll, s.LastResult = s.LastSuccess, "ok"
	}
}

// FeedIDs returns the ids of the configured feeds in configuration order. The slice is shared:
// do not modify it.
func (w *Watcher) FeedIDs() []string {
	p := w.plan.Load()
	if p == nil {
		return nil
	}
	return p.order
}

// Status completes s, decoded by DecodeStatus from the state of feed id, with what the
// configuration says at now: the feed's URL, tags and next poll, and whether it is a problem.
// It reports false for a feed the configuration does not name.
func (w *Watcher) Status(id string, s FeedStatus, now time.Time) (FeedStatus, bool) {
	p := w.plan.Load()
	if p == nil {
		return FeedStatus{}, false
	}
	f, ok := p.feeds[id]
	if !ok {
		return FeedStatus{}, false
	}
	cfgURL := redactURL(f.URL)
	s.ID, s.URL, s.Tags = id, cfgURL, f.Tags
	s.Gone = s.gone != "" && s.gone == cfgURL
	if s.movedFor != cfgURL {
		s.MovedTo = ""
	}
	if !s.BackoffUntil.After(now) {
		s.BackoffUntil = time.Time{}
	}
	if !s.Gone {
		s.NextPoll = f.group.sched.Next(now)
		if s.BackoffUntil.After(s.NextPoll) || s.nextDue.After(s.NextPoll) {
			// The first slot at or after the end of the pause polls it.
			s.NextPoll = f.group.sched.Next(later(s.BackoffUntil, s.nextDue).Add(-time.Nanosecond))
		}
	}
	switch {
	case s.Gone:
		s.Problem = "gone"
	case !s.BackoffUntil.IsZero():
		s.Problem = "backing_off"
	case s.ConsecutiveFailures > 0:
		s.Problem = "failing"
	case !s.StaleSince.IsZero():
		s.Problem = "stale"
	}
	return s, true
}

// MayBeProblem reports whether s, as DecodeStatus returned it, can be a problem at now whatever
// the configuration: a quick test before Status, which asks the schedule.
func (s FeedStatus) MayBeProblem(now time.Time) bool {
	return s.gone != "" || s.BackoffUntil.After(now) || s.ConsecutiveFailures > 0 || !s.StaleSince.IsZero()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// PollNow has feed id polled at once, by whichever replica takes the job: it clears the feed's
// backoff (and an auto feed's wait) in the shared state, by compare-and-swap, then enqueues a
// job for now. A gone feed stays gone: its URL must change for it to be polled again.
func (w *Watcher) PollNow(ctx context.Context, id string) error {
	p := w.plan.Load()
	if p == nil {
		return fmt.Errorf("poll %s now: %w", id, ErrUnknownFeed)
	}
	f, ok := p.feeds[id]
	if !ok {
		return fmt.Errorf("poll %s now: %w", id, ErrUnknownFeed)
	}
	var slot time.Time
	for attempt := 1; ; attempt++ {
		st, rev, err := w.loadState(ctx, f)
		if err != nil {
			return fmt.Errorf("poll %s now: %w", id, err)
		}
		if st.Gone != "" && st.Gone == redactURL(f.URL) {
			return fmt.Errorf("poll %s now: %w", id, ErrFeedGone)
		}
		slot = w.clock().Truncate(time.Second)
		if !slot.After(st.LastSlot) {
			slot = st.LastSlot.Add(time.Second)
		}
		if st.NextPoll.IsZero() && st.NextDue.IsZero() {
			break
		}
		st.NextPoll, st.NextDue = time.Time{}, time.Time{}
		if _, err = w.saveState(ctx, id, st, rev); err == nil {
			break
		}
		if attempt == maxSaveAttempts || ctx.Err() != nil {
			return fmt.Errorf("poll %s now: attempt %d: %w", id, attempt, err)
		}
	}
	if err := w.jobs.Enqueue(ctx, id, slot); err != nil {
		return fmt.Errorf("poll %s now: %w", id, err)
	}
	w.log.Info("poll now asked; backoff cleared", zap.String("feed", id), zap.Time("slot", slot))
	return nil
}

// PackedStatus is a FeedStatus as DecodeStatus returns it, packed for keeping the statuses of
// 100,000 feeds in memory: its times as Unix nanoseconds, and what only a failing or moved feed
// has behind one pointer, nil for the others. The zero PackedStatus is a feed never polled.
type PackedStatus struct {
	lastSuccess, lastFailure, lastNewItem, backoffUntil, nextDue, staleSince int64
	failures                                                                 int32
	polled                                                                   bool
	rare                                                                     *rareStatus
}

type rareStatus struct {
	lastError                string
	class                    ErrorClass
	movedTo, gone, movedFrom string
}

// Pack packs s, as DecodeStatus returned it.
func (s FeedStatus) Pack() PackedStatus {
	p := PackedStatus{
		lastSuccess: unixNano(s.LastSuccess), lastFailure: unixNano(s.LastFailure), lastNewItem: unixNano(s.LastNewItem),
		backoffUntil: unixNano(s.BackoffUntil), nextDue: unixNano(s.nextDue), staleSince: unixNano(s.StaleSince),
		failures: int32(min(s.ConsecutiveFailures, 1<<31-1)), polled: s.Polled,
	}
	if r := (rareStatus{s.LastError, s.LastErrorClass, s.MovedTo, s.gone, s.movedFor}); r != (rareStatus{}) {
		p.rare = &r
	}
	return p
}

// Unpack returns the FeedStatus that p packs.
func (p PackedStatus) Unpack() FeedStatus {
	s := FeedStatus{
		Polled: p.polled, LastSuccess: fromUnixNano(p.lastSuccess), LastFailure: fromUnixNano(p.lastFailure),
		LastNewItem: fromUnixNano(p.lastNewItem), BackoffUntil: fromUnixNano(p.backoffUntil),
		StaleSince: fromUnixNano(p.staleSince), ConsecutiveFailures: int(p.failures), nextDue: fromUnixNano(p.nextDue),
	}
	if r := p.rare; r != nil {
		s.LastError, s.LastErrorClass, s.MovedTo, s.gone, s.movedFor = r.lastError, r.class, r.movedTo, r.gone, r.movedFrom
	}
	s.setLastPoll()
	return s
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
