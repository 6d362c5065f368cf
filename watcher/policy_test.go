package watcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/matcher"
)

// memHealth records the health events reported to it.
type memHealth struct {
	mu     sync.Mutex
	events []FeedHealth
}

func (h *memHealth) ReportHealth(_ context.Context, fh FeedHealth) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fh)
	return nil
}

func (h *memHealth) statuses() []HealthStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []HealthStatus
	for _, e := range h.events {
		out = append(out, e.Status)
	}
	return out
}

func (h *memHealth) last() FeedHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[len(h.events)-1]
}

// policySetup is a watcher polling one feed "world" with a health reporter and metrics.
type policySetup struct {
	*pollSetup
	health *memHealth
	reg    *prometheus.Registry
}

func newPolicySetup(t *testing.T, body string, configure func(*Feed)) *policySetup {
	t.Helper()
	ps := &policySetup{
		pollSetup: &pollSetup{fs: newFeedServer(t, body), state: newMemState(), pub: &memPublisher{}},
		health:    &memHealth{},
		reg:       prometheus.NewRegistry(),
	}
	f := testFeed("world", ps.fs.URL+"/rss.xml", "@every 5m")
	if configure != nil {
		configure(&f)
	}
	ps.w = testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{kurskRule}, Publisher: ps.pub, State: ps.state,
		Health: ps.health, Registerer: ps.reg}, nil)
	return ps
}

func (ps *policySetup) serve(items ...rssItem) {
	ps.fs.set(func(fs *feedServer) { fs.body = rss("World", items...) })
}

func TestPollItemIdentities(t *testing.T) {
	// Each step serves a document and names the alerts it must add, by item key.
	steps := []struct {
		name  string
		items []rssItem
		want  []string
	}{
		{"first poll alerts all", []rssItem{
			{GUID: "a", Link: "https://example.org/a", Title: "Kursk a"},
			{GUID: "b", Link: "https://example.org/b", Title: "Kursk b"},
			{Link: "http://example.org/c?utm_source=rss", Title: "Kursk c"},
		}, []string{"a", "b", "https://example.org/c"}},
		{"reordered", []rssItem{
			{Link: "http://example.org/c?utm_source=rss", Title: "Kursk c"},
			{GUID: "b", Link: "https://example.org/b", Title: "Kursk b"},
			{GUID: "a", Link: "https://example.org/a", Title: "Kursk a"},
		}, nil},
		{"edited: same GUID, new title and date", []rssItem{
			{GUID: "a", Link: "https://example.org/a", Title: "Kursk a, updated", Published: utc("2026-01-02T00:00:00Z")},
			{GUID: "b", Link: "https://example.org/b", Title: "Kursk b"},
		}, nil},
		{"GUID changed, link kept", []rssItem{
			{GUID: "a-v2", Link: "https://example.org/a", Title: "Kursk a"},
			{GUID: "b", Link: "https://example.org/b", Title: "Kursk b"},
		}, nil},
		{"link differs by scheme, fragment and tracking parameters", []rssItem{
			{Link: "https://EXAMPLE.org/c?fbclid=x#top", Title: "Kursk c"},
		}, nil},
		{"re-sent after it left the feed", []rssItem{
			{GUID: "b", Link: "https://example.org/b", Title: "Kursk b"},
			{Link: "http://example.org/c?utm_source=rss", Title: "Kursk c"},
		}, nil},
		{"every item shares one GUID: told apart by link", []rssItem{
			{GUID: "same", Link: "https://example.org/d", Title: "Kursk d"},
			{GUID: "same", Link: "https://example.org/e", Title: "Kursk e"},
			{GUID: "same", Link: "https://example.org/a", Title: "Kursk a"},
		}, []string{"https://example.org/d", "https://example.org/e"}},
		{"the same again: no storm", []rssItem{
			{GUID: "same", Link: "https://example.org/d", Title: "Kursk d"},
			{GUID: "same", Link: "https://example.org/e", Title: "Kursk e"},
			{GUID: "same", Link: "https://example.org/a", Title: "Kursk a"},
		}, nil},
		{"every item links the home page: told apart by GUID", []rssItem{
			{GUID: "f", Link: "https://example.org/", Title: "Kursk f"},
			{GUID: "g", Link: "https://example.org/", Title: "Kursk g"},
		}, []string{"f", "g"}},
		{"no GUID, no link: title and date", []rssItem{
			{Title: "Kursk h", Published: utc("2026-01-03T00:00:00Z")},
			{Title: "Kursk h", Published: utc("2026-01-03T00:00:00Z")},
		}, []string{hashKey("Kursk h", "Sat, 03 Jan 2026 00:00:00 +0000", utc("2026-01-03T00:00:00Z"))}},
	}
	ps := newPolicySetup(t, rss("World"), func(f *Feed) { f.FirstPoll = FirstPoll{Mode: FirstPollAll} })
	var want []string
	for i, st := range steps {
		ps.serve(st.items...)
		ps.poll(t, i+1)
		for _, k := range st.want {
			want = append(want, "kursk:"+k)
		}
		if got := alertKeys(ps.pub.published()); !slices.Equal(got, want) {
			t.Fatalf("after %q: alerts %q, want %q", st.name, got, want)
		}
	}
}

