package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/newswatch/newswatch/config"
)

// newsSite is a site with a feed named by its home page, an Atom feed at a common path, a
// Google News sitemap named by its robots.txt, and addresses that look like feeds and are not.
func newsSite(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><html><head><title>Example News</title>
<link rel="alternate" type="application/rss+xml" title="Example News: World" href="/world/rss.xml">
<link rel="alternate" type="application/rss+xml" title="Broken" href="/broken.xml">
</head><body><a href="/comments/feed">Comments feed</a><a href="/about">About</a></body></html>`))
		case "/world/rss.xml":
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>Example News: World</title><link>https://news.example/</link><description>x</description>
<item><guid>1</guid><title>Kursk</title></item><item><guid>2</guid><title>Seoul</title></item></channel></rss>`))
		case "/atom.xml":
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Example News (Atom)</title><id>urn:x</id><updated>2026-12-03T00:00:00Z</updated>
<entry><id>urn:1</id><title>Kursk</title><updated>2026-12-03T00:00:00Z</updated></entry></feed>`))
		case "/robots.txt":
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /admin/\nSitemap: /sitemaps/news.xml\n"))
		case "/sitemaps/news.xml":
			_, _ = w.Write([]byte(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>/world/1</loc><news:news><news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication><news:publication_date>2026-12-03</news:publication_date><news:title>Kursk</news:title></news:news></url></urlset>`))
		case "/sitemap.xml", "/broken.xml":
			_, _ = w.Write([]byte(`<html><body>Not here</body></html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDiscover finds a site's feeds from its home page, robots.txt and common paths, checks
// each, and prints those that are feeds as entries the configuration loads.
func TestDiscover(t *testing.T) {
	site := newsSite(t)
	code, out, errOut := runCLI(t, "", "discover", "--allow-private", site.URL+"/")
	if code != 0 {
		t.Fatalf("discover: exit %d, want 0\n%s%s", code, out, errOut)
	}
	cfg, err := config.Parse("discovered.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the printed entries do not load: %v\n%s", err, out)
	}
	var got []string
	for _, f := range cfg.Feeds {
		got = append(got, f.ID+" "+f.Type+" "+strings.TrimPrefix(f.URL, site.URL))
	}
	want := []string{
		"127-0-0-1-world-rss-xml  /world/rss.xml", // the most telling first
		"127-0-0-1-sitemaps-news-xml sitemap /sitemaps/news.xml",
		"127-0-0-1-atom-xml  /atom.xml",
	}
	if !slices.Equal(got, want) {
		t.Errorf("feeds found:\ngot  %q\nwant %q\n%s", got, want, out)
	}
	if !strings.Contains(out, `"Example News: World", 2 items; found by <link rel="alternate">`) {
		t.Errorf("no description of the feed found by its link:\n%s", out)
	}

	code, out, _ = runCLI(t, "", "discover", "--allow-private", "--json", site.URL+"/")
	var found []struct {
		ID, URL, Type, Format, Title string
		Items                        int
		FoundBy                      string `json:"found_by"`
	}
	if err := json.Unmarshal([]byte(out), &found); code != 0 || err != nil || len(found) != 3 {
		t.Fatalf("discover --json: exit %d, %v, %d feeds:\n%s", code, err, len(found), out)
	}
	if f := found[2]; f.Format != "atom" || f.FoundBy != "probe" || f.Title != "Example News (Atom)" || f.Items != 1 {
		t.Errorf("atom feed found as %+v", f)
	}
}

func TestDiscoverExitCodes(t *testing.T) {
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`<html><body><p>No feeds here.</p></body></html>`))
	}))
	t.Cleanup(empty.Close)
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"nothing found", []string{"discover", "--allow-private", empty.URL}, 1, "0 feeds found"},
		{"page not found", []string{"discover", "--allow-private", empty.URL + "/gone"}, 2, "404"},
		{"private address refused", []string{"discover", empty.URL}, 2, "--allow-private"},
		{"not a URL", []string{"discover", "news.example"}, 2, "not an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q\n%s", code, errOut, tt.code, tt.err, out)
			}
		})
	}
}

// TestTestSourceTypes runs newswatch test on feeds of other types: a feed id of the
// configuration is read as its type, a URL as the type --type names.
func TestTestSourceTypes(t *testing.T) {
	site := newsSite(t)
	press := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<html><body><ul><li class="r"><a href="/1">Kursk: a statement</a></li><li class="r"><a href="/2">Budget</a></li></ul></body></html>`))
	}))
	t.Cleanup(press.Close)
	var articles *httptest.Server
	articles = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rss.xml":
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link><description>x</description>
<item><guid>1</guid><title>Pyongyang confirms deployment</title><link>` + articles.URL + `/a/1</link></item></channel></rss>`))
		case "/a/1":
			_, _ = w.Write([]byte(`<html><head><title>Pyongyang confirms deployment</title></head><body><nav><a href="/">Home</a></nav><article><h1>Pyongyang confirms deployment</h1>
