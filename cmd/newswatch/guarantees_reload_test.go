package main

import (
	"bytes"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestNoDuplicatesAcrossRestartsAndReloads changes feeds the ways feeds change (items
// reordered on every request, an item dropped and sent again, titles, descriptions and dates
// edited under the same GUID or link) and restarts (SIGTERM) and reloads (SIGHUP) the daemon
// with changed rules and feeds: each new (item, rule) pair is alerted once and nothing else is.
// A rule added by a reload alerts only items that appear after it: items seen before are
// remembered as seen and not matched again (README, "Guarantees"); a feed added by a reload
// takes a baseline like any new feed.
//
// The daemon's NATS is a server of the test process, so that a core subscription sees every
// publish across the daemon's restarts, also one that the stream's de-duplication would drop;
// and the alert stream's duplicate window is 2s, so that a second copy published later than
// that would be a second message in the stream too. No process is killed here, so nothing
// justifies publishing an alert again, except two polls of one feed running at once, which
// both find the same new item within moments of each other.
func TestNoDuplicatesAcrossRestartsAndReloads(t *testing.T) {
	dir := t.TempDir()
	srv := notifiertest.RunServer(t, -1, filepath.Join(dir, "js"))
	url := srv.ClientURL()
	nc, js := connectReconnecting(t, url)
	pubs := recordPublishes(t, nc)

	world := newScriptFeed(t,
		scriptItem{GUID: "old-1", Title: "North Korean troops seen near Kursk"},
		scriptItem{GUID: "old-2", Title: "Markets close higher"},
	)
	asia := newScriptFeed(t, scriptItem{GUID: "old-3", Title: "Shelling in the Kursk region"})
	extra := newScriptFeed(t, scriptItem{GUID: "extra-old-1", Title: "Markets rally as North Korean troops reach Kursk"})
	later := newScriptFeed(t, scriptItem{GUID: "later-old-1", Title: "Kursk: North Korean soldiers move"})

	exampleRules := []map[string]any{
		{"id": "dprk-troops", "query": "@dprk NEAR/15 @troops"},
		{"id": "kursk", "query": "kursk* OR курск* OR курськ* OR 쿠르스크* OR クルスク"},
	}
	changedRules := []map[string]any{
		{"id": "dprk-troops", "query": "@dprk NEAR/15 @troops"},
		{"id": "kursk", "query": "kursk* OR shelling"}, // changed
		{"id": "markets", "query": "markets"},          // added
	}
	feed := func(id string, f *scriptFeed) map[string]any { return map[string]any{"id": id, "url": f.URL} }
	path := filepath.Join(dir, "newswatch.yaml")
	write := func(rules []map[string]any, feeds ...map[string]any) {
		t.Helper()
		cfg, _ := testConfigMap(t, dir, feeds)
		cfg["nats"] = map[string]any{"url": url, "duplicate_window": "2s"}
		cfg["rules"] = rules
		writeConfig(t, path, cfg)
	}
	reload := func(d *daemon) {
		t.Helper()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	want := map[alertKey]bool{}
	expect := func(feed, item string, rules ...string) {
		for _, r := range rules {
			want[alertKey{Rule: r, Feed: feed, Item: item}] = true
		}
	}
	settle := func(what string, feeds ...polled) {
		t.Helper()
		awaitStreamCount(t, js, len(want), 60*time.Second)
		waitPolls(t, 2, feeds...)
		pubs.check(t, what, want)
	}

	write(exampleRules, feed("world", world), feed("asia", asia))
	d := startDaemon(t, path)
	waitForState(t, nc, "world")
	waitForState(t, nc, "asia")

	// New items, one without a GUID: its key is its link.
	world.add(scriptItem{GUID: "new-1", Title: "North Korean troops fight near Kursk"},
		scriptItem{GUID: "new-2", Title: "Kursk governor speaks"},
		scriptItem{Link: "https://news.example/world/link-1", Title: "Shelling near Kursk overnight"})
	asia.add(scriptItem{GUID: "new-3", Title: "North Korean soldiers parade in Pyongyang"})
	expect("world", "new-1", "dprk-troops", "kursk")
	expect("world", "new-2", "kursk")
	expect("world", "https://news.example/world/link-1", "kursk")
	expect("asia", "new-3", "dprk-troops")
	settle("new items", world, asia)
	waitPolls(t, 1, world, asia) // the next changes come later than the duplicate window

	// Reordered on every request, edited, dropped.
	world.setShuffle(true)
	world.edit("new-1", func(it *scriptItem) {
		it.Title = "North Korean troops fight near Kursk (updated)"
		it.Published = it.Published.Add(time.Hour)
	})
	world.edit("https://news.example/world/link-1", func(it *scriptItem) { it.Title = "Shelling near Kursk overnight, updated" })
	asia.edit("new-3", func(it *scriptItem) { it.Description = "Updated: more soldiers were seen." })
	dropped := world.remove("new-2")
	asia.remove("old-3")
	settle("reordered, edited and dropped items", world, asia)
	// Sent again.
	world.add(dropped)
	asia.add(scriptItem{GUID: "old-3", Title: "Shelling in the Kursk region"})
	settle("items sent again", world, asia)

	d.stop(t, 30*time.Second)
	d = startDaemon(t, path)
	settle("a restart", world, asia)

	// A reload adds a rule that matches seen items, changes another, and adds a feed.
	write(changedRules, feed("world", world), feed("asia", asia), feed("extra", extra))
	reload(d)
	waitForState(t, nc, "extra") // the reload has been applied
	settle("a reload with a new rule", world, asia, extra)
	world.add(scriptItem{GUID: "new-4", Title: "Markets fall as Kursk fighting goes on"})
	asia.add(scriptItem{GUID: "new-5", Title: "Artillery shelling near Belgorod"})
	extra.add(scriptItem{GUID: "new-6", Title: "Markets close lower"})
	expect("world", "new-4", "kursk", "markets")
	expect("asia", "new-5", "kursk")
	expect("extra", "new-6", "markets")
	settle("new items after the reload", world, asia, extra)

	d.stop(t, 30*time.Second)
	d = startDaemon(t, path)
	settle("a restart after the reload", world, asia, extra)

	// A reload back to the example's rules, with one feed removed and another added.
	write(exampleRules, feed("world", world), feed("asia", asia), feed("later", later))
	reload(d)
	waitForState(t, nc, "later")
	world.add(scriptItem{GUID: "new-7", Title: "Markets slide again"}, scriptItem{GUID: "new-8", Title: "Kursk report"})
	expect("world", "new-8", "kursk")
	settle("a second reload", world, asia, later)

	waitPolls(t, 3, world, asia, later)
	checkAlertStream(t, js, want)
	pubs.check(t, "the end", want)
	d.stop(t, 30*time.Second)
}

// publishLog records every alert published, from a core subscription.
type publishLog struct {
	mu    sync.Mutex
	first map[alertKey]time.Time
	count map[alertKey]int
	late  []string // publishes of a pair long after its first
	errs  []error
}

// repeatTolerance is how long after the first publish of a pair a second one is taken as a
// poll that ran at the same time, which the stream's de-duplication is for.
const repeatTolerance = time.Second

func recordPublishes(t *testing.T, nc *nats.Conn) *publishLog {
	t.Helper()
	pl := &publishLog{first: make(map[alertKey]time.Time), count: make(map[alertKey]int)}
	sub, err := nc.Subscribe("newswatch.alert.>", func(m *nats.Msg) {
		now := time.Now()
		k, err := parseAlert(m.Subject, m.Header, m.Data)
		pl.mu.Lock()
		defer pl.mu.Unlock()
		if err != nil {
			pl.errs = append(pl.errs, err)
			return
		}
		pl.count[k]++
		if first, ok := pl.first[k]; !ok {
			pl.first[k] = now
		} else if d := now.Sub(first); d > repeatTolerance {
			pl.late = append(pl.late, fmt.Sprintf("%s again %s after its first publish", k, d.Round(time.Millisecond)))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return pl
}

// check requires every pair of want to have been published, nothing else, and no pair again
// later than repeatTolerance after its first publish.
func (pl *publishLog) check(t *testing.T, what string, want map[alertKey]bool) {
	t.Helper()
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, err := range pl.errs {
		t.Errorf("after %s: %v", what, err)
	}
	pl.errs = nil
	var missing, extra, repeats []string
	for k := range want {
		if pl.count[k] == 0 {
			missing = append(missing, k.String())
		}
	}
	for k, n := range pl.count {
		if !want[k] {
			extra = append(extra, k.String())
		}
		if n > 1 {
			repeats = append(repeats, fmt.Sprintf("%s ×%d", k, n))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("after %s: alerts not published: %v", what, missing)
	}
	if len(extra) > 0 {
		t.Errorf("after %s: unexpected alerts published: %v", what, extra)
	}
	if len(pl.late) > 0 {
		t.Errorf("after %s: alerts published again: %v", what, pl.late)
		pl.late = nil
	}
	if len(repeats) > 0 {
		slices.Sort(repeats)
		t.Logf("after %s: published more than once within %s (polls at the same time): %v", what, repeatTolerance, repeats)
	}
}

// scriptItem is an item of a scriptFeed: without a GUID its key is its link, and its date is
// the one set here, not the time of the request.
type scriptItem struct {
	GUID, Link, Title, Description string
	Published                      time.Time
}

func (it scriptItem) key() string {
	if it.GUID != "" {
		return it.GUID
	}
	return it.Link
}

// scriptFeed serves an RSS feed whose items a test adds, edits, removes and reorders.
type scriptFeed struct {
	*httptest.Server
	mu       sync.Mutex
	items    []scriptItem // oldest first; served newest first unless shuffled
	shuffle  bool
	requests int
}

func newScriptFeed(t *testing.T, items ...scriptItem) *scriptFeed {
	t.Helper()
	f := &scriptFeed{}
	f.add(items...)
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *scriptFeed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if !strings.HasPrefix(r.UserAgent(), "newswatch/") {
		http.Error(w, "want a newswatch User-Agent, got "+r.UserAgent(), http.StatusBadRequest)
		return
	}
	items := slices.Clone(f.items)
	slices.Reverse(items)
	if f.shuffle {
		rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Script</title>` +
		`<link>https://news.example/</link><description>Scripted news</description>`)
	for _, it := range items {
		b.WriteString("<item>")
		if it.GUID != "" {
			fmt.Fprintf(&b, `<guid isPermaLink="false">%s</guid>`, html.EscapeString(it.GUID))
		}
		if it.Link != "" {
			fmt.Fprintf(&b, `<link>%s</link>`, html.EscapeString(it.Link))
		}
		fmt.Fprintf(&b, `<title>%s</title><description>%s</description><pubDate>%s</pubDate></item>`,
			html.EscapeString(it.Title), html.EscapeString(it.Description), it.Published.UTC().Format(time.RFC1123Z))
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write(b.Bytes())
}

// add appends items, dated now when they have no date.
func (f *scriptFeed) add(items ...scriptItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range items {
		if it.Published.IsZero() {
			it.Published = time.Now().Truncate(time.Second)
		}
		if it.Description == "" {
			it.Description = "A report."
		}
		f.items = append(f.items, it)
	}
}

// edit changes the item with the key in place.
func (f *scriptFeed) edit(key string, change func(*scriptItem)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.items {
		if f.items[i].key() == key {
			change(&f.items[i])
			return
		}
	}
	panic("no item " + key)
}

// remove takes the item with the key out of the feed and returns it.
func (f *scriptFeed) remove(key string) scriptItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, it := range f.items {
		if it.key() == key {
			f.items = slices.Delete(f.items, i, i+1)
			return it
		}
	}
	panic("no item " + key)
}

func (f *scriptFeed) setShuffle(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shuffle = on
}

func (f *scriptFeed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}
