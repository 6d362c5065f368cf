package watcher_test

import (
	"fmt"

	"github.com/newswatch/newswatch/watcher"
)

func ExampleParseItems() {
	doc := `<rss version="2.0"><channel><title>World</title>
<item><guid>urn:1</guid><title>Troops near Kursk</title></item>
<item><link>HTTPS://Example.ORG/story#top</link><title>Weather</title></item>
</channel></rss>`
	title, items, err := watcher.ParseItems([]byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(title)
	for _, it := range items {
		fmt.Printf("%s: %s\n", it.Key, it.Title)
	}
	// Output:
	// World
	// urn:1: Troops near Kursk
	// https://example.org/story: Weather
}

func ExampleValidateSchedule() {
	for _, spec := range []string{"@every 5m", "*/2 * * * *", "@hourly", "@every 100ms"} {
		fmt.Printf("%s: %v\n", spec, watcher.ValidateSchedule(spec))
	}
	// Output:
	// @every 5m: <nil>
	// */2 * * * *: <nil>
	// @hourly: <nil>
	// @every 100ms: schedule "@every 100ms": interval must be at least 1s
}
