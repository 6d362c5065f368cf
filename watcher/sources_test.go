package watcher

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/watcher/source"
)

// sourceFixture reads a document of package source's test data.
func sourceFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("source", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// newsSitemap is a Google News sitemap of items at base.
func newsSitemap(base string, titles ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">`)
	for i, title := range titles {
		fmt.Fprintf(&b, `<url><loc>%s/news/%d</loc><news:news><news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-12-03T09:%02d:00Z</news:publication_date><news:title>%s</news:title></news:news></url>`, base, i, i, title)
	}
	b.WriteString("</urlset>\n")
	return b.String()
}

// pathServer serves fixed bodies by path on a real server, and counts the requests of each.
type pathServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string]string
	hits   map[string]int
}

func newPathServer(t *testing.T) *pathServer {
	t.Helper()
	ps := &pathServer{bodies: map[string]string{}, hits: map[string]int{}}
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		ps.hits[r.URL.Path]++
		body, ok := ps.bodies[r.URL.Path]
		ps.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ps.Close)
	return ps
}

func (ps *pathServer) set(path, body string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.bodies[path] = body
}

func (ps *pathServer) count(path string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.hits[path]
}

// TestPollSourceTypes polls a feed of every type from a real server: its items are parsed by
// the type's parser and alerted as a feed's, and a second poll of the same document alerts
// nothing (the same seen set). A Mastodon account is looked up once.
func TestPollSourceTypes(t *testing.T) {
	srv := newPathServer(t)
	srv.set("/news-sitemap.xml", newsSitemap(srv.URL, "Troops reach Kursk", "Markets calm"))
	srv.set("/index.xml", `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>/child-1.xml</loc></sitemap><sitemap><loc>`+srv.URL+`/child-2.xml</loc></sitemap></sitemapindex>`)
	srv.set("/child-1.xml", newsSitemap(srv.URL+"/one", "Kursk: first child"))
	srv.set("/child-2.xml", newsSitemap(srv.URL+"/two", "Kursk: second child", "Weather"))
	srv.set("/en/press/", sourceFixture(t, "ministry.html"))
	srv.set("/s/examplewire", sourceFixture(t, "telegram.html"))
	srv.set("/api/v1/timelines/tag/kursk", sourceFixture(t, "mastodon-tag.json"))
	srv.set("/api/v1/accounts/lookup", sourceFixture(t, "mastodon-lookup.json"))
	srv.set("/api/v1/accounts/109876543210/statuses", sourceFixture(t, "mastodon-tag.json"))
	srv.set("/xrpc/app.bsky.feed.getAuthorFeed", sourceFixture(t, "bluesky.json"))

	tests := []struct {
		name   string
		url    string
		src    Source
		query  string
		alerts int
	}{
		{"sitemap", srv.URL + "/news-sitemap.xml", Source{Type: SourceSitemap}, "kursk", 1},
		{"sitemap index", srv.URL + "/index.xml", Source{Type: SourceSitemap}, "kursk", 2},
		{"html", srv.URL + "/en/press/", Source{Type: SourceHTML, Selectors: source.Selectors{
			Item: "li.news-item", Title: ".news-title", Link: ".news-title a", Date: ".news-date", Summary: ".news-lead",
		}}, "border", 1},
		{"telegram", srv.URL + "/s/examplewire", Source{Type: SourceTelegram}, `"general staff"`, 1},
		{"mastodon tag", "", Source{Type: SourceMastodon, Instance: srv.URL, Tag: "kursk"}, "kursk", 1},
		{"mastodon account", "", Source{Type: SourceMastodon, Instance: srv.URL, Account: "osintdesk"}, "depot", 1},
		{"bluesky", srv.URL + "/xrpc/app.bsky.feed.getAuthorFeed?actor=x", Source{Type: SourceBluesky, SkipReposts: true}, "belgorod OR istanbul", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFeed("src", tt.url, "@every 5m")
			f.Source = tt.src
			f.FirstPoll = FirstPoll{Mode: FirstPollAll}
			pub, state := &memPublisher{}, newMemState()
			w := testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{{ID: "r", Query: tt.query}}, Publisher: pub, State: state}, nil)
			for n := 1; n <= 2; n++ {
				if err := w.Poll(t.Context(), "src", slot(n)); err != nil {
					t.Fatal(err)
				}
			}
			st := state.state(t, "src")
			if st.LastError != "" || len(st.SeenIDs) == 0 {
				t.Fatalf("state after two polls: error %q, %d seen ids; want success and items", st.LastError, len(st.SeenIDs))
			}
			if got := len(pub.published()); got != tt.alerts {
				t.Errorf("got %d alerts (%v), want %d", got, alertKeys(pub.published()), tt.alerts)
			}
		})
	}
	if n := srv.count("/api/v1/accounts/lookup"); n != 1 {
		t.Errorf("mastodon account looked up %d times in two polls, want 1", n)
	}
	if n := srv.count("/child-2.xml"); n != 2 {
		t.Errorf("child sitemap fetched %d times in two polls, want 2", n)
	}
}

