package web_test

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var rowID = regexp.MustCompile(`<tr class="h-[a-z_]*" id="feed-([^"]+)">`)

// pageIDs returns the feed ids that GET path lists, in order.
func pageIDs(t *testing.T, base, path string) []string {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", path, err, resp.Status)
	}
	var ids []string
	for _, m := range rowID.FindAllStringSubmatch(string(body), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestFeedsPageOrder: over 250 feeds with problems at 7, 120 and 249, every page lists the
// problems first in configuration order, the healthy feeds after, a filter narrows both, and a
// page past the end shows the last one.
func TestFeedsPageOrder(t *testing.T) {
	now := time.Now()
	failing := map[int]bool{7: true, 120: true, 249: true}
	srv := feedsConsole(t, 250, func(i int) []byte {
		if failing[i] {
			return []byte(`{"url":"u","baselined":true,"consecutive_failures":2,"last_failure":"` + now.Format(time.RFC3339) + `","last_error":"<b>boom</b>"}`)
		}
		return []byte(`{"url":"u","baselined":true,"last_success":"` + now.Format(time.RFC3339) + `"}`)
	})
	first := pageIDs(t, srv.URL, "/feeds")
	if len(first) != 100 || !slices.Equal(first[:4], []string{"feed-000007", "feed-000120", "feed-000249", "feed-000000"}) {
		t.Fatalf("the first page starts %v (%d feeds), want the three failing feeds, then feed-000000", first[:min(5, len(first))], len(first))
	}
	resp, err := http.Get(srv.URL + "/feeds")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "&lt;b&gt;boom&lt;/b&gt;") || strings.Contains(string(body), "<b>boom") {
		t.Errorf("the last error <b>boom</b> is not shown as text")
	}
	last := pageIDs(t, srv.URL, "/feeds?page=3")
	if len(last) != 50 || last[len(last)-1] != "feed-000248" {
		t.Errorf("the last page lists %d feeds ending %v, want 50 ending feed-000248", len(last), last[len(last)-1:])
	}
	if past := pageIDs(t, srv.URL, "/feeds?page=99"); !slices.Equal(past, last) {
		t.Errorf("a page past the end lists %v, want the last page", past)
	}
	// topic20: feeds 20, 70, 120, 170, 220; 120 fails.
	if got, want := pageIDs(t, srv.URL, "/feeds?tag=topic20"), []string{"feed-000120", "feed-000020", "feed-000070", "feed-000170", "feed-000220"}; !slices.Equal(got, want) {
		t.Errorf("tag=topic20 lists %v, want %v", got, want)
	}
	if got, want := pageIDs(t, srv.URL, "/feeds?q=NEWS24"), []string{"feed-000249", "feed-000024", "feed-000240", "feed-000241", "feed-000242", "feed-000243", "feed-000244", "feed-000245", "feed-000246", "feed-000247", "feed-000248"}; !slices.Equal(got, want) {
		t.Errorf("q=NEWS24 lists %v, want %v", got, want)
	}
}
