package watcher

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzParseItems feeds arbitrary bytes to the parser: it must never panic, never return items
// together with an error, and give every item a key.
func FuzzParseItems(f *testing.F) {
	f.Add([]byte(rss("World", rssItem{GUID: "a", Title: "Kursk"}, rssItem{Link: "HTTP://X.org/#a", Title: "b"})))
	f.Add([]byte(atomDoc))
	f.Add([]byte(jsonDoc))
	f.Add([]byte("<html><body>no</body></html>"))
	f.Add([]byte(`<rss version="2.0"><channel><item><title>a</title></item>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		title, items, err := ParseItems(data)
		if err != nil {
			if title != "" || items != nil {
				t.Fatalf("got title %q and %d items with error %v, want none", title, len(items), err)
			}
			return
		}
		for i, it := range items {
			if it.Key == "" {
				t.Fatalf("item %d has an empty key: %+v", i, it)
			}
		}
	})
}

// FuzzToUTF8 feeds arbitrary bytes and Content-Types to the charset conversion: the result is
// always valid UTF-8, and converting it again changes nothing.
func FuzzToUTF8(f *testing.F) {
	f.Add([]byte(rss("World")), "text/xml; charset=utf-8")
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss>\xca\xf3\xf0\xf1\xea</rss>"), "")
	f.Add([]byte("\xff\xfe<\x00r\x00"), "")
	f.Add([]byte("\xef\xbb\xbfa\xffb\x01"), "text/xml; charset=euc-kr")
	f.Add([]byte("\xef\xbb\xbf\xef\xbb\xbf<rss/>"), "")
	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		out := toUTF8(data, contentType)
		if !utf8.Valid(out) {
			t.Fatalf("toUTF8(%q, %q) = %q, not valid UTF-8", data, contentType, out)
		}
		if again := toUTF8(out, ""); !bytes.Equal(again, out) {
			t.Fatalf("toUTF8 not idempotent: %q then %q", out, again)
		}
	})
}
