package discover_test

import (
	"fmt"
	"net/url"

	"github.com/newswatch/newswatch/watcher/discover"
)

func ExamplePage() {
	page, _ := url.Parse("https://news.example/world/")
	html := []byte(`<head><link rel="alternate" type="application/atom+xml" href="/world.atom"></head>
<body><a href="/feed/">RSS</a></body>`)
	robots := []byte("User-agent: *\nSitemap: /news-sitemap.xml\n")
	found, err := discover.Page(html, page)
	if err != nil {
		fmt.Println(err)
		return
	}
	robotsURL, _ := url.Parse("https://news.example/robots.txt")
	for _, c := range discover.Merge(found, discover.Robots(robots, robotsURL), discover.Probes(page))[:5] {
		fmt.Println(c.Kind, c.Format, c.URL)
	}
	// Output:
	// link atom https://news.example/world.atom
	// anchor  https://news.example/feed/
	// robots sitemap https://news.example/news-sitemap.xml
	// probe  https://news.example/feed
	// probe rss https://news.example/rss.xml
}
