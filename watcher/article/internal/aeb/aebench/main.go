// Command aebench scores the article extractor on the ScrapingHub article-extraction
// benchmark: clone https://github.com/scrapinghub/article-extraction-benchmark and run
//
//	GOMAXPROCS=1 go run ./watcher/article/internal/aeb/aebench -dir path/to/article-extraction-benchmark
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

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
	r := aeb.Run(pages, func(p aeb.Page) string {
		u, _ := url.Parse(p.URL)
		a, err := article.Extract(p.HTML, u, article.Options{})
		if err != nil {
			return ""
		}
		return a.Text
	})
	fmt.Printf("readeck/go-readability v2.1.3  pages %d  F1 %.3f  precision %.3f  recall %.3f  CPU median %v  p90 %v\n",
		r.Pages, r.F1, r.Precision, r.Recall, r.CPUMedian.Round(100*time.Microsecond), r.CPUP90.Round(100*time.Microsecond))
}
