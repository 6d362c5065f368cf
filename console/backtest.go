package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// BacktestTimeout bounds one POST /api/v1/backtest: a read of the whole archive takes seconds
// per million items.
const BacktestTimeout = 2 * time.Minute

// maxBacktestBody bounds the request body of POST /api/v1/backtest.
const maxBacktestBody = 1 << 20

// Errors a Backtester returns for a request it cannot answer, which the API answers with 400
// and 409. A *matcher.QueryError in a Backtester's error is answered with 400, its message and
// its column.
var (
	ErrUnknownRule = errors.New("no such rule in the configuration")
	ErrNoArchive   = errors.New("the item archive is disabled (archive.enabled: false)")
)

// BacktestQuery is what a backtest matches: a query of its own (with the configuration's
// lists), or rules of the configuration (named, or All), against the archive's items that
// Archive selects. Limit bounds the matches returned; every match is counted.
type BacktestQuery struct {
	Query   string
	Rules   []string
	All     bool
	Archive event.ArchiveQuery
	Limit   int
}

// BacktestResult is the answer of POST /api/v1/backtest: the first matches, oldest first, and
// the counts of them all.
type BacktestResult struct {
	Matches []BacktestMatch `json:"matches"`
	// Truncated is true when there were more matches than the limit.
	Truncated bool            `json:"truncated"`
	Summary   BacktestSummary `json:"summary"`
}

// BacktestMatch is one (archived item, rule) match: the alert that a live rule would have
// published, with the id its event has (or would have had).
type BacktestMatch struct {
	Rule      string        `json:"rule"`
	Feed      string        `json:"feed"`
	FirstSeen time.Time     `json:"first_seen"`
	EventID   string        `json:"event_id"`
	Item      BacktestItem  `json:"item"`
	Hits      []matcher.Hit `json:"hits"`
	// Story is the item's story among the items read, in the shape of an alert's.
	Story *BacktestStory `json:"story,omitempty"`
}

// BacktestStory is the story of a match: as the daemon would have given it over the items read,
// first when the match opened it for its rule.
type BacktestStory struct {
	ID        string    `json:"id"`
	First     bool      `json:"first"`
	Size      int       `json:"size"`
	Feeds     []string  `json:"feeds"`
	Languages []string  `json:"languages"`
	FirstSeen time.Time `json:"first_seen"`
}

// BacktestItem is the item of a match.
type BacktestItem struct {
	GUID  string `json:"guid"`
	Link  string `json:"link"`
	Title string `json:"title"`
}

// BacktestSummary counts what a backtest read and matched.
type BacktestSummary struct {
	// From and To are the window asked for; absent when open.
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
	// Rules are the rules tried, the most matches first (then in configuration order).
	Rules []RuleCount `json:"rules"`
	// Days are the UTC days of the items read, oldest first.
	Days []BucketCount `json:"days"`
	// Feeds are the feeds with a match, the most matches first.
	Feeds        []BucketCount `json:"feeds"`
	ItemsScanned int           `json:"items_scanned"`
	ItemsMatched int           `json:"items_matched"`
	Matches      int           `json:"matches"`
	TookSeconds  float64       `json:"took_seconds"`
	ItemsPerSec  float64       `json:"items_per_second"`
}

// RuleCount is how many archived items a rule matched.
type RuleCount struct {
	Rule    string `json:"rule"`
	Matches int    `json:"matches"`
}

// BucketCount is a day's or a feed's items read and matches, in all and by rule.
type BucketCount struct {
	Day     string         `json:"day,omitempty"` // 2006-01-02, UTC
	Feed    string         `json:"feed,omitempty"`
	Items   int            `json:"items"`
	Matches int            `json:"matches"`
	Rules   map[string]int `json:"rules"`
}

// Backtester matches archived items against rules.
type Backtester interface {
	Backtest(ctx context.Context, q BacktestQuery) (BacktestResult, error)
}

