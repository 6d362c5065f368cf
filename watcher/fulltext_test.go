package watcher

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/text/encoding/charmap"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// recordArchive keeps what a poll archives.
type recordArchive struct {
	mu    sync.Mutex
	items []event.Archived
}

func (a *recordArchive) Archive(_ context.Context, items []event.Archived) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.items = append(a.items, items...)
	return nil
}

func (a *recordArchive) ArchiveFirst(ctx context.Context, items []event.Archived) error {
	return a.Archive(ctx, items)
}

// articlePage is a news article with the site around it: navigation, a list of related
// headlines and a cookie notice, which must not be matched.
func articlePage(headline string, paragraphs ...string) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><title>` + headline + ` | Example News</title></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/asia">Asia</a></nav>
<div class="cookie-notice">We use cookies to improve your experience. Accept all cookies?</div>
<main><article><h1>` + headline + `</h1>`)
	for _, p := range paragraphs {
		b.WriteString("<p>" + p + "</p>\n")
	}
	b.WriteString(`</article>
<aside class="related"><h2>Related</h2><ul><li><a href="/x">Storm hits coast</a></li><li><a href="/y">Elections in Chile</a></li></ul></aside></main>
<footer>© Example News. All rights reserved.</footer></body></html>`)
	return b.String()
}

var kurskArticle = articlePage("Pyongyang confirms deployment",
	"North Korea's state media confirmed on Monday that its soldiers had been sent to Russia, the first such admission after months of denials from the government in Pyongyang.",
	"The troops were deployed to the Kursk region, where Ukrainian forces have held territory since the summer, according to a statement carried by the official news agency.",
	"Analysts said the statement was meant for a domestic audience as much as for foreign governments, and that it changed little on the ground in the weeks to come.",
)

// articleSetup is a watcher polling feed "world" of fs with full text, whose articles site
// serves (robots.txt included).
type articleSetup struct {
	fs      *feedServer
	w       *Watcher
	pub     *memPublisher
	state   *memState
	archive *recordArchive
}

func newArticleSetup(t *testing.T, mode FullTextMode, cfg func(*Feed, *Config)) *articleSetup {
	t.Helper()
	as := &articleSetup{fs: newFeedServer(t, rss("World")), pub: &memPublisher{}, state: newMemState(), archive: &recordArchive{}}
	f := testFeed("world", as.fs.URL+"/rss.xml", "@every 5m")
	f.FullText = mode
	c := Config{Rules: []matcher.Rule{kurskRule}, Publisher: as.pub, State: as.state, Archiver: as.archive}
	if cfg != nil {
		cfg(&f, &c)
	}
	c.Feeds = []Feed{f}
	as.w = testWatcher(t, c, nil)
	as.w.articles.interval = time.Millisecond
	if err := as.w.Poll(t.Context(), "world", slot(1)); err != nil { // the baseline
		t.Fatal(err)
	}
	return as
}

// publish adds items to the feed and polls it.
func (as *articleSetup) publish(t *testing.T, n int, items ...rssItem) {
	t.Helper()
	as.fs.set(func(fs *feedServer) { fs.body = rss("World", items...) })
	if err := as.w.Poll(t.Context(), "world", slot(n)); err != nil {
		t.Fatal(err)
	}
}

func (as *articleSetup) results() map[string]float64 {
	out := map[string]float64{}
	for _, r := range []string{"fetched", "cached", "denied", "busy", "failed"} {
		if v := testutil.ToFloat64(as.w.metrics.articles.WithLabelValues(r)); v > 0 {
			out[r] = v
		}
	}
	return out
}

// TestFullTextMatchesTheArticle polls a feed whose new item is a headline alone: the article
// it links to mentions Kursk, and with full text the item alerts on its content, archived with
// it; the site's related headlines and footer are not part of it. Without full text
// the same item alerts nothing; a long item is not fetched in auto mode; a second poll that
// meets the same link again reads it from the cache.
func TestFullTextMatchesTheArticle(t *testing.T) {
	article := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /admin/\n"))
		case "/world/pyongyang":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(kurskArticle))
		default:
			http.NotFound(w, r)
		}
	}))
	item := rssItem{GUID: "a", Title: "Pyongyang confirms deployment", Link: article.URL + "/world/pyongyang"}

	for _, tt := range []struct {
		mode   FullTextMode
		alerts int
	}{{FullTextNever, 0}, {FullTextAuto, 1}, {FullTextAlways, 1}} {
		t.Run(string(tt.mode), func(t *testing.T) {
			as := newArticleSetup(t, tt.mode, nil)
			as.publish(t, 2, item)
			alerts := as.pub.published()
			if len(alerts) != tt.alerts {
				t.Fatalf("got %d alerts, want %d", len(alerts), tt.alerts)
			}
			if tt.alerts == 0 {
				if r := as.results(); len(r) != 0 {
					t.Errorf("articles read with fulltext never: %v", r)
				}
				return
			}
			if h := alerts[0].Hits; len(h) == 0 || h[0].Field != "content" {
				t.Errorf("hits %+v, want one in the content", h)
			}
			if len(as.archive.items) != 1 || !strings.Contains(as.archive.items[0].Content, "Kursk region") {
				t.Fatalf("archived %+v, want the item with the article's text", as.archive.items)
			}
			content := as.archive.items[0].Content
			for _, boilerplate := range []string{"Storm hits coast", "Elections in Chile", "All rights reserved"} {
				if strings.Contains(content, boilerplate) {
					t.Errorf("the article's text holds %q:\n%s", boilerplate, content)
				}
			}
			// The same article under another item (a feed that reposts it): from the cache.
			as.publish(t, 3, rssItem{GUID: "b", Title: "Pyongyang confirms deployment (update)", Link: item.Link}, item)
			if got, want := as.results(), map[string]float64{"fetched": 1, "cached": 1}; !equalMaps(got, want) {
				t.Errorf("article results %v, want %v", got, want)
			}
		})
	}

	t.Run("auto skips a long item", func(t *testing.T) {
		as := newArticleSetup(t, FullTextAuto, nil)
		long := item
		long.Description = strings.Repeat("A long summary of the day's news with nothing of interest. ", 10)
		as.publish(t, 2, long)
		if n := len(as.pub.published()); n != 0 {
			t.Errorf("got %d alerts, want none", n)
		}
		if r := as.results(); len(r) != 0 {
			t.Errorf("articles read for a long item: %v", r)
		}
	})
}

func equalMaps(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFullTextPolite: robots.txt's Disallow for newswatch is honoured (the article is never
// requested, the robots.txt once per host), a redirect of an article into an address the guard
// refuses is not followed, a page without end or without HTML is given up, and an article that
// never comes does not hold the poll past its deadline. In each case the item is matched with its feed's own text, and the poll succeeds.
func TestFullTextPolite(t *testing.T) {
	private := serverOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request to the private address: %s", r.URL)
		_, _ = w.Write([]byte(kurskArticle))
	}))
	var mu sync.Mutex
	hits := map[string]int{}
	site := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = w.Write([]byte("User-agent: Googlebot\nDisallow:\n\nUser-agent: newswatch\nDisallow: /private/\n"))
		case "/private/a", "/private/b":
			_, _ = w.Write([]byte(kurskArticle))
		case "/moved":
			http.Redirect(w, r, private.URL+"/a", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		case "/huge":
			chunk := []byte(strings.Repeat("<p>Kursk Kursk Kursk Kursk.</p>", 1000))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/binary":
			_, _ = w.Write([]byte("\x00\x01\x02PK\x03\x04 not a page at all \xff\xfe"))
		}
	}))
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path]
	}
	guarded := func(f *Feed, c *Config) {
		f.AllowPrivate = false
		f.Timeout = 10 * time.Minute // the article's deadline, not the fetch's, must stop it
		c.AddressPolicy = onlyAddr("127.0.0.1")
	}

	t.Run("robots.txt", func(t *testing.T) {
		as := newArticleSetup(t, FullTextAuto, guarded)
		as.publish(t, 2,
			rssItem{GUID: "a", Title: "Kursk: a statement", Link: site.URL + "/private/a"},
			rssItem{GUID: "b", Title: "Pyongyang confirms deployment", Link: site.URL + "/private/b"})
		if n := count("/private/a") + count("/private/b"); n != 0 {
			t.Errorf("disallowed articles requested %d times", n)
		}
		if n := count("/robots.txt"); n != 1 {
			t.Errorf("robots.txt requested %d times, want once", n)
		}
		if got := alertKeys(as.pub.published()); len(got) != 1 || !strings.HasSuffix(got[0], ":a") {
			t.Errorf("alerts %v, want the item whose own title matches", got)
		}
		if got, want := as.results(), map[string]float64{"denied": 2}; !equalMaps(got, want) {
			t.Errorf("article results %v, want %v", got, want)
		}
	})

	t.Run("redirect into a private address", func(t *testing.T) {
		as := newArticleSetup(t, FullTextAuto, guarded)
		as.publish(t, 2, rssItem{GUID: "a", Title: "Kursk: a statement", Link: site.URL + "/moved"})
		if got := as.results(); got["failed"] != 1 {
			t.Errorf("article results %v, want one failed", got)
		}
		if n := len(as.pub.published()); n != 1 {
			t.Errorf("got %d alerts, want the item alerted on its own title", n)
		}
		if st := as.state.state(t, "world"); st.LastError != "" {
			t.Errorf("the poll failed: %s", st.LastError)
		}
	})

	for _, path := range []string{"/huge", "/binary"} {
		t.Run(path, func(t *testing.T) {
			as := newArticleSetup(t, FullTextAlways, guarded)
			as.publish(t, 2, rssItem{GUID: "a", Title: "Pyongyang confirms deployment", Link: site.URL + path})
			if got := as.results(); got["failed"] != 1 {
				t.Errorf("article results %v, want one failed", got)
			}
			if n := len(as.pub.published()); n != 0 {
				t.Errorf("got %d alerts from a page that is no article, want none", n)
			}
			if st := as.state.state(t, "world"); st.LastError != "" || len(as.archive.items) != 1 {
				t.Errorf("the poll failed (%q) or archived %d items", st.LastError, len(as.archive.items))
			}
		})
	}

	t.Run("an article that never comes", func(t *testing.T) {
		as := newArticleSetup(t, FullTextAlways, guarded)
		as.w.articles.deadline = 500 * time.Millisecond
		done := make(chan struct{})
		go func() {
			defer close(done)
			as.publish(t, 2, rssItem{GUID: "a", Title: "Kursk: a statement", Link: site.URL + "/slow"})
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("the poll waits on an article past its deadline")
		}
		if n := count("/slow"); n != 1 {
			t.Errorf("slow article requested %d times, want 1", n)
		}
		if n := len(as.pub.published()); n != 1 {
			t.Errorf("got %d alerts, want the item alerted on its own title", n)
		}
		if got := as.results(); got["failed"] != 1 {
			t.Errorf("article results %v, want one failed", got)
		}
	})
}

// TestFullTextCharset reads an article in windows-1251 that says so in its <meta charset>
// only, as many Russian sites do: its text is decoded before it is matched.
func TestFullTextCharset(t *testing.T) {
	page := articlePage("Заявление министерства",
		"Министерство обороны сообщило во вторник, что в Курской области продолжаются бои, а часть сёл эвакуирована.",
		"Власти региона заявили, что автобусы доставят жителей в пункты временного размещения в областном центре.",
		"По словам губернатора, школы района будут закрыты до конца недели, а электроснабжение восстановлено частично.")
	page = strings.Replace(page, "<head>", `<head><meta charset="windows-1251">`, 1)
	encoded, err := charmap.Windows1251.NewEncoder().String(page)
	if err != nil {
		t.Fatal(err)
	}
	site := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(encoded))
	}))
	as := newArticleSetup(t, FullTextAuto, func(_ *Feed, c *Config) {
		c.Rules = []matcher.Rule{{ID: "kursk", Query: "курск*"}}
	})
	as.publish(t, 2, rssItem{GUID: "a", Title: "Заявление министерства", Link: site.URL + "/news/1"})
	if n := len(as.pub.published()); n != 1 {
		t.Errorf("got %d alerts, want 1; archived %+v", n, as.archive.items)
	}
}

// TestFullTextHostRate: the articles of one host are requested at least the interval apart,
// and those whose turn would come after their deadline are given up at once, matched with the
// feed's own text.
func TestFullTextHostRate(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	site := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		_, _ = w.Write([]byte(kurskArticle))
	}))
	as := newArticleSetup(t, FullTextAuto, nil)
	const interval = 300 * time.Millisecond
	as.w.articles.interval, as.w.articles.deadline = interval, 1500*time.Millisecond
	var items []rssItem
	for i := range 8 {
		items = append(items, rssItem{GUID: fmt.Sprint(i), Title: fmt.Sprintf("Statement %d", i), Link: fmt.Sprintf("%s/a/%d", site.URL, i)})
	}
	as.publish(t, 2, items...)
	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	// The times are the server's, which carry the machine's scheduling delays: one request
	// delayed on its way brings it closer to the next. So each gap must be at least half the
	// interval, and the gaps on average the interval (a delay moves only the ends of the span).
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < interval/2 {
			t.Errorf("requests %d and %d to one host %s apart, want at least %s", i-1, i, gap, interval)
		}
	}
	if n := len(at); n > 1 {
		if mean := at[n-1].Sub(at[0]) / time.Duration(n-1); mean < interval-10*time.Millisecond {
			t.Errorf("requests to one host %s apart on average, want at least %s", mean, interval)
		}
	}
	// Turns at 0, 0.3, ... 1.5 s fit the deadline; the others are given up without a request.
	r := as.results()
	if len(at) == 0 || len(at) > 6 || r["fetched"] != float64(len(at)) || r["busy"] != float64(8-len(at)) {
		t.Errorf("%d requests, results %v; want at most 6 fetched, the rest busy", len(at), r)
	}
}

// TestFullTextHostBusy: a host asked for more articles than its pace allows does not hold the
// poll up to the articles' deadline: the articles whose turn would come more than the host wait
// from now are given up at once, so the poll takes about the host wait, not the deadline.
func TestFullTextHostBusy(t *testing.T) {
	var requests atomic.Int32
	site := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		requests.Add(1)
		_, _ = w.Write([]byte(kurskArticle))
	}))
	as := newArticleSetup(t, FullTextAuto, nil)
	const interval = 400 * time.Millisecond
	as.w.articles.interval, as.w.articles.hostWait, as.w.articles.deadline = interval, time.Second, time.Minute
	var items []rssItem
	for i := range 10 {
		items = append(items, rssItem{GUID: fmt.Sprint(i), Title: fmt.Sprintf("Statement %d", i), Link: fmt.Sprintf("%s/a/%d", site.URL, i)})
	}
	start := time.Now()
	as.publish(t, 2, items...)
	took := time.Since(start)
	// Turns at 0, 0.4 and 0.8 s come within the host wait of a second; the seven others are
	// given up without a request.
	r := as.results()
	if n := requests.Load(); n == 0 || n > 3 || r["fetched"] != float64(n) || r["busy"] != float64(10-n) {
		t.Errorf("%d requests, results %v; want at most 3 fetched, the rest busy", n, r)
	}
	if took > 30*time.Second {
		t.Errorf("the poll took %s; the host wait should bound it near a second, far below the minute of the deadline", took)
	}
}
