package discover

import (
	"errors"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPage(t *testing.T) {
	data, err := os.ReadFile("testdata/home.html")
	if err != nil {
		t.Fatal(err)
	}
	page := mustURL(t, "https://news.example/world/")
	found, err := Page(data, page)
	if err != nil {
		t.Fatal(err)
	}
	got := Merge(found, Probes(page))
	want := []Candidate{
		{URL: "https://news.example/feed/", Kind: KindLink, Format: FormatRSS, Title: "Example News » Feed"},
		{URL: "https://news.example/comments/feed/", Kind: KindLink, Format: FormatRSS, Title: "Example News » Comments Feed"},
		{URL: "https://news.example/world/world/atom.xml", Kind: KindLink, Format: FormatAtom, Title: "World (Atom)"},
		{URL: "https://news.example/feed.json", Kind: KindLink, Format: FormatJSON, Title: "JSON Feed"},
		// the REST API, the translation, the script and the repeated feed are left out
		{URL: "https://feeds.feedburner.com/ExampleNews", Kind: KindAnchor, Title: "Subscribe via Feedburner"},
		{URL: "https://news.example/category/ukraine/rss.xml", Kind: KindAnchor, Format: FormatRSS, Title: "Ukraine RSS"},
		{URL: "https://news.example/?feed=rss2&cat=4", Kind: KindAnchor, Format: FormatRSS, Title: "Old-style feed"},
		{URL: "https://news.example/podcast.rss", Kind: KindAnchor, Format: FormatRSS, Title: "Podcast"},
		{URL: "https://news.example/feed", Kind: KindProbe},
		{URL: "https://news.example/rss.xml", Kind: KindProbe, Format: FormatRSS},
		{URL: "https://news.example/atom.xml", Kind: KindProbe, Format: FormatAtom},
		{URL: "https://news.example/index.xml", Kind: KindProbe},
		// /feed.json is a link already
		{URL: "https://news.example/sitemap.xml", Kind: KindProbe, Format: FormatSitemap},
		{URL: "https://news.example/news-sitemap.xml", Kind: KindProbe, Format: FormatSitemap},
	}
	if !reflect.DeepEqual(got, want) {
		for i, c := range got {
			t.Logf("got %d: %+v", i, c)
		}
		t.Fatalf("got %d candidates, want %d (above)", len(got), len(want))
	}
}

func TestPageBase(t *testing.T) {
	data := []byte(`<head><base href="https://cdn.example/site/"><link rel="alternate" type="application/atom+xml" href="atom"></head>`)
	got, err := Page(data, mustURL(t, "https://www.example/"))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].URL != "https://cdn.example/site/atom" {
		t.Fatalf("got %q, want the link resolved by <base href>", got[0].URL)
	}
	if len(got) != 1 {
		t.Fatalf("got %d candidates, want 1", len(got))
	}
	if p := Probes(mustURL(t, "https://www.example/a/b?c")); p[0].URL != "https://www.example/feed" {
		t.Fatalf("got probe %q, want it on the page's own site", p[0].URL)
	}
}

func TestPageHostile(t *testing.T) {
	page := mustURL(t, "https://a.example/")
	tests := []struct {
		name    string
		data    string
		wantErr error
		want    int
	}{
		{"empty", "", nil, 0},
		{"too large", strings.Repeat(" ", MaxPageBytes+1), ErrTooLarge, 0},
		{"too deep", strings.Repeat("<div>", 2000), nil, 0},
		{"many links: bounded", strings.Repeat(`<a href="/x`, 0) + func() string {
			var b strings.Builder
			for i := range 500 {
				b.WriteString(`<a href="/f` + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + `/rss.xml">r</a>`)
			}
			return b.String()
		}(), nil, MaxCandidates},
		{"binary", "\x00\xff\xfe<a href=\"/feed\">\xff</a>", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Page([]byte(tt.data), page)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d candidates, want %d", len(got), tt.want)
			}
		})
	}
}

func TestRobots(t *testing.T) {
	robots := "User-agent: *\r\nDisallow: /admin\r\nSitemap: https://news.example/sitemap_index.xml\r\n" +
		"sitemap:/news-sitemap.xml # the news one\n" +
		"SITEMAP: https://news.example/sitemap_index.xml\n" +
		"Sitemap: ftp://news.example/x.xml\n" +
		"Sitemap: https://news.example/" + strings.Repeat("a", 3000) + "\n" +
		"Sitemap:\n" +
		"Crawl-delay: 10\n"
	got := Robots([]byte(robots), mustURL(t, "https://news.example/robots.txt"))
	want := []Candidate{
		{URL: "https://news.example/sitemap_index.xml", Kind: KindRobots, Format: FormatSitemap},
		{URL: "https://news.example/news-sitemap.xml", Kind: KindRobots, Format: FormatSitemap},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestMerge(t *testing.T) {
	a := []Candidate{{URL: "https://A.example/feed", Kind: KindLink, Format: FormatRSS}}
	b := []Candidate{{URL: "https://a.example/feed", Kind: KindProbe}, {URL: "https://a.example/sitemap.xml", Kind: KindRobots}, {URL: "not a url\x7f", Kind: KindProbe}}
	got := Merge(a, b)
	want := []Candidate{
		{URL: "https://a.example/feed", Kind: KindLink, Format: FormatRSS},
		{URL: "https://a.example/sitemap.xml", Kind: KindRobots},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func FuzzPage(f *testing.F) {
	data, err := os.ReadFile("testdata/home.html")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`<base href="javascript:x"><a href="feed">`))
	page := mustURL(f, "https://a.example/dir/")
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Page(data, page)
		if err != nil {
			t.Fatalf("got error %v for %d bytes", err, len(data))
		}
		if len(got) > MaxCandidates {
			t.Fatalf("got %d candidates", len(got))
		}
		seen := map[string]bool{}
		for _, c := range got {
			if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
				t.Fatalf("candidate %q is no http(s) address", c.URL)
			}
			if seen[c.URL] {
				t.Fatalf("candidate %q twice", c.URL)
			}
			seen[c.URL] = true
		}
		_ = Robots(data, page)
	})
}
