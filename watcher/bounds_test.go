package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// planFeed is the plan of one feed, as a poll sees it.
func planFeed(t *testing.T, f Feed) *feedPlan {
	t.Helper()
	p, err := buildPlan([]Feed{f}, nil, compile(t), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return p.feeds[f.ID]
}

func TestRepairState(t *testing.T) {
	const cfgURL = "https://news.example/feed.xml"
	now := time.Now().UTC().Truncate(time.Second)
	f := planFeed(t, testFeed("world", "https://user:secret@news.example/feed.xml", "@every 5m"))
	auto := testFeed("auto", cfgURL, AutoSchedule)
	auto.AutoMax = 2 * time.Hour
	fAuto := planFeed(t, auto)
	far := utc("2100-01-01T00:00:00Z")
	moved := func(from, to, candidate string) feedState {
		return feedState{MovedFrom: from, MovedTo: to, MoveCandidate: candidate}
	}
	tests := []struct {
		name  string
		f     *feedPlan
		st    feedState
		want  feedState
		fixes int
	}{
		{"a sane state is kept", f, feedState{
			LastSlot: now.Add(-time.Minute), NextPoll: now.Add(6 * time.Hour), LastSuccess: now.Add(-time.Hour),
			ConsecutiveFailures: 3, NewItemsAvg: 2.5, ItemGap: time.Hour,
		}, feedState{
			LastSlot: now.Add(-time.Minute), NextPoll: now.Add(6 * time.Hour), LastSuccess: now.Add(-time.Hour),
			ConsecutiveFailures: 3, NewItemsAvg: 2.5, ItemGap: time.Hour,
		}, 0},
		{"last_slot in 2100 is cleared", f, feedState{LastSlot: far}, feedState{}, 1},
		{"last_slot at the next activation is kept", f,
			feedState{LastSlot: f.group.sched.Next(now)}, feedState{LastSlot: f.group.sched.Next(now)}, 0},
		{"last_slot beyond the next activation and the skew is cleared", f,
			feedState{LastSlot: f.group.sched.Next(now).Add(maxClockSkew + time.Second)}, feedState{}, 1},
		{"gone of the configured URL after a 410 is kept", f,
			feedState{Gone: cfgURL, LastErrorClass: ClassGone}, feedState{Gone: cfgURL, LastErrorClass: ClassGone}, 0},
		{"gone of another URL is cleared", f,
			feedState{Gone: "https://other.example/feed.xml", LastErrorClass: ClassGone}, feedState{LastErrorClass: ClassGone}, 1},
		{"gone without a 410 is cleared", f,
			feedState{Gone: cfgURL, LastErrorClass: ClassTimeout}, feedState{LastErrorClass: ClassTimeout}, 1},
		{"moved to https on the same host is kept", f,
			moved(cfgURL, "http://NEWS.example:80/rss", ""), moved(cfgURL, "http://NEWS.example:80/rss", ""), 0},
		{"moved to another host is dropped", f,
			moved(cfgURL, "https://attacker.example/feed.xml", ""), feedState{}, 1},
		{"moved to another port of the host is kept", f,
			moved(cfgURL, "https://news.example:8443/feed.xml", ""), moved(cfgURL, "https://news.example:8443/feed.xml", ""), 0},
		{"moved to another scheme is dropped", f,
			moved(cfgURL, "ftp://news.example/feed.xml", ""), feedState{}, 1},
		{"a candidate on another host is dropped, the confirmed move kept", f,
			moved(cfgURL, "https://news.example/new.xml", "http://10.0.0.1/feed.xml"), moved(cfgURL, "https://news.example/new.xml", ""), 1},
		{"a move of a URL no longer configured is left to the next success", f,
			moved("https://old.example/feed.xml", "https://elsewhere.example/", ""), moved("https://old.example/feed.xml", "https://elsewhere.example/", ""), 0},
		{"next_poll in 2100 is clamped to the longest pause", f,
			feedState{NextPoll: far}, feedState{NextPoll: now.Add(maxRetryAfter)}, 1},
		{"next_poll after a day's Retry-After is kept", f,
			feedState{NextPoll: now.Add(maxRetryAfter)}, feedState{NextPoll: now.Add(maxRetryAfter)}, 0},
		{"next_due beyond auto_max is clamped", fAuto,
			feedState{NextDue: now.Add(3 * time.Hour)}, feedState{NextDue: now.Add(2 * time.Hour)}, 1},
		{"next_due within auto_max is kept", fAuto,
			feedState{NextDue: now.Add(90 * time.Minute)}, feedState{NextDue: now.Add(90 * time.Minute)}, 0},
		{"last_success and last_new_item in the future are cleared", f,
			feedState{LastSuccess: far, LastNewItem: far}, feedState{}, 2},
		{"negative counts and gaps are zeroed", f,
			feedState{ConsecutiveFailures: -4, ItemGap: -time.Hour, NewItemsAvg: -1}, feedState{}, 3},
		{"an average above the item cap is clamped", f,
			feedState{NewItemsAvg: 1e9}, feedState{NewItemsAvg: MaxItems}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fixes := repairState(tt.st, tt.f, now, DefaultBackoffCeiling)
			if !equalStates(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if len(fixes) != tt.fixes {
				t.Errorf("got fixes %q, want %d", fixes, tt.fixes)
			}
		})
	}
}

// equalStates compares two states, their times as instants.
func equalStates(a, b feedState) bool {
	da, _ := a.encode()
	db, _ := b.encode()
	return string(da) == string(db)
}

func TestSameHost(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://news.example/a", "https://news.example/b", true},
		{"http://news.example/a", "https://NEWS.example/b", true},
		{"http://news.example:80/a", "https://news.example:443/b", true},
		{"https://news.example:8443/a", "https://news.example:8443/b", true},
		{"https://news.example:8443/a", "https://news.example/b", true},
		{"https://news.example/a", "https://feeds.news.example/b", false},
		{"https://127.0.0.1:8080/a", "https://localhost:8080/b", false},
		{"https://news.example/a", "ftp://news.example/b", false},
		{"https://news.example/a", "/relative", false},
		{"https://news.example/a", "::", false},
	}
	for _, tt := range tests {
		if got := sameHost(tt.a, tt.b); got != tt.want {
			t.Errorf("sameHost(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// boundsSetup is a watcher polling one feed "world" every 5 minutes, with its logs observed.
type boundsSetup struct {
	fs     *feedServer
	w      *Watcher
	state  *memState
	pub    *memPublisher
	health *memHealth
	reg    *prometheus.Registry
	logs   *observer.ObservedLogs
}

func newBoundsSetup(t *testing.T, body string, configure func(*Feed), rules ...matcher.Rule) *boundsSetup {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	bs := &boundsSetup{fs: newFeedServer(t, body), state: newMemState(), pub: &memPublisher{}, health: &memHealth{},
		reg: prometheus.NewRegistry(), logs: logs}
	f := testFeed("world", bs.fs.URL+"/rss.xml", "@every 5m")
	f.FirstPoll = FirstPoll{Mode: FirstPollAll}
	if configure != nil {
		configure(&f)
	}
	if len(rules) == 0 {
		rules = []matcher.Rule{kurskRule}
	}
	bs.w = testWatcher(t, Config{Feeds: []Feed{f}, Rules: rules, Publisher: bs.pub, State: bs.state,
		Health: bs.health, Registerer: bs.reg}, zap.New(core))
	return bs
}

// realSlot is the latest slot of the feed "world" at now.
func realSlot(now time.Time) time.Time { return EverySlot("world", 5*time.Minute, now) }

func (bs *boundsSetup) warnings(msg string) int {
	return bs.logs.FilterMessage(msg).FilterLevelExact(zapcore.WarnLevel).Len()
}

// TestPollRefusesFarFutureJob: a job for a slot in 2100, as anyone who can publish on the job
// subject could enqueue, is acknowledged without a request and without touching the feed's
// state, logged at warn level once; the next real slot polls as if it had never come.
func TestPollRefusesFarFutureJob(t *testing.T) {
	bs := newBoundsSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk a"}), nil)
	for _, slot := range []time.Time{utc("2100-01-01T00:00:00Z"), utc("2100-01-01T00:05:00Z"), time.Now().Add(time.Hour)} {
		if err := bs.w.Poll(t.Context(), "world", slot); err != nil {
			t.Fatalf("Poll(%s): %v, want the job acknowledged", slot, err)
		}
	}
	if n := len(bs.fs.requests()); n != 0 {
		t.Errorf("far-future jobs made %d requests, want 0", n)
	}
	if bs.state.saves != 0 || len(bs.pub.published()) != 0 {
		t.Errorf("far-future jobs saved the state %d times and published %d alerts, want nothing", bs.state.saves, len(bs.pub.published()))
	}
	if n := bs.warnings("poll job for a slot beyond the feed's schedule refused"); n != 1 {
		t.Errorf("got %d warnings for the refused jobs, want 1 (the rest at debug level)", n)
	}
	if got := testutil.ToFloat64(bs.w.metrics.jobsRefused); got != 3 {
		t.Errorf("newswatch_poll_jobs_refused_total = %v, want 3", got)
	}

	slot := realSlot(time.Now())
	if err := bs.w.Poll(t.Context(), "world", slot); err != nil {
		t.Fatal(err)
	}
	if got := alertKeys(bs.pub.published()); !slices.Equal(got, []string{"kursk:a"}) {
		t.Errorf("the real slot alerted %v, want [kursk:a]", got)
	}
	if st := bs.state.state(t, "world"); !st.LastSlot.Equal(slot) {
		t.Errorf("last_slot %s, want the real slot %s", st.LastSlot, slot)
	}
	// The next activation is the schedule's: accepted.
	next := slot.Add(5 * time.Minute)
	if err := bs.w.Poll(t.Context(), "world", next); err != nil {
		t.Fatal(err)
	}
	if st := bs.state.state(t, "world"); !st.LastSlot.Equal(next) {
		t.Errorf("last_slot %s after the next activation's job, want %s", st.LastSlot, next)
	}
}

// TestPollRepairsForgedState: a state written into the bucket to stop a feed (a last slot in
// 2100, a gone mark, a backoff into the next century) and send its polls to another host is
// repaired, logged at warn level once, and saved; the feed is polled at its configured URL.
func TestPollRepairsForgedState(t *testing.T) {
	bs := newBoundsSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk a"}), nil)
	forgedURL, elsewhere := forgedHost(t)
	cfgURL := bs.fs.URL + "/rss.xml"
	far := utc("2100-01-01T00:00:00Z")
	bs.state.put(t, "world", feedState{
		LastSlot: far, Gone: cfgURL, NextPoll: far, NextDue: far, LastSuccess: far,
		MovedFrom: cfgURL, MovedTo: forgedURL, Baselined: true,
	})

	slot := realSlot(time.Now())
	if err := bs.w.Poll(t.Context(), "world", slot); err != nil {
		t.Fatal(err)
	}
	if n := bs.warnings("feed state with impossible values repaired"); n != 1 {
		t.Errorf("got %d warnings of a repaired state, want 1", n)
	}
	if got := testutil.ToFloat64(bs.w.metrics.stateRepairs); got != 1 {
		t.Errorf("newswatch_state_repairs_total = %v, want 1", got)
	}
	// NextPoll clamped to a day ahead: the feed waits, as a feed backing off does; the state
	// no longer says 2100, nor gone, nor elsewhere.
	st := bs.state.state(t, "world")
	if st.Gone != "" || st.MovedTo != "" || !st.LastSlot.IsZero() || st.NextPoll.After(time.Now().Add(maxRetryAfter)) || !st.NextDue.IsZero() && st.NextDue.After(time.Now().Add(DefaultAutoMax)) {
		t.Errorf("repaired state %+v, want no gone, no move, no last slot, next poll within a day, next due within auto_max", st)
	}
	// Once the (clamped) backoff is over, the feed is polled at its configured URL.
	bs.state.put(t, "world", func() feedState { st.NextPoll, st.NextDue = time.Time{}, time.Time{}; return st }())
	if err := bs.w.Poll(t.Context(), "world", slot.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := len(bs.fs.requests()); n != 1 || elsewhere.Load() != 0 {
		t.Errorf("%d requests to the feed and %d elsewhere, want 1 and 0", n, elsewhere.Load())
	}
	if n := bs.warnings("feed state with impossible values repaired"); n != 1 {
		t.Errorf("got %d warnings of a repaired state after a second poll, want still 1", n)
	}
}

// TestPollUndecodableState: a state that no version wrote does not stop the feed: it is
// replaced by a new feed's, logged at warn level.
func TestPollUndecodableState(t *testing.T) {
	bs := newBoundsSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk a"}), nil)
	bs.state.mu.Lock()
	bs.state.data["world"], bs.state.rev["world"], bs.state.seq = []byte(`{"seen_ids": "AAA=", "last_slot": 7}`), 1, 1
	bs.state.mu.Unlock()
	if err := bs.w.Poll(t.Context(), "world", realSlot(time.Now())); err != nil {
		t.Fatal(err)
	}
	if n := bs.warnings("feed state with impossible values repaired"); n != 1 {
		t.Errorf("got %d warnings, want 1", n)
	}
	if st := bs.state.state(t, "world"); !st.Baselined || len(bs.fs.requests()) != 1 {
		t.Errorf("state %+v after %d requests, want the feed polled and baselined", st, len(bs.fs.requests()))
	}
}

// TestPollCapsAlerts: a poll whose matches outnumber max_alerts_per_poll publishes the first
// of them in batches of at most alertBatch, records every item as seen, and reports the rest
// once: a capped event, a warn line, a metric. The next poll alerts only what is new.
func TestPollCapsAlerts(t *testing.T) {
	const items, limit = 300, 520 // two rules match each item: 600 matches
	var feed []rssItem
	for i := range items {
		feed = append(feed, rssItem{GUID: fmt.Sprint("g", i), Title: fmt.Sprintf("Kursk troops %d", i)})
	}
	troops := matcher.Rule{ID: "troops", Query: "troops"}
	bs := newBoundsSetup(t, rss("World", feed...), func(f *Feed) { f.MaxAlertsPerPoll = limit }, kurskRule, troops)
	slot := realSlot(time.Now())
	if err := bs.w.Poll(t.Context(), "world", slot); err != nil {
		t.Fatal(err)
	}
	alerts := bs.pub.published()
	seen := map[string]bool{}
	for _, a := range alerts {
		seen[a.RuleID+":"+a.Item.Key] = true
	}
	if len(alerts) != limit || len(seen) != limit {
		t.Errorf("published %d alerts, %d distinct, want %d", len(alerts), len(seen), limit)
	}
	// Document order: the first 260 items alert in full, the last 40 not at all.
	if !seen["kursk:g259"] || !seen["troops:g259"] || seen["kursk:g260"] {
		t.Errorf("the alerts published are not those of the first items")
	}
	bs.pub.mu.Lock()
	sizes := slices.Clone(bs.pub.sizes)
	bs.pub.mu.Unlock()
	if !slices.Equal(sizes, []int{alertBatch, alertBatch, limit - 2*alertBatch}) {
		t.Errorf("published in batches of %v, want %d, %d, %d", sizes, alertBatch, alertBatch, limit-2*alertBatch)
	}
	want := FeedHealth{FeedID: "world", Status: HealthCapped, Items: 40, Alerts: limit, AlertsDropped: 2*items - limit}
	if st := bs.health.statuses(); !slices.Equal(st, []HealthStatus{HealthCapped}) {
		t.Fatalf("health events %v, want one capped", st)
	}
	got := bs.health.last()
	if got.Items != want.Items || got.Alerts != want.Alerts || got.AlertsDropped != want.AlertsDropped || got.FeedURL != redactURL(bs.fs.URL+"/rss.xml") {
		t.Errorf("capped event %+v, want items %d, alerts %d, alerts_dropped %d", got, want.Items, want.Alerts, want.AlertsDropped)
	}
	if n := bs.warnings("alerts of one poll capped; the rest of its items recorded as seen"); n != 1 {
		t.Errorf("got %d warn lines of the cap, want 1", n)
	}
	if got := testutil.ToFloat64(bs.w.metrics.alertsCapped); got != 2*items-limit {
		t.Errorf("newswatch_alerts_capped_total = %v, want %d", got, 2*items-limit)
	}
	if got := testutil.ToFloat64(bs.w.metrics.ruleMatches.WithLabelValues("kursk")) + testutil.ToFloat64(bs.w.metrics.ruleMatches.WithLabelValues("troops")); got != limit {
		t.Errorf("newswatch_rule_matches_total sums to %v, want %d", got, limit)
	}

	// Every item was recorded: one new item alerts twice, and nothing is capped.
	bs.fs.set(func(fs *feedServer) {
		fs.body = rss("World", append([]rssItem{{GUID: "new", Title: "Kursk troops again"}}, feed...)...)
	})
	if err := bs.w.Poll(t.Context(), "world", slot.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := alertKeys(bs.pub.published()[limit:]); !slices.Equal(got, []string{"kursk:new", "troops:new"}) {
		t.Errorf("the next poll alerted %v, want the new item's two alerts", got)
	}
	if n := len(bs.health.statuses()); n != 1 {
		t.Errorf("got %d health events, want still 1", n)
	}
}

// TestAlertFieldsBounded: an alert carries at most 20 hits with their total, and its item's
// texts cut at rune boundaries; the hits' offsets and the snippet are those of the full text.
func TestAlertFieldsBounded(t *testing.T) {
	long := func(n int) string { return strings.Repeat("ж", n) } // 2 bytes a rune: cuts fall inside one
	guid := "urn:" + long(1500)
	summary := long(3000) + strings.Repeat(" kursk", 30) // the hits start after 6,000 bytes
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>` + long(800) + `</title><link>https://example.org/</link><description>x</description><item>`)
	fmt.Fprintf(&b, "<guid isPermaLink=\"false\">%s</guid><link>https://example.org/%s</link><title>Kursk %s</title><description>%s</description>",
		guid, long(1500), long(700), summary)
	for i := range 60 {
		fmt.Fprintf(&b, "<category>%d %s</category>", i, long(200))
	}
	b.WriteString("</item></channel></rss>")
	bs := newBoundsSetup(t, b.String(), nil)
	if err := bs.w.Poll(t.Context(), "world", realSlot(time.Now())); err != nil {
		t.Fatal(err)
	}
	alerts := bs.pub.published()
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	it := a.Item
	sum := sha256.Sum256([]byte(guid))
	checks := []struct {
		name      string
		got, full string
		max       int
	}{
		{"title", it.Title, "Kursk " + long(700), maxAlertTitle},
		{"feed title", a.FeedTitle, long(800), maxAlertTitle},
		{"summary", it.Summary, summary, maxAlertSummary},
		{"guid", it.GUID, guid, maxAlertID},
		{"link", it.Link, "https://example.org/" + long(1500), maxAlertID},
	}
	for _, c := range checks {
		if len(c.got) > c.max || !utf8.ValidString(c.got) || !strings.HasPrefix(c.full, c.got) || len(c.got) < c.max-utf8.UTFMax {
			t.Errorf("%s: %d bytes, want the full text's first %d bytes at a rune boundary", c.name, len(c.got), c.max)
		}
	}
	if want := "sha256:" + hex.EncodeToString(sum[:]); it.Key != want {
		t.Errorf("key %q, want %q for a GUID longer than %d bytes", it.Key, want, maxAlertID)
	}
	// RSS gives an item one author: the bound of authors is boundedItem's alone.
	var authors []string
	for i := range 30 {
		authors = append(authors, fmt.Sprint(i, " ", long(200)))
	}
	it.Authors = boundedItem(event.Item{Authors: authors}).Authors
	if len(it.Authors) != maxAlertAuthors || len(it.Categories) != maxAlertCategory {
		t.Errorf("%d authors and %d categories, want %d and %d", len(it.Authors), len(it.Categories), maxAlertAuthors, maxAlertCategory)
	}
	for _, s := range slices.Concat(it.Authors, it.Categories) {
		if len(s) > maxAlertName || !utf8.ValidString(s) {
			t.Errorf("author or category of %d bytes, want at most %d, valid UTF-8", len(s), maxAlertName)
		}
	}
	if len(a.Hits) != maxAlertHits || a.HitCount != 31 { // 30 in the summary, 1 in the title
		t.Errorf("%d hits of %d, want %d of 31", len(a.Hits), a.HitCount, maxAlertHits)
	}
	for _, h := range a.Hits {
		if h.Field == "summary" && (h.Start < len(it.Summary) || summary[h.Start:h.End] != "kursk") {
			t.Errorf("summary hit at %d-%d, want an offset into the full summary, beyond the %d bytes carried", h.Start, h.End, len(it.Summary))
		}
	}
	if !strings.Contains(a.Snippet, "kursk") || len(a.Snippet) > maxAlertSnippet {
		t.Errorf("snippet %q, want the context of a summary hit from the full text", a.Snippet)
	}
}

// forgedHost serves a feed an attacker would send polls to, on another host name than the
// test feeds' 127.0.0.1; it returns its URL and the count of requests it got.
func forgedHost(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Write([]byte(rss("Forged", rssItem{GUID: "forged", Title: "Kursk forged"})))
	}))
	t.Cleanup(attacker.Close)
	return strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1) + "/feed", &requests
}
