package main

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// siteServer is a news site without feeds: a press page read by selectors, a Google News
// sitemap, and the articles they link to. A test adds headlines to both.
type siteServer struct {
	*httptest.Server
	mu       sync.Mutex
	press    []string // headlines of the press page, oldest first
	news     []string // of the sitemap
	articles map[string]string
	hits     map[string]int
}

func newSiteServer(t *testing.T) *siteServer {
	t.Helper()
	s := &siteServer{articles: map[string]string{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *siteServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[r.URL.Path]++
	if !strings.HasPrefix(r.UserAgent(), "newswatch/") {
		http.Error(w, "want a newswatch User-Agent, got "+r.UserAgent(), http.StatusBadRequest)
		return
	}
	var b strings.Builder
	switch {
	case r.URL.Path == "/press/":
		b.WriteString(`<!doctype html><html><head><title>Press releases</title></head><body><nav><a href="/">Home</a></nav><ul class="releases">`)
		for i := len(s.press) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, `<li class="release"><h3><a href="/press/%d">%s</a></h3><time datetime="2026-12-03T10:%02d:00Z">3 December</time></li>`,
				i, html.EscapeString(s.press[i]), i)
		}
		b.WriteString(`</ul></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	case r.URL.Path == "/news-sitemap.xml":
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">`)
		for i := len(s.news) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, `<url><loc>%s/news/%d</loc><news:news><news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>`+
				`<news:publication_date>2026-12-03T09:%02d:00Z</news:publication_date><news:title>%s</news:title></news:news></url>`,
				s.URL, i, i, html.EscapeString(s.news[i]))
		}
		b.WriteString(`</urlset>`)
		w.Header().Set("Content-Type", "application/xml")
	default:
		body, ok := s.articles[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b.WriteString(body)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	_, _ = w.Write([]byte(b.String()))
}

func (s *siteServer) add(press, news string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if press != "" {
		s.press = append(s.press, press)
	}
	if news != "" {
		s.news = append(s.news, news)
	}
}

func (s *siteServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// TestSourcesEndToEnd runs the built daemon on a site without feeds: a press page read by CSS
// selectors and a Google News sitemap are polled as feeds, their first poll alerts nothing,
// and a new item about Kursk on each alerts once, on the feed's own subject: the sitemap's by
// the text of its article, which full text reads (its headline does not say Kursk).
func TestSourcesEndToEnd(t *testing.T) {
	site := newSiteServer(t)
	site.add("Minister meets ambassadors", "Markets close higher")
	dir := t.TempDir()
	config, natsURL := testConfig(t, dir, []map[string]any{
		{"id": "press", "type": "html", "url": site.URL + "/press/",
			"selectors": map[string]any{"item": "li.release", "title": "h3", "link": "h3 a", "date": "time"}},
		{"id": "news", "type": "sitemap", "url": site.URL + "/news-sitemap.xml", "fulltext": "auto"},
	})
	d := startDaemon(t, config)
	nc := connect(t, natsURL)
	alerts := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe("newswatch.alert.>", alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	waitForState(t, nc, "press")
	waitForState(t, nc, "news")

	// The sitemap's headline does not say where; its article does, and full text reads it.
	site.mu.Lock()
	site.articles["/news/1"] = `<!doctype html><html><head><title>Governor orders evacuation</title></head><body>
<nav><a href="/">Home</a></nav><article><h1>Governor orders evacuation of border villages</h1>
<p>The governor of the Kursk region ordered on Tuesday the evacuation of eleven villages along the border, after a night of shelling that damaged houses and a power line.</p>
<p>Buses will take residents to temporary housing in the regional capital, officials said, and schools in the district will stay closed until the end of the week.</p>
</article></body></html>`
	site.mu.Unlock()
	site.add("Statement on the shelling of the Kursk region", "Governor orders evacuation of border villages")
	got := map[string]alertEvent{}
	for len(got) < 2 {
		select {
		case m := <-alerts:
			var ev alertEvent
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("alert on %s is not JSON: %v", m.Subject, err)
			}
			if _, dup := got[m.Subject]; dup {
				t.Fatalf("second alert on %s", m.Subject)
			}
			got[m.Subject] = ev
		case <-time.After(60 * time.Second):
			t.Fatalf("got alerts on %v, want one on newswatch.alert.kursk.press and .news", keys(got))
		}
	}
	for subject, title := range map[string]string{
		"newswatch.alert.kursk.press": "Statement on the shelling of the Kursk region",
		"newswatch.alert.kursk.news":  "Governor orders evacuation of border villages",
	} {
		if ev, ok := got[subject]; !ok || ev.Data.Item.Title != title {
			t.Errorf("alert on %s: %+v (present %v), want the item %q", subject, ev.Data.Item, ok, title)
		}
	}
	if ev := got["newswatch.alert.kursk.news"]; len(ev.Data.Hits) == 0 || ev.Data.Hits[0].Field != "content" {
		t.Errorf("the sitemap's alert has hits %+v, want them in the article's text (content)", ev.Data.Hits)
	}
	n := site.count("/press/")
	waitFor(t, 60*time.Second, "three more polls", func() bool { return site.count("/press/") >= n+3 })
	expectNoAlert(t, alerts)
	d.stop(t, 30*time.Second)
}
