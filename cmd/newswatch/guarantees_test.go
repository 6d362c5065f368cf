package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The tests of this file prove the delivery guarantees of the specification (§5) on the built
// daemon, a separate process, against real feed servers and real NATS: every (item, rule) pair
// of an item that appeared after the baseline is in the alert stream exactly once, and nothing
// else is, after kill -9 at random moments, after NATS outages, and when NATS is not there at
// the start. The stream is read message by message, and its own count of messages is checked:
// a second copy of a pair would show as a second message.

// TestKillNineLoop kills the daemon with SIGKILL again and again, while new matching items
// keep appearing in three feeds, each restart recovering the embedded server's store; then a
// clean run alerts what is left. Every other kill comes at a random moment; the others come
// the moment an alert is seen published, which lands them between a PubAck and the commit of
// the feed's state, where only the event id keeps the next run's publish from being a second
// alert. A durable consumer reads the alert stream all along, from a connection that follows
// each new incarnation of the embedded server.
func TestKillNineLoop(t *testing.T) {
	const kills = 20
	feeds := newGrowingFeeds(t, "world", "asia", "europe")
	dir := t.TempDir()
	cfg, natsURL := testConfigMap(t, dir, feeds.config())
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	// The first run takes the baseline of every feed; its old items must never alert.
	d := startDaemon(t, path)
	nc, js := connectReconnecting(t, natsURL)
	for _, id := range feeds.ids {
		waitForState(t, nc, id)
	}
	reader := readDurably(t, js, "guarantees_kill")
	published := make(chan struct{}, 1)
	sub, err := nc.Subscribe("newswatch.alert.>", func(*nats.Msg) {
		select {
		case published <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	killDaemon(t, d)

	feeds.grow(100 * time.Millisecond)
	var counts []uint64
	onPublish := 0
	for i := range kills {
		d := startDaemon(t, path)
		select {
		case <-published: // from the previous run
		default:
		}
		if i%2 == 0 {
			time.Sleep(100*time.Millisecond + rand.N(1400*time.Millisecond))
			counts = append(counts, streamMsgCount(js, 200*time.Millisecond))
		} else {
			select {
			case <-published:
				onPublish++
			case <-time.After(3 * time.Second):
			}
		}
		requireRunning(t, d)
		killDaemon(t, d)
	}
	feeds.halt()
	want := feeds.expected()
	t.Logf("%d kills, %d of them as an alert was published; alerts in the stream before the random kills (0: not readable then): %v; %d expected in the end",
		kills, onPublish, counts, len(want))
	if slices.Max(counts) == 0 && onPublish == 0 {
		t.Errorf("no alert was published between the kills; the loop proves nothing")
	}

	d = startDaemon(t, path)
	awaitStreamCount(t, js, len(want), 150*time.Second)
	waitPolls(t, 3, feeds.servers()...)
	checkAlertStream(t, js, want)
	reader.check(t, want)
	// Every item, baseline and new, archived once: the archive is written before the state
	// commits, as alerts are, and de-duplicated by the same means.
	items := feeds.archived()
	msgs, got := readArchiveStream(t, js)
	checkExactlyOnce(t, "item archive", msgs, got, items)
	// Every alert has its story, the same for every alert of an item however many runs were
	// killed between them, one alert of each (rule, story) opens it, and one story.new tells it.
	checkStories(t, js)
	d.stop(t, 30*time.Second)
}

// TestExternalNATSOutage runs the daemon against a nats-server process that is killed twice
// (SIGKILL) while feeds keep publishing matching items, and started again on the same port
// and store: once for 3 seconds, once for 20. The daemon process keeps running all along (it
// is checked every 250ms, and it exits 0 on SIGTERM at the end), and once NATS is back every
// item is alerted exactly once.
//
// The connection of the daemon reconnects forever (nats.MaxReconnects(-1) in notifier), so
// there is no reconnect budget to exhaust; what the long outage proves is that nothing above
// the connection gives up or wedges either. 20 seconds is longer than every retry loop of the
// daemon takes to reach its steady state: a pull request for poll jobs expires after 15s, the
// pull and publish backoffs reach their caps (5s, 2s) within 8s, and the client has been
// through ten of its 2s reconnect waits. A job in flight is not yet redelivered (AckWait 1m),
// so the daemon has to finish it itself when NATS returns.
func TestExternalNATSOutage(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "js")
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	ns := startNATSServer(t, port, store)

	feeds := newGrowingFeeds(t, "world", "asia", "europe")
	cfg, _ := testConfigMap(t, dir, feeds.config())
	cfg["nats"] = map[string]any{"url": url}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemon(t, path)
	_, js := connectReconnecting(t, url)
	for _, id := range feeds.ids {
		waitForState(t, js.Conn(), id)
	}
	reader := readDurably(t, js, "guarantees_outage")
	feeds.grow(150 * time.Millisecond)

	outage := func(length time.Duration) {
		t.Helper()
		waitStreamCount(t, js, len(feeds.expected()), 60*time.Second)
		ns.kill(t)
		for end := time.Now().Add(length); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			requireRunning(t, d)
		}
		ns = startNATSServer(t, port, store)
		// Everything that appeared before and during the outage is alerted once NATS is back.
		back := time.Now()
		// A job the server had handed to a pull request that the outage cut comes again only
		// after its AckWait (1m): the catch-up may take that long and more.
		waitStreamCount(t, js, len(feeds.expected()), 150*time.Second)
		t.Logf("outage of %s: the alerts of every item caught up %s after NATS was back", length, time.Since(back).Round(10*time.Millisecond))
		requireRunning(t, d)
	}
	outage(3 * time.Second)
	outage(20 * time.Second)

	feeds.halt()
	want := feeds.expected()
	awaitStreamCount(t, js, len(want), 150*time.Second)
	waitPolls(t, 3, feeds.servers()...)
	checkAlertStream(t, js, want)
	reader.check(t, want)
	// The process started first is still the one running, and it stops cleanly.
	requireRunning(t, d)
	d.stop(t, 30*time.Second)
}

// TestStartWhileNATSDown starts the daemon with nats.url pointing to a port where nothing
// listens: it waits, neither exiting nor reporting ready, and once nats-server starts there it
// becomes ready and alerts by itself. (TestReadinessFollowsNATS covers NATS that goes away and
// comes back after the start; this covers NATS that is not there at the start.)
func TestStartWhileNATSDown(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	natsServerBinary(t) // built before the daemon's clock starts

	feeds := newGrowingFeeds(t, "world")
	cfg, _ := testConfigMap(t, dir, feeds.config())
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["nats"] = map[string]any{"url": url}
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	d := startDaemon(t, path)
	readyz := func() int {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return 0 // not serving yet
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		requireRunning(t, d)
		if code := readyz(); code == http.StatusOK {
			t.Fatal("/readyz 200 while NATS is not there")
		}
	}

	startNATSServer(t, port, filepath.Join(dir, "js"))
	waitFor(t, 60*time.Second, "/readyz 200 once NATS is there", func() bool { return readyz() == http.StatusOK })
	_, js := connectReconnecting(t, url)
	waitForState(t, js.Conn(), "world")
	for range 8 {
		feeds.add()
	}
	want := feeds.expected()
	awaitStreamCount(t, js, len(want), 150*time.Second)
	waitPolls(t, 3, feeds.servers()...)
	checkAlertStream(t, js, want)
	d.stop(t, 30*time.Second)
}
