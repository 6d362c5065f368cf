package watcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// slot returns the n-th slot of the tests' polls.
func slot(n int) time.Time {
	return utc("2026-01-01T00:00:00Z").Add(time.Duration(n) * 5 * time.Minute)
}

// pollSetup is a watcher polling one feed "world" served by fs.
type pollSetup struct {
	fs    *feedServer
	w     *Watcher
	state *memState
	pub   *memPublisher
}

func newPollSetup(t *testing.T, body string, fp FirstPoll, rules ...matcher.Rule) *pollSetup {
	t.Helper()
	ps := &pollSetup{fs: newFeedServer(t, body), state: newMemState(), pub: &memPublisher{}}
	f := testFeed("world", ps.fs.URL+"/rss.xml", "@every 5m")
	f.FirstPoll = fp
	f.Tags = []string{"en"}
	if len(rules) == 0 {
		rules = []matcher.Rule{kurskRule}
	}
	ps.w = testWatcher(t, Config{Feeds: []Feed{f}, Rules: rules, Publisher: ps.pub, State: ps.state}, nil)
	return ps
}

func (ps *pollSetup) poll(t *testing.T, n int) {
	t.Helper()
	if err := ps.w.Poll(t.Context(), "world", slot(n)); err != nil {
		t.Fatalf("Poll(slot %d): %v", n, err)
	}
}

func alertKeys(alerts []event.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.RuleID + ":" + a.Item.Key
	}
	return out
}

func TestPollFirstPoll(t *testing.T) {
	now := time.Now()
	items := []rssItem{
		{GUID: "recent", Title: "Kursk recent", Published: now.Add(-time.Hour)},
		{GUID: "old", Title: "Kursk old", Published: now.Add(-48 * time.Hour)},
		{GUID: "undated", Title: "Kursk undated"},
	}
	tests := []struct {
		name  string
		fp    FirstPoll
		first []string
	}{
		{"zero value is baseline", FirstPoll{}, nil},
		{"baseline", FirstPoll{Mode: FirstPollBaseline}, nil},
		{"all", FirstPoll{Mode: FirstPollAll}, []string{"kursk:recent", "kursk:old", "kursk:undated"}},
		{"window", FirstPoll{Mode: FirstPollWindow, Window: 24 * time.Hour}, []string{"kursk:recent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := newPollSetup(t, rss("World", items...), tt.fp)
			ps.poll(t, 1)
			if got := alertKeys(ps.pub.published()); !slices.Equal(got, tt.first) {
				t.Errorf("first poll alerted %v, want %v", got, tt.first)
			}
			st := ps.state.state(t, "world")
			if !st.Baselined || !slices.Equal(st.SeenIDs, seenOf("undated", "old", "recent")) {
				t.Errorf("state after first poll: baselined %v, seen %v, want true and every item, oldest first", st.Baselined, st.SeenIDs)
			}

			// Later polls alert every new item, whatever the policy, and nothing twice.
			ps.fs.set(func(fs *feedServer) {
				fs.body = rss("World", append([]rssItem{{GUID: "new", Title: "Kursk new", Published: now.Add(-72 * time.Hour)}}, items...)...)
			})
			ps.poll(t, 2)
			ps.poll(t, 3)
			want := append(slices.Clone(tt.first), "kursk:new")
			if got := alertKeys(ps.pub.published()); !slices.Equal(got, want) {
				t.Errorf("after later polls alerted %v, want %v", got, want)
			}
		})
	}
}

