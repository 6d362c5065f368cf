package article_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/newswatch/newswatch/watcher/article"
)

func ExampleExtract() {
	page, _ := url.Parse("https://daily.example/world/kursk")
	doc := []byte(`<html><head><title>Troops in Kursk | Daily</title></head><body>
<div class="cookie-banner">We use cookies. <a href="/ok">Accept</a></div>
<article><h1>Troops in Kursk</h1><p>` + strings.Repeat("Pyongyang confirmed the deployment of troops to the Kursk region. ", 6) + `</p></article>
<aside><h2>Related</h2><ul><li><a href="/a">Another story</a></li></ul></aside></body></html>`)
	a, err := article.Extract(doc, page, article.Options{MaxText: 64})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n%s (cut: %v)\n", a.Title, a.Text, a.Truncated)
	// Output:
	// Troops in Kursk | Daily
	// Pyongyang confirmed the deployment of troops to the Kursk region (cut: true)
}
