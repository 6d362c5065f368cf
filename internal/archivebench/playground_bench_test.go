package archivebench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/console/web"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

// BenchmarkPlayground archives -archive.items items of the corpus (as BenchmarkArchive does),
// serves the web console over that archive, and asks its playground, through HTTP, for the
// matches of the one rule over the last day, which holds every item: one op is one page. It
// reports when the first match's bytes reached the client (first-match-s) and when the page
// ended (complete-s), each from the request's start, the page's time over the read floor
// measured in the same run (x-floor), and the CPU time per item of each (cpu-µs/item).
func BenchmarkPlayground(b *testing.B) {
	n := *items
	_, nf := openArchive(b)
	_, took := fillArchive(b, nf, n, nil)
	b.Logf("archived %d items in %s", n, took.Round(time.Millisecond))

	rules := []matcher.Rule{{ID: "kursk", Query: kurskRule}}
	ix, err := matcher.Compile(rules, nil)
	if err != nil {
		b.Fatal(err)
	}
	w, err := watcher.New(watcher.Config{Rules: rules, Index: ix, Publisher: nf.Alerts(), State: nf.State(), Jobs: nf.Jobs()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	snap := console.NewSnapshot(nil)
	snap.Ready()
	con, err := web.New(web.Config{Feeds: w, States: snap, Poller: w, Alerts: noAlerts{}, Backtest: archiveBacktest{nf},
		Rules: oneRule(rules), Status: benchStatus{}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	con.Register(mux)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)

	nc := notifiertest.Connect(b, nf, notifier.RoleSubscriber)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	settle(b, js, n)
	var floor time.Duration
	b.Run("read-floor", func(b *testing.B) {
		ns, _ := benchReads(b, n, func(b *testing.B) int { return readConsume(b, js, n) })
		floor = time.Duration(ns * float64(n))
	})
	b.Run("page/rules=1", func(b *testing.B) {
		page := srv.URL + "/playground?window=day&q=" + url.QueryEscape(kurskRule)
		count := regexp.MustCompile(`<span id="match-count">(\d+)</span> of (\d+) archived items`)
		var first, whole time.Duration
		pages := 0
		report := cpuPerItem(b, n)
		for b.Loop() {
			f, t, body := timePage(b, page)
			m := count.FindSubmatch(body)
			if m == nil {
				b.Fatalf("the page has no count of matches:\n%s", body[max(0, len(body)-3000):])
			}
			if read, _ := strconv.Atoi(string(m[2])); read != n {
				b.Fatalf("the playground read %d items, want %d", read, n)
			}
			if bytes.Contains(body, []byte(`class="note bad"`)) {
				b.Fatalf("the page reports an error:\n%s", body[max(0, len(body)-3000):])
			}
			first, whole, pages = first+f, whole+t, pages+1
			b.Logf("first match after %s, the page complete after %s, %s matches, %d bytes", f.Round(time.Millisecond), t.Round(time.Millisecond), m[1], len(body))
		}
		report(pages)
		b.ReportMetric((first / time.Duration(pages)).Seconds(), "first-match-s")
		b.ReportMetric((whole / time.Duration(pages)).Seconds(), "complete-s")
		b.ReportMetric(float64(n)/(whole/time.Duration(pages)).Seconds(), "items/s")
		if floor > 0 {
			b.ReportMetric(float64(whole/time.Duration(pages))/float64(floor), "x-floor")
		}
	})
}

// timePage gets url and returns when the first match's bytes arrived and when the body ended,
// from the request's start, and the body.
func timePage(b *testing.B, url string) (first, whole time.Duration, body []byte) {
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s", url, resp.Status)
	}
	marker := []byte(`<article class="story match">`)
	buf := make([]byte, 32<<10)
	for {
		k, err := resp.Body.Read(buf)
		body = append(body, buf[:k]...)
		if first == 0 && bytes.Contains(body[max(0, len(body)-k-len(marker)):], marker) {
			first = time.Since(start)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return first, time.Since(start), body
}

// archiveBacktest is the daemon's playground backtest: watcher.Backtest over its notifier's
// archive.
type archiveBacktest struct{ n *notifier.Notifier }

func (a archiveBacktest) Backtest(ctx context.Context, q watcher.BacktestQuery, found func(watcher.BacktestFound) error) (watcher.BacktestStats, error) {
	return watcher.Backtest(ctx, a.n, q, found)
}

// oneRule is a configuration of rules without lists, each delivered at once.
type oneRule []matcher.Rule

func (r oneRule) Rules() ([]matcher.Rule, map[string][]string) { return r, nil }

func (r oneRule) Delivery(string) (delivery.Options, bool) { return delivery.Options{}, false }

// noAlerts is an alert stream with none: the playground reads none.
type noAlerts struct{}

func (noAlerts) RecentAlerts(context.Context, console.AlertQuery) ([]console.Alert, error) {
	return nil, nil
}

// benchStatus is the status of a process that is no daemon.
type benchStatus struct{}

func (benchStatus) Status(context.Context) (web.Status, error) {
	return web.Status{Version: "bench"}, nil
}
