package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// report is one item of a story: its feed, its language, the rules that match it.
type report struct {
	feed, lang string
	rules      []string
}

// storyAlerts are the alerts of a story's items, in order, each carrying the story as it stood
// once its item joined, as the daemon sends them.
func storyAlerts(id, topic string, reports []report) []event.Alert {
	var out []event.Alert
	var feeds, langs []string
	for i, r := range reports {
		if !slices.Contains(feeds, r.feed) {
			feeds = append(feeds, r.feed)
		}
		if !slices.Contains(langs, r.lang) {
			langs = append(langs, r.lang)
		}
		for j, rule := range r.rules {
			key := fmt.Sprintf("%s-%d", id[:4], i)
			out = append(out, event.Alert{
				RuleID: rule, RuleQuery: "kursk OR dprk", FeedID: r.feed, FeedURL: "https://" + r.feed + ".example/rss",
				Item: event.Item{Key: key, Title: fmt.Sprintf("%s, report %d (%s)", topic, i, r.lang), Link: "https://" + r.feed + ".example/" + key},
				Hits: []event.Hit{{Field: "title", Start: 0, End: len(topic), Text: topic}},
				Time: time.Now(),
				Story: &event.StoryRef{ID: id, First: i == 0 && j == 0, Size: i + 1, Feeds: slices.Clone(feeds), Languages: slices.Clone(langs),
					FirstSeen: time.Now()},
			})
		}
	}
	return out
}

// routedTo are the channels (as the fake Slack names them) an alert's rule is routed to by
// dprk-*=#dprk,#newsroom and kursk=#newsroom.
func routedTo(rule string) []string {
	if strings.HasPrefix(rule, "dprk-") {
		return []string{"C0DPRK", "C0NEWS"}
	}
	return []string{"C0NEWS"}
}

// storyWant is what a channel should show of a story: its message's item, the rules it names,
// the later items it has, and the story as the latest alert routed there counted it.
type storyWant struct {
	first string
	rules []string
	later []string // item keys, in order
	size  int
	langs int
}

func wantStories(alerts []event.Alert) map[[2]string]*storyWant {
	out := map[[2]string]*storyWant{}
	for _, a := range alerts {
		for _, ch := range routedTo(a.RuleID) {
			k := [2]string{ch, a.Story.ID}
			w := out[k]
			if w == nil {
				w = &storyWant{first: a.Item.Key}
				out[k] = w
			}
			if !slices.Contains(w.rules, a.RuleID) {
				w.rules = append(w.rules, a.RuleID)
			}
			if a.Item.Key != w.first && !slices.Contains(w.later, a.Item.Key) {
				w.later = append(w.later, a.Item.Key)
			}
			w.size, w.langs = max(w.size, a.Story.Size), max(w.langs, len(a.Story.Languages))
		}
	}
	return out
}

// Alerts of two stories, reported by several feeds in several languages and matched by two
// rules routed to two channels, give one message per story and channel through SIGKILLs of the
// bridge while it posts, replies and updates: the message shows the first item routed to the
// channel, names every rule and counts the story's sources and languages as the latest alert
// says; with --threads every later item routed there is a reply in its thread, once; without,
// the message lists them. --group items gives one message per item and channel instead.
func TestKilledBridgePostsOneMessagePerStory(t *testing.T) {
	// Each kill costs the ack wait (30s) before the alerts in flight come again.
	tests := []struct {
		name  string
		args  []string
		kills int
	}{
		{"stories with threads", []string{"--threads"}, 2},
		{"stories", nil, 1},
		{"items", []string{"--group", "items"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testKilledStories(t, tt.kills, tt.args) })
	}
}

