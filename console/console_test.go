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
	"github.com/newswatch/newswatch/watcher"
)

// fixedFeeds configures the feeds a, b and c.
type fixedFeeds struct{}

func (fixedFeeds) FeedIDs() []string { return []string{"a", "b", "c"} }

func (fixedFeeds) Status(id string, s watcher.FeedStatus, _ time.Time) (watcher.FeedStatus, bool) {
	if id != "a" && id != "b" && id != "c" {
		return watcher.FeedStatus{}, false
	}
	s.ID = id
	return s, true
}

type pollErr struct{ err error }

func (p pollErr) PollNow(context.Context, string) error { return p.err }

func TestConsoleAnswers(t *testing.T) {
	snap := console.NewSnapshot(nil)
	tests := []struct {
		name, method, path string
		poll               error
		loaded             bool
		want               int
		body               string
	}{
		{"list while loading", http.MethodGet, "/api/v1/feeds", nil, false, http.StatusServiceUnavailable, "loading"},
		{"one while loading", http.MethodGet, "/api/v1/feeds/a", nil, false, http.StatusServiceUnavailable, "loading"},
		{"list", http.MethodGet, "/api/v1/feeds?limit=2", nil, true, http.StatusOK, `"next":"b"`},
		{"last page", http.MethodGet, "/api/v1/feeds?page_token=b", nil, true, http.StatusOK, `{"feeds":[{"id":"c"`},
		{"unknown", http.MethodGet, "/api/v1/feeds/z", nil, true, http.StatusNotFound, "no such feed"},
		{"poll", http.MethodPost, "/api/v1/feeds/a/poll", nil, true, http.StatusAccepted, `"queued"`},
		{"poll unknown", http.MethodPost, "/api/v1/feeds/z/poll", fmt.Errorf("poll z now: %w", watcher.ErrUnknownFeed), true, http.StatusNotFound, "no such feed"},
		{"poll gone", http.MethodPost, "/api/v1/feeds/a/poll", fmt.Errorf("poll a now: %w", watcher.ErrFeedGone), true, http.StatusConflict, "410"},
		{"poll failing", http.MethodPost, "/api/v1/feeds/a/poll", errors.New("nats down"), true, http.StatusServiceUnavailable, "nats down"},
		{"poll by GET", http.MethodGet, "/api/v1/feeds/a/poll", nil, true, http.StatusMethodNotAllowed, ""},
		{"alerts, bad limit", http.MethodGet, "/api/v1/alerts?limit=x", nil, true, http.StatusBadRequest, "limit=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.loaded {
				snap.Ready()
			}
			c, err := console.New(console.Config{Feeds: fixedFeeds{}, States: snap, Poller: pollErr{tt.poll}, Alerts: noAlerts{}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			c.Register(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s %s: got %d %q, want %d with %q", tt.method, tt.path, rec.Code, rec.Body, tt.want, tt.body)
			}
		})
	}
	if _, err := console.New(console.Config{}, nil); err == nil {
		t.Error("New without its parts: no error")
	}
}
