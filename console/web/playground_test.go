package web_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/watcher"
)

// archived is an archived item of feed first seen at t, its link on host.
func archived(feed, host string, i int, title string, t time.Time) event.Archived {
	link := fmt.Sprintf("https://%s/%d", host, i)
	return event.Archived{FeedID: feed, FeedTitle: "News " + feed, FirstSeen: t,
		Item: event.Item{Key: link, GUID: link, Link: link, Title: title, Summary: "A dispatch.", Published: t}}
}

// archive publishes items into n's item archive.
func archive(t *testing.T, n *notifier.Notifier, items []event.Archived) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.Archive().Publish(ctx, items); err != nil {
		t.Fatal(err)
	}
}

// get fetches path of srv and parses it.
func get(t *testing.T, url string) *goquery.Document {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestPlaygroundDeliveries matches queries over an archive of 18 items about Kursk from three
// publishers, 15 within one hour (one every 4 minutes) and 3 in the next, beside 5 about
// something else, all on yesterday (UTC), and reads the table of what each delivery would have
// sent: immediate, each alert; a digest an hour, two; a day, one; a budget of 10 an hour, 10 then
// 3 at once, with a notice and a digest of the other 5. Picking rule kursk adds its own delivery
// first, a budget of 5 an hour: 5 then 3 at once, a notice and a digest.
func TestPlaygroundDeliveries(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-23 * time.Hour) // yesterday 01:00
	var items []event.Archived
	for i := range 15 {
		items = append(items, archived("wire", fmt.Sprintf("p%d.example", i%3), i, fmt.Sprintf("Troops near Kursk, report %d", i), base.Add(time.Duration(i)*4*time.Minute)))
	}
	for i := range 3 {
		items = append(items, archived("wire", "www.p0.example", 15+i, fmt.Sprintf("Kursk, later report %d", i), base.Add(time.Hour+time.Duration(i)*10*time.Minute)))
	}
	for i := range 5 {
		items = append(items, archived("world", "world.example", 20+i, fmt.Sprintf("Markets, day %d", i), base.Add(time.Duration(i)*time.Minute)))
	}
	archive(t, n, items)
	rules := fixedRules{
		rules:      []matcher.Rule{{ID: "kursk", Query: "kursk"}, {ID: "markets", Query: "markets"}},
		deliveries: map[string]delivery.Options{"kursk": {Mode: delivery.ModeBudget, Max: 5, Spike: delivery.SpikeOptions{Off: true}}},
	}
	srv := serveConsole(t, n, nil, console.NewSnapshot(nil), consoleOptions{rules: rules})

	type row struct {
		name                                  string
		alerts, digests, notices, spikes, sum int
	}
	standard := []row{
		{"immediate", 18, 0, 0, 0, 18},
		{"digest every 1h", 0, 2, 0, 0, 2},
		{"digest every 24h", 0, 1, 0, 0, 1},
		{"budget 10 an hour", 13, 1, 1, 0, 15},
	}
	tests := []struct {
		name  string
		path  string
		count string
		want  []row
	}{
		{"a query of its own", "/playground?window=week&q=kursk", "18", standard},
		{"rule kursk", "/playground?window=week&rule=kursk", "18", append([]row{{"configured (budget 5 per 1h)", 8, 1, 1, 0, 10}}, standard...)},
		{"rule kursk's id with the query", "/playground?window=week&id=kursk&q=kursk", "18", append([]row{{"configured (budget 5 per 1h)", 8, 1, 1, 0, 10}}, standard...)},
		{"nothing matches", "/playground?window=week&q=nowhere", "0", []row{
			{"immediate", 0, 0, 0, 0, 0}, {"digest every 1h", 0, 0, 0, 0, 0}, {"digest every 24h", 0, 0, 0, 0, 0}, {"budget 10 an hour", 0, 0, 0, 0, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := get(t, srv.URL+tt.path)
			if got := doc.Find("#match-count").Text(); got != tt.count {
				t.Errorf("the page counts %q matches, want %s", got, tt.count)
			}
			if e := doc.Find("#counts .note.bad").Text(); e != "" {
				t.Errorf("the page says %q", e)
			}
			heads := doc.Find("#deliveries thead th").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("scope", "") + ":" + s.Text() })
			if got := strings.Join(heads, ", "); got != "col:Delivery, col:Alerts at once, col:Digests, col:Budget notices, col:Spikes, col:Messages" {
				t.Errorf("the table's headers are %s", got)
			}
			var got []row
			doc.Find("#deliveries tbody tr").Each(func(_ int, tr *goquery.Selection) {
				var r row
				r.name = tr.Find(`th[scope="row"]`).Text()
				cells := tr.Find("td").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
				if _, err := fmt.Sscan(strings.Join(cells, " "), &r.alerts, &r.digests, &r.notices, &r.spikes, &r.sum); err != nil {
					t.Errorf("row %q: %v", cells, err)
				}
				got = append(got, r)
			})
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("the deliveries read\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
	// Yesterday's matches in the table of days, and the first of them, oldest first.
	doc := get(t, srv.URL+"/playground?window=week&q=kursk")
	day := base.Format(time.DateOnly)
	found := false
	doc.Find("table.days tbody tr").Each(func(_ int, tr *goquery.Selection) {
		if tr.Find("td").First().Text() == day {
			found = true
			if got := tr.Find("td").Last().Text(); got != "18" {
				t.Errorf("%s: %s matches, want 18", day, got)
			}
		}
	})
	if !found {
		t.Errorf("no row for %s in the days", day)
	}
	if got := doc.Find("#matches article h3").First().Text(); got != "Troops near Kursk, report 0" {
		t.Errorf("the first match shown is %q, want the oldest", got)
	}
}

// gatedBacktest holds a backtest at its second match until release is closed, and records
// whether it gave up waiting.
type gatedBacktest struct {
	backtest
	release chan struct{}
	gaveUp  chan bool
}

func (g gatedBacktest) Backtest(ctx context.Context, q watcher.BacktestQuery, found func(watcher.BacktestFound) error) (watcher.BacktestStats, error) {
	calls, gaveUp := 0, false
	st, err := g.backtest.Backtest(ctx, q, func(f watcher.BacktestFound) error {
		if calls++; calls == 2 {
			select {
			case <-g.release:
			case <-time.After(60 * time.Second):
				gaveUp = true
				return errors.New("the client never saw the first match")
			}
		}
		return found(f)
	})
	g.gaveUp <- gaveUp
	return st, err
}

// TestPlaygroundStreams: the first match of a run reaches the client while the run is still
// going. The backtest holds at its second match until the client has read the first from the
// response; a page sent only when the run ends would never show it, and the backtest would give
// up after a minute.
func TestPlaygroundStreams(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	now := time.Now().UTC()
	archive(t, n, []event.Archived{
		archived("wire", "p1.example", 1, "First report from Kursk", now.Add(-2*time.Hour)),
		archived("wire", "p2.example", 2, "Second report from Kursk", now.Add(-time.Hour)),
	})
	g := gatedBacktest{backtest{n}, make(chan struct{}), make(chan bool, 1)}
	srv := serveConsole(t, n, nil, console.NewSnapshot(nil), consoleOptions{
		rules: fixedRules{rules: []matcher.Rule{{ID: "kursk", Query: "kursk"}}}, backtest: g})

	resp, err := http.Get(srv.URL + "/playground?q=kursk")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var head strings.Builder
	for !strings.Contains(head.String(), "First report from") {
		line, err := r.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			t.Fatalf("the page ended before its first match: %v\n%s", err, head.String())
		}
	}
	if strings.Contains(head.String(), "Second report") || strings.Contains(head.String(), `id="match-count"`) {
		t.Fatalf("the page went past its first match while the backtest was held:\n%s", head.String())
	}
	close(g.release)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if <-g.gaveUp {
		t.Fatal("the backtest gave up waiting")
	}
	page := head.String() + string(rest)
	for _, want := range []string{"Second report from <mark>Kursk</mark>", `<span id="match-count">2</span>`, `id="deliveries"`, "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not hold %q:\n%s", want, page)
		}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}
