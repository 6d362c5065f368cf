package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/notifier"
)

// publisherFeed serves an RSS feed whose items link to the feed's own publisher host, so that
// each feed is a distinct publisher to the delivery.
type publisherFeed struct {
	*httptest.Server
	host     string
	mu       sync.Mutex
	items    []feedItem
	requests int
}

func newPublisherFeed(t *testing.T, host string) *publisherFeed {
	t.Helper()
	f := &publisherFeed{host: host}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests++
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>` + host + `</title><link>https://` + host + `/</link><description>news</description>`)
		for i := len(f.items) - 1; i >= 0; i-- {
			it := f.items[i]
			fmt.Fprintf(&b, `<item><guid isPermaLink="false">%s</guid><title>%s</title><link>https://%s/%s</link><description>%s</description><pubDate>%s</pubDate></item>`,
				html.EscapeString(it.GUID), html.EscapeString(it.Title), host, it.GUID, html.EscapeString(it.Description), time.Now().UTC().Format(time.RFC1123Z))
		}
		b.WriteString(`</channel></rss>`)
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write(b.Bytes())
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *publisherFeed) add(items ...feedItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, items...)
}

// deliveryMsg is one message of the delivery stream.
type deliveryMsg struct {
	subject string
	msgID   string
	ce      notifier.DeliveryCloudEvent
}

func readDeliveries(t *testing.T, js jetstream.JetStream) []deliveryMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "NEWSWATCH_DELIVERIES")
	if err != nil {
		t.Fatalf("delivery stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("delivery stream info: %v", err)
	}
	var out []deliveryMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("delivery stream message %d: %v", seq, err)
		}
		m := deliveryMsg{subject: raw.Subject, msgID: raw.Header.Get(jetstream.MsgIDHeader)}
		if err := json.Unmarshal(raw.Data, &m.ce); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// alertOf is an alert as the delivery test reads it: its rule, id, story and time.
type alertOf struct {
	rule, id, story string
	at              time.Time
}

func readAlertStories(t *testing.T, js jetstream.JetStream) []alertOf {
	t.Helper()
	var out []alertOf
	_, _ = readStream(t, js, "NEWSWATCH_ALERTS", func(_ string, _ nats.Header, data []byte) (alertKey, error) {
		ev, err := notifier.ParseEvent(data)
		if err != nil {
			return alertKey{}, err
		}
		at, _ := time.Parse(time.RFC3339Nano, ev.Time)
		s := ev.Data.Item.Key
		if ev.Data.Story != nil {
			s = ev.Data.Story.ID
		}
		out = append(out, alertOf{rule: ev.Data.Rule.ID, id: ev.ID, story: s, at: at})
		return alertKey{Rule: ev.Data.Rule.ID, Item: ev.ID}, nil
	})
	return out
}

// earlyInMinute waits until the wall clock is in the first 30 seconds of a minute, so that items
// added now are alerted within one digest period (every: 1m) and one budget window (per: 1m).
func earlyInMinute(t *testing.T) {
	t.Helper()
	waitFor(t, 70*time.Second, "the start of a minute", func() bool { return time.Now().Second() < 30 })
}

var spikeOpts = map[string]any{"window": "30m", "min_stories": 4, "min_publishers": 3, "factor": 3, "baseline_days": 1, "cooldown": "1h"}

