package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

// benchFeeds is how many feeds BenchmarkFeedPage stores; NEWSWATCH_BENCH_FEEDS overrides it.
func benchFeeds() int {
	if n, err := strconv.Atoi(os.Getenv("NEWSWATCH_BENCH_FEEDS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// stateDoc is a feed state as the watcher writes it: a seen set of 150 identities, and one feed
// in a hundred failing.
func stateDoc(i int, now time.Time) []byte {
	seen := make([]byte, 8*150)
	for j := range seen {
		seen[j] = byte(i*31 + j)
	}
	st := map[string]any{
		"url":           fmt.Sprintf("https://news%d.example/feed.xml", i),
		"etag":          `"` + strconv.Itoa(i) + `"`,
		"seen_ids":      base64.StdEncoding.EncodeToString(seen),
		"last_slot":     now.Add(-time.Minute),
		"baselined":     true,
		"last_success":  now.Add(-time.Minute),
		"last_new_item": now.Add(-time.Hour),
	}
	if i%100 == 0 {
		st["consecutive_failures"] = 3
		st["last_error"] = "fetch https://news.example/feed.xml: watcher: HTTP status 500 Internal Server Error"
		st["last_error_class"] = "http_server"
		st["last_failure"] = now.Add(-30 * time.Second)
		st["next_poll"] = now.Add(10 * time.Minute)
	}
	b, _ := json.Marshal(st)
	return b
}

// BenchmarkFeedPage measures pages of GET /api/v1/feeds, through HTTP, from a console over a real
// notifier whose state bucket holds the states of benchFeeds feeds, kept in its snapshot by a
// watch of the bucket. It reports the 50th and 99th percentiles of a page's latency.
func BenchmarkFeedPage(b *testing.B) {
	total := benchFeeds()
	n := notifiertest.Open(b, notifiertest.Config(b))
	ctx := context.Background()
	now := time.Now()
	feeds := make([]watcher.Feed, total)
	ids := make([]string, total)
	settings := watcher.Settings{Schedule: "@every 5m", Timeout: 10 * time.Second, MaxBody: 1 << 20}
	for i := range feeds {
		ids[i] = fmt.Sprintf("feed-%06d", i)
		feeds[i] = watcher.Feed{ID: ids[i], URL: fmt.Sprintf("https://news%d.example/feed.xml", i), Settings: settings}
	}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if _, err := n.State().Save(ctx, ids[i], stateDoc(i, now), 0); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	b.Logf("wrote %d states in %s", total, time.Since(start).Round(time.Millisecond))

	rule := matcher.Rule{ID: "kursk", Query: "kursk"}
	ix, err := matcher.Compile([]matcher.Rule{rule}, nil)
	if err != nil {
		b.Fatal(err)
	}
	w, err := watcher.New(watcher.Config{Feeds: feeds, Rules: []matcher.Rule{rule}, Index: ix,
		Publisher: noPublisher{}, State: n.State(), Jobs: n.Jobs()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	snap := console.NewSnapshot(nil)
	loaded := make(chan struct{})
	var once sync.Once
	wctx, cancel := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Go(func() {
		apply := func(c notifier.StateChange) { snap.Apply(c.Key, c.Value) }
		if err := n.State().Watch(wctx, apply, func() { snap.Ready(); once.Do(func() { close(loaded) }) }); err != nil {
			b.Error(err)
		}
	})
	b.Cleanup(func() { cancel(); watching.Wait() })
	start = time.Now()
	select {
	case <-loaded:
	case <-time.After(5 * time.Minute):
		b.Fatal("the snapshot did not load within 5 minutes")
	}
	b.Logf("snapshot of %d states loaded in %s", total, time.Since(start).Round(time.Millisecond))
	c, err := console.New(console.Config{Feeds: w, States: snap, Poller: w, Alerts: noAlerts{}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(mux)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)

	for _, tc := range []struct{ name, query string }{
		{"limit=100", "limit=100"},
		{"limit=1000", "limit=1000"},
		{"problems,limit=100", "problems=true&limit=100"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				u := srv.URL + "/api/v1/feeds?" + tc.query + "&after=" + ids[rand.N(total)]
				t0 := time.Now()
				resp, err := http.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took = append(took, time.Since(t0))
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %v %s", u, err, resp.Status)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

type noAlerts struct{}

func (noAlerts) RecentAlerts(context.Context, console.AlertQuery) ([]console.Alert, error) {
	return nil, nil
}

// noPublisher stands for the alert stream: the benchmark polls nothing.
type noPublisher struct{}

func (noPublisher) Publish(context.Context, []event.Alert) error { return nil }

// BenchmarkSnapshotHeap reports the heap a Snapshot of benchFeeds states takes, filled directly
// (no server in the process to blur the measure), beside a map of the decoded FeedStatus values it
// packs.
func BenchmarkSnapshotHeap(b *testing.B) {
	total := benchFeeds()
	now := time.Now()
	docs := make([][]byte, total)
	ids := make([]string, total)
	for i := range docs {
		docs[i], ids[i] = stateDoc(i, now), fmt.Sprintf("feed-%06d", i)
	}
	for b.Loop() {
		packed := heapOf(func() any {
			snap := console.NewSnapshot(nil)
			for i, id := range ids {
				snap.Apply(strings.Clone(id), docs[i])
			}
			return snap
		})
		decoded := heapOf(func() any {
			m := make(map[string]watcher.FeedStatus)
			for i, id := range ids {
				m[strings.Clone(id)], _ = watcher.DecodeStatus(docs[i])
			}
			return m
		})
		b.ReportMetric(packed/float64(total), "B/feed-packed")
		b.ReportMetric(decoded/float64(total), "B/feed-decoded")
	}
}

// heapOf is the heap that what fill returns holds, after a collection.
func heapOf(fill func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
}
