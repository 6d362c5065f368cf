package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// FeedStatus is the kind of a feed-health event; it is the last token of its subject.
type FeedStatus string

// The feed-health events of SPEC.md §4, and the summaries of the flood guard and of the alert cap.
const (
	FeedError     FeedStatus = "error"     // the first failure of a run of failures, or the feed is gone (410)
	FeedRecovered FeedStatus = "recovered" // a poll succeeded after failures, or a stale feed has a new item
	FeedStale     FeedStatus = "stale"     // no new item for much longer than the feed's usual gap between items
	FeedFlood     FeedStatus = "flood"     // one poll found far more new items than usual; recorded without alerting
	FeedCapped    FeedStatus = "capped"    // one poll matched more than max_alerts_per_poll; the rest recorded without alerting
)

// FeedStatuses are every feed-health status, as the contract (api/) lists them.
var FeedStatuses = []FeedStatus{FeedError, FeedRecovered, FeedStale, FeedFlood, FeedCapped}

// FeedHealth is one change in a feed's health.
type FeedHealth struct {
	FeedID     string
	FeedURL    string
	Status     FeedStatus
	Error      string // what failed, for FeedError; never a secret
	ErrorClass string // the class of Error: timeout, http_server, gone, ...
	Failures   int    // consecutive failed polls: so far (FeedError), before the success (FeedRecovered)
	// Since is when the feed last polled successfully (FeedError), last had a new item
	// (FeedStale), or became stale (FeedRecovered after FeedStale); zero if never.
	Since    time.Time
	NextPoll time.Time // FeedError: when the feed is polled again
	Items    int       // FeedFlood: the new items recorded without alerting; FeedCapped: without some of their alerts
	// Alerts and AlertsDropped are what a capped poll published, and the matches it did not
	// publish (FeedCapped).
	Alerts, AlertsDropped int
	Time                  time.Time // when this was observed
}

// HealthEvent is a feed-health event: CloudEvents 1.0, type io.newswatch.feed.<status>.v1.
type HealthEvent struct {
	SpecVersion     string     `json:"specversion"`
	Type            string     `json:"type"`
	Source          string     `json:"source"`
	ID              string     `json:"id"`
	Time            string     `json:"time"`
	Subject         string     `json:"subject"`
	DataContentType string     `json:"datacontenttype"`
	DataSchema      string     `json:"dataschema"`
	Data            HealthData `json:"data"`
}

// HealthData is the "data" of a feed-health event.
type HealthData struct {
	Feed       EventFeed `json:"feed"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	ErrorClass string    `json:"error_class,omitempty"`
	Failures   int       `json:"failures,omitempty"`
	Since      string    `json:"since,omitempty"`
	NextPoll   string    `json:"next_poll,omitempty"`
	Items      int       `json:"items,omitempty"`
	// Alerts and AlertsDropped: what a capped poll published, and the matches it did not.
	Alerts        int `json:"alerts,omitempty"`
	AlertsDropped int `json:"alerts_dropped,omitempty"`
}

// Health publishes feed-health events on <prefix>.feed.<feed>.<status>. They are plain NATS
// messages, not stored in a stream: they describe the present. Safe for concurrent use.
type Health struct {
	nc     *nats.Conn
	prefix string
}

// HealthSubject is the subject of a feed's health events of one status.
func HealthSubject(prefix, feedID string, status FeedStatus) string {
	return prefix + ".feed." + feedID + "." + string(status)
}

// healthFlushTimeout bounds the flush of a health event when ctx has no deadline of its own.
const healthFlushTimeout = 5 * time.Second

// Publish sends the event and flushes it to the server, bounded by ctx and by
// healthFlushTimeout when ctx has no deadline.
func (h *Health) Publish(ctx context.Context, fh FeedHealth) error {
	switch {
	case !validToken(fh.FeedID):
		return fmt.Errorf("%w: health: feed id %q is not a subject token", ErrInvalidAlert, fh.FeedID)
	case !slices.Contains(FeedStatuses, fh.Status):
		return fmt.Errorf("%w: health of %s: unknown status %q", ErrInvalidAlert, fh.FeedID, fh.Status)
	case fh.Time.IsZero():
		return fmt.Errorf("%w: health of %s: time is zero", ErrInvalidAlert, fh.FeedID)
	}
	sum := sha256.Sum256([]byte(fh.FeedID + "\x00" + string(fh.Status) + "\x00" + strconv.FormatInt(fh.Time.UnixNano(), 10)))
	ev := HealthEvent{
		SpecVersion:     EventSpecVersion,
		Type:            "io.newswatch.feed." + string(fh.Status) + ".v1",
		Source:          eventSourcePath + fh.FeedID,
		ID:              hex.EncodeToString(sum[:])[:32],
		Time:            formatTime(fh.Time),
		Subject:         fh.FeedID,
		DataContentType: eventDataType,
		DataSchema:      HealthDataSchema,
		Data: HealthData{
			Feed:          EventFeed{ID: fh.FeedID, URL: fh.FeedURL},
			Status:        string(fh.Status),
			Error:         fh.Error,
			ErrorClass:    fh.ErrorClass,
			Failures:      fh.Failures,
			Since:         formatTime(fh.Since),
			NextPoll:      formatTime(fh.NextPoll),
			Items:         fh.Items,
			Alerts:        fh.Alerts,
			AlertsDropped: fh.AlertsDropped,
		},
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode health of %s: %w", fh.FeedID, err)
	}
	m := nats.NewMsg(HealthSubject(h.prefix, fh.FeedID, fh.Status))
	m.Data = body
	m.Header.Set("Content-Type", EventContentType)
	if err := h.nc.PublishMsg(m); err != nil {
		return fmt.Errorf("publish health of %s: %w", fh.FeedID, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, healthFlushTimeout)
		defer cancel()
	}
	if err := h.nc.FlushWithContext(ctx); err != nil && !errors.Is(err, nats.ErrConnectionReconnecting) {
		return fmt.Errorf("publish health of %s: %w", fh.FeedID, err)
	}
	return nil
}
