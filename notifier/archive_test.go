package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

func archivedItem(feed string, i int, seen time.Time) event.Archived {
	return event.Archived{
		FeedID:    feed,
		FeedURL:   "https://example.org/" + feed + ".xml",
		FeedTitle: "Feed " + feed,
		Tags:      []string{"world", "en"},
		Item: event.Item{
			Key:        fmt.Sprintf("urn:%s:%d", feed, i),
			Link:       fmt.Sprintf("https://example.org/%s/%d", feed, i),
			Title:      fmt.Sprintf("Item %d of %s near Kursk", i, feed),
			Summary:    "Summary",
			Published:  seen.Add(-time.Hour).Truncate(time.Second),
			Authors:    []string{"Reporter"},
			Categories: []string{"War"},
		},
		Content:   "<p>Content</p>",
		FirstSeen: seen,
	}
}

// readAll reads the archive with q and returns the items in the order the reader passed them on.
func readAll(t *testing.T, n *notifier.Notifier, q event.ArchiveQuery) []event.Archived {
	t.Helper()
	var got []event.Archived
	err := n.ReadArchive(testContext(t), q, func(items []event.Archived) func() error {
		chunk := slices.Clone(items)
		return func() error {
			got = append(got, chunk...)
			return nil
		}
	})
	if err != nil {
		t.Fatalf("ReadArchive: %v", err)
	}
	return got
}

