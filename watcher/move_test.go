package watcher

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/newswatch/newswatch/matcher"
)

// TestPollIgnoresForgedMove: a move to another host written into the state is dropped, and
// the poll goes to the configured URL; what the other host serves is never alerted.
func TestPollIgnoresForgedMove(t *testing.T) {
	bs := newBoundsSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk a"}), nil)
	forgedURL, elsewhere := forgedHost(t)
	cfgURL := bs.fs.URL + "/rss.xml"
	bs.state.put(t, "world", feedState{MovedFrom: cfgURL, MovedTo: forgedURL})
	if err := bs.w.Poll(t.Context(), "world", realSlot(time.Now())); err != nil {
		t.Fatal(err)
	}
	if got := alertKeys(bs.pub.published()); !slices.Equal(got, []string{"kursk:a"}) || elsewhere.Load() != 0 {
		t.Errorf("alerts %v after %d requests to the forged host, want [kursk:a] and none", got, elsewhere.Load())
	}
	if n := bs.warnings("feed state with impossible values repaired"); n != 1 {
		t.Errorf("got %d warnings of a repaired state, want 1", n)
	}
}

// TestPollMoveToAnotherHostNotRemembered: a feed permanently redirected to another host is
// followed at every poll, but the move is not kept in its state (where it would send every
// later poll there), and it is logged once at info level.
func TestPollMoveToAnotherHostNotRemembered(t *testing.T) {
	bs := newBoundsSetup(t, rss("World", rssItem{GUID: "a", Title: "Kursk a"}), nil)
	target := strings.Replace(bs.fs.URL, "127.0.0.1", "localhost", 1) + "/rss.xml"
	var redirected atomic.Int32
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	}))
	t.Cleanup(old.Close)
	f := testFeed("world", old.URL+"/feed", "@every 5m")
	f.FirstPoll = FirstPoll{Mode: FirstPollAll}
	if err := bs.w.Update([]Feed{f}, []matcher.Rule{kurskRule}, compile(t, kurskRule)); err != nil {
		t.Fatal(err)
	}
	slot := realSlot(time.Now())
	for i := range 3 {
		if err := bs.w.Poll(t.Context(), "world", slot.Add(time.Duration(i-2)*5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if st := bs.state.state(t, "world"); st.MovedTo != "" || st.MoveCandidate != "" {
			t.Fatalf("poll %d: state records a move to %q (candidate %q), want none", i, st.MovedTo, st.MoveCandidate)
		}
	}
	if n := redirected.Load(); n != 3 {
		t.Errorf("the configured URL got %d requests, want one each poll", n)
	}
	if got := alertKeys(bs.pub.published()); !slices.Equal(got, []string{"kursk:a"}) {
		t.Errorf("alerts %v, want [kursk:a]", got)
	}
	if n := bs.logs.FilterMessageSnippet("another host").FilterLevelExact(zapcore.InfoLevel).Len(); n != 1 {
		t.Errorf("got %d info lines of the move, want 1", n)
	}
}