// BacktestRequest is the body of POST /api/v1/backtest.
type BacktestRequest struct {
	Query string     `json:"query"`
	Rules []string   `json:"rules"`
	All   bool       `json:"all"`
	Since string     `json:"since"`
	From  string     `json:"from"`
	To    string     `json:"to"`
	Feed  stringList `json:"feed"`
	Limit int        `json:"limit"`
}

// stringList is a JSON string or array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

func (c *Console) backtest(w http.ResponseWriter, r *http.Request) {
	var req BacktestRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBacktestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
		return
	}
	q, err := req.query(c.cfg.Now())
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), BacktestTimeout)
	defer cancel()
	res, err := c.cfg.Backtester.Backtest(ctx, q)
	if qe, ok := errors.AsType[*matcher.QueryError](err); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		body := map[string]any{"error": "query: " + qe.Msg, "column": qe.Column, "offset": qe.Offset}
		if qe.List != "" {
			body["error"] = fmt.Sprintf("list %s, term %d: %s", qe.List, qe.Term+1, qe.Msg)
			body["list"] = qe.List
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownRule):
		httpError(w, http.StatusBadRequest, err)
		return
	case errors.Is(err, ErrNoArchive):
		httpError(w, http.StatusConflict, err)
		return
	case err != nil:
		c.log.Warn("backtest failed", zap.Error(err))
		httpError(w, http.StatusServiceUnavailable, err)
		return
	}
	if res.Matches == nil {
		res.Matches = []BacktestMatch{}
	}
	writeJSON(w, res)
}

// query validates the request and reads its window.
func (req BacktestRequest) query(now time.Time) (BacktestQuery, error) {
	n := 0
	for _, given := range []bool{req.Query != "", len(req.Rules) > 0, req.All} {
		if given {
			n++
		}
	}
	if n != 1 {
		return BacktestQuery{}, errors.New("give one of query, rules or all")
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return BacktestQuery{}, fmt.Errorf("limit %d: want a whole number from 1 to %d", limit, MaxLimit)
	}
	from, to, err := ParseWindow(req.Since, req.From, req.To, now)
	if err != nil {
		return BacktestQuery{}, err
	}
	return BacktestQuery{
		Query: req.Query, Rules: req.Rules, All: req.All, Limit: limit,
		Archive: event.ArchiveQuery{From: from, To: to, Feeds: req.Feed},
	}, nil
}

// ParseWindow reads a window of first-seen times: since, a duration back from now (90m, 24h,
// 7d), or from and to, each an RFC 3339 time or a date (2026-12-01, midnight UTC). Empty
// values leave that end open.
func ParseWindow(since, from, to string, now time.Time) (start, end time.Time, err error) {
	if since != "" && from != "" {
		return start, end, errors.New("since and from both set: give one of them")
	}
	if since != "" {
		d, err := ParseDays(since)
		if err != nil {
			return start, end, fmt.Errorf("since %s: %w", since, err)
		}
		start = now.Add(-d)
	}
	if from != "" {
		if start, err = parseInstant(from); err != nil {
			return start, end, fmt.Errorf("from %s: %w", from, err)
		}
	}
	if to != "" {
		if end, err = parseInstant(to); err != nil {
			return start, end, fmt.Errorf("to %s: %w", to, err)
		}
		if !start.IsZero() && !end.After(start) {
			return start, end, fmt.Errorf("to %s is not after the window's start %s", to, start.UTC().Format(time.RFC3339))
		}
	}
	return start, end, nil
}

// ParseDays reads a positive Go duration (90m, 24h) or a number of days (7d).
func ParseDays(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, errors.New("want a duration such as 90m, 24h or 7d")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a duration such as 90m, 24h or 7d")
		}
	}
	if d <= 0 {
		return 0, errors.New("want a positive duration")
	}
	return d, nil
}

func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want an RFC 3339 time (2026-12-01T08:00:00Z) or a date (2026-12-01)")
}
