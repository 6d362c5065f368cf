package watcher

import (
	"testing"
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