// TestArchive: items are stored once however often they are published, as the events of the
// item schema with every field, and read back in order, by time range and by feed.
func TestArchive(t *testing.T) {
	cfg := notifiertest.Config(t)
	n := notifiertest.Open(t, cfg)
	base := time.Now().UTC().Add(-time.Minute)
	var items []event.Archived
	for i := range 1500 { // several chunks of the reader
		feed := []string{"world", "asia"}[i%2]
		items = append(items, archivedItem(feed, i, base.Add(time.Duration(i)*time.Millisecond)))
	}
	for range 2 { // a poll repeated after a crash publishes its items again
		if err := n.Archive().Publish(testContext(t), items[:1000]); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	time.Sleep(5 * time.Millisecond) // the stream's timestamps must pass the boundary below
	mid := time.Now()
	if err := n.Archive().Publish(testContext(t), items[1000:]); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := streamMsgs(t, n, notifier.DefaultArchiveStream); got != 1500 {
		t.Fatalf("archive holds %d messages, want 1500 (each item once)", got)
	}

	got := readAll(t, n, event.ArchiveQuery{})
	if len(got) != len(items) {
		t.Fatalf("read %d items, want %d", len(got), len(items))
	}
	for i := range got {
		if got[i].Item.Key != items[i].Item.Key {
			t.Fatalf("item %d: got key %q, want %q (archive order)", i, got[i].Item.Key, items[i].Item.Key)
		}
	}
	want := items[7]
	if g := got[7]; g.FeedID != want.FeedID || g.FeedURL != want.FeedURL || g.FeedTitle != want.FeedTitle ||
		!slices.Equal(g.Tags, want.Tags) || g.Content != want.Content || !g.FirstSeen.Equal(want.FirstSeen) ||
		g.Item.Title != want.Item.Title || g.Item.Link != want.Item.Link || !g.Item.Published.Equal(want.Item.Published) ||
		!slices.Equal(g.Item.Authors, want.Item.Authors) || !slices.Equal(g.Item.Categories, want.Item.Categories) {
		t.Errorf("item read back:\ngot  %+v\nwant %+v", g, want)
	}

	// By feed.
	asia := readAll(t, n, event.ArchiveQuery{Feeds: []string{"asia"}})
	if len(asia) != 750 || slices.ContainsFunc(asia, func(a event.Archived) bool { return a.FeedID != "asia" }) {
		t.Errorf("feed asia: got %d items (feeds %v...), want its 750", len(asia), asia[0].FeedID)
	}
	// From the middle: the stream's timestamps choose where the read starts.
	if late := readAll(t, n, event.ArchiveQuery{From: mid}); len(late) != 500 || late[0].Item.Key != items[1000].Item.Key {
		t.Errorf("from %s: got %d items, want the last 500", mid, len(late))
	}
	// Up to a first-seen time.
	to := items[300].FirstSeen
	if early := readAll(t, n, event.ArchiveQuery{To: to}); len(early) != 300 {
		t.Errorf("to %s: got %d items, want 300", to, len(early))
	}
}

// TestArchiveReadStops: an error of the ordered part ends the read with it, and leaves no
// goroutine behind (TestMain's goleak).
func TestArchiveReadStops(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	var items []event.Archived
	now := time.Now()
	for i := range 3000 {
		items = append(items, archivedItem("world", i, now))
	}
	if err := n.Archive().Publish(testContext(t), items); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	var mu sync.Mutex
	worked, seen := 0, 0
	err := n.ReadArchive(testContext(t), event.ArchiveQuery{}, func(items []event.Archived) func() error {
		mu.Lock()
		worked += len(items)
		mu.Unlock()
		return func() error {
			if seen += len(items); seen >= 1000 {
				return stop
			}
			return nil
		}
	})
	if !errors.Is(err, stop) {
		t.Fatalf("ReadArchive: got %v, want the error of the ordered part", err)
	}
	if seen < 1000 || seen >= 3000 {
		t.Errorf("ordered part saw %d items, want the read to stop after 1000", seen)
	}
}

// TestArchiveStreamConfig: the archive's stream compresses with S2, keeps max_age and
// max_bytes, and is not created when the archive is disabled.
func TestArchiveStreamConfig(t *testing.T) {
	cfg := notifiertest.Config(t)
	cfg.Archive = notifier.ArchiveConfig{Stream: "ITEMS", MaxAge: 48 * time.Hour, MaxBytes: 64 << 10}
	n := notifiertest.Open(t, cfg)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(testContext(t), "ITEMS")
	if err != nil {
		t.Fatal(err)
	}
	c := s.CachedInfo().Config
	if c.Compression != jetstream.S2Compression || c.MaxAge != 48*time.Hour || c.MaxBytes != 64<<10 ||
		!slices.Equal(c.Subjects, []string{cfg.SubjectPrefix + ".item.>"}) {
		t.Errorf("archive stream: got compression %v max_age %s max_bytes %d subjects %v", c.Compression, c.MaxAge, c.MaxBytes, c.Subjects)
	}
	// The size bound cuts the oldest items.
	var items []event.Archived
	for i := range 200 {
		a := archivedItem("world", i, time.Now())
		a.Content = strings.Repeat(fmt.Sprintf("unique words %d ", i*7919), 60) // ~1 KB that compresses little
		items = append(items, a)
	}
	if err := n.Archive().Publish(testContext(t), items); err != nil {
		t.Fatal(err)
	}
	st := streamState(t, n, "ITEMS")
	if st.Bytes > 64<<10 || st.FirstSeq <= 1 || st.LastSeq != 200 {
		t.Errorf("archive state: %d bytes, first %d, last %d; want at most 64 KiB, the oldest dropped", st.Bytes, st.FirstSeq, st.LastSeq)
	}

	off := notifiertest.Config(t)
	off.Archive.Disabled = true
	n2 := notifiertest.Open(t, off)
	if n2.Archive() != nil {
		t.Error("Archive() with the archive disabled: got a publisher, want nil")
	}
	js2, err := jetstream.New(n2.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js2.Stream(testContext(t), notifier.DefaultArchiveStream); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("archive stream with the archive disabled: got %v, want not found", err)
	}
	if err := n2.ReadArchive(testContext(t), event.ArchiveQuery{}, nil); !errors.Is(err, notifier.ErrArchiveDisabled) {
		t.Errorf("ReadArchive disabled: got %v, want ErrArchiveDisabled", err)
	}
}

// TestArchiveMaxAge: items older than the archive's max_age leave it.
func TestArchiveMaxAge(t *testing.T) {
	cfg := notifiertest.Config(t)
	cfg.DuplicateWindow = time.Second
	cfg.Archive = notifier.ArchiveConfig{MaxAge: 2 * time.Second}
	n := notifiertest.Open(t, cfg)
	if err := n.Archive().Publish(testContext(t), []event.Archived{archivedItem("world", 1, time.Now())}); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, n, notifier.DefaultArchiveStream); got != 1 {
		t.Fatalf("archive holds %d items, want 1", got)
	}
	waitFor(t, "the item aged out of the archive", func() bool { return streamMsgs(t, n, notifier.DefaultArchiveStream) == 0 })
}

