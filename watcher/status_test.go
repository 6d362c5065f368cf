package watcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/matcher"
)

func TestParseRetryAfter(t *testing.T) {
	now := utc("2026-01-01T00:00:00Z")
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"huge seconds", "99999999999999", maxRetryAfter},
		{"date", now.Add(90 * time.Minute).Format(http.TimeFormat), 90 * time.Minute},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	const ceiling = 6 * time.Hour
	for failures := 1; failures <= 40; failures++ {
		want := ceiling
		if failures < 20 && backoffBase<<(failures-1) < ceiling {
			want = backoffBase << (failures - 1)
		}
		for range 20 {
			if got := backoff(errors.New("x"), failures, ceiling); got < want/2 || got > want {
				t.Fatalf("failure %d: backoff %s, want within [%s, %s]", failures, got, want/2, want)
			}
		}
	}
	retryAfter := []struct{ ra, want time.Duration }{
		{2 * time.Minute, 2 * time.Minute},
		{time.Second, minRetryAfter},
		{48 * time.Hour, maxRetryAfter},
	}
	for _, tt := range retryAfter {
		err := fmt.Errorf("fetch: %w", &HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: tt.ra})
		if got := backoff(err, 7, ceiling); got != tt.want {
			t.Errorf("Retry-After %s: backoff %s, want %s", tt.ra, got, tt.want)
		}
	}
}

// statusServer answers with status (and header) while it is non-zero, else with the feed.
type statusServer struct {
	URL      string
	mu       sync.Mutex
	status   int
	header   http.Header
	body     string
	requests []string // paths
}

// newStatusServer starts a statusServer on a loopback port.
func newStatusServer(t *testing.T, body string) *statusServer {
	t.Helper()
	s := &statusServer{body: body}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// newBubbleStatusServer starts a statusServer for f inside a synctest bubble, over in-memory
// connections: a goroutine blocked on a socket would keep the bubble's clock from advancing.
func newBubbleStatusServer(t *testing.T, f *fetcher, body string) *statusServer {
	t.Helper()
	s := &statusServer{body: body, URL: "http://feed.test"}
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: s}
	go func() { _ = srv.Serve(l) }()
	for _, c := range []*http.Client{f.guarded, f.open} {
		c.Transport.(*http.Transport).DialContext = l.dial
	}
	t.Cleanup(func() {
		_ = srv.Close()
		f.close()
	})
	return s
}

// pipeListener is a net.Listener whose connections are net.Pipe ends made by dial.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *statusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	{
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.URL.Path)
		for k, v := range s.header {
			w.Header()[k] = v
		}
		if s.status != 0 {
			w.WriteHeader(s.status)
			return
		}
		_, _ = w.Write([]byte(s.body))
	}
}

func (s *statusServer) set(status int, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.header = status, header
}

func (s *statusServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// TestPollBackoffSchedule polls a failing feed at every 5-minute slot for a day of fake time:
// a job before the feed's next allowed poll is acknowledged without a request, the pauses double
// up to the ceiling, and the feed resumes by itself when the server recovers.
func TestPollBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		state := newMemState()
		const ceiling = time.Hour
		w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", "http://feed.test/rss.xml", "@every 5m")},
			Rules: []matcher.Rule{kurskRule}, State: state, BackoffCeiling: ceiling}, zap.NewNop())
		srv := newBubbleStatusServer(t, w.fetcher, rss("World", rssItem{GUID: "a", Title: "Kursk"}))
		srv.set(http.StatusInternalServerError, nil)

		start := time.Now().Truncate(5 * time.Minute).Add(5 * time.Minute)
		var pauses []time.Duration
		for k := range 24 * 12 {
			s := start.Add(time.Duration(k) * 5 * time.Minute)
			time.Sleep(time.Until(s)) // fake time: the bubble's clock jumps to the slot
			before, requests := state.state(t, "world"), srv.count()
			if err := w.Poll(t.Context(), "world", s); err != nil {
				t.Fatal(err)
			}
			fetched := srv.count() > requests
			if want := !s.Before(before.NextPoll); fetched != want {
				t.Fatalf("slot %s with next poll %s: fetched %v, want %v", s, before.NextPoll, fetched, want)
			}
			if fetched {
				after := state.state(t, "world")
				pauses = append(pauses, after.NextPoll.Sub(after.LastFailure))
				if after.LastErrorClass != ClassHTTPServer {
					t.Fatalf("error class %q, want %q", after.LastErrorClass, ClassHTTPServer)
				}
			}
		}
		for i, p := range pauses {
			want := min(backoffBase<<min(i, 20), ceiling)
			if p < want/2 || p > want {
				t.Errorf("pause after failure %d: %s, want within [%s, %s]", i+1, p, want/2, want)
			}
		}
		if n := len(pauses); n < 20 || n > 60 {
			t.Errorf("got %d requests in a day, want a few an hour once at the ceiling", n)
		}

		srv.set(0, nil)
		next := state.state(t, "world").NextPoll
		time.Sleep(time.Until(next))
		if err := w.Poll(t.Context(), "world", time.Now()); err != nil {
			t.Fatal(err)
		}
		if st := state.state(t, "world"); st.ConsecutiveFailures != 0 || !st.NextPoll.IsZero() || st.LastErrorClass != "" {
			t.Errorf("after recovery: %+v, want no failures and no pause", st)
		}
	})
}

func TestPollRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func(now time.Time) string
		want       time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, func(time.Time) string { return "300" }, 5 * time.Minute},
		{"503 date", http.StatusServiceUnavailable, func(now time.Time) string { return now.Add(2 * time.Hour).Format(http.TimeFormat) }, 2 * time.Hour},
		{"429 too short", http.StatusTooManyRequests, func(time.Time) string { return "1" }, minRetryAfter},
		{"503 too long", http.StatusServiceUnavailable, func(time.Time) string { return "604800" }, maxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				state := newMemState()
				w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", "http://feed.test/rss.xml", "@every 5m")}, State: state}, zap.NewNop())
				srv := newBubbleStatusServer(t, w.fetcher, "")
				srv.set(tt.status, http.Header{"Retry-After": {tt.retryAfter(time.Now())}})
				if err := w.Poll(t.Context(), "world", time.Now()); err != nil {
					t.Fatal(err)
				}
				st := state.state(t, "world")
				if got := time.Until(st.NextPoll); got != tt.want {
					t.Errorf("next poll in %s, want %s", got, tt.want)
				}
				if want := ClassifyError(&HTTPError{StatusCode: tt.status}); st.LastErrorClass != want {
					t.Errorf("error class %q, want %q", st.LastErrorClass, want)
				}
			})
		})
	}
}

func TestPollGone(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	srv := newStatusServer(t, "")
	srv.set(http.StatusGone, nil)
	state := newMemState()
	w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", srv.URL+"/rss.xml", "@every 5m")}, State: state}, zap.New(core))
	timeTravel(w, 400*24*time.Hour)
	for n := 1; n <= 3; n++ {
		if err := w.Poll(t.Context(), "world", time.Now().Add(time.Duration(n)*30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	st := state.state(t, "world")
	if st.Gone != srv.URL+"/rss.xml" || st.LastErrorClass != ClassGone || srv.count() != 1 {
		t.Errorf("state %+v after %d requests, want gone after one request", st, srv.count())
	}
	if got := logs.FilterMessageSnippet("feed gone").FilterLevelExact(zapcore.WarnLevel).Len(); got != 1 {
		t.Errorf("got %d gone warnings, want 1", got)
	}

	// A new URL in the configuration polls again.
	f := testFeed("world", srv.URL+"/new.xml", "@every 5m")
	if err := w.Update([]Feed{f}, nil, compile(t)); err != nil {
		t.Fatal(err)
	}
	srv.set(0, nil)
	srv.mu.Lock()
	srv.body = rss("World")
	srv.mu.Unlock()
	if err := w.Poll(t.Context(), "world", time.Now().Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if st := state.state(t, "world"); st.Gone != "" || st.ConsecutiveFailures != 0 || srv.count() != 2 {
		t.Errorf("after a new URL: %+v, want polled again", st)
	}
}

func TestPollPermanentRedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			var mu sync.Mutex
			var paths []string
			var auth bool // the last request carried credentials
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path)
				auth = r.Header.Get("Authorization") != ""
				mu.Unlock()
				switch r.URL.Path {
				case "/old":
					http.Redirect(w, r, "/new", status)
				case "/temp":
					http.Redirect(w, r, "/old", http.StatusFound)
				default:
					_, _ = w.Write([]byte(rss("World", rssItem{GUID: "a", Title: "Kursk"})))
				}
			}))
			t.Cleanup(srv.Close)
			state := newMemState()
			feedURL := strings.Replace(srv.URL, "http://", "http://reader:s3cret@", 1) + "/old"
			w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", feedURL, "@every 5m")}, Rules: []matcher.Rule{kurskRule}, State: state}, zap.New(core))
			for n := 1; n <= 3; n++ {
				if err := w.Poll(t.Context(), "world", slot(n)); err != nil {
					t.Fatal(err)
				}
				st := state.state(t, "world")
				switch n {
				case 1:
					if st.MoveCandidate != srv.URL+"/new" || st.MovedTo != "" {
						t.Errorf("after one redirect: %+v, want a candidate, not moved", st)
					}
				default:
					if st.MovedTo != srv.URL+"/new" || st.MoveCandidate != "" || st.MovedFrom != srv.URL+"/old" {
						t.Errorf("after poll %d: %+v, want moved to /new", n, st)
					}
				}
			}
			mu.Lock()
			got := strings.Join(paths, " ")
			mu.Unlock()
			if want := "/old /new /old /new /new"; got != want {
				t.Errorf("requested %s, want %s", got, want)
			}
			mu.Lock()
			if !auth {
				t.Errorf("the poll of the new URL on the same host carried no credentials, want the configured URL's")
			}
			mu.Unlock()
			if n := logs.FilterMessageSnippet("moved permanently").Len(); n != 1 {
				t.Errorf("got %d move lines, want 1", n)
			}
			for _, e := range logs.All() {
				if line := e.Message + fmt.Sprint(e.ContextMap()); strings.Contains(line, "s3cret") {
					t.Errorf("log line leaks the URL's userinfo: %s", line)
				}
			}
		})
	}
	t.Run("temporary first", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/temp":
				http.Redirect(w, r, "/old", http.StatusFound)
			case "/old":
				http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			default:
				_, _ = w.Write([]byte(rss("World")))
			}
		}))
		t.Cleanup(srv.Close)
		f := newFetcher(nil, 0)
		defer f.close()
		res, err := f.fetch(t.Context(), srv.URL+"/temp", fetchOpts(), validators{})
		if err != nil || res.MovedTo != "" {
			t.Errorf("got MovedTo %q, %v, want none: the chain starts with a 302", res.MovedTo, err)
		}
	})
}
