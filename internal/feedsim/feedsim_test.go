package feedsim_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/newswatch/newswatch/internal/feedsim"
	"github.com/newswatch/newswatch/watcher"
)

func TestServesItemsAtTheirTimes(t *testing.T) {
	sim := feedsim.New(feedsim.Config{Feeds: 50, Period: time.Minute, Items: 5, MatchEvery: 3})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for n := range 50 {
		resp, err := http.Get(srv.URL + feedsim.Path(n))
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 1<<16)
		m, _ := resp.Body.Read(body)
		resp.Body.Close()
		_, items, err := watcher.ParseItems(body[:m])
		if err != nil {
			t.Fatalf("feed %d: %v", n, err)
		}
		want := sim.ItemsAt(n, time.Now())
		if len(items) != 5 || len(want) != 5 {
			t.Fatalf("feed %d: served %d items, ItemsAt %d, want 5", n, len(items), len(want))
		}
		for i := range items {
			if items[i].GUID != want[i].GUID || items[i].Title != want[i].Title || !items[i].Published.Equal(want[i].Published.Truncate(time.Second)) {
				t.Errorf("feed %d item %d: served %q %q %s, ItemsAt %q %q %s", n, i, items[i].GUID, items[i].Title, items[i].Published, want[i].GUID, want[i].Title, want[i].Published)
			}
		}
		etag := resp.Header.Get("ETag")
		req, _ := http.NewRequest("GET", srv.URL+feedsim.Path(n), nil)
		req.Header.Set("If-None-Match", etag)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified && sim.Latest(n, time.Now()) == sim.Latest(n, time.Now().Add(-time.Second)) {
			t.Errorf("feed %d: status %d for the current ETag, want 304", n, resp.StatusCode)
		}
	}
	if st := sim.Stats(); st.Requests != 100 || st.OK < 50 || st.NotModified < 40 || sim.Requests(7) != 2 {
		t.Errorf("stats %+v, feed 7 %d requests; want 100 requests, 50 ok, most of the rest 304, 2 for feed 7", st, sim.Requests(7))
	}
}

func TestFeedsChangeOnTheirOwnPeriods(t *testing.T) {
	sim := feedsim.New(feedsim.Config{Feeds: 1000, Period: time.Minute, BurstEvery: 4, BurstSize: 3})
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	changed := 0
	for n := range 1000 {
		a, b := sim.Latest(n, t0), sim.Latest(n, t0.Add(30*time.Second))
		if b < a {
			t.Fatalf("feed %d: latest went back from %d to %d", n, a, b)
		}
		if b > a {
			changed++
		}
		// An item appears at its publication time, not before.
		it := sim.ItemsAt(n, t0)[0]
		if it.Published.After(t0) || sim.Latest(n, it.Published.Add(-time.Nanosecond)) >= int64(it.Index) {
			t.Errorf("feed %d: item %d published %s, not consistent with Latest", n, it.Index, it.Published)
		}
	}
	// Periods spread over [30s, 90s): about half the feeds change within 30 seconds.
	if changed < 250 || changed > 750 {
		t.Errorf("%d of 1000 feeds changed within 30s, want about half", changed)
	}
	// Bursts: over 4 periods a feed adds 3+1+1+1 items.
	n := 3
	start := sim.ItemsAt(n, t0)[0].Published
	if got := sim.Latest(n, start.Add(4*time.Minute*3/2)) - sim.Latest(n, start); got < 4 {
		t.Errorf("feed %d added %d items over at least 4 periods with bursts, want at least 4", n, got)
	}
}
