package watcher

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
		doc, err := ParseDocument(b.Context(), body)
		if err != nil || len(doc.Items) != 20 {
			b.Fatalf("parsed %d items, %v; want 20", len(doc.Items), err)
		}
	}
}

// BenchmarkScrape is one /metrics scrape of the watcher's metrics with a series of the last
// success of each of 100,000 feeds, gzipped as Prometheus asks for it.
func BenchmarkScrape(b *testing.B) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	now := time.Now()
	for n := range 100_000 {
		m.lastSuccess.set(fmt.Sprint("feed-", n), now)
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("scrape answered %d", rec.Code)
		}
	}
}
