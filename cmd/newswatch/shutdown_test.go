package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// slowFeed is a feed server that answers each request after a delay a test may change, and
// counts the requests in flight. A request whose client gives up ends at once.
type slowFeed struct {
	*feedServer
	delay    atomic.Int64 // nanoseconds
	inFlight atomic.Int32
}

func newSlowFeed(t *testing.T, delay time.Duration, items ...feedItem) *slowFeed {
	t.Helper()
	f := &slowFeed{feedServer: &feedServer{items: items}}
	f.delay.Store(int64(delay))
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		select {
		case <-time.After(time.Duration(f.delay.Load())):
			f.serve(w, r)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// TestShutdownDuringPolls sends SIGTERM while four polls are in flight, each fetching a feed
// whose new items match rules: two feeds answer within the shutdown timeout and their polls
// finish, two answer too late and their polls are abandoned. The process exits 0 within the
// shutdown bound. After a restart, which polls the abandoned feeds again, the alert stream holds
// every expected (item, rule) pair exactly once.
func TestShutdownDuringPolls(t *testing.T) {
	const shutdownTimeout = 5 * time.Second
	items := func(feed string) []feedItem {
		return []feedItem{
			{GUID: feed + "-dprk", Title: "North Korean troops fighting in Russia's Kursk region",
				Description: "Pyongyang has sent soldiers to fight for Russia, officials said."},
			{GUID: feed + "-kursk", Title: "Shelling reported near Kursk", Description: "Several villages were hit."},
			{GUID: feed + "-decoy", Title: "Markets close higher", Description: "Stocks rose on Tuesday."},
		}
	}
	// What each feed's items must alert: the first matches both rules, the second one.
	want := map[string]bool{}
	feeds := map[string]*slowFeed{}
	var cfgFeeds []map[string]any
	for i, id := range []string{"fast-a", "fast-b", "slow-a", "slow-b"} {
		delay := 2 * time.Second // within the shutdown timeout
		if i >= 2 {
			delay = time.Minute // beyond it: abandoned
		}
		feeds[id] = newSlowFeed(t, delay, items(id)...)
		cfgFeeds = append(cfgFeeds, map[string]any{"id": id, "url": feeds[id].URL})
		want[id+"-dprk/dprk-troops"] = true
		want[id+"-dprk/kursk"] = true
		want[id+"-kursk/kursk"] = true
	}
	dir := t.TempDir()
	cfg, natsURL := testConfigMap(t, dir, cfgFeeds)
	// One poll per feed at start (the slot just past), none after it in the test's time.
	cfg["defaults"] = map[string]any{"schedule": "@every 1h", "timeout": "2m", "first_poll": "all", "allow_private": true}
	natsCfg := cfg["nats"].(map[string]any)
	natsCfg["ack_wait"] = "5s" // a job that lost its worker comes back soon
	path := t.TempDir() + "/newswatch.yaml"
	writeConfig(t, path, cfg)

	d := startDaemon(t, path, "NEWSWATCH_SHUTDOWN_TIMEOUT="+shutdownTimeout.String())
	waitFor(t, 60*time.Second, "a poll in flight for every feed", func() bool {
		for _, f := range feeds {
			if f.inFlight.Load() == 0 {
				return false
			}
		}
		return true
	})
	sent := time.Now()
	// The bound: the shutdown timeout for the polls, then a few seconds to drain NATS and stop
	// the embedded server (generous under the race detector).
	d.stop(t, shutdownTimeout+10*time.Second)
	took := time.Since(sent)
	t.Logf("exit %v after SIGTERM (shutdown timeout %v)", took.Round(10*time.Millisecond), shutdownTimeout)
	log := d.log.String()
	if !strings.Contains(log, "abandoning polls in flight") {
		t.Errorf("no poll was abandoned; the test did not cover that path:\n%s", log)
	}
	for id, f := range feeds {
		if n := f.inFlight.Load(); n != 0 {
			t.Errorf("feed %s: %d requests still open after the daemon exited", id, n)
		}
		// The fast feeds were served before the exit; the slow ones never were.
		if got, want := f.count(), map[bool]int{true: 1, false: 0}[strings.HasPrefix(id, "fast")]; got != want {
			t.Errorf("feed %s answered %d polls before the exit, want %d", id, got, want)
		}
	}

	// The restart, with every feed answering at once: the abandoned jobs come back.
	for _, f := range feeds {
		f.delay.Store(0)
	}
	d = startDaemon(t, path)
	nc := connect(t, natsURL)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "every poll done: the alerts stored and the poll queue empty", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		alerts, err := js.Stream(ctx, "NEWSWATCH_ALERTS")
		if err != nil {
			return false
		}
		polls, err := js.Stream(ctx, "NEWSWATCH_POLLS")
		if err != nil {
			return false
		}
		ai, err := alerts.Info(ctx)
		if err != nil {
			return false
		}
		pi, err := polls.Info(ctx)
		if err != nil {
			return false
		}
		return ai.State.Msgs >= uint64(len(want)) && pi.State.Msgs == 0
	})
	for id := range feeds {
		waitForState(t, nc, id)
	}
	got := alertPairs(t, js)
	d.stop(t, 30*time.Second)
	for id, f := range feeds {
		if f.count() != 1 {
			t.Errorf("feed %s answered %d polls in all, want 1: a finished poll is not repeated, an abandoned one is", id, f.count())
		}
	}

	var dups, extra, missing []string
	for k, n := range got {
		switch {
		case !want[k]:
			extra = append(extra, k)
		case n > 1:
			dups = append(dups, fmt.Sprintf("%s ×%d", k, n))
		}
	}
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	slices.Sort(dups)
	slices.Sort(extra)
	slices.Sort(missing)
	if len(dups)+len(extra)+len(missing) > 0 {
		t.Errorf("alert stream: duplicated %v, unexpected %v, missing %v; want each of %d pairs once", dups, extra, missing, len(want))
	}
}

// alertPairs reads the whole alert stream and counts its alerts by "item/rule".
func alertPairs(t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range info.NumPending {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("reading the alert stream: %v", err)
		}
		var ev alertEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatalf("alert on %s is not JSON: %v", m.Subject(), err)
		}
		got[ev.Data.Item.GUID+"/"+ev.Data.Rule.ID]++
	}
	return got
}