func TestPollSeenSetBounded(t *testing.T) {
	// A feed of 100 items that turns over 10 items a poll keeps at most three times its
	// identities, and never forgets an item still in it.
	ps := newPolicySetup(t, rss("World"), nil)
	var items []rssItem
	for n := range 100 {
		items = append([]rssItem{{GUID: fmt.Sprint("g", n), Link: fmt.Sprint("https://example.org/", n), Title: "x"}}, items...)
	}
	for poll := 1; poll <= 30; poll++ {
		ps.serve(items...)
		ps.poll(t, poll)
		st := ps.state.state(t, "world")
		if len(st.SeenIDs) > max(3*2*len(items), minSeen) {
			t.Fatalf("poll %d: %d keys seen, want at most %d", poll, len(st.SeenIDs), 3*2*len(items))
		}
		seen := map[uint64]bool{}
		for _, h := range st.SeenIDs {
			seen[h] = true
		}
		for _, it := range items {
			if !seen[idHash(it.GUID)] || !seen[idHash(it.Link)] {
				t.Fatalf("poll %d: item %s still in the feed is not in the seen set", poll, it.GUID)
			}
		}
		for k := range 10 {
			n := 100 + (poll-1)*10 + k
			items = append([]rssItem{{GUID: fmt.Sprint("g", n), Link: fmt.Sprint("https://example.org/", n), Title: "x"}}, items[:len(items)-1]...)
		}
	}
	if got := len(ps.pub.published()); got != 0 {
		t.Errorf("got %d alerts, want none (no rule matches)", got)
	}
}

func TestPollFloodGuard(t *testing.T) {
	old := time.Now().Add(-48 * time.Hour)
	page := func(prefix string, n int, date time.Time) []rssItem {
		var out []rssItem
		for i := range n {
			out = append(out, rssItem{GUID: fmt.Sprint(prefix, i), Title: fmt.Sprint("Kursk ", i), Published: date.Add(-time.Duration(i) * time.Minute)})
		}
		return out
	}
	ps := newPolicySetup(t, rss("World", page("old-", 40, old)...), func(f *Feed) { f.FloodGuard = 20 })
	ps.poll(t, 1) // baseline

	// The feed changes the GUID of every item it has: old items, new keys.
	ps.serve(page("new-scheme-", 40, old)...)
	ps.poll(t, 2)
	if got := len(ps.pub.published()); got != 0 {
		t.Fatalf("got %d alerts, want none: the poll is a flood", got)
	}
	if got := ps.health.statuses(); !slices.Equal(got, []HealthStatus{HealthFlood}) {
		t.Fatalf("health events %v, want one flood", got)
	}
	if ev := ps.health.last(); ev.Items != 40 || ev.FeedID != "world" {
		t.Errorf("flood event %+v, want 40 items of world", ev)
	}
	// The flooded items are seen: serving them again alerts nothing; a real new item alerts.
	ps.serve(append([]rssItem{{GUID: "fresh", Title: "Kursk fresh", Published: time.Now()}}, page("new-scheme-", 40, old)...)...)
	ps.poll(t, 3)
	if got := alertKeys(ps.pub.published()); !slices.Equal(got, []string{"kursk:fresh"}) {
		t.Errorf("alerts %v, want only the new item", got)
	}

	// A burst of items published since the last poll is news, however large.
	ps.serve(page("burst-", 30, time.Now().Add(time.Hour))...)
	ps.poll(t, 4)
	if got := len(ps.pub.published()); got != 31 {
		t.Errorf("got %d alerts, want 31: a burst of new items is no flood", got)
	}
	if v := testutil.ToFloat64(ps.w.metrics.itemsFlooded); v != 40 {
		t.Errorf("newswatch_items_flood_guarded_total = %v, want 40", v)
	}
}

