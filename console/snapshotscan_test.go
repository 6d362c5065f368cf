package console_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/newswatch/newswatch/console"
)

func TestSnapshotMayBeProblems(t *testing.T) {
	now := time.Now()
	doc := func(fields map[string]any) []byte {
		st := map[string]any{"url": "https://news.example/feed.xml", "baselined": true, "last_success": now.Add(-time.Minute)}
		for k, v := range fields {
			st[k] = v
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	snap := console.NewSnapshot(nil)
	snap.Apply("healthy", doc(nil))
	snap.Apply("failing", doc(map[string]any{"consecutive_failures": 2, "last_failure": now, "last_error": "boom"}))
	snap.Apply("stale", doc(map[string]any{"stale_since": now.Add(-48 * time.Hour)}))
	snap.Apply("paused", doc(map[string]any{"next_poll": now.Add(time.Hour)}))
	snap.Apply("resumed", doc(map[string]any{"next_poll": now.Add(-time.Hour)}))
	snap.Apply("recovered", doc(map[string]any{"consecutive_failures": 1, "last_failure": now}))
	snap.Apply("recovered", doc(nil))
	snap.Apply("removed", doc(map[string]any{"consecutive_failures": 1, "last_failure": now}))
	snap.Apply("removed", nil)
	got := snap.MayBeProblems(now)
	slices.Sort(got)
	if want := []string{"failing", "paused", "stale"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A backoff that ends is no problem once it has.
	got = snap.MayBeProblems(now.Add(2 * time.Hour))
	slices.Sort(got)
	if want := []string{"failing", "stale"}; !slices.Equal(got, want) {
		t.Errorf("two hours later: got %v, want %v", got, want)
	}
}
