package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
)

// alertEvent is the part of an alert event the end-to-end tests check.
type alertEvent struct {
	SpecVersion string `json:"specversion"`
	Type        string `json:"type"`
	Source      string `json:"source"`
	ID          string `json:"id"`
	Subject     string `json:"subject"`
	Data        struct {
		Rule struct{ ID string } `json:"rule"`
		Feed struct{ ID string } `json:"feed"`
		Item struct {
			GUID  string `json:"guid"`
			Title string `json:"title"`
		} `json:"item"`
		Hits []struct {
			Field      string
			Start, End int
			Text       string
		} `json:"hits"`
	} `json:"data"`
}

// TestEndToEnd runs the built daemon against a real feed server with its embedded NATS server:
// the first poll alerts nothing, a new item about North Korean troops in the Kursk region alerts
// once for each rule, a decoy alerts nothing, and a restart alerts nothing again.
func TestEndToEnd(t *testing.T) {
	feed := newFeedServer(t,
		feedItem{GUID: "old-1", Title: "North Korean soldiers seen near Kursk", Description: "An older report, present before newswatch started."},
		feedItem{GUID: "old-2", Title: "Markets close higher", Description: "Stocks rose on Tuesday."},
	)
	dir := t.TempDir()
	config, natsURL := testConfig(t, dir, []map[string]any{{"id": "world", "url": feed.URL, "tags": []string{"world", "en"}}})

	d := startDaemon(t, config)
	nc := connect(t, natsURL)
	alerts := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe("newswatch.alert.>", alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	// The baseline poll has been committed: nothing is new yet.
	waitForState(t, nc, "world")
	feed.add(
		feedItem{GUID: "new-1", Title: "North Korean troops fighting in Russia's Kursk region",
			Description: "Pyongyang has sent soldiers to fight for Russia in the Kursk region, officials said."},
		feedItem{GUID: "decoy-1", Title: "South Korean troops hold exercise near Seoul",
			Description: "The army drill lasted three days."},
	)

	got := map[string]alertEvent{}
	for len(got) < 2 {
		select {
		case m := <-alerts:
			var ev alertEvent
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("alert on %s is not JSON: %v\n%s", m.Subject, err, m.Data)
			}
			if h := m.Header.Get("Nats-Msg-Id"); h != ev.ID {
				t.Errorf("alert on %s: Nats-Msg-Id %q, want the event id %q", m.Subject, h, ev.ID)
			}
			if ct := m.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
				t.Errorf("alert on %s: Content-Type %q, want application/cloudevents+json", m.Subject, ct)
			}
			if _, dup := got[m.Subject]; dup {
				t.Fatalf("second alert on %s", m.Subject)
			}
			got[m.Subject] = ev
		case <-time.After(30 * time.Second):
			t.Fatalf("got alerts on %v, want one on each of the two rules' subjects", keys(got))
		}
	}
	for _, rule := range []string{"dprk-troops", "kursk"} {
		ev, ok := got["newswatch.alert."+rule+".world"]
		if !ok {
			t.Fatalf("no alert on newswatch.alert.%s.world; got %v", rule, keys(got))
		}
		if ev.SpecVersion != "1.0" || ev.Type != "io.newswatch.alert.v1" || ev.Source != "newswatch/feeds/world" || ev.Subject != rule {
			t.Errorf("%s: envelope %+v, want specversion 1.0, type io.newswatch.alert.v1, source newswatch/feeds/world, subject %s", rule, ev, rule)
		}
		if ev.Data.Item.GUID != "new-1" || ev.Data.Rule.ID != rule || ev.Data.Feed.ID != "world" {
			t.Errorf("%s: alert for item %q rule %q feed %q, want new-1, %s, world", rule, ev.Data.Item.GUID, ev.Data.Rule.ID, ev.Data.Feed.ID, rule)
		}
		if len(ev.Data.Hits) == 0 {
			t.Errorf("%s: alert carries no hits", rule)
		}
	}

	// Polls go on; nothing else may be alerted: not the decoy, not the old items, not again.
	n := feed.count()
	waitFor(t, 30*time.Second, "three more polls", func() bool { return feed.count() >= n+3 })
	expectNoAlert(t, alerts)
	d.stop(t, 30*time.Second)
	nc.Close()

	d = startDaemon(t, config)
	nc = connect(t, natsURL)
	alerts = make(chan *nats.Msg, 16)
	sub, err = nc.ChanSubscribe("newswatch.alert.>", alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	n = feed.count()
	waitFor(t, 30*time.Second, "three polls after the restart", func() bool { return feed.count() >= n+3 })
	expectNoAlert(t, alerts)
	if got, want := streamSubjects(t, nc), []string{"newswatch.alert.dprk-troops.world", "newswatch.alert.kursk.world"}; !slices.Equal(got, want) {
		t.Errorf("alert stream holds %v, want %v", got, want)
	}
	checkTail(t, natsURL, []string{"newswatch.alert.dprk-troops.world", "newswatch.alert.kursk.world"})
	d.stop(t, 30*time.Second)
}

