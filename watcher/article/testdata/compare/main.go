// Command compare scores the extractor of package article beside go-trafilatura on the
// ScrapingHub article-extraction benchmark, in one process, with the benchmark's metric. It is
// a module of its own so that go-trafilatura stays out of newswatch's dependencies:
//
//	cd watcher/article/testdata/compare
//	GOMAXPROCS=1 go run . -dir path/to/article-extraction-benchmark
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"

	"github.com/newswatch/newswatch/watcher/article"
	"github.com/newswatch/newswatch/watcher/article/internal/aeb"
)

func main() {
	dir := flag.String("dir", ".", "the benchmark's directory (ground-truth.json, html/)")
	flag.Parse()
	pages, err := aeb.Load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trafilaturaWith := func(fallback bool) func(aeb.Page) string {
		return func(p aeb.Page) string {
			u, _ := url.Parse(p.URL)
			doc, err := html.Parse(bytes.NewReader(p.HTML))
			if err != nil {
				return ""
			}
			r, err := trafilatura.ExtractDocument(doc, trafilatura.Options{EnableFallback: fallback, OriginalURL: u})
			if err != nil {
				return ""
			}
			return r.ContentText
		}
	}
	for _, e := range []struct {
		name    string
		extract func(aeb.Page) string
	}{
		{"article.Extract (readeck/go-readability v2.1.3)", func(p aeb.Page) string {
			u, _ := url.Parse(p.URL)
			a, err := article.Extract(p.HTML, u, article.Options{})
			if err != nil {
				return ""
			}
			return a.Text
		}},
		{"readeck/go-readability v2.1.3, its own Parse", func(p aeb.Page) string {
			u, _ := url.Parse(p.URL)
			rp := readability.NewParser()
			a, err := rp.Parse(bytes.NewReader(p.HTML), u)
			if err != nil || a.Node == nil {
				return ""
			}
			var b bytes.Buffer
			if a.RenderText(&b) != nil {
				return ""
			}
			return b.String()
		}},
		{"go-trafilatura v1.12.2, fallback (as the benchmark runs it)", trafilaturaWith(true)},
		{"go-trafilatura v1.12.2, no fallback", trafilaturaWith(false)},
	} {
		r := aeb.Run(pages, e.extract)
		fmt.Printf("%-60s pages %d  F1 %.3f  precision %.3f  recall %.3f  CPU median %v  p90 %v\n", e.name,
			r.Pages, r.F1, r.Precision, r.Recall, r.CPUMedian.Round(100*time.Microsecond), r.CPUP90.Round(100*time.Microsecond))
	}
}
