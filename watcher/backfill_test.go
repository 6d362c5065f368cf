package watcher

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// memArchive is an archive in memory, in the order its items were added; it reads as the
// notifier's does: chunks worked on, then their results taken in order.
type memArchive struct {
	mu    sync.Mutex
	items []event.Archived
	reads int
}

func (a *memArchive) ReadArchive(ctx context.Context, q event.ArchiveQuery, work func([]event.Archived) func() error) error {
	a.mu.Lock()
	a.reads++
	var sel []event.Archived
	for _, it := range a.items {
		if (q.From.IsZero() || !it.FirstSeen.Before(q.From)) && (q.To.IsZero() || it.FirstSeen.Before(q.To)) &&
			(len(q.Feeds) == 0 || slices.Contains(q.Feeds, it.FeedID)) {
			sel = append(sel, it)
		}
	}
	a.mu.Unlock()
	for chunk := range slices.Chunk(sel, 3) {
		if err := work(chunk)(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// memLedger is a ledger in memory with the notifier's rules.
type memLedger struct {
	mu      sync.Mutex
	live    map[string]time.Time
	owner   map[string]string
	until   map[string]time.Time
	done    map[string]bool
	claimed int
}

func newMemLedger() *memLedger {
	return &memLedger{live: map[string]time.Time{}, owner: map[string]string{}, until: map[string]time.Time{}, done: map[string]bool{}}
}

func (l *memLedger) Live(_ context.Context, versions []string, now time.Time) (map[string]time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]time.Time{}
	for _, v := range versions {
		if _, ok := l.live[v]; !ok {
			l.live[v] = now
		}
		out[v] = l.live[v]
	}
	return out, nil
}

func (l *memLedger) Claim(_ context.Context, v, owner string, until time.Time) (bool, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done[v] {
		return false, true, nil
	}
	if o := l.owner[v]; o != "" && o != owner && time.Now().Before(l.until[v]) {
		return false, false, nil
	}
	l.owner[v], l.until[v] = owner, until
	l.claimed++
	return true, false, nil
}

func (l *memLedger) Done(_ context.Context, v string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done[v] = true
	return nil
}

// TestBackfillWindow: a backfill alerts the archived items the rule matches that were first seen
// within its window before the version went live, with the event of a live match, and nothing
// outside the window; a version done is not backfilled again, and one claimed by a live claim of
// another replica waits until that claim lapses.
func TestBackfillWindow(t *testing.T) {
	now := time.Now()
	kursk := matcher.Rule{ID: "kursk", Query: "kursk"}
	arch := &memArchive{}
	add := func(key, title string, seen time.Time) {
		arch.items = append(arch.items, event.Archived{FeedID: "world", FeedURL: "https://example.org/rss", FeedTitle: "World",
			Tags: []string{"en"}, Item: event.Item{Key: key, Title: title}, Content: "body", FirstSeen: seen})
	}
	add("too-old", "Kursk a week ago", now.Add(-7*24*time.Hour))
	add("a", "Kursk yesterday", now.Add(-20*time.Hour))
	add("b", "Markets", now.Add(-10*time.Hour))
	add("c", "Fighting near Kursk", now.Add(-time.Hour))
	add("after", "Kursk after the rule", now.Add(time.Hour)) // matched live, not by the backfill

	pub := &memPublisher{}
	ledger := newMemLedger()
	w := testWatcher(t, Config{Publisher: pub, Rules: []matcher.Rule{kursk}, Archive: arch, Ledger: ledger, Owner: "me",
		Backfills: []Backfill{{Rule: "kursk", Window: 24 * time.Hour}}}, nil)
	version := ruleVersion(kursk)
	ledger.live[version] = now // the version went live now

	p := w.plan.Load()
	pending, err := w.recordLive(t.Context(), p, *w.backfillRules.Load())
	if err != nil {
		t.Fatal(err)
	}
	b := pending[version]
	if b == nil || !b.since.Equal(now) || b.window != 24*time.Hour {
		t.Fatalf("pending backfills %v, want %s since %s for 24h", pending, version, now)
	}

	// Another replica holds a live claim: nothing is done here.
	ledger.owner[version], ledger.until[version] = "other", time.Now().Add(time.Hour)
	if done, err := w.backfill(t.Context(), p, b); err != nil || done || len(pub.published()) != 0 {
		t.Fatalf("backfill claimed elsewhere: done %v, err %v, %d alerts; want nothing", done, err, len(pub.published()))
	}
	// Its claim lapses: this replica takes it up.
	ledger.until[version] = time.Now().Add(-time.Second)
	done, err := w.backfill(t.Context(), p, b)
	if err != nil || !done {
		t.Fatalf("backfill: done %v, err %v", done, err)
	}
	var keys []string
	for _, a := range pub.published() {
		keys = append(keys, a.Item.Key)
		if a.RuleID != "kursk" || a.RuleQuery != "kursk" || a.FeedID != "world" || len(a.Hits) == 0 || a.Hits[0].Text != "Kursk" {
			t.Errorf("alert %+v, want rule kursk of feed world with its hit", a)
		}
	}
	if want := []string{"a", "c"}; !slices.Equal(keys, want) {
		t.Errorf("backfilled items %v, want %v (within 24h before the version went live, matching)", keys, want)
	}
	if !ledger.done[version] {
		t.Error("ledger: version not done")
	}
	// Done: a second look backfills nothing.
	reads := arch.reads
	if done, err := w.backfill(t.Context(), p, b); err != nil || !done || arch.reads != reads || len(pub.published()) != 2 {
		t.Errorf("second backfill: done %v, err %v, archive read again %v, %d alerts; want done, no read", done, err, arch.reads != reads, len(pub.published()))
	}
}

// TestBackfillsLoop: Run backfills the rules with a window once each version goes live, not the
// others, and a new query of a rule is a new version, backfilled again.
func TestBackfillsLoop(t *testing.T) {
	arch := &memArchive{}
	for i := range 5 {
		arch.items = append(arch.items, event.Archived{FeedID: "world", Item: event.Item{Key: fmt.Sprint(i), Title: fmt.Sprintf("Kursk report %d, Belgorod", i)},
			FirstSeen: time.Now().Add(-time.Duration(i+1) * time.Minute)})
	}
	pub := &memPublisher{}
	ledger := newMemLedger()
	rules := []matcher.Rule{{ID: "kursk", Query: "kursk"}, {ID: "belgorod", Query: "belgorod"}}
	w := testWatcher(t, Config{Publisher: pub, Rules: rules, Archive: arch, Ledger: ledger,
		Backfills: []Backfill{{Rule: "kursk", Window: time.Hour}}}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.backfills(ctx)
	}()
	defer func() { cancel(); <-done }()
	waitUntil(t, "the kursk backfill", func() bool { return len(pub.published()) == 5 })

	// A new query of kursk is a new version: backfilled again (its alerts carry its query).
	rules[0].Query = "kursk OR курск"
	if err := w.Update(nil, rules, compile(t, rules...)); err != nil {
		t.Fatal(err)
	}
	w.SetBackfills([]Backfill{{Rule: "kursk", Window: time.Hour}})
	waitUntil(t, "the new version's backfill", func() bool { return len(pub.published()) == 10 })
	for _, a := range pub.published() {
		if a.RuleID != "kursk" {
			t.Errorf("alert of rule %s, want only kursk's (belgorod has no backfill)", a.RuleID)
		}
	}
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	if len(ledger.live) != 3 || len(ledger.done) != 2 {
		t.Errorf("ledger: %d versions live, %d done; want 3 live (2 of kursk, 1 of belgorod), 2 done", len(ledger.live), len(ledger.done))
	}
}

// waitUntil waits up to a minute for cond.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
