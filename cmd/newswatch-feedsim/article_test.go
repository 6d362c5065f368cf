package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/temoto/robotstxt"

	"github.com/newswatch/newswatch/internal/feedsim"
	"github.com/newswatch/newswatch/watcher"
	"github.com/newswatch/newswatch/watcher/article"
)

func TestFullTextFeedsAreSpread(t *testing.T) {
	const feeds, hosts = 20000, 16
	picked := fullTextFeeds(feeds, 0.1)
	perHost := make([]int, hosts)
	total := 0
	for n, p := range picked {
		if p {
			total++
			perHost[n%hosts]++
		}
	}
	if total < 1800 || total > 2200 {
		t.Errorf("picked %d of %d feeds for a share of 0.1, want about 2000", total, feeds)
	}
	for h, c := range perHost {
		if c < total/hosts/2 || c > 2*total/hosts {
			t.Errorf("listener %d has %d of the %d headline-only feeds, want about %d", h, c, total, total/hosts)
		}
	}
	if again := fullTextFeeds(feeds, 0.1); fmt.Sprint(again) != fmt.Sprint(picked) {
		t.Error("two picks of the same share differ")
	}
	for _, share := range []float64{0, 1} {
		n := 0
		for _, p := range fullTextFeeds(100, share) {
			if p {
				n++
			}
		}
		if n != int(100*share) {
			t.Errorf("share %v: picked %d of 100, want %d", share, n, int(100*share))
		}
	}
}

// get fetches url and returns the status, the Content-Type and the body.
func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// parseFeed fetches and parses feed n of the simulator at base.
func parseFeed(t *testing.T, base string, n int) []watcher.Item {
	t.Helper()
	status, _, body := get(t, base+feedsim.Path(n))
	if status != http.StatusOK {
		t.Fatalf("feed %d: status %d, want 200", n, status)
	}
	_, items, err := watcher.ParseItems(body)
	if err != nil {
		t.Fatalf("feed %d: %v", n, err)
	}
	return items
}

