package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
)

// storyAlert is what TestStories reads of an alert.
type storyAlert struct {
	rule, feed, item string
	story            notifier.EventStory
}

// readStoryAlerts reads every alert of the alert stream with its story.
func readStoryAlerts(t *testing.T, js jetstream.JetStream) []storyAlert {
	t.Helper()
	var out []storyAlert
	_, _ = readStream(t, js, "NEWSWATCH_ALERTS", func(_ string, _ nats.Header, data []byte) (alertKey, error) {
		ev, err := notifier.ParseEvent(data)
		if err != nil {
			return alertKey{}, err
		}
		a := storyAlert{rule: ev.Data.Rule.ID, feed: ev.Data.Feed.ID, item: ev.Data.Item.GUID}
		if ev.Data.Story != nil {
			a.story = *ev.Data.Story
		}
		out = append(out, a)
		return alertKey{Rule: a.rule, Feed: a.feed, Item: a.item}, nil
	})
	return out
}

// readStoryEvents reads the story stream: the (kind, rule, story) of each event.
func readStoryEvents(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var out []string
	_, _ = readStream(t, js, "NEWSWATCH_STORIES", func(subject string, _ nats.Header, data []byte) (alertKey, error) {
		var ev notifier.StoryCloudEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return alertKey{}, err
		}
		kind := subject[strings.LastIndexByte(subject, '.')+1:]
		out = append(out, kind+" "+ev.Data.Rule.ID+" "+ev.Data.Story.ID)
		return alertKey{Rule: kind + ev.Data.Rule.ID, Item: ev.ID}, nil
	})
	return out
}

// TestStories runs two replicas on a nats-server process over feeds in several languages that
// report one event (North Korea confirms its troops in Kursk) and another of the same day in the
// same place (a drone strike in Kursk). Every alert carries its story; the two events never
// share one; rewrites of one report share one; each (story, rule) has exactly one alert marked
// first and one story.new event. A replica killed with SIGKILL and started again replays the
// archive and gives a later item of the same event the same story.
func TestStories(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	startNATSServer(t, port, filepath.Join(dir, "js"))

	dprk := map[string][]feedItem{
		"world": {{GUID: "w1", Title: "North Korean troops are fighting in Kursk, Pyongyang confirms for the first time",
			Description: "North Korea confirmed on Monday that its soldiers are fighting alongside Russian forces in the Kursk region."}},
		"wire": {{GUID: "r1", Title: "Pyongyang confirms for the first time North Korean troops fighting in Kursk",
			Description: "North Korea on Monday confirmed that its soldiers are fighting with Russian forces in the Kursk region."}},
		"ru": {{GUID: "u1", Title: "КНДР впервые подтвердила участие своих военных в боях в Курской области",
			Description: "Пхеньян подтвердил, что северокорейские войска воюют вместе с российскими в Курской области."}},
		"de": {{GUID: "d1", Title: "Nordkorea bestätigt erstmals Einsatz seiner Truppen in Kursk",
			Description: "Nordkorea hat am Montag bestätigt, dass seine Soldaten an der Seite Russlands im Gebiet Kursk kämpfen."}},
	}
	drone := feedItem{GUID: "w2", Title: "Drone strike sets oil depot on fire in Kursk",
		Description: "A Ukrainian drone hit a fuel depot on the edge of Kursk overnight, the regional governor said."}
	servers := map[string]*feedServer{}
	var feeds []map[string]any
	for _, id := range []string{"world", "wire", "ru", "de"} {
		items := dprk[id]
		if id == "world" {
			items = append(items, drone)
		}
		servers[id] = newFeedServer(t, items...)
		feeds = append(feeds, map[string]any{"id": id, "url": servers[id].URL})
	}
	cfg, _ := testConfigMap(t, dir, feeds)
	cfg["nats"] = map[string]any{"url": url}
	cfg["defaults"].(map[string]any)["first_poll"] = "all"
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	a, b := startDaemon(t, path), startDaemon(t, path)
	_, js := connectReconnecting(t, url)
	// dprk-troops: w1, r1, u1, d1; kursk: w1, r1, u1 (Курской), d1, w2.
	const want = 9
	waitStreamCount(t, js, want, 60*time.Second)
	alerts := readStoryAlerts(t, js)
	byItem := map[string]string{}
	for _, al := range alerts {
		if al.story.ID == "" {
			t.Fatalf("alert %s/%s/%s has no story", al.rule, al.feed, al.item)
		}
		if prev, ok := byItem[al.item]; ok && prev != al.story.ID {
			t.Errorf("item %s: stories %s and %s in two alerts, want one", al.item, prev, al.story.ID)
		}
		byItem[al.item] = al.story.ID
	}
	if byItem["w2"] == byItem["w1"] || byItem["w2"] == byItem["r1"] {
		t.Errorf("the drone strike shares the story of the troops report: %v", byItem)
	}
	if byItem["w1"] != byItem["r1"] {
		t.Errorf("two rewrites of one report in two stories: %v", byItem)
	}
	t.Logf("stories by item: %v", byItem)
	// One first per (story, rule), and one story.new event each.
	checkStories(t, js)

	// A replica killed and started again replays the archive; a later report of the same
	// event gets the same story whichever replica polls it.
	killDaemon(t, a)
	a = startDaemon(t, path)
	waitFor(t, 60*time.Second, "the restarted replica's stories", func() bool {
		return strings.Contains(a.output(), `"stories caught up with the archive"`)
	})
	servers["wire"].add(feedItem{GUID: "r2", Title: "Pyongyang confirms North Korean troops fighting in Kursk for the first time",
		Description: "North Korea confirmed on Monday its soldiers fight alongside Russian forces in the Kursk region, state media said."})
	waitStreamCount(t, js, want+2, 60*time.Second)
	for _, al := range readStoryAlerts(t, js) {
		if al.item == "r2" {
			if al.story.ID != byItem["r1"] || al.story.First {
				t.Errorf("later report r2 (rule %s): story %s first %v, want %s, not first", al.rule, al.story.ID, al.story.First, byItem["r1"])
			}
		}
	}
	a.stop(t, 30*time.Second)
	b.stop(t, 30*time.Second)
}

