package story_test

import (
	"fmt"
	"time"

	"github.com/newswatch/newswatch/story"
)

func Example() {
	a, err := story.New(story.Options{
		Window: 48 * time.Hour,
		Lists: map[string][]string{
			"dprk":   {`"north korea*"`, "dprk", "кндр", "북한*"},
			"troops": {"troop*", "soldier*", "войск*", "военн*"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2024, 11, 4, 9, 0, 0, 0, time.UTC)
	items := []story.Item{
		{FeedID: "reuters", Key: "1", Link: "https://www.reuters.com/world/1", Time: t,
			Title: "Pentagon confirms North Korean troops are fighting in Russia's Kursk region",
			Text:  "The Pentagon said on Monday that North Korean soldiers had engaged Ukrainian forces in the Kursk region."},
		{FeedID: "meduza", Key: "2", Link: "https://meduza.io/news/2", Time: t.Add(5 * time.Minute),
			Title: "Пентагон подтвердил участие военных КНДР в боях в Курской области",
			Text:  "В Пентагоне заявили, что северокорейские солдаты вступили в бой с украинскими войсками в Курской области."},
		{FeedID: "ap", Key: "3", Link: "https://apnews.com/3", Time: t.Add(10 * time.Minute),
			Title: "Drone strikes near Kursk nuclear power plant, Russia says",
			Text:  "A Ukrainian drone hit a building near the Kursk nuclear power plant in Kurchatov overnight."},
	}
	for _, it := range items {
		s := a.Assign(it)
		fmt.Println(s.ID, s.First, s.Size, s.Feeds, s.Languages)
	}
	// Output:
	// e4a50b26944b07f0 true 1 [reuters] [en]
	// e4a50b26944b07f0 false 2 [reuters meduza] [en ru]
	// 6bd5a7a4098326c7 true 1 [ap] [en]
}
