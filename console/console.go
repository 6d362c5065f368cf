// Package console is newswatch's HTTP face for people and tools: the feed status and control
// API (/api/v1/feeds, /api/v1/alerts) and the backtest of rules against the item archive
// (/api/v1/backtest). It reads through small interfaces it declares, which the
// daemon wires to the watcher and the notifier, so that any replica answers for every feed from
// the shared state. A Console is safe for concurrent use; it retries nothing: a failed request
// is answered with an error for the client to retry.
package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/watcher"
)

// Page bounds of /api/v1/feeds and /api/v1/alerts.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// DefaultAlertsSince is how far back /api/v1/alerts looks without since=.
	DefaultAlertsSince = 24 * time.Hour
)

// Feeds is the configuration's view of the feeds: their order and what the schedule says.
type Feeds interface {
	// FeedIDs returns the configured feed ids in configuration order; the slice is not modified.
	FeedIDs() []string
	// Status completes a status decoded from a feed's state with the configuration; false for
	// a feed not configured.
	Status(id string, s watcher.FeedStatus, now time.Time) (watcher.FeedStatus, bool)
}

// Poller polls a feed now.
type Poller interface {
	PollNow(ctx context.Context, id string) error
}

// States is the feeds' stored states, decoded.
type States interface {
	// Get returns a feed's decoded state: the zero FeedStatus for a feed never polled. ok is
	// false while the states are not loaded yet.
	Get(id string) (s watcher.FeedStatus, loaded bool)
}

// Alert is one alert as /api/v1/alerts lists it: its subject and its CloudEvent.
type Alert struct {
	Subject string          `json:"subject"`
	Event   json.RawMessage `json:"event"`
}

// AlertQuery is what /api/v1/alerts asks of Alerts.
type AlertQuery struct {
	Rule, Feed string
	Since      time.Time
	Limit      int
}

// Alerts reads recent alerts, oldest first.
type Alerts interface {
	RecentAlerts(ctx context.Context, q AlertQuery) ([]Alert, error)
}

// Config is what a Console answers from; all are required.
type Config struct {
	Feeds  Feeds
	States States
	Poller Poller
	Alerts Alerts
	// Backtester serves POST /api/v1/backtest; nil: the endpoint is not served.
	Backtester Backtester
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the API.
type Console struct {
	cfg Config
	log *zap.Logger
}

// New validates cfg and returns a Console. A nil log discards logs.
func New(cfg Config, log *zap.Logger) (*Console, error) {
	switch {
	case cfg.Feeds == nil:
		return nil, errors.New("console: Feeds is required")
	case cfg.States == nil:
		return nil, errors.New("console: States is required")
	case cfg.Poller == nil:
		return nil, errors.New("console: Poller is required")
	case cfg.Alerts == nil:
		return nil, errors.New("console: Alerts is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Console{cfg: cfg, log: log}, nil
}

// Register adds the API's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/feeds", c.listFeeds)
	mux.HandleFunc("GET /api/v1/feeds/{id}", c.getFeed)
	mux.HandleFunc("POST /api/v1/feeds/{id}/poll", c.pollFeed)
	mux.HandleFunc("GET /api/v1/alerts", c.listAlerts)
	if c.cfg.Backtester != nil {
		mux.HandleFunc("POST /api/v1/backtest", c.backtest)
	}
}

// FeedPage is the answer of GET /api/v1/feeds. Next, when not empty, is the after= of the
// next page.
type FeedPage struct {
	Feeds []watcher.FeedStatus `json:"feeds"`
	Next  string               `json:"next,omitempty"`
}

func (c *Console) listFeeds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	after := q.Get("after")
	if after == "" {
		after = q.Get("page_token")
	}
	problems, err := boolParam("problems", q.Get("problems"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	if !c.loaded() {
		httpError(w, http.StatusServiceUnavailable, errLoading)
		return
	}
	ids := c.cfg.Feeds.FeedIDs()
	start := 0
	if after != "" {
		start = -1
		for i, id := range ids {
			if id == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			httpError(w, http.StatusBadRequest, fmt.Errorf("after=%s: no such feed in the configuration", after))
			return
		}
	}
	now := c.cfg.Now()
	page := FeedPage{Feeds: make([]watcher.FeedStatus, 0, min(limit, len(ids)-start))}
	for i := start; i < len(ids); i++ {
		if len(page.Feeds) == limit {
			page.Next = ids[i-1]
			break
		}
		st, _ := c.cfg.States.Get(ids[i])
		if problems && !st.MayBeProblem(now) {
			continue
		}
		s, ok := c.cfg.Feeds.Status(ids[i], st, now)
		if !ok || problems && s.Problem == "" {
			// A feed not ok left the configuration since FeedIDs.
			continue
		}
		page.Feeds = append(page.Feeds, s)
	}
	writeJSON(w, page)
}

var errLoading = errors.New("the feed states are loading; retry shortly")

// loaded reports whether the states are loaded.
func (c *Console) loaded() bool {
	_, ok := c.cfg.States.Get("")
	return ok
}

// status is the status of feed id; false for a feed not configured.
func (c *Console) status(id string, now time.Time) (watcher.FeedStatus, bool) {
	st, _ := c.cfg.States.Get(id)
	return c.cfg.Feeds.Status(id, st, now)
}

func (c *Console) getFeed(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !c.loaded() {
		httpError(w, http.StatusServiceUnavailable, errLoading)
		return
	}
	s, ok := c.status(id, c.cfg.Now())
	if !ok {
		httpError(w, http.StatusNotFound, fmt.Errorf("%s: no such feed in the configuration", id))
		return
	}
	writeJSON(w, s)
}

func (c *Console) pollFeed(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	err := c.cfg.Poller.PollNow(ctx, id)
	switch {
	case errors.Is(err, watcher.ErrUnknownFeed):
		httpError(w, http.StatusNotFound, fmt.Errorf("%s: no such feed in the configuration", id))
		return
	case errors.Is(err, watcher.ErrFeedGone):
		httpError(w, http.StatusConflict, err)
		return
	case err != nil:
		c.log.Warn("poll now failed", zap.String("feed", id), zap.Error(err))
		httpError(w, http.StatusServiceUnavailable, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "queued"})
}

// AlertPage is the answer of GET /api/v1/alerts: the last alerts asked for, oldest first.
type AlertPage struct {
	Alerts []Alert `json:"alerts"`
}

func (c *Console) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	since := c.cfg.Now().Add(-DefaultAlertsSince)
	if v := q.Get("since"); v != "" {
		if since, err = sinceParam(v, c.cfg.Now()); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	alerts, err := c.cfg.Alerts.RecentAlerts(ctx, AlertQuery{Rule: q.Get("rule"), Feed: q.Get("feed"), Since: since, Limit: limit})
	if err != nil {
		c.log.Warn("reading alerts failed", zap.Error(err))
		httpError(w, http.StatusServiceUnavailable, err)
		return
	}
	if alerts == nil {
		alerts = []Alert{}
	}
	writeJSON(w, AlertPage{Alerts: alerts})
}

func limitParam(v string) (int, error) {
	if v == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Errorf("limit=%s: want a whole number from 1 to %d", v, MaxLimit)
	}
	return n, nil
}

func boolParam(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%s: want true or false", name, v)
	}
	return b, nil
}

// sinceParam reads since= as an RFC 3339 time or a duration back from now (1h, 30m).
func sinceParam(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since=%s: want an RFC 3339 time or a duration such as 1h", v)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
