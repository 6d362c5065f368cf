package opml

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseReaderExports(t *testing.T) {
	tests := []struct {
		file string
		want []Feed
	}{
		{
			file: "testdata/miniflux.opml",
			want: []Feed{
				{Title: "Example Wire: Top Stories", URL: "https://wire.example.org/top/rss.xml", Categories: []string{"All", "Europe & Russia"}},
				{Title: "Café Economics", URL: "https://cafe.example.net/feed/", Categories: []string{"All"}},
				{Title: "Новости Курска", URL: "https://kursk.example.ru/rss?lang=ru&section=news", Categories: []string{"Europe & Russia"}},
			},
		},
		{
			file: "testdata/freshrss.opml",
			want: []Feed{
				{Title: "Example Daily", URL: "https://daily.example.com/atom.xml", Categories: []string{"Uncategorized"}},
				{Title: "북한 뉴스", URL: "https://nk.example.kr/rss.xml", Categories: []string{"Asia"}},
				{Title: "Example Daily", URL: "https://daily.example.com/asia.xml", Categories: []string{"Asia"}},
				{Title: "Example Daily", URL: "https://daily.example.com/asia-world.xml", Categories: []string{"Asia"}},
			},
		},
		{
			file: "testdata/feedly.opml",
			want: []Feed{
				{Title: "Example Times - World", URL: "https://times.example.org/world/rss", Categories: []string{"World"}},
				{Title: "", URL: "https://www.example-news.com/feeds/all.atom", Categories: []string{"World"}},
				{Title: "Example Security Blog", URL: "http://security.example.org/feed", Categories: []string{"Tech", "Security", "infosec"}},
				{Title: "Loose Feed", URL: "https://loose.example.org/index.xml"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Parse(f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc   string
		wantNoFeeds bool
	}{
		{name: "not xml", doc: "feeds:\n  - id: a\n"},
		{name: "not opml", doc: `<rss version="2.0"><channel/></rss>`},
		{name: "unclosed", doc: `<opml version="2.0"><body><outline xmlUrl="https://a.example/">`},
		{name: "folders only", doc: `<opml version="2.0"><body><outline text="News"/></body></opml>`, wantNoFeeds: true},
		{name: "folders too deep", doc: `<opml version="2.0"><body>` + strings.Repeat(`<outline text="f">`, 40) +
			`<outline xmlUrl="https://a.example/"/>` + strings.Repeat(`</outline>`, 40) + `</body></opml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feeds, err := Parse(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("Parse: got %d feeds and no error, want an error", len(feeds))
			}
			if feeds != nil {
				t.Errorf("Parse: got feeds %+v with the error %v", feeds, err)
			}
			if got := errors.Is(err, ErrNoFeeds); got != tt.wantNoFeeds {
				t.Errorf("Parse: error %v; errors.Is(ErrNoFeeds) = %v, want %v", err, got, tt.wantNoFeeds)
			}
		})
	}
}

// TestWriteParse: what Write writes, Parse reads back whole, categories included.
func TestWriteParse(t *testing.T) {
	feeds := []Feed{
		{Title: "world", URL: "https://a.example/world.xml?x=1&y=<2>", Categories: []string{"world", "en"}},
		{Title: "kursk-ru", URL: "https://b.example/rss", Categories: []string{"europe", "ru"}},
		{Title: "loose", URL: "https://c.example/feed"},
		{Title: "world-2", URL: "https://a.example/world2.xml", Categories: []string{"world"}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, "newswatch feeds", feeds); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(&buf)
	if err != nil {
		t.Fatalf("Parse of what Write wrote: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, feeds) {
		t.Errorf("got  %+v\nwant %+v", got, feeds)
	}
}