// checkTail runs `newswatch tail --since 1h --json` and requires it to replay one event for each
// subject, then to exit 0 on SIGINT.
func checkTail(t *testing.T, natsURL string, subjects []string) {
	t.Helper()
	cmd := exec.Command(binary, "tail", "-s", natsURL, "--creds", credsFor(natsURL, notifier.RoleSubscriber), "--since", "1h", "--json")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	t.Cleanup(func() {
		cmd.Process.Kill()
		for range lines { // unblock the reader, which then waits for the process
		}
		<-exited
	})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait() // after the output is read whole
	}()
	var got []string
	for range subjects {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("tail ended early")
			}
			var ev alertEvent
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("tail printed %q: %v", l, err)
			}
			got = append(got, "newswatch.alert."+ev.Subject+"."+ev.Data.Feed.ID)
		case <-time.After(30 * time.Second):
			t.Fatalf("tail printed %v within 30s, want %v", got, subjects)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, subjects) {
		t.Errorf("tail replayed %v, want %v", got, subjects)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("tail after SIGINT: %v, want exit 0; stderr: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("tail did not exit within 30s of SIGINT")
	}
}

// expectNoAlert fails on any alert received so far. The core subscription sees every publish,
// also one the alert stream would drop as a duplicate.
func expectNoAlert(t *testing.T, alerts <-chan *nats.Msg) {
	t.Helper()
	for {
		select {
		case m := <-alerts:
			t.Errorf("unexpected alert on %s: %s", m.Subject, m.Data)
		default:
			return
		}
	}
}

// waitForState waits until the feed's state has been committed to the KV bucket.
func waitForState(t *testing.T, nc *nats.Conn, feedID string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the state of feed "+feedID, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		kv, err := js.KeyValue(ctx, "newswatch_feeds")
		if err != nil {
			return false
		}
		_, err = kv.Get(ctx, feedID)
		return err == nil
	})
}

// connect connects to the daemon's embedded NATS server with the daemon's credentials, which
// may do all that the tests look at, waiting for it to listen.
func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	var nc *nats.Conn
	waitFor(t, 60*time.Second, "the embedded NATS server", func() bool {
		var err error
		nc, err = nats.Connect(url, nats.Timeout(time.Second), credsOption(url, notifier.RoleDaemon))
		return err == nil
	})
	t.Cleanup(nc.Close)
	return nc
}

// streamSubjects returns the subject of every message in the alert stream, sorted.
func streamSubjects(t *testing.T, nc *nats.Conn) []string {
	t.Helper()
	var subjects []string
	for _, m := range alertStreamMsgs(t, nc) {
		subjects = append(subjects, m.Subject())
	}
	slices.Sort(subjects)
	return subjects
}

// alertStreamMsgs reads every message of the alert stream, in order.
func alertStreamMsgs(t *testing.T, nc *nats.Conn) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for range info.NumPending {
		m, err := cons.Next(jetstream.FetchMaxWait(30 * time.Second))
		if err != nil {
			t.Fatalf("reading the alert stream: %v", err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
