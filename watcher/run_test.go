package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// runWatcher starts w.Run in a goroutine and returns a function that stops it and returns its
// result.
func runWatcher(t *testing.T, w *Watcher) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() { ch <- w.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-ch:
			return err
		case <-time.After(time.Minute):
			t.Fatal("Run did not return within a minute of its context's end")
			return nil
		}
	}, ch
}

// The bubble's clock starts at 2000-01-01T00:00:00Z.
func TestRunEnqueuesSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue(false)
		w := testWatcher(t, Config{Jobs: q, Feeds: []Feed{
			testFeed("a", "http://example.org/a", "@every 1m"), // offset 16s
			testFeed("b", "http://example.org/b", "*/2 * * * *"),
			testFeed("c", "http://example.org/c", "*/2 * * * *"),
			testFeed("d", "http://example.org/d", "@hourly"),
		}}, nil)
		stop, _ := runWatcher(t, w)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := []string{
			// at start, each feed's latest slot
			"a@1999-12-31T23:59:16Z", "b@2000-01-01T00:00:00Z", "c@2000-01-01T00:00:00Z", "d@2000-01-01T00:00:00Z",
			// then every tick
			"a@2000-01-01T00:00:16Z", "a@2000-01-01T00:01:16Z",
			"b@2000-01-01T00:02:00Z", "c@2000-01-01T00:02:00Z",
			"a@2000-01-01T00:02:16Z", "a@2000-01-01T00:03:16Z",
			"b@2000-01-01T00:04:00Z", "c@2000-01-01T00:04:00Z",
			"a@2000-01-01T00:04:16Z",
		}
		if got := q.jobList(); !slices.Equal(got, want) {
			t.Errorf("enqueued\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestSchedulerOneEntryPerGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var feeds []Feed
		offsets := map[time.Duration][]string{}
		for i := range 100 {
			id := fmt.Sprintf("f%d", i)
			feeds = append(feeds, testFeed(id, "http://example.org/"+id, "@every 1m"))
			offsets[SlotOffset(id, time.Minute)] = append(offsets[SlotOffset(id, time.Minute)], id)
		}
		feeds = append(feeds, testFeed("x", "http://example.org/x", "*/5 * * * *"), testFeed("y", "http://example.org/y", "*/5  * * * *"))
		q := newMemQueue(false)
		w := testWatcher(t, Config{Jobs: q, Feeds: feeds}, nil)

		p := w.plan.Load()
		if got, want := len(p.groups), len(offsets)+1; got != want {
			t.Errorf("got %d groups, want %d: one per distinct (schedule, offset)", got, want)
		}
		for _, ids := range offsets {
			if g := p.feeds[ids[0]].group; p.groups[g.key] != g || !slices.Equal(g.feeds, ids) {
				t.Errorf("group %q has feeds %v, want %v", g.key, g.feeds, ids)
			}
		}

		s := newScheduler(w)
		s.cron.Start()
		s.apply(t.Context(), p)
		if got, want := len(s.cron.Entries()), len(offsets)+1; got != want {
			t.Errorf("got %d cron entries, want %d", got, want)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		<-s.cron.Stop().Done()

		count := map[string]int{}
		for _, j := range q.jobList() {
			id, _, _ := strings.Cut(j, "@")
			count[id]++
		}
		for _, f := range feeds {
			if f.ID != "x" && f.ID != "y" && count[f.ID] != 2 {
				t.Errorf("feed %s enqueued %d times, want 2 (start and one tick)", f.ID, count[f.ID])
			}
		}
		if count["x"] != 1 || count["y"] != 1 {
			t.Errorf("x and y enqueued %d and %d times, want once each at start", count["x"], count["y"])
		}
	})
}

func TestRunUpdateWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue(false)
		a := testFeed("a", "http://example.org/a", "@every 1m")
		e := testFeed("e", "http://example.org/e", "@every 2m")
		w := testWatcher(t, Config{Jobs: q, Feeds: []Feed{a}, Rules: []matcher.Rule{kurskRule}}, nil)
		stop, _ := runWatcher(t, w)
		ix := compile(t, kurskRule)

		time.Sleep(90 * time.Second) // 00:01:30
		if err := w.Update([]Feed{a, {ID: "bad"}}, []matcher.Rule{kurskRule}, ix); err == nil {
			t.Fatal("Update with an invalid feed: got nil error, want one")
		}
		if err := w.Update([]Feed{a, e}, []matcher.Rule{kurskRule}, ix); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		eOff := SlotOffset("e", 2*time.Minute) // a slot of e is 2k minutes + eOff
		firstE := everySchedule{Every: 2 * time.Minute, Offset: eOff}.Prev(time.Now())
		if got := q.jobList(); !slices.Contains(got, jobKey{"e", firstE}.String()) {
			t.Errorf("after Update enqueued %v, want e's latest slot %s at once", got, firstE)
		}

		time.Sleep(210 * time.Second) // 00:05:00
		if err := w.Update([]Feed{e}, nil, compile(t)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		removedAt := time.Now()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}

		var aSlots, eSlots []time.Time
		for _, j := range q.enqueued {
			switch j.feedID {
			case "a":
				aSlots = append(aSlots, j.slot)
			case "e":
				eSlots = append(eSlots, j.slot)
			}
		}
		wantA := []time.Time{utc("1999-12-31T23:59:16Z"), utc("2000-01-01T00:00:16Z"), utc("2000-01-01T00:01:16Z"),
			utc("2000-01-01T00:02:16Z"), utc("2000-01-01T00:03:16Z"), utc("2000-01-01T00:04:16Z")}
		if !slices.EqualFunc(aSlots, wantA, time.Time.Equal) {
			t.Errorf("a enqueued for %v, want %v and none after its removal at %s", aSlots, wantA, removedAt)
		}
		var wantE []time.Time
		for s := firstE; !s.After(time.Now()); s = s.Add(2 * time.Minute) {
			wantE = append(wantE, s)
		}
		if !slices.EqualFunc(eSlots, wantE, time.Time.Equal) {
			t.Errorf("e enqueued for %v, want %v", eSlots, wantE)
		}
	})
}

// blockingState is a StateStore whose Load blocks: until release is closed, or until its
// context is done when waitCtx is set.
type blockingState struct {
	loaded  chan context.Context
	release chan struct{}
	waitCtx bool
}

func (b *blockingState) Load(ctx context.Context, feedID string) ([]byte, uint64, error) {
	b.loaded <- ctx
	if b.waitCtx {
		<-ctx.Done()
		return nil, 0, context.Cause(ctx)
	}
	<-b.release
	return nil, 0, errors.New("released")
}

func (b *blockingState) Save(context.Context, string, []byte, uint64) (uint64, error) {
	return 0, errors.New("not used")
}

func TestRunShutdownWaitsForPolls(t *testing.T) {
	const timeout = 10 * time.Second
	synctest.Test(t, func(t *testing.T) {
		bs := &blockingState{loaded: make(chan context.Context, 1), release: make(chan struct{})}
		q := newMemQueue(true)
		w := testWatcher(t, Config{Jobs: q, State: bs, ShutdownTimeout: timeout,
			Feeds: []Feed{testFeed("a", "http://example.org/a", "@every 1h")}}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		pollCtx := <-bs.loaded // the start-up poll is in flight

		cancel()
		start := time.Now()
		time.Sleep(timeout / 2)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Run returned %v while a poll was in flight within the shutdown timeout", err)
		default:
		}
		if err := pollCtx.Err(); err != nil {
			t.Fatalf("the poll's context ended (%v) before the shutdown timeout", err)
		}
		close(bs.release)
		if err := <-done; err != nil {
			t.Errorf("Run: %v, want nil", err)
		}
		if got := time.Since(start); got != timeout/2 {
			t.Errorf("Run returned %s after its context ended, want %s, when the poll finished", got, timeout/2)
		}
		if err := w.Run(t.Context()); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run: got %v, want ErrRunning", err)
		}
	})
}