// TestDelivery runs two replicas on a nats-server process with four rules: digest (a digest a
// minute), budget (two alerts a minute, the rest in the minute's digest), surge and copies
// (spikes over a seeded day of history). It proves that each digest lists exactly the stories
// alerted in its period, that a budget notice and a budget digest come once for the window past
// the budget and none for a later window within it, that a surge of distinct stories from
// several publishers spikes once (not again within its cooldown) while copies of one story do
// not, that the alerts budget delivers at once are published whole, exactly the first two of each
// window and none past them, and that every delivery is stored once although one replica is
// killed with SIGKILL with digests pending and started again.
func TestDelivery(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	startNATSServer(t, port, filepath.Join(dir, "js"))

	var feeds []map[string]any
	var pubs []*publisherFeed
	for i := range 6 {
		f := newPublisherFeed(t, fmt.Sprintf("pub%d.example", i))
		pubs = append(pubs, f)
		feeds = append(feeds, map[string]any{"id": fmt.Sprintf("p%d", i), "url": f.URL})
	}
	cfg, _ := testConfigMap(t, dir, feeds)
	cfg["nats"] = map[string]any{"url": url}
	delete(cfg, "lists")
	off := map[string]any{"off": true}
	cfg["rules"] = []map[string]any{
		{"id": "digest", "query": "alpha", "deliver": map[string]any{"mode": "digest", "every": "1m"}, "spike": off},
		{"id": "budget", "query": "beta", "deliver": map[string]any{"mode": "budget", "max": 2, "per": "1m"}, "spike": off},
		{"id": "surge", "query": "gamma", "spike": spikeOpts},
		{"id": "copies", "query": "delta", "spike": spikeOpts},
	}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	a, b := startDaemon(t, path), startDaemon(t, path)
	_, js := connectReconnecting(t, url)
	seedSpikeHistory(t, js, "surge", "copies")
	// Items added after each feed's first poll (a baseline) are new.
	waitFor(t, 60*time.Second, "two polls of every feed", func() bool {
		for _, f := range pubs {
			f.mu.Lock()
			n := f.requests
			f.mu.Unlock()
			if n < 2 {
				return false
			}
		}
		return true
	})

	topics := []string{"harbour cranes collapse in Rotterdam storm", "vaccine trial halted in Lagos hospital",
		"copper mine flooded near Antofagasta", "satellite launch delayed at Kourou spaceport",
		"rail strike closes Milan central station", "wildfire forces evacuation of Evia villages",
		"locust swarm reaches Kenyan farmland", "bridge inspection finds cracks in Genoa",
		"avalanche buries ski lift in Tyrol"}
	item := func(word string, i int, pub int) feedItem {
		return feedItem{GUID: fmt.Sprintf("%s-%d-%d", word, i, pub), Title: fmt.Sprintf("%s: %s", word, topics[i]),
			Description: fmt.Sprintf("Report %d on the %s, filed by %s.", i, topics[i], word)}
	}

	earlyInMinute(t)
	for i := range 3 {
		pubs[i].add(item("alpha", i, i))
	}
	for i := range 5 {
		pubs[i%6].add(item("beta", i, i%6))
	}
	for i := range 6 {
		pubs[i].add(item("gamma", i, i))
	}
	wire := feedItem{Title: "delta: one wire report of a ceasefire in the north, copied by every paper",
		Description: "The wire report of the ceasefire in the north, word for word."}
	for i := range 6 {
		c := wire
		c.GUID = fmt.Sprintf("delta-%d", i)
		pubs[i].add(c)
	}
	waitStreamCount(t, js, 3+5+6+6, 60*time.Second)
	killDaemon(t, a) // with the digests of this minute pending

	count := func(kind, rule string) (n int) {
		for _, m := range readDeliveries(t, js) {
			if m.ce.Source == "newswatch/rules/"+rule && deliveryKind(m) == kind {
				n++
			}
		}
		return n
	}
	listed := func(rule string) (n int) {
		for _, m := range readDeliveries(t, js) {
			if k := deliveryKind(m); m.ce.Source == "newswatch/rules/"+rule && (k == "digest" || k == "budget") {
				var d delivery.Digest
				if err := json.Unmarshal(m.ce.Data, &d); err != nil {
					t.Fatal(err)
				}
				n += len(d.Stories)
			}
		}
		return n
	}
	waitFor(t, 150*time.Second, "the digests of the first minute", func() bool {
		time.Sleep(500 * time.Millisecond)
		return listed("digest") >= 3 && listed("budget") >= 3 && count("spike", "surge") >= 1
	})
	a = startDaemon(t, path)

	// The next minute: two more stories for digest, one alert of budget within its budget, three
	// more new stories of surge within its cooldown.
	earlyInMinute(t)
	second := time.Now()
	pubs[3].add(item("alpha", 3, 3))
	pubs[4].add(item("alpha", 4, 4))
	pubs[5].add(item("beta", 5, 5))
	for i := 6; i < 9; i++ {
		pubs[i%6].add(item("gamma", i, i%6))
	}
	waitStreamCount(t, js, 20+2+1+3, 60*time.Second)
	waitFor(t, 150*time.Second, "the digest of the second minute", func() bool {
		time.Sleep(500 * time.Millisecond)
		return listed("digest") >= 5
	})
	// The budget window of the second minute ends without a notice or a digest.
	windowEnd := second.Truncate(time.Minute).Add(time.Minute)
	waitFor(t, 90*time.Second, "the end of the second budget window", func() bool { return time.Now().After(windowEnd.Add(5 * time.Second)) })

	msgs := readDeliveries(t, js)
	alerts := readAlertStories(t, js)
	ids := map[string]int{}
	for _, m := range msgs {
		ids[m.ce.ID]++
		if m.msgID != m.ce.ID {
			t.Errorf("%s: Nats-Msg-Id %q, want the event id %q", m.subject, m.msgID, m.ce.ID)
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("delivery %s stored %d times, want once", id, n)
		}
	}
	// Each alert of digest is listed in exactly one digest, the one of its period.
	inDigest := map[string][]delivery.Digest{}
	var budgetDigests []delivery.Digest
	notices, spikes := 0, map[string][]delivery.Spike{}
	deliveredAt := map[string]notifier.DeliveredAlert{} // budget's alerts delivered at once, by alert id
	for _, m := range msgs {
		switch deliveryKind(m) {
		case "alert":
			d, err := notifier.ParseDelivered(m.ce)
			if err != nil {
				t.Fatal(err)
			}
			if d.Rule != "budget" {
				t.Errorf("a delivered alert of rule %s, whose alerts the alert stream delivers (or its digests)", d.Rule)
				continue
			}
			if m.subject != notifier.DigestSubject("newswatch", "budget") || m.ce.ID != "budget.alert."+d.Alert.ID || m.ce.Subject != d.Alert.ID {
				t.Errorf("delivered alert %s: subject %s, cloudevents subject %s, want %s and the alert id %s", m.ce.ID, m.subject,
					m.ce.Subject, notifier.DigestSubject("newswatch", "budget"), d.Alert.ID)
			}
			deliveredAt[d.Alert.ID] = d
		case "digest", "budget":
			var d delivery.Digest
			if err := json.Unmarshal(m.ce.Data, &d); err != nil {
				t.Fatal(err)
			}
			if m.subject != notifier.DigestSubject("newswatch", d.Rule) {
				t.Errorf("digest %s on %s", d.ID, m.subject)
			}
			if d.Rule == "budget" {
				budgetDigests = append(budgetDigests, d)
				continue
			}
			for _, s := range d.Stories {
				inDigest[s.ID] = append(inDigest[s.ID], d)
			}
		case "notice":
			notices++
		case "spike":
			var s delivery.Spike
			if err := json.Unmarshal(m.ce.Data, &s); err != nil {
				t.Fatal(err)
			}
			spikes[s.Rule] = append(spikes[s.Rule], s)
		}
	}
	digestAlerts := 0
	for _, al := range alerts {
		if al.rule != "digest" {
			continue
		}
		digestAlerts++
		ds := inDigest[al.story]
		if len(ds) != 1 {
			t.Errorf("story %s of digest is in %d digests, want 1", al.story, len(ds))
			continue
		}
		if p := ds[0].Period; al.at.Before(p.Start) || !al.at.Before(p.End) {
			t.Errorf("story %s alerted at %s is in the digest of %s–%s", al.story, al.at, p.Start, p.End)
		}
	}
	if digestAlerts != 5 || len(inDigest) != 5 {
		t.Errorf("digest: %d alerts, %d stories in digests, want 5 and 5", digestAlerts, len(inDigest))
	}
	if notices != 1 || len(budgetDigests) != 1 {
		t.Errorf("budget: %d notices and %d digests, want 1 and 1 (the window past its budget only)", notices, len(budgetDigests))
	} else if d := budgetDigests[0]; d.Kind != delivery.KindBudget || d.Items != 3 || len(d.Stories) != 3 {
		t.Errorf("budget digest: kind %s, %d items, %d stories, want budget, 3 and 3", d.Kind, d.Items, len(d.Stories))
	}
	if len(spikes["surge"]) != 1 {
		t.Errorf("surge: %d spikes, want 1 (its cooldown is 1h)", len(spikes["surge"]))
	} else if s := spikes["surge"][0]; s.Count < 4 || s.Publishers < 3 || len(s.Stories) != s.Count {
		t.Errorf("surge spike: %d stories from %d publishers, %d listed", s.Count, s.Publishers, len(s.Stories))
	}
	// budget's alerts delivered at once are exactly the first two of each window (in the order
	// of the alert stream, the order they are decided in; a late alert counts against the window
	// being counted), whole, and none of those held for the digest.
	var window time.Time
	sent, wantDelivered := 0, 0
	for _, al := range alerts {
		if al.rule != "budget" {
			continue
		}
		if w := al.at.UTC().Truncate(time.Minute); w.After(window) {
			window, sent = w, 0
		}
		d, ok := deliveredAt[al.id]
		if sent < 2 {
			sent++
			wantDelivered++
			switch {
			case !ok:
				t.Errorf("budget: alert %s, number %d of the window %s, was not delivered at once", al.id, sent, window)
			case d.Sent != sent || !d.Window.Start.Equal(window) || !d.Window.End.Equal(window.Add(time.Minute)) || d.Max != 2 || d.Mode != "budget":
				t.Errorf("budget: alert %s delivered as %d of %d in %s–%s (mode %s), want %d of 2 in the window of %s", al.id, d.Sent, d.Max,
					d.Window.Start, d.Window.End, d.Mode, sent, window)
			case d.Alert.Data.Rule.ID != "budget" || d.Alert.Data.Item.Title == "" || d.Alert.Data.Feed.ID == "":
				t.Errorf("budget: delivered alert %s does not carry its alert: %+v", al.id, d.Alert)
			}
			continue
		}
		if ok {
			t.Errorf("budget: alert %s, past the budget of the window %s, was delivered at once", al.id, window)
		}
	}
	if wantDelivered != 3 || len(deliveredAt) != wantDelivered {
		t.Errorf("budget: %d alerts delivered at once, %d expected by the alert stream, want 3 (2 of the first window, 1 of the second)",
			len(deliveredAt), wantDelivered)
	}
	if len(spikes["copies"]) != 0 {
		t.Errorf("copies: %d spikes of copies of one story, want none", len(spikes["copies"]))
	}
	t.Logf("%d deliveries: %d digest stories, budget %+v, spikes %d", len(msgs), len(inDigest), len(budgetDigests), len(spikes["surge"]))
	a.stop(t, 30*time.Second)
	b.stop(t, 30*time.Second)
}