// checkStories requires every alert of the alert stream to carry a story, the alerts of one
// item to carry the same, exactly one alert of each (rule, story) to be marked first, and the
// story stream to hold one story.new event for each (rule, story).
func checkStories(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	byItem := map[string]string{}
	firsts := map[string]int{}
	for _, al := range readStoryAlerts(t, js) {
		if al.story.ID == "" {
			t.Errorf("alert %s/%s/%s has no story", al.rule, al.feed, al.item)
			continue
		}
		item := al.feed + "/" + al.item
		if prev, ok := byItem[item]; ok && prev != al.story.ID {
			t.Errorf("item %s: stories %s and %s, want one", item, prev, al.story.ID)
		}
		byItem[item] = al.story.ID
		pair := al.rule + " " + al.story.ID
		if al.story.First {
			firsts[pair]++
		} else if _, ok := firsts[pair]; !ok {
			firsts[pair] = 0
		}
	}
	for pair, n := range firsts {
		if n != 1 {
			t.Errorf("(rule, story) %s: %d alerts marked first, want 1", pair, n)
		}
	}
	waitFor(t, 60*time.Second, "a story.new event for every (rule, story)", func() bool {
		n := 0
		for _, e := range readStoryEvents(t, js) {
			if strings.HasPrefix(e, "new ") {
				n++
			}
		}
		return n >= len(firsts)
	})
	news := map[string]int{}
	for _, e := range readStoryEvents(t, js) {
		if rest, ok := strings.CutPrefix(e, "new "); ok {
			news[rest]++
		}
	}
	for pair := range firsts {
		if news[pair] != 1 {
			t.Errorf("(rule, story) %s: %d story.new events, want 1", pair, news[pair])
		}
	}
	if len(news) != len(firsts) {
		t.Errorf("story.new events for %d (rule, story) pairs, want %d: %v", len(news), len(firsts), news)
	}
	t.Logf("%d items in %d (rule, story) pairs", len(byItem), len(firsts))
}