func TestRunShutdownAbandonsPolls(t *testing.T) {
	const timeout = 10 * time.Second
	synctest.Test(t, func(t *testing.T) {
		bs := &blockingState{loaded: make(chan context.Context, 1), waitCtx: true}
		q := newMemQueue(true)
		w := testWatcher(t, Config{Jobs: q, State: bs, ShutdownTimeout: timeout,
			Feeds: []Feed{testFeed("a", "http://example.org/a", "@every 1h")}}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		pollCtx := <-bs.loaded

		cancel()
		start := time.Now()
		if err := <-done; err != nil {
			t.Errorf("Run: %v, want nil", err)
		}
		if got := time.Since(start); got != timeout {
			t.Errorf("Run returned %s after its context ended, want the shutdown timeout %s", got, timeout)
		}
		if cause := context.Cause(pollCtx); !errors.Is(cause, errShutdownTimeout) {
			t.Errorf("poll cancelled with %v, want errShutdownTimeout", cause)
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if len(q.handled) != 1 || !errors.Is(q.handled[0], errShutdownTimeout) {
			t.Errorf("handler results %v, want one error: the abandoned job is redelivered", q.handled)
		}
	})
}

// failingQueue is a JobQueue whose Consume fails at once.
type failingQueue struct{ *memQueue }

var errQueueGone = errors.New("queue gone")

func (*failingQueue) Consume(context.Context, int, func(context.Context, string, time.Time) error) error {
	return errQueueGone
}

func TestRunReturnsConsumeFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &failingQueue{newMemQueue(false)}
		w := testWatcher(t, Config{Jobs: q, Feeds: []Feed{testFeed("a", "http://example.org/a", "@every 1m")}}, nil)
		if err := w.Run(t.Context()); !errors.Is(err, errQueueGone) {
			t.Errorf("Run: got %v, want the queue's error", err)
		}
	})
}