// deliveryKind is digest, budget, notice, spike or alert (an alert delivered at once).
func deliveryKind(m deliveryMsg) string {
	switch m.ce.Type {
	case notifier.NoticeEventType:
		return "notice"
	case notifier.SpikeEventType:
		return "spike"
	case notifier.DeliveredEventType:
		return "alert"
	}
	var d struct{ Kind string }
	_ = json.Unmarshal(m.ce.Data, &d)
	return d.Kind
}

// seedSpikeHistory gives each rule a day of history, one story 30 hours ago, as if the daemon
// had watched it since: a rule younger than a day has no baseline and never spikes.
func seedSpikeHistory(t *testing.T, js jetstream.JetStream, rules ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var kv jetstream.KeyValue
	waitFor(t, 60*time.Second, "the delivery bucket", func() bool {
		var err error
		kv, err = js.KeyValue(ctx, "newswatch_delivery")
		return err == nil
	})
	for _, rule := range rules {
		p, err := delivery.New(rule, delivery.Options{Spike: delivery.SpikeOptions{Window: 30 * time.Minute, MinStories: 4,
			MinPublishers: 3, Factor: 3, BaselineDays: 1, Cooldown: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		st := &delivery.State{}
		p.Decide(st, delivery.Event{ID: "seed-" + rule, Story: "seed", Publisher: "seed.example", Time: time.Now().Add(-30 * time.Hour)})
		doc, err := json.Marshal(ruleDoc{State: st})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Create(ctx, rule, doc); err != nil {
			t.Fatalf("seed %s: %v", rule, err)
		}
	}
}

// TestCheckDeliveryErrors: an invalid delivery or spike setting stops check at the line and
// column of its value, in the rule or in defaults (once, not for each rule that inherits it), or
// at the rule's deliver mapping when a required key is missing.
func TestCheckDeliveryErrors(t *testing.T) {
	const bad = `feeds:
  - {id: a, url: https://example.com/feed}
defaults:
  deliver: {mode: digest, every: 30s}
  spike: {window: 20m}
rules:
  - id: r1
    query: x
    deliver: {mode: budget}
    spike: {window: 30m}
  - id: r2
    query: y
    deliver: {mode: immediate}
    spike: {window: 30m, factor: 0.5}
  - id: r3
    query: z
    deliver: {mode: digest, cron: "0 8 * * *", time_zone: Mars/Olympus}
    spike: {window: 1h}
  - id: r4
    query: w
    deliver: {mode: dijest}
`
	const want = `FILE:4:34: defaults: deliver.every: must be whole seconds from 1m0s to 744h0m0s (got 30s)
      deliver: {mode: digest, every: 30s}
                                     ^
FILE:5:19: rule "r4": spike.window: must be a multiple of 15m0s from 15m0s to 24h (got 20m0s)
      spike: {window: 20m}
                      ^
FILE:9:14: rule "r1": deliver.max: is required with mode budget (alerts a window)
        deliver: {mode: budget}
                 ^
`
	path := writeFile(t, "bad.yaml", bad)
	code, _, errOut := runCLI(t, "", "check", "-c", path)
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	got := strings.ReplaceAll(errOut, path, "FILE")
	if n := strings.Count(got, "\nFILE:") + 1; n != 6 {
		t.Errorf("check printed %d errors, want 6:\n%s", n, got)
	}
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !strings.Contains(got, line) {
			t.Errorf("check printed:\n%s\nwant it to hold:\n%s", got, line)
		}
	}
	for _, msg := range []string{`FILE:14:34: rule "r2": spike.factor`, `FILE:17:59: rule "r3": deliver.time_zone`, `FILE:21:21: invalid deliver.mode "dijest"`} {
		if !strings.Contains(got, msg) {
			t.Errorf("check printed:\n%s\nwant %q", got, msg)
		}
	}
}