// TestPollSourceHostile polls a feed of every type from servers that misbehave: a body without
// end, one sent a byte at a time, a malformed document, a redirect into an address the guard
// refuses. Each fails the feed with its class, within its timeout, as a feed's would; the
// documents a type fetches beyond the feed's (a sitemap index's children, a Mastodon account's
// lookup) are held to the same guard and limits.
func TestPollSourceHostile(t *testing.T) {
	private := serverOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("never reached"))
	}))
	var malformed sync.Map // path -> body of the malformed case
	hostile := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode := r.URL.Query().Get("mode")
		if mode == "" { // a child of a sitemap index, a Mastodon lookup: the mode is in the path
			mode, _, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		}
		switch mode {
		case "huge":
			chunk := []byte(strings.Repeat("<li class=n><a href=/x>x</a></li>", 1000))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "slow":
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-tick.C:
				}
			}
		case "private":
			http.Redirect(w, r, private.URL+"/feed", http.StatusFound)
		case "malformed":
			body, _ := malformed.Load(r.URL.Path)
			_, _ = w.Write([]byte(body.(string)))
		case "index": // a sitemap index whose child is hostile
			fmt.Fprintf(w, `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>/%s/child.xml</loc></sitemap></sitemapindex>`, r.URL.Query().Get("child"))
		}
	}))
	sel := source.Selectors{Item: "li.n"}
	types := []struct {
		name      string
		src       func(base, mode string) (string, Source) // the feed's url and source
		malformed string
		class     ErrorClass // of the malformed document
	}{
		{"sitemap", func(base, mode string) (string, Source) {
			return base + "/malformed/s.xml?mode=" + mode, Source{Type: SourceSitemap}
		}, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://a.example/`, ClassMalformedFeed},
		{"sitemap child", func(base, mode string) (string, Source) {
			return base + "/index.xml?mode=index&child=" + mode, Source{Type: SourceSitemap}
		}, `<urlset><url><loc>`, ClassMalformedFeed},
		{"html", func(base, mode string) (string, Source) {
			return base + "/malformed/h?mode=" + mode, Source{Type: SourceHTML, Selectors: sel}
		}, `<html><body><p>We moved our press releases.</p></body></html>`, ClassNoItems},
		{"telegram", func(base, mode string) (string, Source) {
			return base + "/malformed/s/wire?mode=" + mode, Source{Type: SourceTelegram}
		}, `<html><body><div class="tgme_page">Channel not found</div></body></html>`, ClassNoItems},
		{"mastodon account", func(base, mode string) (string, Source) {
			return "", Source{Type: SourceMastodon, Instance: base, Account: "desk"}
		}, `{"id":"1`, ClassMalformedFeed},
		{"mastodon tag", func(base, mode string) (string, Source) {
			return base + "/malformed/tag?mode=" + mode, Source{Type: SourceMastodon}
		}, `[{"id": "1", "content": "x"`, ClassMalformedFeed},
		{"bluesky", func(base, mode string) (string, Source) {
			return base + "/malformed/b?mode=" + mode, Source{Type: SourceBluesky}
		}, `{"feed": [{"post": `, ClassMalformedFeed},
	}
	cases := []struct {
		mode  string
		class ErrorClass
	}{
		{"huge", ClassBodyTooLarge},
		{"slow", ClassTimeout},
		{"private", ClassPrivateAddress},
		{"malformed", ""},
	}
	for _, ty := range types {
		for _, c := range cases {
			t.Run(ty.name+"/"+c.mode, func(t *testing.T) {
				u, src := ty.src(hostile.URL, c.mode)
				if src.Account != "" {
					// The lookup goes to the instance's /api/v1/accounts/lookup: serve the mode there.
					src.Instance = hostile.URL + "/" + c.mode
					u, _ = SourceURL("", src)
					u = strings.Replace(u, "/api/v1/", "/"+c.mode+"/api/v1/", 1)
				}
				malformed.Store("/malformed/s.xml", types[0].malformed)
				malformed.Store("/malformed/child.xml", types[1].malformed)
				malformed.Store("/malformed/h", types[2].malformed)
				malformed.Store("/malformed/s/wire", types[3].malformed)
				malformed.Store("/malformed/api/v1/accounts/lookup", types[4].malformed)
				malformed.Store("/malformed/tag", types[5].malformed)
				malformed.Store("/malformed/b", types[6].malformed)
				f := testFeed("hostile", u, "@every 5m")
				f.Source, f.AllowPrivate = src, false
				f.Timeout, f.MaxBody = 500*time.Millisecond, 1<<20
				state := newMemState()
				w := testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{kurskRule}, State: state, AddressPolicy: onlyAddr("127.0.0.1")}, nil)
				start := time.Now()
				if err := w.Poll(t.Context(), "hostile", slot(1)); err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				want := c.class
				if want == "" {
					want = ty.class
				}
				st := state.state(t, "hostile")
				if st.LastErrorClass != want || st.ConsecutiveFailures != 1 {
					t.Errorf("got class %q (%s), %d failures; want %q, 1", st.LastErrorClass, st.LastError, st.ConsecutiveFailures, want)
				}
				if took > 30*time.Second {
					t.Errorf("the poll took %s", took)
				}
			})
		}
	}
}

