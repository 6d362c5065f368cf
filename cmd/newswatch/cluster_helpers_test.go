package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/internal/feedsim"
	"github.com/newswatch/newswatch/watcher"
)

// The helpers of the cluster test (cluster_test.go): a NATS cluster of nats-server processes,
// a feed server over feedsim that records when each feed is polled and can stop the feeds'
// clock, and the analysis of those poll times.

var clusterNATSBuild struct {
	once sync.Once
	path string
	err  error
}

// clusterNATSBinary builds nats-server, the module's own dependency, once, without the race
// detector: three servers under -race would eat the two cores the test is meant to run on.
func clusterNATSBinary(t *testing.T) string {
	t.Helper()
	clusterNATSBuild.once.Do(func() {
		path := filepath.Join(filepath.Dir(binary), "nats-server-plain")
		out, err := exec.Command("go", "build", "-o", path, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			clusterNATSBuild.err = fmt.Errorf("building nats-server: %v\n%s", err, out)
			return
		}
		clusterNATSBuild.path = path
	})
	if clusterNATSBuild.err != nil {
		t.Fatal(clusterNATSBuild.err)
	}
	return clusterNATSBuild.path
}

// startNATSCluster starts n nats-server processes on loopback, each with JetStream (its store
// in a temporary directory), a distinct server_name, and routes to the others, and waits until
// each accepts connections. They are killed when the test ends.
func startNATSCluster(t *testing.T, n int) []*natsServer {
	t.Helper()
	bin := clusterNATSBinary(t)
	dir := t.TempDir()
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
	}
	nodes := make([]*natsServer, n)
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, strconv.Quote(fmt.Sprintf("nats-route://127.0.0.1:%d", routePorts[j])))
			}
		}
		name := fmt.Sprintf("nats-%d", i+1)
		conf := fmt.Sprintf(`server_name: %q
listen: "127.0.0.1:%d"
jetstream { store_dir: %q }
cluster {
  name: "newswatch-test"
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`, name, clientPorts[i], filepath.Join(dir, name), routePorts[i], strings.Join(routes, ", "))
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = runNATSServer(t, bin, name, clientPorts[i], "-c", path)
	}
	for _, nd := range nodes {
		nd.waitListening(t)
	}
	return nodes
}

// clusterURL is the comma-separated client URLs of the nodes, as nats.url takes them.
func clusterURL(nodes []*natsServer) string {
	urls := make([]string, len(nodes))
	for i, nd := range nodes {
		urls[i] = nd.url
	}
	return strings.Join(urls, ",")
}

// connectCluster connects to the cluster with a client that reconnects forever and quickly,
// and waits until JetStream answers: the cluster has elected its meta leader.
func connectCluster(t *testing.T, nodes []*natsServer) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(clusterURL(nodes), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.Timeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "JetStream on the cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
	return js
}

// waitPlacement waits until the cluster can place a stream with three replicas: every server
// has joined the JetStream meta group. (AccountInfo answers as soon as a meta leader is
// elected, before that.) It creates a probe stream, and deletes it.
func waitPlacement(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	waitFor(t, 60*time.Second, "a cluster that places streams of three replicas", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CLUSTER_PROBE", Subjects: []string{"cluster.probe"},
			Storage: jetstream.MemoryStorage, Replicas: 3})
		if err != nil {
			time.Sleep(250 * time.Millisecond)
			return false
		}
		return js.DeleteStream(ctx, "CLUSTER_PROBE") == nil
	})
}

// streamInfo reads a stream's info, retrying for up to timeout while the cluster does not answer
// (a leader election).
func streamInfo(t *testing.T, js jetstream.JetStream, name string, timeout time.Duration) *jetstream.StreamInfo {
	t.Helper()
	var info *jetstream.StreamInfo
	var last error
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := js.Stream(ctx, name)
		if err == nil {
			info, err = s.Info(ctx)
		}
		cancel()
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			return info
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("stream %s: no info with a leader within %s: %v", name, timeout, last)
	return nil
}

// simFeeds serves the feeds of a feedsim.Sim on /feeds/<n>.xml, records when each feed is
// requested, and can stop the feeds' clock: after freeze, every feed serves what it held at
// that instant, so that no item appears that a poll in flight at the end might miss. The
// simulator itself can be swapped, to start the feeds' items at an instant of the test's choice.
type simFeeds struct {
	*httptest.Server
	sim    atomic.Pointer[feedsim.Sim]
	frozen atomic.Int64 // Unix nanoseconds of the freeze; 0 while the clock runs

	mu    sync.Mutex
	polls [][]time.Time // request times by feed
}

