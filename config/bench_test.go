package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkLoadLongFlowList loads a file whose one list holds 20,000 terms written on one line,
// where every term's column is worked out on a 190 KB line.
func BenchmarkLoadLongFlowList(b *testing.B) {
	benchmarkLoad(b, longFlowList(20_000))
}

// BenchmarkLoadLongQuery loads a file whose one rule's query has 20,000 terms on one line.
func BenchmarkLoadLongQuery(b *testing.B) {
	terms := make([]string, 20_000)
	for i := range terms {
		terms[i] = "term" + strconv.Itoa(i)
	}
	benchmarkLoad(b, []byte("feeds:\n  - {id: f, url: 'https://news.example/rss'}\nrules:\n  - {id: r, query: '"+strings.Join(terms, " OR ")+"'}\n"))
}

func benchmarkLoad(b *testing.B, data []byte) {
	path := filepath.Join(b.TempDir(), "nw.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