func TestPollNewItemAlert(t *testing.T) {
	ps := newPollSetup(t, rss("World", rssItem{GUID: "a", Title: "Old news from Kursk"}), FirstPoll{},
		kurskRule, matcher.Rule{ID: "dprk", Query: "pyongyang"})
	ps.poll(t, 1)
	if got := ps.pub.published(); len(got) != 0 {
		t.Fatalf("baseline poll alerted %v, want nothing", alertKeys(got))
	}
	pub := utc("2026-01-01T00:07:00Z")
	ps.fs.set(func(fs *feedServer) {
		fs.body = rss("World",
			rssItem{GUID: "b", Link: "https://example.org/b", Title: "Troops near Kursk", Description: "&lt;p&gt;Fighting near &lt;b&gt;Kursk&lt;/b&gt; goes on&lt;/p&gt;", Published: pub},
			rssItem{GUID: "c", Title: "Weather", Description: "Sunny"},
			rssItem{GUID: "a", Title: "Old news from Kursk"},
		)
	})
	ps.poll(t, 2)

	alerts := ps.pub.published()
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts %v, want exactly 1", len(alerts), alertKeys(alerts))
	}
	a := alerts[0]
	if a.RuleID != "kursk" || a.RuleQuery != "kursk" || a.FeedID != "world" || a.FeedURL != ps.fs.URL+"/rss.xml" || a.FeedTitle != "World" {
		t.Errorf("alert header: got rule %q/%q feed %q %q %q", a.RuleID, a.RuleQuery, a.FeedID, a.FeedURL, a.FeedTitle)
	}
	if a.Item.Key != "b" || a.Item.GUID != "b" || a.Item.Link != "https://example.org/b" || a.Item.Title != "Troops near Kursk" ||
		a.Item.Summary != "Fighting near Kursk goes on" || !a.Item.Published.Equal(pub) {
		t.Errorf("alert item: got %+v", a.Item)
	}
	if a.Time.IsZero() {
		t.Errorf("alert time is zero, want when the match was found")
	}
	text := map[string]string{"title": a.Item.Title, "summary": a.Item.Summary}
	var titleHit bool
	for _, h := range a.Hits {
		if got := text[h.Field][h.Start:h.End]; got != h.Text {
			t.Errorf("hit %+v: the field's text at its offsets is %q, want %q", h, got, h.Text)
		}
		if h.Field == "title" && h.Start == len("Troops near ") && h.Text == "Kursk" {
			titleHit = true
		}
	}
	if !titleHit {
		t.Errorf("hits %+v: want one on %q in the title at byte %d", a.Hits, "Kursk", len("Troops near "))
	}
	if !strings.Contains(a.Snippet, "Kursk") {
		t.Errorf("snippet %q, want it to show %q", a.Snippet, "Kursk")
	}
	if st := ps.state.state(t, "world"); !slices.Equal(st.SeenIDs, seenOf("a", "c", "b", "https://example.org/b")) || !st.LastSlot.Equal(slot(2)) {
		t.Errorf("state: seen %v last slot %s, want [a c b https://example.org/b] (the link of b is its identity too) and slot 2", st.SeenIDs, st.LastSlot)
	}
}

func TestPollConditionalGet(t *testing.T) {
	ps := newPollSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}), FirstPoll{Mode: FirstPollAll})
	ps.fs.set(func(fs *feedServer) { fs.etag, fs.lastModified = `"v1"`, "Thu, 01 Jan 2026 00:00:00 GMT" })
	ps.poll(t, 1)
	before := ps.state.state(t, "world")
	if before.ETag != `"v1"` || before.LastModified != "Thu, 01 Jan 2026 00:00:00 GMT" {
		t.Fatalf("state validators %q %q, want the server's", before.ETag, before.LastModified)
	}

	ps.poll(t, 2) // 304
	reqs := ps.fs.requests()
	if got := reqs[1].Get("If-None-Match"); got != `"v1"` {
		t.Errorf("second request If-None-Match %q, want %q", got, `"v1"`)
	}
	if got := reqs[1].Get("If-Modified-Since"); got != before.LastModified {
		t.Errorf("second request If-Modified-Since %q, want %q", got, before.LastModified)
	}
	after := ps.state.state(t, "world")
	if !after.LastSlot.Equal(slot(2)) || !slices.Equal(after.SeenIDs, before.SeenIDs) || after.ETag != `"v1"` || after.ConsecutiveFailures != 0 {
		t.Errorf("state after 304: %+v, want slot 2, same seen and validators", after)
	}
	if got := len(ps.pub.published()); got != 1 {
		t.Errorf("got %d alerts, want only the first poll's 1", got)
	}

	// A changed feed gets a new ETag and is read again.
	ps.fs.set(func(fs *feedServer) {
		fs.etag = `"v2"`
		fs.body = rss("World", rssItem{GUID: "b", Title: "Kursk again"}, rssItem{GUID: "a", Title: "Kursk"})
	})
	ps.poll(t, 3)
	if got := alertKeys(ps.pub.published()); !slices.Equal(got, []string{"kursk:a", "kursk:b"}) {
		t.Errorf("alerts %v, want a then b", got)
	}
	if st := ps.state.state(t, "world"); st.ETag != `"v2"` {
		t.Errorf("state ETag %q, want %q", st.ETag, `"v2"`)
	}
}

