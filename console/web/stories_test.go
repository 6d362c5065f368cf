package web

import (
	"encoding/json"
	"testing"
)

// TestGroupStories: alerts group by their story when they carry one, else by their item's key,
// whatever the feed or rule; each story lists its sources newest first.
func TestGroupStories(t *testing.T) {
	raw := []string{ // newest first
		`{"id":"5","time":"2026-12-03T10:05:00Z","data":{"rule":{"id":"kursk"},"feed":{"id":"wire"},"item":{"key":"k9","title":"Kursk again"},"story":{"id":"s1","size":3,"languages":["en","de"]}}}`,
		`{"id":"4","time":"2026-12-03T10:04:00Z","data":{"rule":{"id":"kursk"},"feed":{"id":"bbc"},"item":{"key":"k2","title":"Troops near Kursk"},"hits":[{"field":"title","start":12,"end":17}]}}`,
		`{"id":"3","time":"2026-12-03T10:03:00Z","data":{"rule":{"id":"troops"},"feed":{"id":"bbc"},"item":{"key":"k2","title":"Troops near Kursk"}}}`,
		`{"id":"2","time":"2026-12-03T10:02:00Z","data":{"rule":{"id":"kursk"},"feed":{"id":"dw"},"item":{"key":"k1","title":"Kursk"},"story":{"id":"s1"}}}`,
		`{"id":"1","time":"2026-12-03T10:01:00Z","data":{"rule":{"id":"kursk"},"feed":{"id":"ap"},"item":{"key":"k2","title":"Troops near Kursk"}}}`,
	}
	var events []*alertEvent
	for _, r := range raw {
		e := new(alertEvent)
		if err := json.Unmarshal([]byte(r), e); err != nil {
			t.Fatal(err)
		}
		e.readStory()
		events = append(events, e)
	}
	stories := groupStories(events)
	if len(stories) != 2 {
		t.Fatalf("got %d stories, want 2 (story s1, item k2)", len(stories))
	}
	s1, k2 := stories[0], stories[1]
	if s1.ID != "s1" || len(s1.Sources) != 2 || s1.Sources[0].Feed != "wire" || s1.Sources[1].Feed != "dw" {
		t.Errorf("story s1: got id %s with %d sources %+v, want s1 with wire then dw", s1.ID, len(s1.Sources), s1.Sources)
	}
	odd := new(alertEvent)
	if err := json.Unmarshal([]byte(`{"data":{"item":{"key":"k2"},"story":"not an object"}}`), odd); err != nil {
		t.Fatalf("an alert whose story has another shape does not decode: %v", err)
	}
	if odd.readStory(); odd.group() != events[1].group() {
		t.Errorf("an alert whose story has another shape groups as %s, want its item's group %s", odd.group(), events[1].group())
	}
	if len(s1.Languages) != 2 {
		t.Errorf("story s1: languages %v, want en and de", s1.Languages)
	}
	if len(k2.Sources) != 3 || len(k2.Rules) != 2 || k2.Sources[2].Feed != "ap" {
		t.Errorf("item k2: got %d sources, rules %v; want 3 sources (bbc, bbc, ap) under kursk and troops", len(k2.Sources), k2.Rules)
	}
	if got := string(k2.Title); got != "Troops near <mark>Kursk</mark>" {
		t.Errorf("item k2's title: got %q, want Kursk marked", got)
	}
}
