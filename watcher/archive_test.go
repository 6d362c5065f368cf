package watcher

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/newswatch/newswatch/matcher"
)

// TestArchiveEnds: a first poll archives after an empty record, and each later poll after the
// end that the state of the poll before recorded; a state that recorded no end (written by a
// version before ends were kept) archives by id once, and after its end from then on.
func TestArchiveEnds(t *testing.T) {
	fs := newFeedServer(t, rss("World", rssItem{GUID: "a", Title: "One"}, rssItem{GUID: "b", Title: "Two"}))
	arch, state := &recordArchive{}, newMemState()
	w := testWatcher(t, Config{
		Rules:     []matcher.Rule{kurskRule},
		Publisher: &memPublisher{},
		State:     state,
		Archiver:  arch,
		Feeds:     []Feed{testFeed("world", fs.URL+"/rss.xml", "@every 5m")},
	}, nil)
	items := []rssItem{{GUID: "a", Title: "One"}, {GUID: "b", Title: "Two"}}
	// poll polls for slot n, after a new item when n > 1: one item archived a poll.
	poll := func(n int) {
		t.Helper()
		if n > 1 {
			items = append(items, rssItem{GUID: fmt.Sprint(n), Title: "More"})
			fs.set(func(fs *feedServer) { fs.body = rss("World", items...) })
		}
		if err := w.Poll(t.Context(), "world", slot(n)); err != nil {
			t.Fatal(err)
		}
	}
	poll(1)
	poll(2)
	if want := []uint64{0, 2}; !slices.Equal(arch.after, want) {
		t.Fatalf("ArchiveAfter given the ends %v, want %v", arch.after, want)
	}

	// The state as a version before ends wrote it.
	state.mu.Lock()
	state.data["world"] = bytes.Replace(state.data["world"], []byte(`"archive_seq":3`), []byte(`"archive_seq":0`), 1)
	state.mu.Unlock()
	poll(3)
	poll(4)
	if want := []uint64{0, 2, ^uint64(0), 4}; !slices.Equal(arch.after, want) {
		t.Fatalf("ends given %v, want %v (^uint64(0): Archive, by id)", arch.after, want)
	}
	if len(arch.items) != 5 {
		t.Errorf("archived %d items, want 5", len(arch.items))
	}
}