// TestSourceURL derives the address of the types that need no url.
func TestSourceURL(t *testing.T) {
	tests := []struct {
		src  Source
		want string
	}{
		{Source{Type: SourceTelegram, Channel: "@examplewire"}, "https://t.me/s/examplewire"},
		{Source{Type: SourceMastodon, Instance: "https://m.example", Tag: "#kursk"}, "https://m.example/api/v1/timelines/tag/kursk?limit=40"},
		{Source{Type: SourceMastodon, Instance: "https://m.example", Account: "desk"}, "https://m.example/api/v1/accounts/lookup?acct=desk"},
		{Source{Type: SourceBluesky, Account: "monitor.example.com"}, "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=monitor.example.com&filter=posts_no_replies&limit=50"},
	}
	for _, tt := range tests {
		got, err := SourceURL("", tt.src)
		if err != nil || got != tt.want {
			t.Errorf("SourceURL(%+v) = %q, %v; want %q", tt.src, got, err, tt.want)
		}
	}
	for _, bad := range []Source{{}, {Type: SourceTelegram, Channel: "no"}, {Type: SourceMastodon, Instance: "https://m.example"}} {
		if got, err := SourceURL("", bad); err == nil {
			t.Errorf("SourceURL(%+v) = %q, want an error", bad, got)
		}
	}
	if got, _ := SourceURL("https://a.example/x", Source{Type: SourceTelegram, Channel: "examplewire"}); got != "https://a.example/x" {
		t.Error("a given url is not kept")
	}
}

// TestPollHTMLCharset polls a page in windows-1251 that names its charset in <meta> only:
// its headlines are decoded before they are matched.
func TestPollHTMLCharset(t *testing.T) {
	page, err := charmap.Windows1251.NewEncoder().String(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head>` +
		`<body><ul><li class="n"><a href="/1">Бои в Курской области</a></li></ul></body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	srv := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html") // no charset: Go would sniff and say utf-8
		_, _ = w.Write([]byte(page))
	}))
	f := testFeed("src", srv.URL+"/news/", "@every 5m")
	f.Source = Source{Type: SourceHTML, Selectors: source.Selectors{Item: "li.n"}}
	f.FirstPoll = FirstPoll{Mode: FirstPollAll}
	pub := &memPublisher{}
	w := testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{{ID: "kursk", Query: "курск*"}}, Publisher: pub}, nil)
	if err := w.Poll(t.Context(), "src", slot(1)); err != nil {
		t.Fatal(err)
	}
	if a := pub.published(); len(a) != 1 || a[0].Item.Title != "Бои в Курской области" {
		t.Errorf("alerts %+v, want the headline decoded", a)
	}
}

// FuzzReadDocument feeds arbitrary bytes to the reader of every source type, as a poll hands
// them over: it must never panic, never return items together with an error, and give every
// item a key.
func FuzzReadDocument(f *testing.F) {
	types := []Source{
		{Type: SourceSitemap}, {Type: SourceHTML, Selectors: source.Selectors{Item: "li", Date: "time"}},
		{Type: SourceTelegram}, {Type: SourceMastodon}, {Type: SourceBluesky},
	}
	f.Add(uint8(0), []byte(newsSitemap("https://a.example", "Kursk")))
	f.Add(uint8(1), []byte(`<ul><li><a href="/a">Kursk</a><time datetime="2026-12-03">x</time></li></ul>`))
	f.Add(uint8(2), []byte(`<div class="tgme_widget_message" data-post="wirewire/1"><div class="tgme_widget_message_text">Kursk</div></div>`))
	f.Add(uint8(3), []byte(`[{"id":"1","uri":"https://m.example/1","url":"https://m.example/@a/1","content":"<p>Kursk</p>","created_at":"2026-12-03T00:00:00Z","account":{"acct":"a"}}]`))
	f.Add(uint8(4), []byte(`{"feed":[{"post":{"uri":"at://did:plc:a/app.bsky.feed.post/1","author":{"handle":"a.example"},"record":{"text":"Kursk"},"indexedAt":"2026-12-03T00:00:00Z"}}]}`))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		src := types[int(kind)%len(types)]
		doc, err := ReadDocument(t.Context(), data, "https://a.example/page", src)
		if err != nil {
			if doc.Title != "" || doc.Items != nil {
				t.Fatalf("%s: got %d items with error %v, want none", src.Type, len(doc.Items), err)
			}
			return
		}
		for i, it := range doc.Items {
			if it.Key == "" {
				t.Fatalf("%s: item %d has an empty key: %+v", src.Type, i, it)
			}
		}
	})
}