// TestArchiveFirst: the items of a first poll are stored once without message ids, whether the
// poll is repeated after a part of it was stored, run by several publishers at once, or repeated
// long after (no window of time is involved); the other feeds' subjects do not disturb it.
func TestArchiveFirst(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	ctx := testContext(t)
	now := time.Now().UTC()
	var items []event.Archived
	for i := range 40 {
		items = append(items, archivedItem("world", i, now))
	}
	// Another feed's items, published the usual way, interleave in the stream.
	if err := n.Archive().Publish(ctx, []event.Archived{archivedItem("asia", 0, now)}); err != nil {
		t.Fatal(err)
	}
	// A first poll cut after 15 of its items.
	if err := n.Archive().PublishFirst(ctx, items[:15]); err != nil {
		t.Fatalf("PublishFirst: %v", err)
	}
	// Its repeats, three at once, beside the other feed.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Go(func() { errs <- n.Archive().PublishFirst(ctx, items) })
	}
	wg.Go(func() { errs <- n.Archive().Publish(ctx, []event.Archived{archivedItem("asia", 1, now)}) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	// And once more, later.
	if err := n.Archive().PublishFirst(ctx, items); err != nil {
		t.Fatalf("PublishFirst: %v", err)
	}

	got := readAll(t, n, event.ArchiveQuery{Feeds: []string{"world"}})
	keys := map[string]int{}
	for _, a := range got {
		keys[a.Item.Key]++
	}
	for _, it := range items {
		if keys[it.Item.Key] != 1 {
			t.Errorf("item %s archived %d times, want once", it.Item.Key, keys[it.Item.Key])
		}
	}
	if len(got) != len(items) {
		t.Errorf("feed world holds %d items, want %d", len(got), len(items))
	}
	if n := streamMsgs(t, n, notifier.DefaultArchiveStream); n != 42 {
		t.Errorf("archive holds %d messages, want 42", n)
	}

	m, err := streamOf(t, n, notifier.DefaultArchiveStream).GetLastMsgForSubject(ctx, notifier.ItemSubject("newswatch", "world"))
	if err != nil {
		t.Fatal(err)
	}
	if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
		t.Errorf("a first poll's message has the Nats-Msg-Id %q; want none, so that the server keeps no id", id)
	}

	mixed := []event.Archived{archivedItem("world", 100, now), archivedItem("asia", 100, now)}
	if err := n.Archive().PublishFirst(ctx, mixed); !errors.Is(err, notifier.ErrInvalidItem) {
		t.Errorf("PublishFirst of two feeds' items: %v, want ErrInvalidItem", err)
	}
}

// TestArchiveReadLosesMessages: items removed by the stream's limits while they are read end
// the read after its idle wait with every item still there passed on, not with an error.
func TestArchiveReadLosesMessages(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	// The read waits 10 s for the messages that will not come: more than testContext gives.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	now := time.Now()
	var items []event.Archived
	for i := range 8000 { // more than the reader asks the server for ahead of its chunks
		items = append(items, archivedItem("world", i, now))
	}
	if err := n.Archive().Publish(ctx, items); err != nil {
		t.Fatal(err)
	}
	s := streamOf(t, n, notifier.DefaultArchiveStream)
	last := streamState(t, n, notifier.DefaultArchiveStream).LastSeq
	got, purged := 0, false
	err := n.ReadArchive(ctx, event.ArchiveQuery{}, func(chunk []event.Archived) func() error {
		k := len(chunk)
		return func() error {
			got += k
			if !purged {
				// Once the read is under way, the newest 100 items go.
				purged = true
				for seq := last - 99; seq <= last; seq++ {
					if err := s.DeleteMsg(ctx, seq); err != nil {
						return err
					}
				}
			}
			return nil
		}
	})
	if err != nil {
		t.Fatalf("ReadArchive: %v", err)
	}
	if got != 7900 {
		t.Errorf("read passed on %d items, want the 7,900 left", got)
	}
}