func TestPollFloodGuardOff(t *testing.T) {
	old := time.Now().Add(-48 * time.Hour)
	ps := newPolicySetup(t, rss("World", rssItem{GUID: "a", Title: "x", Published: old}), nil) // FloodGuard 0
	ps.poll(t, 1)
	var items []rssItem
	for i := range 50 {
		items = append(items, rssItem{GUID: fmt.Sprint("n", i), Title: "Kursk", Published: old})
	}
	ps.serve(items...)
	ps.poll(t, 2)
	if got := len(ps.pub.published()); got != 50 {
		t.Errorf("got %d alerts, want 50 with the flood guard off", got)
	}
}

func TestPollHealthEvents(t *testing.T) {
	ps := newPolicySetup(t, rss("World", rssItem{GUID: "a", Title: "x"}), nil)
	timeTravel(ps.w, 3*24*time.Hour)
	ps.poll(t, 1)
	ps.fs.set(func(fs *feedServer) { fs.status = 500 })
	s := slot(2)
	for range 3 {
		ps.poll(t, 0) // an old slot: acknowledged without work, nothing reported
		if err := ps.w.Poll(t.Context(), "world", s); err != nil {
			t.Fatal(err)
		}
		s = ps.state.state(t, "world").NextPoll
	}
	if got := ps.health.statuses(); !slices.Equal(got, []HealthStatus{HealthError}) {
		t.Fatalf("health events %v, want one error for a run of three failures", got)
	}
	ev := ps.health.last()
	if ev.FeedID != "world" || ev.ErrorClass != ClassHTTPServer || !strings.Contains(ev.Error, "500") || ev.Failures != 1 ||
		ev.Since.IsZero() || ev.NextPoll.IsZero() || ev.FeedURL != ps.fs.URL+"/rss.xml" {
		t.Errorf("error event %+v, want class http_server, 1 failure, the last success and the next poll", ev)
	}
	if v := testutil.ToFloat64(ps.w.metrics.fetchResults.WithLabelValues(string(ClassHTTPServer))); v != 3 {
		t.Errorf("fetch results http_server = %v, want 3", v)
	}
	if v := ps.w.metrics.backingOff(); v != 1 {
		t.Errorf("feeds backing off = %v, want 1", v)
	}

	ps.fs.set(func(fs *feedServer) { fs.status = 0 })
	if err := ps.w.Poll(t.Context(), "world", s); err != nil {
		t.Fatal(err)
	}
	if got := ps.health.statuses(); !slices.Equal(got, []HealthStatus{HealthError, HealthRecovered}) {
		t.Fatalf("health events %v, want error then recovered", got)
	}
	if ev := ps.health.last(); ev.Failures != 3 {
		t.Errorf("recovered event %+v, want 3 failures before it", ev)
	}
	if v := ps.w.metrics.backingOff(); v != 0 {
		t.Errorf("feeds backing off = %v, want 0", v)
	}

	// A feed that goes 410 reports it even in the middle of a run of failures.
	ps.fs.set(func(fs *feedServer) { fs.status = 503 })
	s = s.Add(time.Hour)
	if err := ps.w.Poll(t.Context(), "world", s); err != nil {
		t.Fatal(err)
	}
	ps.fs.set(func(fs *feedServer) { fs.status = 410 })
	if err := ps.w.Poll(t.Context(), "world", s.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ev := ps.health.last(); ev.Status != HealthError || ev.ErrorClass != ClassGone {
		t.Errorf("last event %+v, want the error of a gone feed", ev)
	}
}

func TestPollStale(t *testing.T) {
	now := time.Now()
	items := []rssItem{ // an item every hour: stale after 5 hours without one
		{GUID: "c", Title: "x", Published: now.Add(-10 * time.Hour)},
		{GUID: "b", Title: "x", Published: now.Add(-11 * time.Hour)},
		{GUID: "a", Title: "x", Published: now.Add(-12 * time.Hour)},
	}
	ps := newPolicySetup(t, rss("World", items...), nil)
	ps.poll(t, 1)
	st := ps.state.state(t, "world")
	if st.ItemGap != time.Hour || st.LastNewItem.IsZero() || !st.StaleSince.IsZero() {
		t.Fatalf("state after the first poll: gap %s, last new item %s, stale since %s; want 1h, set, zero", st.ItemGap, st.LastNewItem, st.StaleSince)
	}
	if got := ps.health.statuses(); len(got) != 0 {
		t.Fatalf("health events %v, want none yet", got)
	}
	// Six hours pass without a new item.
	st.LastNewItem = now.Add(-6 * time.Hour)
	ps.state.put(t, "world", st)
	ps.poll(t, 2)
	ps.poll(t, 3)
	if got := ps.health.statuses(); !slices.Equal(got, []HealthStatus{HealthStale}) {
		t.Fatalf("health events %v, want one stale", got)
	}
	if ev := ps.health.last(); !ev.Since.Equal(st.LastNewItem) {
		t.Errorf("stale event since %s, want the last new item at %s", ev.Since, st.LastNewItem)
	}
	ps.serve(append([]rssItem{{GUID: "d", Title: "x", Published: now}}, items...)...)
	ps.poll(t, 4)
	if got := ps.health.statuses(); !slices.Equal(got, []HealthStatus{HealthStale, HealthRecovered}) {
		t.Errorf("health events %v, want stale then recovered at the new item", got)
	}
}

func TestPollAutoSchedule(t *testing.T) {
	now := time.Now()
	ttl := func(body, minutes string) string {
		return strings.Replace(body, "<description>test</description>", "<description>test</description><ttl>"+minutes+"</ttl>", 1)
	}
	quarterHourly := []rssItem{
		{GUID: "c", Title: "x", Published: now.Add(-30 * time.Minute)},
		{GUID: "b", Title: "x", Published: now.Add(-60 * time.Minute)},
		{GUID: "a", Title: "x", Published: now.Add(-90 * time.Minute)},
	}
	tests := []struct {
		name   string
		body   string
		header string
		want   time.Duration
	}{
		{"half the gap between items", rss("World", quarterHourly...), "", 15 * time.Minute},
		{"ttl asks for longer", ttl(rss("World", quarterHourly...), "40"), "", 40 * time.Minute},
		{"max-age asks for longer", rss("World", quarterHourly...), "public, max-age=3000", 50 * time.Minute},
		{"never above the ceiling", ttl(rss("World", quarterHourly...), "600"), "", 2 * time.Hour},
		{"never below the floor", rss("World", rssItem{GUID: "a", Published: now}, rssItem{GUID: "b", Published: now}, rssItem{GUID: "c", Published: now}), "", time.Minute},
		{"unknown gap: the floor", rss("World", rssItem{GUID: "a"}), "", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := newPolicySetup(t, tt.body, func(f *Feed) {
				f.Schedule, f.AutoMin, f.AutoMax = AutoSchedule, time.Minute, 2*time.Hour
			})
			if tt.header != "" {
				ps.fs.Config.Handler = cacheControl(ps.fs.Config.Handler, tt.header)
			}
			timeTravel(ps.w, 3*time.Hour)
			s := time.Now().Truncate(time.Minute)
			if err := ps.w.Poll(t.Context(), "world", s); err != nil {
				t.Fatal(err)
			}
			st := ps.state.state(t, "world")
			if st.Interval != tt.want {
				t.Fatalf("interval %s, want %s", st.Interval, tt.want)
			}
			// Slots until the feed is due are acknowledged without a request.
			for m := time.Minute; m < tt.want; m += time.Minute {
				if err := ps.w.Poll(t.Context(), "world", s.Add(m)); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(ps.fs.requests()); got != 1 {
				t.Fatalf("got %d requests before the feed was due, want 1", got)
			}
			if err := ps.w.Poll(t.Context(), "world", s.Add(tt.want).Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if got := len(ps.fs.requests()); got != 2 {
				t.Errorf("got %d requests once the feed was due, want 2", got)
			}
		})
	}
}

func TestPollRejectedAlertsDoNotBlockTheFeed(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	fs := newFeedServer(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}))
	pub := &memPublisher{err: fmt.Errorf("alert kursk/world: maximum payload exceeded: %w", ErrRejected)}
	state := newMemState()
	f := testFeed("world", fs.URL+"/rss.xml", "@every 5m")
	f.FirstPoll = FirstPoll{Mode: FirstPollAll}
	w := testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{kurskRule}, Publisher: pub, State: state}, zap.New(core))
	if err := w.Poll(t.Context(), "world", slot(1)); err != nil {
		t.Fatalf("Poll: %v, want nil: a rejected alert is logged, not retried", err)
	}
	if st := state.state(t, "world"); !slices.Equal(st.SeenIDs, seenOf("a")) {
		t.Errorf("seen %v, want the item recorded", st.SeenIDs)
	}
	if got := logs.FilterMessageSnippet("rejected").FilterLevelExact(zapcore.ErrorLevel).All(); len(got) != 1 || got[0].ContextMap()["feed"] != "world" {
		t.Errorf("got %d error logs %v, want one naming the feed", len(got), got)
	}

	// Any other publishing failure fails the job, so that it is redelivered.
	pub.err = errors.New("nats: timeout")
	fs.set(func(fs *feedServer) { fs.body = rss("World", rssItem{GUID: "b", Title: "Kursk"}) })
	if err := w.Poll(t.Context(), "world", slot(2)); err == nil {
		t.Errorf("Poll with a failing publisher: nil, want an error")
	}
}