func TestPollGzipFeed(t *testing.T) {
	ps := newPollSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}), FirstPoll{Mode: FirstPollAll})
	ps.fs.set(func(fs *feedServer) { fs.gzip = true })
	ps.poll(t, 1)
	if got := alertKeys(ps.pub.published()); !slices.Equal(got, []string{"kursk:a"}) {
		t.Errorf("alerts %v, want kursk:a from the gzipped feed", got)
	}
}

func TestPollSlotDoneAlready(t *testing.T) {
	ps := newPollSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}), FirstPoll{})
	ps.poll(t, 2)
	ps.poll(t, 2)
	ps.poll(t, 1)
	if got := len(ps.fs.requests()); got != 1 {
		t.Errorf("got %d requests, want 1: a slot at or before the last one is acknowledged without work", got)
	}
	if got := ps.state.saves; got != 1 {
		t.Errorf("got %d state saves, want 1", got)
	}
}

func TestPollUnknownFeedAcknowledged(t *testing.T) {
	ps := newPollSetup(t, rss("World"), FirstPoll{})
	if err := ps.w.Poll(t.Context(), "gone", slot(1)); err != nil {
		t.Errorf("Poll of an unconfigured feed: %v, want nil", err)
	}
	if ps.state.saves != 0 || len(ps.fs.requests()) != 0 {
		t.Errorf("got %d saves and %d requests, want none", ps.state.saves, len(ps.fs.requests()))
	}
}

func TestPollFeedFailureRecordedAndLoggedOnce(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	fs := newFeedServer(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}))
	fs.set(func(fs *feedServer) { fs.status = http.StatusServiceUnavailable })
	state := newMemState()
	secretURL := strings.Replace(fs.URL, "http://", "http://reader:s3cret@", 1) + "/rss.xml"
	w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", secretURL, "@every 5m")}, Rules: []matcher.Rule{kurskRule}, State: state},
		zap.New(core))
	timeTravel(w, 24*time.Hour)

	// Each poll is for the first slot the backoff of the previous failure allows.
	s := slot(1)
	pollNext := func(n int) {
		t.Helper()
		if err := w.Poll(t.Context(), "world", s); err != nil {
			t.Fatalf("Poll %d of a failing feed: %v, want nil (recorded, not redelivered)", n, err)
		}
		if next := state.state(t, "world").NextPoll; next.After(s) {
			s = next
		}
	}
	for n := 1; n <= 3; n++ {
		pollNext(n)
	}
	st := state.state(t, "world")
	if st.ConsecutiveFailures != 3 || !strings.Contains(st.LastError, "503") || st.LastErrorClass != ClassUnavailable || st.Baselined {
		t.Errorf("state: %+v, want 3 failures, the 503, slot 3, not baselined", st)
	}
	if got := fs.requests()[0].Get("Authorization"); got == "" {
		t.Errorf("request without Authorization, want the URL's credentials sent")
	}
	if warns := logs.FilterMessage("feed poll failed").FilterLevelExact(zapcore.WarnLevel).All(); len(warns) != 1 {
		t.Errorf("got %d warnings, want the failure logged once", len(warns))
	} else if f := warns[0].ContextMap(); f["feed"] != "world" || f["url"] != fs.URL+"/rss.xml" || !strings.Contains(fmt.Sprint(f["error"]), "503") {
		t.Errorf("warning fields %v, want feed, redacted url and the error", f)
	}

	// Another failure is logged again; then recovery.
	fs.set(func(fs *feedServer) { fs.status = 0; fs.body = "<html><body>maintenance</body></html>" })
	pollNext(4)
	if st := state.state(t, "world"); st.ConsecutiveFailures != 4 || !strings.Contains(st.LastError, ErrNotAFeed.Error()) || st.LastErrorClass != ClassNotAFeed {
		t.Errorf("state: %+v, want 4 failures, not a feed", st)
	}
	fs.set(func(fs *feedServer) { fs.body = rss("World", rssItem{GUID: "a", Title: "Kursk"}) })
	pollNext(5)
	if st := state.state(t, "world"); st.ConsecutiveFailures != 0 || st.LastError != "" || st.LastErrorClass != "" || !st.NextPoll.IsZero() || !st.Baselined || st.LastSuccess.IsZero() {
		t.Errorf("state after recovery: %+v, want no failures, baselined", st)
	}
	if got := logs.FilterMessage("feed poll failed").Len(); got != 2 {
		t.Errorf("got %d failure warnings, want 2 (503, then not a feed)", got)
	}
	if got := logs.FilterMessage("feed recovered").Len(); got != 1 {
		t.Errorf("got %d recovery lines, want 1", got)
	}

	for _, e := range logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, "s3cret") || strings.Contains(line, "reader") {
			t.Errorf("log line leaks the URL's userinfo: %s", line)
		}
	}
	state.mu.Lock()
	raw := string(state.data["world"])
	state.mu.Unlock()
	if strings.Contains(raw, "s3cret") {
		t.Errorf("stored state leaks the URL's userinfo: %s", raw)
	}
}

func TestPollCancelledIsNoFeedFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	ps := newPollSetup(t, rss("World"), FirstPoll{})
	ps.fs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the watcher shuts down while the feed is being fetched
		<-r.Context().Done()
	})
	err := ps.w.Poll(ctx, "world", slot(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled so that the job is redelivered", err)
	}
	if ps.state.saves != 0 {
		t.Errorf("got %d saves, want none: a cancelled poll is no failure of the feed", ps.state.saves)
	}
}

func TestPollSaveConflictRedone(t *testing.T) {
	doc := rss("World", rssItem{GUID: "b", Title: "Kursk two"}, rssItem{GUID: "a", Title: "Kursk one"})
	base := feedState{SeenIDs: seenOf("old"), Baselined: true, LastSlot: slot(0)}

	t.Run("competitor saw an item", func(t *testing.T) {
		ps := newPollSetup(t, doc, FirstPoll{})
		ps.state.put(t, "world", base)
		first := true
		ps.state.beforeSave = func(string) {
			if first {
				first = false
				competitor := base
				competitor.SeenIDs = seenOf("old", "a")
				ps.state.put(t, "world", competitor)
			}
		}
		ps.poll(t, 1)
		if got, want := alertKeys(ps.pub.published()), []string{"kursk:b", "kursk:a", "kursk:b"}; !slices.Equal(got, want) {
			t.Errorf("published %v, want %v (the redo publishes only what is still new)", got, want)
		}
		st := ps.state.state(t, "world")
		if !slices.Equal(st.SeenIDs, seenOf("old", "a", "b")) || !st.LastSlot.Equal(slot(1)) {
			t.Errorf("state: seen %v slot %s, want [old a b] once each and slot 1", st.SeenIDs, st.LastSlot)
		}
		if ps.state.saves != 2 {
			t.Errorf("got %d saves, want 2", ps.state.saves)
		}
		if n := testutil.ToFloat64(ps.w.metrics.conflicts); n != 1 {
			t.Errorf("newswatch_state_conflicts_total = %v, want 1", n)
		}
	})
	t.Run("competitor did this slot", func(t *testing.T) {
		ps := newPollSetup(t, doc, FirstPoll{})
		ps.state.put(t, "world", base)
		competitor := base
		competitor.SeenIDs = seenOf("old", "a", "b")
		competitor.LastSlot = slot(1)
		first := true
		ps.state.beforeSave = func(string) {
			if first {
				first = false
				ps.state.put(t, "world", competitor)
			}
		}
		ps.poll(t, 1)
		if got := len(ps.pub.published()); got != 2 {
			t.Errorf("published %d alerts, want the first attempt's 2 only", got)
		}
		if st := ps.state.state(t, "world"); !slices.Equal(st.SeenIDs, competitor.SeenIDs) {
			t.Errorf("state seen %v, want the competitor's %v", st.SeenIDs, competitor.SeenIDs)
		}
	})
	t.Run("persistent failure", func(t *testing.T) {
		ps := newPollSetup(t, doc, FirstPoll{})
		ps.state.saveErr = errors.New("kv unavailable")
		err := ps.w.Poll(t.Context(), "world", slot(1))
		if !errors.Is(err, ps.state.saveErr) {
			t.Fatalf("got %v, want the store's error", err)
		}
		if ps.state.saves != maxSaveAttempts {
			t.Errorf("got %d save attempts, want %d", ps.state.saves, maxSaveAttempts)
		}
	})
}

