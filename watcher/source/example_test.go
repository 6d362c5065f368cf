package source_test

import (
	"fmt"
	"net/url"

	"github.com/newswatch/newswatch/watcher/source"
)

func ExampleSitemap() {
	doc := []byte(`<urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>/world/kursk</loc>
    <news:news><news:publication_date>2026-12-03T09:12:00Z</news:publication_date>
      <news:title>Troops deployed to Kursk</news:title></news:news></url>
</urlset>`)
	base, _ := url.Parse("https://news.example/news-sitemap.xml")
	feed, children, err := source.Sitemap(doc, base)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(children), feed.Items[0].Title, feed.Items[0].Link, feed.Items[0].PublishedParsed)
	// Output: 0 Troops deployed to Kursk https://news.example/world/kursk 2026-12-03 09:12:00 +0000 UTC
}

func ExampleHTML() {
	page, _ := url.Parse("https://mod.example.gov/press/")
	doc := []byte(`<ul><li class="news"><a href="2026/12/03/statement">Statement on the border</a>
<time datetime="2026-12-03T10:15:00+02:00">3 December</time></li></ul>`)
	feed, err := source.HTML(doc, page, source.Selectors{Item: "li.news", Date: "time"})
	if err != nil {
		fmt.Println(err)
		return
	}
	it := feed.Items[0]
	fmt.Println(it.Title, it.Link, it.PublishedParsed)
	// Output: Statement on the border https://mod.example.gov/press/2026/12/03/statement 2026-12-03 08:15:00 +0000 UTC
}