func TestRunEndToEnd(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	fs := newFeedServer(t, rss("World",
		rssItem{GUID: "b", Title: "Fighting near Kursk"},
		rssItem{GUID: "a", Title: "Weather"}))
	pub := &memPublisher{batches: make(chan []event.Alert, 4)}
	state := newMemState()
	f := testFeed("world", fs.URL+"/rss.xml", "@every 1h")
	f.FirstPoll = FirstPoll{Mode: FirstPollAll}
	w := testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{kurskRule}, Publisher: pub, State: state,
		Jobs: newMemQueue(true), Workers: 2, UserAgent: "newswatch-e2e"}, nil)
	stop, _ := runWatcher(t, w)

	select {
	case batch := <-pub.batches:
		if got := alertKeys(batch); !slices.Equal(got, []string{"kursk:b"}) {
			t.Errorf("published %v, want [kursk:b]", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert within 10s of start")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := state.state(t, "world"); !slices.Equal(st.SeenIDs, seenOf("a", "b")) {
		t.Errorf("state seen %v, want [a b]", st.SeenIDs)
	}
	if got := fs.requests()[0].Get("User-Agent"); got != "newswatch-e2e" {
		t.Errorf("User-Agent %q, want the configured one", got)
	}
	fs.Close()
	goleak.VerifyNone(t, ignore)
}

func TestNewValidates(t *testing.T) {
	ok := testFeed("world", "https://example.org/rss", "@every 5m")
	with := func(fn func(f *Feed)) []Feed {
		f := ok
		fn(&f)
		return []Feed{f}
	}
	ix := compile(t, kurskRule)
	base := func() Config {
		return Config{Feeds: []Feed{ok}, Rules: []matcher.Rule{kurskRule}, Index: ix,
			Publisher: &memPublisher{}, State: newMemState(), Jobs: newMemQueue(false)}
	}
	tests := []struct {
		name   string
		modify func(c *Config)
		want   string // in the error; "" means valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"no publisher", func(c *Config) { c.Publisher = nil }, "publisher"},
		{"no state", func(c *Config) { c.State = nil }, "state store"},
		{"no jobs", func(c *Config) { c.Jobs = nil }, "job queue"},
		{"no index", func(c *Config) { c.Index = nil }, "index"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers"},
		{"negative shutdown timeout", func(c *Config) { c.ShutdownTimeout = -time.Second }, "shutdown timeout"},
		{"empty feed id", func(c *Config) { c.Feeds = with(func(f *Feed) { f.ID = "" }) }, "id is empty"},
		{"duplicate feed", func(c *Config) { c.Feeds = []Feed{ok, ok} }, `duplicate id "world"`},
		{"relative url", func(c *Config) { c.Feeds = with(func(f *Feed) { f.URL = "/rss" }) }, "url"},
		{"ftp url", func(c *Config) { c.Feeds = with(func(f *Feed) { f.URL = "ftp://example.org/rss" }) }, "url"},
		{"bad schedule", func(c *Config) { c.Feeds = with(func(f *Feed) { f.Schedule = "every day" }) }, "schedule"},
		{"zero timeout", func(c *Config) { c.Feeds = with(func(f *Feed) { f.Timeout = 0 }) }, "timeout"},
		{"zero max body", func(c *Config) { c.Feeds = with(func(f *Feed) { f.MaxBody = 0 }) }, "max body"},
		{"window without duration", func(c *Config) {
			c.Feeds = with(func(f *Feed) { f.FirstPoll = FirstPoll{Mode: FirstPollWindow} })
		}, "window"},
		{"unknown first poll", func(c *Config) { c.Feeds = with(func(f *Feed) { f.FirstPoll.Mode = "some" }) }, "first poll"},
		{"duplicate rule", func(c *Config) { c.Rules = []matcher.Rule{kurskRule, kurskRule} }, `duplicate id "kursk"`},
		{"rule without id", func(c *Config) { c.Rules = []matcher.Rule{{Query: "x"}} }, "rules[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.modify(&c)
			w, err := New(c, nil)
			if tt.want == "" {
				if err != nil || w == nil {
					t.Fatalf("New: %v, want a watcher", err)
				}
				if w.workers != DefaultWorkers || w.shutdownTimeout != DefaultShutdownTimeout || w.userAgent != DefaultUserAgent || w.loc != time.UTC {
					t.Errorf("defaults: got %d workers, %s, %q, %s", w.workers, w.shutdownTimeout, w.userAgent, w.loc)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestLastTickFollowsTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := testWatcher(t, Config{Feeds: []Feed{testFeed("a", "http://example.org/a", "@every 1m")}}, nil)
		if got := w.LastTick(); !got.IsZero() {
			t.Fatalf("LastTick before Run = %s, want zero", got)
		}
		stop, _ := runWatcher(t, w)
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if got, now := w.LastTick(), time.Now(); now.Sub(got) > heartbeat {
			t.Errorf("LastTick = %s at %s, want within %s", got, now, heartbeat)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		stopped := w.LastTick()
		time.Sleep(time.Minute)
		if got := w.LastTick(); !got.Equal(stopped) {
			t.Errorf("LastTick moved to %s after Run returned, want it to stay at %s", got, stopped)
		}
	})
}

func TestAutoScheduleSlots(t *testing.T) {
	// An auto feed has slots every AutoMin; whether a slot polls is the poll's decision.
	f := testFeed("a", "http://example.org/a", AutoSchedule)
	f.AutoMin = 2 * time.Minute
	w := testWatcher(t, Config{Feeds: []Feed{f}}, nil)
	fp := w.plan.Load().feeds["a"]
	if e, ok := fp.group.sched.(everySchedule); !ok || e.Every != 2*time.Minute {
		t.Errorf("auto feed schedule %#v, want every 2m", fp.group.sched)
	}
	f.AutoMin, f.AutoMax = time.Hour, time.Minute
	if _, err := New(Config{Feeds: []Feed{f}, Index: compile(t), Publisher: &memPublisher{}, State: newMemState(), Jobs: newMemQueue(false)}, nil); err == nil {
		t.Errorf("New with auto min above max: nil error, want one")
	}
}

// stuckQueue is a JobQueue whose Enqueue blocks until release is closed, as one does while its
// stream has no leader; it counts the calls.
type stuckQueue struct {
	release chan struct{}
	mu      sync.Mutex
	calls   []time.Time // the slots asked for
}

func (q *stuckQueue) Enqueue(ctx context.Context, _ string, slot time.Time) error {
	q.mu.Lock()
	q.calls = append(q.calls, slot)
	q.mu.Unlock()
	select {
	case <-q.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *stuckQueue) Consume(ctx context.Context, _ int, _ func(context.Context, string, time.Time) error) error {
	<-ctx.Done()
	return nil
}

func TestTicksDoNotPileUpWhileTheQueueIsStuck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &stuckQueue{release: make(chan struct{})}
		w := testWatcher(t, Config{Jobs: q, Feeds: []Feed{testFeed("a", "http://example.org/a", "@every 1s")}}, nil)
		stop, _ := runWatcher(t, w)
		time.Sleep(30 * time.Second) // thirty ticks while the queue does not answer
		synctest.Wait()
		q.mu.Lock()
		stuck := len(q.calls)
		q.mu.Unlock()
		// The start's enqueue of the previous slot, and one tick; every other tick is skipped.
		if stuck > 2 {
			t.Errorf("%d enqueues waiting on a stuck queue after 30 ticks, want at most 2", stuck)
		}
		close(q.release)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if len(q.calls) < stuck+2 {
			t.Errorf("%d enqueues in all, want ticks enqueueing again once the queue answers", len(q.calls))
		}
	})
}
