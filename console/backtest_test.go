package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/matcher"
)

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		since, from, to  string
		wantFrom, wantTo time.Time
		wantErr          string
	}{
		{name: "open"},
		{name: "days", since: "7d", wantFrom: now.Add(-7 * 24 * time.Hour)},
		{name: "duration", since: "90m", wantFrom: now.Add(-90 * time.Minute)},
		{name: "dates", from: "2026-12-01", to: "2026-12-02", wantFrom: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), wantTo: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{name: "RFC 3339", from: "2026-12-01T08:00:00+01:00", wantFrom: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)},
		{name: "since and to", since: "1d", to: "2026-12-03T11:00:00Z", wantFrom: now.Add(-24 * time.Hour), wantTo: time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)},
		{name: "since and from", since: "1d", from: "2026-12-01", wantErr: "both"},
		{name: "word", since: "yesterday", wantErr: "since yesterday"},
		{name: "negative", since: "-1h", wantErr: "positive"},
		{name: "zero days", since: "0d", wantErr: "positive"},
		{name: "bad from", from: "monday", wantErr: "from monday"},
		{name: "to before from", from: "2026-12-02", to: "2026-12-01", wantErr: "not after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, err := console.ParseWindow(tt.since, tt.from, tt.to, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !from.Equal(tt.wantFrom) || !to.Equal(tt.wantTo) {
				t.Errorf("got %v, %v, %v; want %v, %v", from, to, err, tt.wantFrom, tt.wantTo)
			}
		})
	}
}

// recordingBacktester answers with err, or with one match, and keeps the query it was asked.
type recordingBacktester struct {
	err error
	got console.BacktestQuery
}

func (b *recordingBacktester) Backtest(_ context.Context, q console.BacktestQuery) (console.BacktestResult, error) {
	b.got = q
	return console.BacktestResult{Summary: console.BacktestSummary{ItemsScanned: 3}}, b.err
}

func TestBacktestAnswers(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	qerr := &matcher.QueryError{Rule: 0, RuleID: "query", Line: 1, Column: 10, Offset: 9, Msg: "missing )"}
	tests := []struct {
		name, body string
		err        error
		want       int
		wantBody   string
		wantQuery  func(console.BacktestQuery) bool
	}{
		{name: "rules", body: `{"rules": ["kursk"], "since": "2d", "feed": "world"}`, want: http.StatusOK, wantBody: `"matches":[]`,
			wantQuery: func(q console.BacktestQuery) bool {
				return q.Limit == console.DefaultLimit && q.Archive.From.Equal(now.Add(-48*time.Hour)) && len(q.Archive.Feeds) == 1 && q.Archive.Feeds[0] == "world"
			}},
		{name: "feeds as a list", body: `{"all": true, "feed": ["a", "b"], "limit": 7}`, want: http.StatusOK, wantBody: `"items_scanned":3`,
			wantQuery: func(q console.BacktestQuery) bool { return q.All && q.Limit == 7 && len(q.Archive.Feeds) == 2 }},
		{name: "query error", body: `{"query": "kursk OR (x"}`, err: fmt.Errorf("compile: %w", qerr), want: http.StatusBadRequest, wantBody: `"column":10`},
		{name: "unknown rule", body: `{"rules": ["x"]}`, err: fmt.Errorf("rule x: %w", console.ErrUnknownRule), want: http.StatusBadRequest, wantBody: "no such rule"},
		{name: "archive off", body: `{"all": true}`, err: console.ErrNoArchive, want: http.StatusConflict, wantBody: "disabled"},
		{name: "nats down", body: `{"all": true}`, err: errors.New("nats: timeout"), want: http.StatusServiceUnavailable, wantBody: "timeout"},
		{name: "nothing asked", body: `{}`, want: http.StatusBadRequest, wantBody: "one of"},
		{name: "not JSON", body: `kursk`, want: http.StatusBadRequest, wantBody: "body"},
		{name: "bad limit", body: `{"all": true, "limit": -1}`, want: http.StatusBadRequest, wantBody: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bt := &recordingBacktester{err: tt.err}
			c, err := console.New(console.Config{Feeds: fixedFeeds{}, States: console.NewSnapshot(nil), Poller: pollErr{}, Alerts: noAlerts{},
				Backtester: bt, Now: func() time.Time { return now }}, nil)
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			c.Register(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/backtest", strings.NewReader(tt.body)))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("POST %s: got %d %q, want %d with %q", tt.body, rec.Code, rec.Body, tt.want, tt.wantBody)
			}
			if tt.wantQuery != nil && !tt.wantQuery(bt.got) {
				t.Errorf("POST %s: the backtester was asked %+v", tt.body, bt.got)
			}
		})
	}
}

func TestBacktestNotServedWithoutBacktester(t *testing.T) {
	c, err := console.New(console.Config{Feeds: fixedFeeds{}, States: console.NewSnapshot(nil), Poller: pollErr{}, Alerts: noAlerts{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/backtest", strings.NewReader(`{"all": true}`)))
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /api/v1/backtest without a backtester: %d, want 404", rec.Code)
	}
}