func testKilledStories(t *testing.T, kills int, extra []string) {
	threads, items := slices.Contains(extra, "--threads"), slices.Contains(extra, "items")
	n := notifiertest.Open(t, notifiertest.Config(t))
	s := fakeslack.New(fakeslack.Config{
		Token:    testToken,
		Channels: map[string]string{"#dprk": "C0DPRK", "#newsroom": "C0NEWS"},
		Interval: 100 * time.Millisecond,
	})
	t.Cleanup(s.Close)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	troops := storyAlerts("a1b2c3d4e5f60718", "North Korean troops in Kursk", []report{
		{"reuters", "en", []string{"dprk-troops", "kursk"}},
		{"tass", "ru", []string{"dprk-troops"}},
		{"yonhap", "ko", []string{"dprk-troops", "kursk"}},
		{"ukrinform", "uk", []string{"kursk"}},
		{"nhk", "ja", []string{"dprk-troops"}},
		{"lemonde", "fr", []string{"dprk-troops", "kursk"}},
		{"bbc", "en", []string{"dprk-troops"}},
	})
	strike := storyAlerts("0f1e2d3c4b5a6978", "Strike on a Kursk power plant", []report{
		{"reuters", "en", []string{"kursk"}},
		{"tass", "ru", []string{"kursk", "dprk-troops"}},
		{"ukrinform", "uk", []string{"kursk"}},
		{"dw", "de", []string{"kursk", "dprk-troops"}},
	})
	// The stories interleave in the stream.
	var alerts []event.Alert
	for i := range max(len(troops), len(strike)) {
		if i < len(troops) {
			alerts = append(alerts, troops[i])
		}
		if i < len(strike) {
			alerts = append(alerts, strike[i])
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*waitTimeout)
	defer cancel()
	for _, a := range alerts { // one at a time: stream order is this order
		if err := n.Alerts().Publish(ctx, []event.Alert{a}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}

	env := []string{
		"NEWSWATCH_SLACK_TOKEN_FILE=" + secretFile,
		"NEWSWATCH_SLACK_ROUTE=dprk-*=#dprk,#newsroom kursk=#newsroom",
		"NEWSWATCH_SLACK_START=all",
	}
	args := append([]string{"run", "--nats-url", n.ClientURL(), "--creds", n.CredsFile(notifier.RoleBridge), "--api-url", s.APIURL(),
		"--rate", "5", "--burst", "1", "--post-timeout", "2s", "--http-listen", "", "--log-level", "info"}, extra...)
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}

	// Kill the bridge (SIGKILL), each time once Slack got a few more requests, then let a last
	// one finish.
	progress := func() int { return len(s.Posts()) + s.Updates() }
	var bridges []*bridge
	var killedAt []int
	for range kills {
		b := startBridge(t, env, args...)
		bridges = append(bridges, b)
		from := progress()
		waitFor(t, "more requests to slack", func() bool { return progress() >= from+3 || acked(ctx, js) })
		b.kill(t)
		killedAt = append(killedAt, progress())
		if acked(ctx, js) {
			break
		}
	}
	last := startBridge(t, env, args...)
	bridges = append(bridges, last)
	waitAllAcked(t, ctx, js)
	last.stop(t)
	if killedAt[0] >= progress() {
		t.Fatalf("everything was done before the first kill (%d requests); the test proves nothing", killedAt[0])
	}
	t.Logf("killed after %v of %d messages and updates (%d messages, %d updates)", killedAt, progress(), len(s.Posts()), s.Updates())

	posts := s.Posts()
	if items {
		checkItemMessages(t, posts, alerts)
		return
	}
	want := wantStories(alerts)
	for k, w := range want {
		ch, story := k[0], k[1]
		var top []fakeslack.Post
		var replies []fakeslack.Post
		for _, p := range posts {
			if p.Channel == ch && p.ThreadTS == "" && p.Payload["story"] == story {
				top = append(top, p)
			}
		}
		if len(top) != 1 {
			t.Errorf("messages of story %s in %s: got %d, want 1", story, ch, len(top))
			continue
		}
		msg := top[0]
		for _, p := range posts {
			if p.Channel == ch && p.ThreadTS == msg.TS {
				replies = append(replies, p)
			}
		}
		if got := msg.Payload["item_key"]; got != w.first {
			t.Errorf("message of story %s in %s: shows %v, want the first item routed there, %s", story, ch, got, w.first)
		}
		blocks := string(msg.Blocks)
		wants := []string{fmt.Sprintf("+%d sources in %d languages", w.size-1, w.langs), fmt.Sprintf("%d items", w.size)}
		for _, r := range w.rules {
			wants = append(wants, "`"+r+"`")
		}
		switch {
		case threads && len(w.later) == 1:
			wants = append(wants, "1 source routed here is in the thread")
		case threads:
			wants = append(wants, fmt.Sprintf("%d sources routed here are in the thread", len(w.later)))
		default:
			for _, key := range w.later {
				wants = append(wants, "/"+key+"|")
			}
		}
		for _, s := range wants {
			if !strings.Contains(blocks, s) {
				t.Errorf("message of story %s in %s: got %s, want it to contain %q", story, ch, blocks, s)
			}
		}
		if msg.Updates == 0 {
			t.Errorf("message of story %s in %s: never updated", story, ch)
		}
		var got []string
		for _, r := range replies {
			got = append(got, r.Payload["item_key"].(string))
		}
		if !threads {
			if len(got) != 0 {
				t.Errorf("replies under story %s in %s without --threads: got %v, want none", story, ch, got)
			}
			continue
		}
		if !slices.Equal(got, w.later) {
			t.Errorf("replies under story %s in %s: got %v, want %v (each later item once, in stream order)", story, ch, got, w.later)
		}
	}
	top := 0
	for _, p := range posts {
		if p.ThreadTS == "" {
			top++
		}
	}
	if top != len(want) {
		t.Errorf("messages: got %d, want %d (one a story and channel)", top, len(want))
	}

	logs := ""
	for _, b := range bridges {
		logs += b.log.String()
	}
	if strings.Contains(logs, testToken) {
		t.Errorf("the token leaked into the log")
	}
}

// checkItemMessages checks one message per item and channel, each naming the rules of the
// item's alerts routed there.
func checkItemMessages(t *testing.T, posts []fakeslack.Post, alerts []event.Alert) {
	t.Helper()
	want := map[[2]string][]string{} // (channel, feed/item) -> rules
	for _, a := range alerts {
		for _, ch := range routedTo(a.RuleID) {
			k := [2]string{ch, a.FeedID + "/" + a.Item.Key}
			want[k] = append(want[k], a.RuleID)
		}
	}
	got := map[[2]string][]fakeslack.Post{}
	for _, p := range posts {
		if p.ThreadTS != "" || p.Payload["story"] != nil {
			t.Errorf("--group items: a message in a thread or of a story: %+v", p.Payload)
		}
		k := [2]string{p.Channel, fmt.Sprint(p.Payload["feed"], "/", p.Payload["item_key"])}
		got[k] = append(got[k], p)
	}
	for k, rules := range want {
		ps := got[k]
		if len(ps) != 1 {
			t.Errorf("messages of %s in %s: got %d, want 1", k[1], k[0], len(ps))
			continue
		}
		for _, r := range rules {
			if !strings.Contains(string(ps[0].Blocks), "`"+r+"`") {
				t.Errorf("message of %s in %s: got %s, want it to name %s", k[1], k[0], ps[0].Blocks, r)
			}
		}
	}
	if len(posts) != len(want) {
		t.Errorf("messages: got %d, want %d (one an item and channel)", len(posts), len(want))
	}
}

// acked reports whether the bridge's consumer has acknowledged every alert of the stream.
func acked(ctx context.Context, js jetstream.JetStream) bool {
	c, err := js.Consumer(ctx, "NEWSWATCH_ALERTS", "newswatch_slack")
	if err != nil {
		return false
	}
	info, err := c.Info(ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}
