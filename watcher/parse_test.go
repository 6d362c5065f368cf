package watcher

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
)

const atomDoc = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom &amp; World</title>
  <id>urn:feed</id>
  <updated>2026-11-26T15:00:00Z</updated>
  <entry>
    <title type="html">&lt;b&gt;Kursk&lt;/b&gt; front</title>
    <id>urn:uuid:1</id>
    <link rel="alternate" href="https://example.org/a"/>
    <published>2026-11-26T14:00:00Z</published>
    <updated>2026-11-26T15:00:00Z</updated>
    <author><name>Ann Writer</name></author>
    <category term="war"/>
    <summary>Short</summary>
    <content type="html">&lt;p&gt;Long &lt;i&gt;story&lt;/i&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>No id</title>
    <id></id>
    <link rel="alternate" href="HTTPS://Example.org/b#top"/>
    <updated>2026-11-26T13:00:00Z</updated>
  </entry>
</feed>`

const jsonDoc = `{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "JSON World",
  "items": [
    {"id": "j1", "url": "https://example.org/j1", "title": "Kursk", "content_html": "<p>Troops</p>",
     "summary": "S", "date_published": "2026-11-26T12:00:00Z", "authors": [{"name": "Bo"}], "tags": ["a", "b"]},
    {"id": "", "title": "Untitled", "content_text": "x"}
  ]
}`

func TestParseItems(t *testing.T) {
	t.Run("rss", func(t *testing.T) {
		pub := utc("2026-11-26T15:37:26Z")
		doc := rss("RSS &amp; World",
			rssItem{GUID: "g1", Link: "https://example.org/1", Title: "Kursk", Description: "&lt;p&gt;North &lt;b&gt;Korea&lt;/b&gt;&lt;/p&gt;", Published: pub},
			rssItem{Link: "HTTP://EXAMPLE.org/2#c", Title: "Two"},
			rssItem{Title: "Three", Published: pub},
		)
		title, items, err := ParseItems([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if title != "RSS & World" {
			t.Errorf("title %q, want %q", title, "RSS & World")
		}
		if len(items) != 3 {
			t.Fatalf("got %d items, want 3", len(items))
		}
		if it := items[0]; it.Key != "g1" || it.GUID != "g1" || it.Link != "https://example.org/1" || it.Title != "Kursk" ||
			it.Summary != "North Korea" || !it.Published.Equal(pub) {
			t.Errorf("item 0: got %+v, want key g1, plain summary, the date", it)
		}
		if got := items[1].Key; got != "https://example.org/2" {
			t.Errorf("item 1 key %q, want the canonical link", got)
		}
		if got, want := items[2].Key, hashKey("Three", "", pub); got != want || len(got) != 64 {
			t.Errorf("item 2 key %q, want the hash %q", got, want)
		}
	})
	t.Run("atom", func(t *testing.T) {
		title, items, err := ParseItems([]byte(atomDoc))
		if err != nil {
			t.Fatal(err)
		}
		if title != "Atom & World" || len(items) != 2 {
			t.Fatalf("got title %q and %d items, want %q and 2", title, len(items), "Atom & World")
		}
		it := items[0]
		if it.Key != "urn:uuid:1" || it.Title != "Kursk front" || it.Summary != "Short" || it.Content != "Long story" ||
			!slices.Equal(it.Authors, []string{"Ann Writer"}) || !slices.Equal(it.Categories, []string{"war"}) ||
			!it.Published.Equal(utc("2026-11-26T14:00:00Z")) || !it.Updated.Equal(utc("2026-11-26T15:00:00Z")) {
			t.Errorf("entry 0: got %+v", it)
		}
		if got := items[1].Key; got != "https://example.org/b" {
			t.Errorf("entry 1 key %q, want the canonical link", got)
		}
		if d := items[1].date(); !d.Equal(utc("2026-11-26T13:00:00Z")) {
			t.Errorf("entry 1 date %s, want its update time", d)
		}
	})
	t.Run("json feed", func(t *testing.T) {
		title, items, err := ParseItems([]byte(jsonDoc))
		if err != nil {
			t.Fatal(err)
		}
		if title != "JSON World" || len(items) != 2 {
			t.Fatalf("got title %q and %d items, want %q and 2", title, len(items), "JSON World")
		}
		it := items[0]
		if it.Key != "j1" || it.Content != "Troops" || !slices.Equal(it.Authors, []string{"Bo"}) ||
			!slices.Equal(it.Categories, []string{"a", "b"}) || !it.Published.Equal(utc("2026-11-26T12:00:00Z")) {
			t.Errorf("item 0: got %+v", it)
		}
		if items[1].Key == "" || items[1].Key == items[0].Key {
			t.Errorf("item 1 key %q, want a hash of its own", items[1].Key)
		}
	})
}

func TestParseItemsErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"html page", "<!DOCTYPE html><html><head><title>Hi</title></head><body>no feed</body></html>", ErrNotAFeed},
		{"empty", "", ErrEmptyBody},
		{"white space", " \r\n\t", ErrEmptyBody},
		{"plain text", "just words", ErrNotAFeed},
		{"truncated rss", `<rss version="2.0"><channel><item><title>a</title></item>`, ErrMalformedFeed},
		{"broken rss element", `<rss version="2.0"><channel><item <title>a</title></item></channel></rss>`, ErrMalformedFeed},
		{"broken json feed", `{"version": "https://jsonfeed.org/version/1.1", "items": [`, ErrMalformedFeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, items, err := ParseItems([]byte(tt.doc))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if title != "" || items != nil {
				t.Errorf("got title %q and %d items with the error, want none", title, len(items))
			}
		})
	}
}

func TestMatcherItem(t *testing.T) {
	it := Item{Item: event.Item{Key: "k", Title: "T", Summary: "S", Link: "L", Authors: []string{"A"}, Categories: []string{"C"},
		Published: time.Unix(1, 0)}, Content: "X"}
	mi := it.MatcherItem("world", []string{"en"})
	if mi.FeedID != "world" || !slices.Equal(mi.Tags, []string{"en"}) || mi.Title != "T" || mi.Summary != "S" || mi.Content != "X" ||
		mi.Link != "L" || !slices.Equal(mi.Authors, []string{"A"}) || !slices.Equal(mi.Categories, []string{"C"}) {
		t.Errorf("got %+v", mi)
	}
}
