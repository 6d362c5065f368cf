package source

import (
	"bytes"
	"compress/gzip"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSitemapNews(t *testing.T) {
	base := mustURL(t, "https://www.example-news.org/news-sitemap.xml")
	f, children, err := Sitemap(fixture(t, "news-sitemap.xml"), base)
	if err != nil {
		t.Fatal(err)
	}
	if children != nil {
		t.Errorf("got children %q from a urlset, want none", children)
	}
	if f.FeedType != TypeSitemap {
		t.Errorf("feed type %q, want %q", f.FeedType, TypeSitemap)
	}
	checkItems(t, f, []want{
		{
			Title:      "Pyongyang confirms deployment of troops to Kursk &amp; vows &#34;more&#34;",
			Link:       "https://www.example-news.org/world/2026/12/03/kursk-offensive-troops",
			GUID:       "https://www.example-news.org/world/2026/12/03/kursk-offensive-troops",
			Published:  "2026-12-03T09:12:00Z",
			Authors:    []string{"Example News"},
			Categories: []string{"North Korea", "Russia", "Kursk", "troops"},
		},
		{
			Title:     "Baltic cable damaged; &lt;navy&gt; investigates",
			Link:      "https://www.example-news.org/europe/2026/12/03/baltic-cable-damage",
			Published: "2026-12-03T00:00:00Z",
		},
		// javascript: is no address: skipped
		{Link: "https://www.example-news.org/about", Published: "2026-11-30T00:00:00Z"},
	})
}

func TestSitemapIndex(t *testing.T) {
	base := mustURL(t, "https://www.example-news.org/sitemap.xml")
	f, children, err := Sitemap(fixture(t, "sitemap-index.xml"), base)
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		t.Errorf("got a feed of %d items from an index, want none", len(f.Items))
	}
	want := []string{
		"https://www.example-news.org/sitemaps/news.xml",
		"https://www.example-news.org/sitemaps/2026-12.xml.gz",
	}
	if !reflect.DeepEqual(children, want) {
		t.Fatalf("got children %q, want %q", children, want)
	}
}

func TestSitemapIndexBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<sitemapindex>`)
	for i := range MaxChildren * 3 {
		b.WriteString(`<sitemap><loc>/s/` + strconv.Itoa(i) + `.xml</loc></sitemap>`)
	}
	b.WriteString(`</sitemapindex>`)
	_, children, err := Sitemap([]byte(b.String()), mustURL(t, "https://a.example/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != MaxChildren {
		t.Fatalf("got %d children, want %d", len(children), MaxChildren)
	}
}

func TestSitemapGzip(t *testing.T) {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(fixture(t, "news-sitemap.xml"))
	z.Close()
	f, _, err := Sitemap(buf.Bytes(), mustURL(t, "https://www.example-news.org/news-sitemap.xml.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 3 {
		t.Fatalf("got %d items, want 3", len(f.Items))
	}
}

func TestSitemapHostile(t *testing.T) {
	base := mustURL(t, "https://a.example/sitemap.xml")
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		z.Write(b)
		z.Close()
		return buf.Bytes()
	}
	manyURLs := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`<urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">`)
		for i := range n {
			b.WriteString(`<url><loc>https://a.example/` + strconv.Itoa(i) + `</loc><news:news><news:title>t</news:title></news:news></url>`)
		}
		b.WriteString(`</urlset>`)
		return b.Bytes()
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		items   int
	}{
		{"empty", nil, ErrEmpty, 0},
		{"blank", []byte(" \n\t "), ErrEmpty, 0},
		{"too large", bytes.Repeat([]byte(" "), MaxDocBytes+1), ErrTooLarge, 0},
		{"gzip bomb", gz(bytes.Repeat([]byte("<"), MaxDocBytes+10)), ErrTooLarge, 0},
		{"truncated gzip", gz(fixture(t, "news-sitemap.xml"))[:100], ErrMalformed, 0},
		{"html page", []byte(`<!DOCTYPE html><html><body>hi</body></html>`), ErrWrongType, 0},
		{"rss feed", []byte(`<rss version="2.0"><channel></channel></rss>`), ErrWrongType, 0},
		{"json", []byte(`{"a": 1}`), ErrWrongType, 0},
		{"cut in an url", []byte(`<urlset><url><loc>https://a.example/x</loc>`), ErrMalformed, 0},
		{"unclosed root", []byte(`<urlset><url><loc>https://a.example/x</loc></url>`), ErrMalformed, 0},
		{"bad nesting, read loosely", []byte(`<urlset><url><loc>x</url></loc></urlset>`), nil, 1},
		{"deep nesting in url", []byte(`<urlset><url><loc>https://a.example/</loc>` + strings.Repeat("<x>", 20000) + strings.Repeat("</x>", 20000) + `</url></urlset>`), nil, 1},
		{"deep nesting outside url", []byte(`<urlset>` + strings.Repeat("<x>", 200000) + strings.Repeat("</x>", 200000) + `</urlset>`), nil, 0},
		{"entity bomb", []byte(`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><urlset><url><loc>https://a.example/&b;</loc></url></urlset>`), nil, 1},
		{"many urls", manyURLs(MaxItems + 500), nil, MaxItems},
		{"huge title", []byte(`<urlset><url><loc>https://a.example/</loc><news><title>` + strings.Repeat("é", MaxFieldBytes) + `</title></news></url></urlset>`), nil, 1},
		{"windows-1251", []byte("<?xml version=\"1.0\" encoding=\"windows-1251\"?><urlset><url><loc>https://a.example/</loc><news><title>\xca\xf3\xf0\xf1\xea</title></news></url></urlset>"), nil, 1},
		{"unknown charset", []byte(`<?xml version="1.0" encoding="x-nope"?><urlset></urlset>`), ErrMalformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, children, err := Sitemap(tt.data, base)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				if f != nil || children != nil {
					t.Fatalf("got a result with error %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(f.Items) != tt.items {
				t.Fatalf("got %d items, want %d", len(f.Items), tt.items)
			}
			for _, it := range f.Items {
				if len(it.Title) > MaxFieldBytes {
					t.Fatalf("title of %d bytes, over %d", len(it.Title), MaxFieldBytes)
				}
			}
		})
	}
}

func TestSitemapCharset(t *testing.T) {
	data := []byte("<?xml version=\"1.0\" encoding=\"windows-1251\"?><urlset><url><loc>https://a.example/</loc><news><title>\xca\xf3\xf0\xf1\xea</title></news></url></urlset>")
	f, _, err := Sitemap(data, mustURL(t, "https://a.example/"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Items[0].Title; got != "Курск" {
		t.Fatalf("got title %q, want %q", got, "Курск")
	}
}

func FuzzSitemap(f *testing.F) {
	f.Add(fixtureF(f, "news-sitemap.xml"))
	f.Add(fixtureF(f, "sitemap-index.xml"))
	f.Add([]byte(`<urlset><url><loc>x</loc></url>`))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	base := mustURL(f, "https://a.example/dir/sitemap.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, children, err := Sitemap(data, base)
		if err != nil {
			if feed != nil || children != nil {
				t.Fatalf("got a result with error %v", err)
			}
			return
		}
		if (feed == nil) == (children == nil) {
			t.Fatalf("got feed %v and children %v, want exactly one", feed != nil, children != nil)
		}
		if feed != nil {
			checkFeed(t, feed)
		}
		if len(children) > MaxChildren {
			t.Fatalf("got %d children", len(children))
		}
	})
}