func TestHeadlineOnlyFeedsAndTheirArticles(t *testing.T) {
	sim := feedsim.New(feedsim.Config{Feeds: 4, Period: time.Minute, Items: 8, MatchEvery: 2})
	c := newControl(sim, 4, time.Minute, []bool{false, true, false, true})
	srv := httptest.NewServer(c)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// A feed not picked is served as feedsim has it.
	for i, it := range parseFeed(t, srv.URL, 0) {
		want := sim.ItemsAt(0, time.Now())[i]
		if it.Summary != want.Description || it.Link != want.Link {
			t.Errorf("feed 0 item %d: summary %q link %q, want feedsim's %q %q", i, it.Summary, it.Link, want.Description, want.Link)
		}
	}

	items := parseFeed(t, srv.URL, 1)
	if len(items) != 8 {
		t.Fatalf("feed 1: %d items, want 8", len(items))
	}
	want := sim.ItemsAt(1, time.Now())
	for i, it := range items {
		if it.Summary != "" || it.Content != "" {
			t.Errorf("item %d: summary %q content %q, want a headline alone", i, it.Summary, it.Content)
		}
		if n := utf8.RuneCountInString(it.Title); n >= watcher.FullTextShort {
			t.Errorf("item %d: title of %d characters, want fewer than %d so that auto reads its article", i, n, watcher.FullTextShort)
		}
		if link := "http://" + host + articlePrefix + want[i].GUID; it.Link != link || it.GUID != want[i].GUID {
			t.Errorf("item %d: guid %q link %q, want %q %q", i, it.GUID, it.Link, want[i].GUID, link)
		}
	}

	// Each article page: HTML of a few KB, the same bytes every time, whose main text is the
	// item's description and body without the site around them.
	for i, it := range items {
		status, ctype, page := get(t, it.Link)
		if status != http.StatusOK || !strings.HasPrefix(ctype, "text/html") {
			t.Fatalf("item %d: %s: status %d, Content-Type %q, want 200 text/html", i, it.Link, status, ctype)
		}
		if len(page) < 3<<10 || len(page) > 16<<10 {
			t.Errorf("item %d: page of %d bytes, want a few KB", i, len(page))
		}
		if _, _, again := get(t, it.Link); !bytes.Equal(again, page) {
			t.Errorf("item %d: two answers for %s differ", i, it.Link)
		}
		u, _ := url.Parse(it.Link)
		art, err := article.Extract(page, u, article.Options{ContentType: ctype})
		if err != nil {
			t.Fatalf("item %d: extract: %v", i, err)
		}
		p := articleOf(want[i])
		if !strings.Contains(art.Text, want[i].Description) || !strings.Contains(art.Text, p.Body[len(p.Body)-1]) {
			t.Errorf("item %d: extracted text lacks the description %q or the last paragraph:\n%s", i, want[i].Description, art.Text)
		}
		for _, boiler := range append([]string{"cookies", "Accept all", "Technology", "rights reserved"}, p.Related...) {
			if strings.Contains(art.Text, boiler) {
				t.Errorf("item %d: extracted text holds the boilerplate %q:\n%s", i, boiler, art.Text)
			}
		}
		if n := len(strings.Fields(art.Text)); n < 150 {
			t.Errorf("item %d: %d words of article text, want several paragraphs", i, n)
		}
	}

	// Items not published, and paths that name none, are 404s.
	latest := sim.Latest(1, time.Now())
	for _, path := range []string{fmt.Sprintf("sim-1-%d", latest+1000), "sim-9-0", "sim-1", "sim-x-1", "index.html"} {
		if status, _, _ := get(t, srv.URL+articlePrefix+path); status != http.StatusNotFound {
			t.Errorf("%s%s: status %d, want 404", articlePrefix, path, status)
		}
	}

	// robots.txt lets newswatch read the articles, not the control endpoints.
	status, _, body := get(t, srv.URL+"/robots.txt")
	robots, err := robotstxt.FromStatusAndBytes(status, body)
	if err != nil {
		t.Fatal(err)
	}
	if !robots.TestAgent(articlePrefix+"sim-1-0", watcher.UserAgentToken) || robots.TestAgent("/-/stats", watcher.UserAgentToken) {
		t.Errorf("robots.txt %q: want articles allowed and /-/ not", body)
	}

	var doc feedsim.StatsDoc
	_, _, body = get(t, srv.URL+"/-/stats")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FullTextFeeds != 2 || doc.Articles != 16 || doc.ArticlesNotFound != 5 || doc.Robots != 1 {
		t.Errorf("stats: %d headline-only feeds, %d articles, %d not found, %d robots.txt; want 2, 16, 5, 1", doc.FullTextFeeds, doc.Articles, doc.ArticlesNotFound, doc.Robots)
	}

	// The changed mode stamps a headline-only document too.
	resp, err := http.Post(srv.URL+"/-/mode?set="+modeChanged, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, _, body = get(t, srv.URL+feedsim.Path(3))
	if !bytes.Contains(body, []byte("<lastBuildDate>")) || bytes.Count(body, []byte("<description>")) != 1 {
		t.Errorf("changed mode, feed 3: want a lastBuildDate and the channel's description alone:\n%s", body)
	}
}

// TestArticlesOfOlderItems: an item's page is served after the item has left its feed's
// document, with the item's own text.
func TestArticlesOfOlderItems(t *testing.T) {
	sim := feedsim.New(feedsim.Config{Feeds: 30, Period: time.Minute, Items: 5, BurstEvery: 3, BurstSize: 4})
	now := time.Now()
	for n := range 30 {
		latest := sim.Latest(n, now)
		for _, k := range []int64{0, latest / 3, latest - 7, latest} {
			if k < 0 {
				continue
			}
			it, ok := itemOf(sim, n, k, now)
			if !ok || it.GUID != fmt.Sprintf("sim-%d-%d", n, k) {
				t.Fatalf("feed %d item %d: got %q (%v)", n, k, it.GUID, ok)
			}
			at := sim.ItemsAt(n, it.Published)
			if at[0].Index < int(k) || at[len(at)-1].Index > int(k) {
				t.Errorf("feed %d item %d published %s, not in the document of then (%d to %d)", n, k, it.Published, at[len(at)-1].Index, at[0].Index)
			}
		}
		if _, ok := itemOf(sim, n, latest+1, now); ok {
			t.Errorf("feed %d: item %d, not yet published, found", n, latest+1)
		}
	}
}

// TestDaemonReadsTheArticles reads the articles of a headline-only feed as a poll of the daemon
// does (robots.txt, the per-host pace, the fetch, the extraction) and matches them.
func TestDaemonReadsTheArticles(t *testing.T) {
	sim := feedsim.New(feedsim.Config{Feeds: 2, Period: time.Minute, Items: 4, MatchEvery: 1})
	c := newControl(sim, 2, time.Minute, []bool{false, true})
	srv := httptest.NewServer(c)
	defer srv.Close()
	items := parseFeed(t, srv.URL, 1)
	f := watcher.Feed{ID: feedID(1), URL: srv.URL + feedsim.Path(1), Settings: watcher.Settings{FullText: watcher.FullTextAuto}}
	read := watcher.ReadFullText(t.Context(), f, "", items, watcher.FetchOptions{Timeout: 30 * time.Second, MaxBody: 1 << 20, AllowPrivate: true})
	want := sim.ItemsAt(1, time.Now())
	for i, it := range read {
		if !strings.Contains(it.Content, want[i].Description) || strings.Contains(it.Content, "cookies") {
			t.Errorf("item %d: content %q, want the article's text with %q", i, it.Content, want[i].Description)
		}
	}
	if got := c.articles.pages.Load(); got != int64(len(items)) {
		t.Errorf("%d article pages served, want %d", got, len(items))
	}
}
