package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/console/web"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

// benchFeeds is how many feeds BenchmarkFeedsPage lists; NEWSWATCH_BENCH_FEEDS overrides it.
func benchFeeds() int {
	if n, err := strconv.Atoi(os.Getenv("NEWSWATCH_BENCH_FEEDS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// stateDoc is a feed state as the watcher writes it, one feed in a hundred failing.
func stateDoc(i int, now time.Time) []byte {
	seen := make([]byte, 8*150)
	for j := range seen {
		seen[j] = byte(i*31 + j)
	}
	st := map[string]any{
		"url": fmt.Sprintf("https://news%d.example/feed.xml", i), "etag": `"` + strconv.Itoa(i) + `"`,
		"seen_ids": base64.StdEncoding.EncodeToString(seen), "last_slot": now.Add(-time.Minute), "baselined": true,
		"last_success": now.Add(-time.Minute), "last_new_item": now.Add(-time.Hour),
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

// BenchmarkFeedsPage measures the web console's feed page over benchFeeds feeds (50 tags, one
// feed in a hundred failing), through HTTP, from a real watcher and the console's snapshot of
// the states, and reports the median and 99th percentile of a page's latency and its size.
func BenchmarkFeedsPage(b *testing.B) {
	total := benchFeeds()
	now := time.Now()
	srv := feedsConsole(b, total, func(i int) []byte { return stateDoc(i, now) })
	last := (total + web.FeedsPerPage - 1) / web.FeedsPerPage
	for _, tc := range []struct{ name, query string }{
		{"first page", ""},
		{"tag filter", "?tag=topic07"},
		{"text filter", "?q=news12"},
		{"last page", "?page=" + strconv.Itoa(last)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var took []time.Duration
			var size int64
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(srv.URL + "/feeds" + tc.query)
				if err != nil {
					b.Fatal(err)
				}
				size, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took = append(took, time.Since(t0))
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET /feeds%s: %v %s", tc.query, err, resp.Status)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(size)/1000, "page-kB")
		})
	}
}

// feedsConsole serves the web console of a real watcher over total feeds (tags "en" and
// topicNN, NN = i%50), each feed's state doc(i) in the console's snapshot, and a real notifier.
func feedsConsole(tb testing.TB, total int, doc func(i int) []byte) *httptest.Server {
	n := notifiertest.Open(tb, notifiertest.Config(tb))
	feeds := make([]watcher.Feed, total)
	settings := watcher.Settings{Schedule: "@every 5m", Timeout: 10 * time.Second, MaxBody: 1 << 20}
	snap := console.NewSnapshot(nil)
	for i := range feeds {
		id := fmt.Sprintf("feed-%06d", i)
		feeds[i] = watcher.Feed{ID: id, URL: fmt.Sprintf("https://news%d.example/feed.xml", i), Settings: settings,
			Tags: []string{"en", fmt.Sprintf("topic%02d", i%50)}}
		// The daemon fills the snapshot from a watch of the state bucket; the page reads only it.
		snap.Apply(id, doc(i))
	}
	snap.Ready()
	return serveConsole(tb, n, feeds, snap, consoleOptions{rules: fixedRules{rules: []matcher.Rule{{ID: "kursk", Query: "kursk"}}}})
}

// consoleOptions are the parts of a console that its tests vary.
type consoleOptions struct {
	rules    fixedRules
	backtest web.Backtester // nil: watcher.Backtest over the notifier's archive
}

// serveConsole serves the web console of a real watcher of feeds over n, with the feeds'
// states in snap.
func serveConsole(tb testing.TB, n *notifier.Notifier, feeds []watcher.Feed, snap *console.Snapshot, o consoleOptions) *httptest.Server {
	rules := o.rules
	if o.backtest == nil {
		o.backtest = backtest{n}
	}
	ix, err := matcher.Compile(rules.rules, rules.lists)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := watcher.New(watcher.Config{Feeds: feeds, Rules: rules.rules, Index: ix,
		Publisher: n.Alerts(), State: n.State(), Jobs: n.Jobs()}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := web.New(web.Config{Feeds: w, States: snap, Poller: w, Alerts: alerts{n}, Backtest: o.backtest,
		Rules: rules, Status: buildStatus{}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

type alerts struct{ n *notifier.Notifier }

func (a alerts) RecentAlerts(ctx context.Context, q console.AlertQuery) ([]console.Alert, error) {
	got, err := a.n.RecentAlerts(ctx, notifier.AlertQuery{Rule: q.Rule, Feed: q.Feed, Since: q.Since, Limit: q.Limit})
	out := make([]console.Alert, len(got))
	for i, t := range got {
		out[i] = console.Alert{Subject: t.Subject, Event: t.Body}
	}
	return out, err
}

type backtest struct{ n *notifier.Notifier }

func (t backtest) Backtest(ctx context.Context, q watcher.BacktestQuery, found func(watcher.BacktestFound) error) (watcher.BacktestStats, error) {
	return watcher.Backtest(ctx, t.n, q, found)
}

// fixedRules is a configuration's rules, lists and deliveries that do not change.
type fixedRules struct {
	rules      []matcher.Rule
	lists      map[string][]string
	deliveries map[string]delivery.Options
}

func (r fixedRules) Rules() ([]matcher.Rule, map[string][]string) { return r.rules, r.lists }

func (r fixedRules) Delivery(rule string) (delivery.Options, bool) {
	if !slices.ContainsFunc(r.rules, func(ru matcher.Rule) bool { return ru.ID == rule }) {
		return delivery.Options{}, false
	}
	return r.deliveries[rule], true
}

// buildStatus is the status of a process that is no daemon: its start alone.
type buildStatus struct{}

func (buildStatus) Status(context.Context) (web.Status, error) {
	return web.Status{Version: "bench", Started: time.Now()}, nil
}