func newSimFeeds(t *testing.T, feeds int, sim *feedsim.Sim) *simFeeds {
	t.Helper()
	s := &simFeeds{polls: make([][]time.Time, feeds)}
	s.sim.Store(sim)
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *simFeeds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rest, ok := strings.CutPrefix(r.URL.Path, "/feeds/")
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ".xml"))
	if !ok || err != nil || n < 0 || n >= len(s.polls) {
		http.NotFound(w, r)
		return
	}
	if !strings.HasPrefix(r.UserAgent(), "newswatch/") {
		http.Error(w, "want a newswatch User-Agent, got "+r.UserAgent(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.polls[n] = append(s.polls[n], now)
	s.mu.Unlock()
	at := now
	if f := s.frozen.Load(); f != 0 && now.UnixNano() > f {
		at = time.Unix(0, f)
	}
	sim := s.sim.Load()
	etag := fmt.Sprintf(`"%d-%d"`, n, sim.Latest(n, at))
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write(simDocument(n, sim.ItemsAt(n, at)))
}

// freeze stops the feeds' clock now and returns the instant.
func (s *simFeeds) freeze() time.Time {
	now := time.Now()
	s.frozen.Store(now.UnixNano())
	return now
}

// simDocument is feed n's RSS document holding items, as feedsim serves it.
func simDocument(n int, items []feedsim.Item) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<rss version="2.0"><channel><title>Simulated feed %d</title><link>https://sim.example/%d</link><description>feedsim</description>`, n, n)
	for _, it := range items {
		fmt.Fprintf(&b, "\n<item><guid isPermaLink=\"false\">%s</guid><title>%s</title><link>%s</link><description>%s</description><pubDate>%s</pubDate></item>",
			it.GUID, html.EscapeString(it.Title), it.Link, html.EscapeString(it.Description), it.Published.Format(time.RFC1123Z))
	}
	b.WriteString("\n</channel></rss>\n")
	return []byte(b.String())
}

// pollTimes is a copy of the request times of every feed.
func (s *simFeeds) pollTimes() [][]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]time.Time, len(s.polls))
	for i, p := range s.polls {
		out[i] = slices.Clone(p)
		slices.SortFunc(out[i], time.Time.Compare) // stamped before the lock: nearly sorted
	}
	return out
}

// waitPolledAfter waits until every feed has been requested at least n times after t.
func (s *simFeeds) waitPolledAfter(tb *testing.T, t time.Time, n int, timeout time.Duration, what string) {
	tb.Helper()
	waitFor(tb, timeout, what, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.polls {
			if countIn(p, t, time.Time{}) < n {
				return false
			}
		}
		return true
	})
}

// countIn counts the times in [from, to); a zero to is open.
func countIn(times []time.Time, from, to time.Time) int {
	n := 0
	for _, x := range times {
		if !x.Before(from) && (to.IsZero() || x.Before(to)) {
			n++
		}
	}
	return n
}

// largestGap is the longest time between two consecutive polls of a feed that ends in
// [from, to], counting from its last poll before from; a feed not polled in [from, to] has the
// gap from its last poll (or from) up to to.
func largestGap(times []time.Time, from, to time.Time) time.Duration {
	var gap time.Duration
	prev := from
	for _, x := range times {
		if x.After(to) {
			break
		}
		if x.Before(from) {
			prev = x
			continue
		}
		gap = max(gap, x.Sub(prev))
		prev = x
	}
	return max(gap, to.Sub(prev))
}

// extraPolls counts the polls of a feed in [from, to) that follow another poll between the same
// two slots of the feed: in a steady state, a second poll of one slot. A poll is not counted
// when the one before it was the feed's first or a late one (more than an interval and
// clusterLag after its own predecessor): those poll a slot that passed before (the slot before
// the replica started, or one that an outage delayed), and the poll after them is for the
// current slot. After an outage, the polls of slots whose jobs were enqueued late, right after
// those of later slots, are counted.
func extraPolls(times []time.Time, offset time.Duration, from, to time.Time) int {
	slot := func(x time.Time) int64 { return (x.UnixNano() - int64(offset)) / int64(clusterInterval) }
	n := 0
	for i := 1; i < len(times); i++ {
		x, prev := times[i], times[i-1]
		if x.Before(from) || !x.Before(to) || slot(prev) != slot(x) {
			continue
		}
		if i == 1 || prev.Sub(times[i-2]) > clusterInterval+clusterLag {
			continue // prev was the feed's first poll, or a late one
		}
		n++
	}
	return n
}