<p>North Korea's state media confirmed on Monday that its soldiers had been sent to Russia, the first such admission after months of denials.</p>
<p>The troops were deployed to the Kursk region, where Ukrainian forces have held territory since the summer, the official news agency said.</p></article></body></html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(articles.Close)
	cfg := writeFile(t, "nw.yaml", `feeds:
  - id: press
    type: html
    url: `+press.URL+`/press/
    allow_private: true
    selectors: {item: li.r}
  - id: wire
    url: `+articles.URL+`/rss.xml
    allow_private: true
    fulltext: auto
rules:
  - {id: kursk, query: kursk}
`)
	code, out, errOut := runCLI(t, "", "test", "-c", cfg, "press")
	if code != 0 || !strings.Contains(out, "Kursk: a statement") || !strings.Contains(errOut, "items: 2 parsed, 1 matched") {
		t.Errorf("test of an html feed id: exit %d\n%s%s", code, out, errOut)
	}
	// A feed with full text is matched on its articles, as run matches it.
	code, out, errOut = runCLI(t, "", "test", "-c", cfg, "wire")
	if code != 0 || !strings.Contains(out, "Pyongyang confirms deployment") || !strings.Contains(out, "content:") {
		t.Errorf("test of a feed with fulltext auto: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, "", "test", "-c", cfg, "--fulltext", "never", "wire"); code != 1 {
		t.Errorf("test --fulltext never of the same feed: exit %d, want 1 (no match)\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "test", "-c", cfg, "--allow-private", "--type", "sitemap", site.URL+"/sitemaps/news.xml")
	if code != 0 || !strings.Contains(errOut, "items: 1 parsed, 1 matched") {
		t.Errorf("test --type sitemap URL: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "", "test", "-c", cfg, "--allow-private", site.URL+"/sitemaps/news.xml")
	if code != 2 || !strings.Contains(errOut, "not a feed") {
		t.Errorf("test of a sitemap URL without --type: exit %d, want 2 and not a feed\n%s", code, errOut)
	}
}

// TestSourceTypesInOtherCommands: check warns of a private address a type derives from its
// options, and export opml leaves out what a feed reader cannot read.
func TestSourceTypesInOtherCommands(t *testing.T) {
	path := writeFile(t, "nw.yaml", `feeds:
  - {id: world, url: "https://news.example/rss.xml"}
  - {id: local-tag, type: mastodon, instance: "http://127.0.0.1:3000", tag: kursk}
  - {id: wire, type: telegram, channel: examplewire}
`)
	code, _, errOut := runCLI(t, "", "check", "-c", path)
	if code != 0 || !strings.Contains(errOut, "feed local-tag: http://127.0.0.1:3000/api/v1/timelines/tag/kursk?limit=40 is a loopback address") {
		t.Errorf("check: exit %d, stderr:\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, "", "export", "opml", "-c", path)
	if code != 0 || !strings.Contains(out, "news.example/rss.xml") || strings.Contains(out, "local-tag") || strings.Contains(out, "t.me") ||
		!strings.Contains(errOut, "left out: local-tag (mastodon), wire (telegram)") {
		t.Errorf("export opml: exit %d\n%s%s", code, out, errOut)
	}
}
