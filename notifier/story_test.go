package notifier_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestFollowArchive: the follow passes on the archived items in order, says when it has caught
// up with those archived when it began, and then passes on each new item.
func TestFollowArchive(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	now := time.Now()
	var before []event.Archived
	for i := range 700 {
		before = append(before, archivedItem("world", i, now))
	}
	if err := n.Archive().Publish(testContext(t), before); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	caughtAt := -1
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		done <- n.FollowArchive(ctx, time.Time{}, func(a event.Archived) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, a.Item.Key)
			return nil
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			caughtAt = len(got)
		})
	}()
	count := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(got), caughtAt
	}
	waitFor(t, "the archive followed", func() bool { c, _ := count(); return c == 700 })
	if _, at := count(); at != 700 {
		t.Errorf("caught up after %d items, want 700", at)
	}
	later := []event.Archived{archivedItem("asia", 1, now), archivedItem("asia", 2, now)}
	if err := n.Archive().Publish(testContext(t), later); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new items followed", func() bool { c, _ := count(); return c == 702 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("FollowArchive after cancel: %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got[0] != before[0].Item.Key || got[699] != before[699].Item.Key || got[701] != later[1].Item.Key {
		t.Errorf("order: got %s, %s, %s", got[0], got[699], got[701])
	}
}

// TestStoryEvents: story events go to <prefix>.story.<rule>.<kind> as CloudEvents of the story
// schema, each once however often it is told.
func TestStoryEvents(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	now := time.Now().UTC()
	ref := event.StoryRef{ID: "0123456789abcdef", Size: 3, Feeds: []string{"world", "asia"}, Languages: []string{"en", "ru"}, FirstSeen: now}
	src := event.StorySource{FeedID: "world", Key: "k1", Publisher: "example.org", Language: "en", Title: "Kursk", Link: "https://example.org/1", FirstSeen: now}
	events := []event.StoryEvent{
		{Kind: event.StoryNew, RuleID: "kursk", RuleQuery: "kursk", Story: ref, Title: "Kursk", Sources: []event.StorySource{src}, Time: now},
		{Kind: event.StoryUpdate, RuleID: "kursk", RuleQuery: "kursk", Story: ref, Sources: []event.StorySource{src, src}, Bucket: now.Truncate(5 * time.Minute), Time: now},
	}
	for range 2 {
		if err := n.Stories().Publish(testContext(t), events); err != nil {
			t.Fatal(err)
		}
	}
	if got := streamMsgs(t, n, "NEWSWATCH_STORIES"); got != 2 {
		t.Fatalf("story stream holds %d events, want 2 (each once)", got)
	}
	ce, err := notifier.NewStoryCloudEvent(events[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(ce)
	if ce.Type != "io.newswatch.story.update.v1" || ce.Subject != ref.ID || ce.Data.Period == nil || len(ce.Data.Sources) != 2 {
		t.Errorf("update event: %s", body)
	}
	other := events[1]
	other.Bucket = other.Bucket.Add(5 * time.Minute)
	if notifier.StoryEventID(other) == ce.ID || notifier.StoryEventID(events[0]) == ce.ID {
		t.Error("story event ids: an update of another period, or the new event, has the same id")
	}
	if _, err := notifier.NewStoryCloudEvent(event.StoryEvent{Kind: "old", RuleID: "kursk", Story: ref}); err == nil {
		t.Error("a story event of an unknown kind: got no error")
	}
}