// longestSilence finds the longest time without any event in [from, to], the gap before the
// first event counted from from; it returns when that silence ended (the event that broke it,
// or to).
func longestSilence(times []time.Time, from, to time.Time) (length time.Duration, end time.Time) {
	sorted := slices.Clone(times)
	slices.SortFunc(sorted, time.Time.Compare)
	prev := from
	end = from
	for _, x := range sorted {
		if x.Before(from) {
			continue
		}
		if x.After(to) {
			break
		}
		if d := x.Sub(prev); d > length {
			length, end = d, x
		}
		prev = x
	}
	if d := to.Sub(prev); d > length {
		length, end = d, to
	}
	return length, end
}

// expectedAlerts is every (rule, feed, item key) pair that the items feeds hold at t must
// cause, found as the daemon finds them: each feed's document parsed by the watcher's parser
// and its items matched against the configuration's compiled rules.
func expectedAlerts(t *testing.T, configPath string, sim *feedsim.Sim, feedIDs []string, at time.Time) map[clusterPair]int {
	t.Helper()
	l, err := load(configPath)
	if err != nil {
		t.Fatalf("loading %s: %v", configPath, err)
	}
	want := make(map[clusterPair]int)
	for n, id := range feedIDs {
		doc, err := watcher.ParseDocument(t.Context(), simDocument(n, sim.ItemsAt(n, at)))
		if err != nil {
			t.Fatalf("feed %s: %v", id, err)
		}
		for _, it := range doc.Items {
			mi := it.MatcherItem(id, nil)
			for _, m := range l.index.Match(&mi) {
				want[clusterPair{Rule: m.Rule, Feed: id, Item: it.Key}]++
			}
		}
	}
	return want
}

// clusterPair is one (item, rule) pair of a feed: what the alert stream must hold exactly once.
type clusterPair struct{ Rule, Feed, Item string }

func (p clusterPair) String() string { return p.Rule + "/" + p.Feed + "/" + p.Item }

// storedAlert is an alert message of the alert stream: its pair and when the stream stored it.
type storedAlert struct {
	key    clusterPair
	stored time.Time
}

// readAlerts reads every message of the alert stream by its sequence, checking that each
// one's Nats-Msg-Id is its event id. A pair stored twice is there twice.
func readAlerts(t *testing.T, js jetstream.JetStream) []storedAlert {
	t.Helper()
	info := streamInfo(t, js, "NEWSWATCH_ALERTS", 30*time.Second)
	s, err := js.Stream(context.Background(), "NEWSWATCH_ALERTS")
	if err != nil {
		t.Fatalf("alert stream: %v", err)
	}
	out := make([]storedAlert, 0, info.State.Msgs)
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		var m *jetstream.RawStreamMsg
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			m, err = s.GetMsg(ctx, seq)
			cancel()
			if err == nil || errors.Is(err, jetstream.ErrMsgNotFound) || attempt == 10 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // removed; the stream's count below says whether that is right
		}
		if err != nil {
			t.Fatalf("reading message %d of the alert stream: %v", seq, err)
		}
		var ev struct {
			ID   string `json:"id"`
			Data struct {
				Rule struct{ ID string }  `json:"rule"`
				Feed struct{ ID string }  `json:"feed"`
				Item struct{ Key string } `json:"item"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("alert %d on %s is not JSON: %v", seq, m.Subject, err)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != ev.ID {
			t.Errorf("alert %d on %s: Nats-Msg-Id %q, want the event id %q", seq, m.Subject, id, ev.ID)
		}
		out = append(out, storedAlert{clusterPair{Rule: ev.Data.Rule.ID, Feed: ev.Data.Feed.ID, Item: ev.Data.Item.Key}, m.Time})
	}
	if uint64(len(out)) != info.State.Msgs {
		t.Errorf("alert stream: read %d messages, the stream counts %d", len(out), info.State.Msgs)
	}
	return out
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
