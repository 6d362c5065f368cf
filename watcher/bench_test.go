package watcher

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/newswatch/newswatch/internal/feedsim"
)

// BenchmarkParseDocument parses a document of the feed simulator: 20 items of news text, the
// work of every poll that finds a changed feed.
func BenchmarkParseDocument(b *testing.B) {
	rec := httptest.NewRecorder()
	feedsim.New(feedsim.Config{Feeds: 10}).ServeHTTP(rec, httptest.NewRequest("GET", feedsim.Path(7), nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil || rec.Code != 200 {
		b.Fatalf("simulator answered %d, %v", rec.Code, err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := ParseDocument(body)
		if err != nil || len(doc.Items) != 20 {
			b.Fatalf("parsed %d items, %v; want 20", len(doc.Items), err)
		}
	}
}