func TestWatcherMetrics(t *testing.T) {
	ps := newPolicySetup(t, rss("World", rssItem{GUID: "a", Title: "x"}), nil)
	ps.fs.set(func(fs *feedServer) { fs.etag = `"v1"` })
	ps.poll(t, 1)
	ps.poll(t, 2) // 304
	ps.serve(rssItem{GUID: "b", Title: "Kursk"}, rssItem{GUID: "a", Title: "x"})
	ps.fs.set(func(fs *feedServer) { fs.etag = `"v2"` })
	ps.poll(t, 3)

	for name, want := range map[string]float64{
		"ok":           2,
		"not_modified": 1,
	} {
		if v := testutil.ToFloat64(ps.w.metrics.fetchResults.WithLabelValues(name)); v != want {
			t.Errorf("newswatch_fetch_results_total{result=%q} = %v, want %v", name, v, want)
		}
	}
	if v := testutil.ToFloat64(ps.w.metrics.itemsParsed); v != 3 {
		t.Errorf("newswatch_items_seen_total = %v, want 3", v)
	}
	if v := testutil.ToFloat64(ps.w.metrics.itemsNew); v != 2 {
		t.Errorf("newswatch_items_new_total = %v, want 2 (a at the baseline, b)", v)
	}
	if v := testutil.ToFloat64(ps.w.metrics.ruleMatches.WithLabelValues("kursk")); v != 1 {
		t.Errorf("newswatch_rule_matches_total{rule=kursk} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(ps.w.metrics.lastSuccess); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("newswatch_feed_last_success_timestamp_seconds = %v, want about now", v)
	}
	if n := testutil.CollectAndCount(ps.w.metrics.lag); n != 1 {
		t.Errorf("poll lag: %d series, want 1", n)
	}
	names := map[string]bool{}
	mfs, err := ps.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetName() != "newswatch_fetch_duration_seconds" {
			continue
		}
		var count uint64
		var sum float64
		for _, m := range mf.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
			sum += m.GetHistogram().GetSampleSum()
		}
		if count != 3 || sum <= 0 {
			t.Errorf("fetch duration: %d samples summing to %vs, want 3 taking some time", count, sum)
		}
	}
	for _, n := range []string{"newswatch_poll_lag_seconds", "newswatch_fetch_duration_seconds", "newswatch_fetch_results_total",
		"newswatch_items_seen_total", "newswatch_items_new_total", "newswatch_rule_matches_total",
		"newswatch_feed_last_success_timestamp_seconds", "newswatch_feeds_backing_off"} {
		if !names[n] {
			t.Errorf("metric %s not registered", n)
		}
	}

	// A feed removed by Update loses its series.
	if err := ps.w.Update(nil, []matcher.Rule{kurskRule}, compile(t, kurskRule)); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(ps.w.metrics.lastSuccess); n != 0 {
		t.Errorf("last success: %d series after the feed was removed, want 0", n)
	}
}