func TestPollPublishFailureLeavesState(t *testing.T) {
	ps := newPollSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}), FirstPoll{Mode: FirstPollAll})
	ps.state.put(t, "world", feedState{SeenIDs: seenOf("old"), LastSlot: slot(0)})
	ps.state.mu.Lock()
	wantData, wantRev := string(ps.state.data["world"]), ps.state.rev["world"]
	ps.state.mu.Unlock()
	ps.pub.err = errors.New("no ack")

	err := ps.w.Poll(t.Context(), "world", slot(1))
	if !errors.Is(err, ps.pub.err) {
		t.Fatalf("got %v, want the publisher's error", err)
	}
	ps.state.mu.Lock()
	gotData, gotRev := string(ps.state.data["world"]), ps.state.rev["world"]
	ps.state.mu.Unlock()
	if gotData != wantData || gotRev != wantRev || ps.state.saves != 0 {
		t.Errorf("state changed to %s at revision %d after %d saves, want it untouched", gotData, gotRev, ps.state.saves)
	}

	// Redelivered once the publisher is back, the job alerts and commits.
	ps.pub.err = nil
	ps.poll(t, 1)
	if got := alertKeys(ps.pub.published()); !slices.Equal(got, []string{"kursk:a"}) {
		t.Errorf("after redelivery published %v, want [kursk:a]", got)
	}
}

func TestPollSeenBounded(t *testing.T) {
	old := keys("o", 300)
	var items []rssItem
	for i := range 8 {
		items = append(items, rssItem{GUID: fmt.Sprintf("n%d", i), Title: "Weather"})
	}
	items = append(items, rssItem{GUID: "o0", Title: "Weather"}, rssItem{GUID: "o1", Title: "Weather"}) // still in the feed
	ps := newPollSetup(t, rss("World", items...), FirstPoll{})
	// The seen set as older versions stored it: the keys themselves.
	ps.state.put(t, "world", feedState{Seen: old, Baselined: true, LastSlot: slot(0)})
	ps.poll(t, 1)

	st := ps.state.state(t, "world")
	if len(st.SeenIDs) != minSeen || len(st.Seen) != 0 {
		t.Fatalf("got %d seen hashes and %d keys, want %d and none", len(st.SeenIDs), len(st.Seen), minSeen)
	}
	want := seenOf(slices.Concat([]string{"o0", "o1"}, old[210:], []string{"n7", "n6", "n5", "n4", "n3", "n2", "n1", "n0"})...)
	if !slices.Equal(st.SeenIDs, want) {
		t.Errorf("seen starts %v ends %v, want %v … %v", st.SeenIDs[:6], st.SeenIDs[len(st.SeenIDs)-8:], want[:6], want[len(want)-8:])
	}
}

func TestUpdateSwapsRulesForPolls(t *testing.T) {
	ps := newPollSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk and Pyongyang"}), FirstPoll{Mode: FirstPollAll})
	ps.poll(t, 1)

	dprk := matcher.Rule{ID: "dprk", Query: "pyongyang"}
	feeds := []Feed{feedOf(ps.w.plan.Load().feeds["world"])}
	if err := ps.w.Update(append(slices.Clone(feeds), feeds[0]), []matcher.Rule{dprk}, compile(t, dprk)); err == nil {
		t.Fatal("Update with a duplicate feed: got nil error, want one")
	}
	if err := ps.w.Update(feeds, []matcher.Rule{dprk}, nil); err == nil {
		t.Fatal("Update without an index: got nil error, want one")
	}
	if err := ps.w.Update(feeds, []matcher.Rule{dprk}, compile(t, dprk)); err != nil {
		t.Fatal(err)
	}
	ps.fs.set(func(fs *feedServer) {
		fs.body = rss("World", rssItem{GUID: "b", Title: "Kursk and Pyongyang again"}, rssItem{GUID: "a", Title: "Kursk and Pyongyang"})
	})
	ps.poll(t, 2)
	if got, want := alertKeys(ps.pub.published()), []string{"kursk:a", "dprk:b"}; !slices.Equal(got, want) {
		t.Errorf("published %v, want %v: the old rules before Update, the new ones after", got, want)
	}
	if q := ps.pub.published()[1].RuleQuery; q != "pyongyang" {
		t.Errorf("rule query %q, want the new rule's", q)
	}
}
