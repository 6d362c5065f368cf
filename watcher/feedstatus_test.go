package watcher

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestDecodeStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	url := "https://news.example/feed.xml"
	tests := []struct {
		name        string
		state       feedState
		none        bool // no state stored
		wantResult  string
		wantProblem string
		wantNext    time.Time
		wantBackoff time.Time
	}{
		{name: "never polled", none: true, wantNext: now.Add(30 * time.Second)},
		{name: "healthy", state: feedState{LastSuccess: now.Add(-time.Minute), LastNewItem: now.Add(-time.Hour)},
			wantResult: "ok", wantNext: now.Add(30 * time.Second)},
		{name: "recovered keeps its last error", state: feedState{LastSuccess: now.Add(-time.Minute), LastFailure: now.Add(-time.Hour), LastError: "boom", LastErrorClass: ClassTimeout},
			wantResult: "ok", wantNext: now.Add(30 * time.Second)},
		{name: "failing, backoff over", state: feedState{LastFailure: now.Add(-time.Minute), ConsecutiveFailures: 2, LastErrorClass: ClassHTTPServer, NextPoll: now.Add(-time.Second)},
			wantResult: "error", wantProblem: "failing", wantNext: now.Add(30 * time.Second)},
		{name: "backing off", state: feedState{LastFailure: now.Add(-time.Minute), ConsecutiveFailures: 1, LastErrorClass: ClassRateLimited, NextPoll: now.Add(10*time.Minute + 10*time.Second)},
			wantResult: "error", wantProblem: "backing_off", wantNext: now.Add(11*time.Minute - 30*time.Second), wantBackoff: now.Add(10*time.Minute + 10*time.Second)},
		{name: "gone", state: feedState{LastFailure: now.Add(-time.Minute), ConsecutiveFailures: 1, LastErrorClass: ClassGone, Gone: url},
			wantResult: "error", wantProblem: "gone"},
		{name: "gone for another URL", state: feedState{LastSuccess: now.Add(-time.Minute), Gone: "https://old.example/"},
			wantResult: "ok", wantNext: now.Add(30 * time.Second)},
		{name: "stale", state: feedState{LastSuccess: now.Add(-time.Minute), StaleSince: now.Add(-48 * time.Hour)},
			wantResult: "ok", wantProblem: "stale", wantNext: now.Add(30 * time.Second)},
	}
	w := testWatcher(t, Config{}, nil)
	if err := w.Update([]Feed{testFeed("f", url, "* * * * *")}, nil, compile(t)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data []byte
			if !tt.none {
				var err error
				if data, err = tt.state.encode(); err != nil {
					t.Fatal(err)
				}
			}
			decoded, err := DecodeStatus(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := decoded.Pack().Unpack(); !reflect.DeepEqual(got, decoded) {
				t.Errorf("Pack().Unpack() = %+v, want %+v", got, decoded)
			}
			s, ok := w.Status("f", decoded, now)
			if !ok {
				t.Fatal("Status: not ok for a configured feed")
			}
			if s.Polled == tt.none || s.LastResult != tt.wantResult || s.Problem != tt.wantProblem || !s.NextPoll.Equal(tt.wantNext) || !s.BackoffUntil.Equal(tt.wantBackoff) {
				t.Errorf("got polled %v, result %q, problem %q, next poll %s, backoff until %s; want %v, %q, %q, %s, %s",
					s.Polled, s.LastResult, s.Problem, s.NextPoll, s.BackoffUntil, !tt.none, tt.wantResult, tt.wantProblem, tt.wantNext, tt.wantBackoff)
			}
			if s.Problem != "" && !decoded.MayBeProblem(now) {
				t.Errorf("MayBeProblem is false for a %s feed", s.Problem)
			}
			if s.URL != url || s.ID != "f" {
				t.Errorf("id %q url %q, want f and %s", s.ID, s.URL, url)
			}
		})
	}
	if _, ok := w.Status("nope", FeedStatus{}, now); ok {
		t.Error("Status of a feed not configured: ok, want false")
	}
	if _, err := DecodeStatus([]byte("{")); err == nil {
		t.Error("DecodeStatus of a broken document: no error")
	}
}

func TestPollNow(t *testing.T) {
	url := "https://news.example/feed.xml"
	now := time.Now()
	state, jobs := newMemState(), newMemQueue(false)
	w := testWatcher(t, Config{State: state, Jobs: jobs}, nil)
	if err := w.Update([]Feed{testFeed("f", url, "* * * * *"), testFeed("g", "https://other.example/feed.xml", "* * * * *")}, nil, compile(t)); err != nil {
		t.Fatal(err)
	}
	state.put(t, "f", feedState{LastSlot: now.Add(-time.Minute).Truncate(time.Minute), ConsecutiveFailures: 3, LastErrorClass: ClassRateLimited, NextPoll: now.Add(time.Hour)})
	state.put(t, "g", feedState{LastErrorClass: ClassGone, Gone: "https://other.example/feed.xml"})
	if err := w.PollNow(t.Context(), "f"); err != nil {
		t.Fatalf("PollNow(f): %v", err)
	}
	st := state.state(t, "f")
	if !st.NextPoll.IsZero() || st.ConsecutiveFailures != 3 {
		t.Errorf("after PollNow: next_poll %s, failures %d; want cleared, 3 kept", st.NextPoll, st.ConsecutiveFailures)
	}
	jobs.mu.Lock()
	enqueued := slices.Clone(jobs.enqueued)
	jobs.mu.Unlock()
	if len(enqueued) != 1 || enqueued[0].feedID != "f" || !enqueued[0].slot.After(st.LastSlot) || notDue(st, enqueued[0].slot) {
		t.Fatalf("enqueued %v, want one job for f after its last slot %s, due", enqueued, st.LastSlot)
	}
	if err := w.PollNow(t.Context(), "g"); !errors.Is(err, ErrFeedGone) {
		t.Errorf("PollNow(g), gone: %v, want ErrFeedGone", err)
	}
	if err := w.PollNow(t.Context(), "nope"); !errors.Is(err, ErrUnknownFeed) {
		t.Errorf("PollNow(nope): %v, want ErrUnknownFeed", err)
	}
}