// cacheControl adds a Cache-Control header to every answer of h.
func cacheControl(h http.Handler, value string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", value)
		h.ServeHTTP(w, r)
	})
}

func TestParseMaxAge(t *testing.T) {
	tests := []struct {
		in   []string
		want time.Duration
	}{
		{nil, 0},
		{[]string{"max-age=300"}, 5 * time.Minute},
		{[]string{"public, max-age=300, s-maxage=600"}, 10 * time.Minute},
		{[]string{"public", `max-age="60"`}, time.Minute},
		{[]string{"max-age=300, no-cache"}, 0},
		{[]string{"no-store"}, 0},
		{[]string{"max-age=-1"}, 0},
		{[]string{"max-age=soon"}, 0},
		{[]string{"max-age=999999999"}, maxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseMaxAge(tt.in); got != tt.want {
			t.Errorf("parseMaxAge(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestPollOfAFeedBeingPolledIsAcknowledged(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		<-release
		w.Write([]byte(rss("World", rssItem{GUID: "a", Title: "x"})))
	}))
	t.Cleanup(srv.Close)
	state := newMemState()
	w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", srv.URL+"/rss.xml", "@every 1s")}, Rules: []matcher.Rule{kurskRule}, State: state}, nil)
	first := make(chan error, 1)
	go func() { first <- w.Poll(t.Context(), "world", slot(1)) }()
	for {
		mu.Lock()
		n := requests
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := w.Poll(t.Context(), "world", slot(2)); err != nil {
		t.Fatalf("Poll of slot 2 while slot 1 runs: %v, want nil", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("Poll of slot 1: %v", err)
	}
	if requests != 1 || state.saves != 1 {
		t.Errorf("got %d requests and %d saves, want 1 and 1: the second job is acknowledged without work", requests, state.saves)
	}
	if err := w.Poll(t.Context(), "world", slot(3)); err != nil || requests != 2 {
		t.Errorf("Poll of slot 3 after: %v with %d requests, want a second request", err, requests)
	}
}

func TestPollSkipsParsingAnUnchangedBody(t *testing.T) {
	// A server without validators that answers every poll with the same document: the second
	// poll parses nothing and alerts nothing; a changed document is read again.
	ps := newPolicySetup(t, rss("World", rssItem{GUID: "a", Title: "x"}), nil)
	ps.poll(t, 1)
	ps.poll(t, 2)
	if v := testutil.ToFloat64(ps.w.metrics.fetchResults.WithLabelValues("unchanged")); v != 1 {
		t.Errorf("fetch results unchanged = %v, want 1", v)
	}
	if v := testutil.ToFloat64(ps.w.metrics.itemsParsed); v != 1 {
		t.Errorf("items seen = %v, want 1: the unchanged body is not parsed again", v)
	}
	ps.serve(rssItem{GUID: "b", Title: "Kursk"}, rssItem{GUID: "a", Title: "x"})
	ps.poll(t, 3)
	if got := alertKeys(ps.pub.published()); !slices.Equal(got, []string{"kursk:b"}) {
		t.Errorf("alerts %v, want kursk:b from the changed body", got)
	}
	if st := ps.state.state(t, "world"); st.BodyHash == "" || !st.LastSlot.Equal(slot(3)) {
		t.Errorf("state: body hash %q slot %s, want a hash and slot 3", st.BodyHash, st.LastSlot)
	}
}
