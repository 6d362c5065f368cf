package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
)

// alertKey is one (item, rule) pair of a feed: what the alert stream must hold exactly once.
type alertKey struct{ Rule, Feed, Item string }

func (k alertKey) String() string { return k.Rule + "/" + k.Feed + "/" + k.Item }

// streamAlert is the part of an alert event these tests read.
type streamAlert struct {
	ID   string `json:"id"`
	Data struct {
		Rule struct{ ID string }  `json:"rule"`
		Feed struct{ ID string }  `json:"feed"`
		Item struct{ Key string } `json:"item"`
	} `json:"data"`
}

// parseAlert reads the pair an alert message is for, and checks that its Msg-Id is its event id.
func parseAlert(subject string, header nats.Header, data []byte) (alertKey, error) {
	var ev streamAlert
	if err := json.Unmarshal(data, &ev); err != nil {
		return alertKey{}, fmt.Errorf("alert on %s is not JSON: %w", subject, err)
	}
	if id := header.Get(jetstream.MsgIDHeader); id != ev.ID {
		return alertKey{}, fmt.Errorf("alert on %s: Nats-Msg-Id %q, want the event id %q", subject, id, ev.ID)
	}
	return alertKey{Rule: ev.Data.Rule.ID, Feed: ev.Data.Feed.ID, Item: ev.Data.Item.Key}, nil
}

// itemKind is a kind of test item: its title and the example's rules it matches.
type itemKind struct {
	title string // with %d for the item's number
	rules []string
}

var itemKinds = []itemKind{
	{"North Korean troops fight near Kursk, report %d", []string{"dprk-troops", "kursk"}},
	{"Shelling in the Kursk region, report %d", []string{"kursk"}},
	{"North Korean soldiers parade, report %d", []string{"dprk-troops"}},
	{"Markets close higher, report %d", nil},
}

// growingFeeds are test feeds, each on a server of its own, to which a goroutine adds items of
// random kinds while a test runs, remembering the alerts they must cause. feedServer dates
// every item at the time of the request, so that the backlog a feed builds up while the daemon
// is down or NATS is away is news to the flood guard, not a flood of old items.
type growingFeeds struct {
	t     *testing.T
	ids   []string
	feeds map[string]*feedServer

	mu    sync.Mutex
	n     int
	want  map[alertKey]bool
	items map[alertKey]bool // every item served (Rule empty), which the archive must hold once

	stop chan struct{}
	done chan struct{}
}

// newGrowingFeeds starts a feed server for each id, each holding two items present before
// newswatch first polls it, which the baseline must never alert: one that matches both rules,
// one that matches none.
func newGrowingFeeds(t *testing.T, ids ...string) *growingFeeds {
	t.Helper()
	g := &growingFeeds{t: t, ids: ids, feeds: make(map[string]*feedServer), want: make(map[alertKey]bool), items: make(map[alertKey]bool)}
	for _, id := range ids {
		g.items[alertKey{Feed: id, Item: id + "-old-1"}] = true
		g.items[alertKey{Feed: id, Item: id + "-old-2"}] = true
		g.feeds[id] = newFeedServer(t,
			feedItem{GUID: id + "-old-1", Title: "North Korean troops seen near Kursk, an older report", Description: "Present before newswatch started."},
			feedItem{GUID: id + "-old-2", Title: "Markets close higher", Description: "Stocks rose on Tuesday."},
		)
	}
	return g
}

// config is the feeds section of a configuration.
func (g *growingFeeds) config() []map[string]any {
	var feeds []map[string]any
	for _, id := range g.ids {
		feeds = append(feeds, map[string]any{"id": id, "url": g.feeds[id].URL, "tags": []string{"world", "en"}})
	}
	return feeds
}

// add adds one item of a random kind to a random feed.
func (g *growingFeeds) add() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	id := g.ids[rand.N(len(g.ids))]
	kind := itemKinds[rand.N(len(itemKinds))]
	it := feedItem{GUID: id + "-" + strconv.Itoa(g.n), Title: fmt.Sprintf(kind.title, g.n), Description: fmt.Sprintf("Report number %d.", g.n)}
	for _, r := range kind.rules {
		g.want[alertKey{Rule: r, Feed: id, Item: it.GUID}] = true
	}
	g.items[alertKey{Feed: id, Item: it.GUID}] = true
	g.feeds[id].add(it)
}

// grow adds an item every interval until halt.
func (g *growingFeeds) grow(every time.Duration) {
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(g.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-tick.C:
				g.add()
			}
		}
	}()
	g.t.Cleanup(g.halt)
}

// halt stops grow; it may be called more than once.
func (g *growingFeeds) halt() {
	if g.stop == nil {
		return
	}
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	<-g.done
}

// expected is a copy of the alerts the items added so far must cause.
func (g *growingFeeds) expected() map[alertKey]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	want := make(map[alertKey]bool, len(g.want))
	for k := range g.want {
		want[k] = true
	}
	return want
}

// archived is a copy of the items added so far and those present from the start: every one the
// archive must hold.
func (g *growingFeeds) archived() map[alertKey]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.items)
}

// servers are the feed servers, for waitPolls.
func (g *growingFeeds) servers() []polled {
	var out []polled
	for _, id := range g.ids {
		out = append(out, g.feeds[id])
	}
	return out
}

// polled is a feed server that counts the requests it got.
type polled interface{ count() int }

// waitPolls waits until each feed was requested n more times, so that whatever those polls
// found has been published.
func waitPolls(t *testing.T, n int, feeds ...polled) {
	t.Helper()
	before := make([]int, len(feeds))
	for i, f := range feeds {
		before[i] = f.count()
	}
	// Generous: after a restart, a feed's job that a killed process had pulled comes again only
	// after its AckWait (1m).
	waitFor(t, 150*time.Second, fmt.Sprintf("%d more polls of each feed", n), func() bool {
		for i, f := range feeds {
			if f.count() < before[i]+n {
				return false
			}
		}
		return true
	})
}

// connectReconnecting connects to NATS with a client that waits for the server if it is not
// there yet and reconnects forever, quickly, so that it follows a server that is killed and
// started again.
func connectReconnecting(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	waitCreds(t, url)
	nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.Timeout(time.Second), credsOption(url, notifier.RoleDaemon))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// streamMsgCount is the number of messages in the alert stream, or 0 when it cannot be read.
func streamMsgCount(js jetstream.JetStream, timeout time.Duration) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := js.Stream(ctx, "NEWSWATCH_ALERTS")
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// waitStreamCount waits until the alert stream holds at least n messages.
func waitStreamCount(t *testing.T, js jetstream.JetStream, n int, timeout time.Duration) {
	t.Helper()
	var got uint64
	deadline := time.Now().Add(timeout)
	for {
		if got = streamMsgCount(js, 2*time.Second); got >= uint64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert stream holds %d messages after %s, want at least %d", got, timeout, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// awaitStreamCount waits until the alert stream holds at least n messages, and lets the test go
// on to say which alerts are missing when it does not within the timeout.
func awaitStreamCount(t *testing.T, js jetstream.JetStream, n int, timeout time.Duration) {
	t.Helper()
	var got uint64
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got = streamMsgCount(js, 2*time.Second); got >= uint64(n) {
			return
		}
	}
	t.Errorf("alert stream holds %d messages after %s, want %d", got, timeout, n)
}

// readAlertStream reads every message of the alert stream: it returns the stream's own count
// of messages and the stream sequences of each pair.
func readAlertStream(t *testing.T, js jetstream.JetStream) (uint64, map[alertKey][]uint64) {
	t.Helper()
	return readStream(t, js, "NEWSWATCH_ALERTS", parseAlert)
}

// readArchiveStream reads every message of the item archive: the stream's count of messages
// and the stream sequences of each (feed, item), the rule left empty.
func readArchiveStream(t *testing.T, js jetstream.JetStream) (uint64, map[alertKey][]uint64) {
	t.Helper()
	return readStream(t, js, notifier.DefaultArchiveStream, func(_ string, _ nats.Header, data []byte) (alertKey, error) {
		a, err := notifier.ParseItemEvent(data)
		return alertKey{Feed: a.FeedID, Item: a.Item.GUID}, err
	})
}

// readStream reads every message of stream, each named by parse.
func readStream(t *testing.T, js jetstream.JetStream, stream string, parse func(string, nats.Header, []byte) (alertKey, error)) (uint64, map[alertKey][]uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s info: %v", stream, err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer on stream %s: %v", stream, err)
	}
	got := make(map[alertKey][]uint64)
	for range info.State.Msgs {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("reading stream %s: %v", stream, err)
		}
		md, err := m.Metadata()
		if err != nil {
			t.Fatalf("stream %s: metadata: %v", stream, err)
		}
		k, err := parse(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		got[k] = append(got[k], md.Sequence.Stream)
	}
	return info.State.Msgs, got
}

// checkExactlyOnce requires got (stream sequences by pair) to hold every pair of want under
// exactly one sequence and nothing else, and msgs, a count of messages, to be len(want).
func checkExactlyOnce(t *testing.T, what string, msgs uint64, got map[alertKey][]uint64, want map[alertKey]bool) {
	t.Helper()
	var missing, extra, twice []string
	for k := range want {
		if len(got[k]) == 0 {
			missing = append(missing, k.String())
		}
	}
	for k, seqs := range got {
		if !want[k] {
			extra = append(extra, fmt.Sprintf("%s (seq %v)", k, seqs))
		} else if len(seqs) > 1 {
			twice = append(twice, fmt.Sprintf("%s (seq %v)", k, seqs))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	slices.Sort(twice)
	if len(missing) > 0 {
		t.Errorf("%s: %d of %d expected alerts missing: %v", what, len(missing), len(want), missing)
	}
	if len(extra) > 0 {
		t.Errorf("%s: unexpected alerts: %v", what, extra)
	}
	if len(twice) > 0 {
		t.Errorf("%s: alerts held more than once: %v", what, twice)
	}
	if msgs != uint64(len(want)) {
		t.Errorf("%s: %d messages, want %d, one per (item, rule)", what, msgs, len(want))
	}
}

// checkAlertStream reads the alert stream and requires it to hold want exactly once each.
func checkAlertStream(t *testing.T, js jetstream.JetStream, want map[alertKey]bool) {
	t.Helper()
	msgs, got := readAlertStream(t, js)
	checkExactlyOnce(t, "alert stream", msgs, got, want)
}

// durableReader reads the alert stream as a subscriber would: through a durable pull consumer
// with explicit acknowledgements, from a connection that follows the server through outages.
type durableReader struct {
	mu          sync.Mutex
	seqs        map[alertKey][]uint64 // stream sequences of each pair, each sequence once
	bySeq       map[uint64]alertKey
	deliveries  int
	redelivered int // deliveries of a stream sequence seen before
	unflagged   int // of those, deliveries the server counted as the first (NumDelivered 1)
	errs        []error
}

// readDurably creates the durable consumer name on the alert stream and consumes it until the
// test ends.
func readDurably(t *testing.T, js jetstream.JetStream, name string) *durableReader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(ctx, "NEWSWATCH_ALERTS", jetstream.ConsumerConfig{
		Durable:       name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       5 * time.Second,
	})
	if err != nil {
		t.Fatalf("durable consumer %s: %v", name, err)
	}
	r := &durableReader{seqs: make(map[alertKey][]uint64), bySeq: make(map[uint64]alertKey)}
	cc, err := cons.Consume(r.handle, jetstream.ConsumeErrHandler(func(jetstream.ConsumeContext, error) {
		// Outages are expected: the consumer renews its pulls when the server is back.
	}))
	if err != nil {
		t.Fatalf("consume %s: %v", name, err)
	}
	t.Cleanup(cc.Stop)
	return r
}

func (r *durableReader) handle(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		r.fail(fmt.Errorf("metadata of a message on %s: %w", m.Subject(), err))
		return
	}
	// An acknowledgement lost with a server comes back as a redelivery, which is counted below.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.DoubleAck(ctx)
	}()
	k, err := parseAlert(m.Subject(), m.Headers(), m.Data())
	if err != nil {
		r.fail(err)
		return
	}
	r.mu.Lock()
	r.deliveries++
	seq := md.Sequence.Stream
	if prev, ok := r.bySeq[seq]; ok {
		r.redelivered++
		if md.NumDelivered == 1 {
			r.unflagged++
		}
		if prev != k {
			r.errs = append(r.errs, fmt.Errorf("stream sequence %d delivered as %s, then as %s", seq, prev, k))
		}
	} else {
		r.bySeq[seq] = k
		r.seqs[k] = append(r.seqs[k], seq)
	}
	r.mu.Unlock()
}

func (r *durableReader) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// check waits until the reader has seen every pair of want, then requires that it saw each
// under exactly one stream sequence and nothing else.
func (r *durableReader) check(t *testing.T, want map[alertKey]bool) {
	t.Helper()
	seen := func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for k := range want {
			if len(r.seqs[k]) == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(60 * time.Second)
	for !seen() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		t.Errorf("durable consumer: %v", err)
	}
	checkExactlyOnce(t, "durable consumer", uint64(len(r.bySeq)), r.seqs, want)
	t.Logf("durable consumer: %d deliveries of %d messages (%d redeliveries of acknowledgements lost with a server, %d of them numbered as first deliveries)",
		r.deliveries, len(r.bySeq), r.redelivered, r.unflagged)
}

// killDaemon sends SIGKILL to the daemon and waits for it to be gone.
func killDaemon(t *testing.T, d *daemon) {
	t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
		d.stopped = true
	case <-time.After(30 * time.Second):
		t.Fatal("daemon still there 30s after SIGKILL")
	}
}

// requireRunning fails the test if the daemon has exited.
func requireRunning(t *testing.T, d *daemon) {
	t.Helper()
	select {
	case err := <-d.done:
		d.stopped = true
		t.Fatalf("daemon (pid %d) exited by itself: %v", d.cmd.Process.Pid, err)
	default:
	}
}

// natsServerBuild is the nats-server binary, built once for the tests that run it as a process.
var natsServerBuild struct {
	once sync.Once
	path string
	err  error
}

// natsServerBinary builds nats-server, the module's own dependency, next to the newswatch
// binary. It is built with -race like the newswatch binary, so that the race-instrumented
// server packages that build compiled are reused rather than compiled again.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsServerBuild.once.Do(func() {
		path := filepath.Join(filepath.Dir(binary), "nats-server")
		out, err := exec.Command("go", "build", "-race", "-o", path, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsServerBuild.err = fmt.Errorf("building nats-server: %v\n%s", err, out)
			return
		}
		natsServerBuild.path = path
	})
	if natsServerBuild.err != nil {
		t.Fatal(natsServerBuild.err)
	}
	return natsServerBuild.path
}

// natsServer is a nats-server process with JetStream.
type natsServer struct {
	name   string // its server_name, which also names it in messages
	url    string // its client URL
	cmd    *exec.Cmd
	done   chan error
	log    *syncBuffer
	killed bool // the process is gone and done was read
}

// startNATSServer runs nats-server on the loopback port with its JetStream store in dir, and
// waits until it accepts connections. It is killed when the test ends.
func startNATSServer(t *testing.T, port int, dir string) *natsServer {
	t.Helper()
	ns := runNATSServer(t, natsServerBinary(t), "newswatch-test", port, "-js", "-sd", dir, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-n", "newswatch-test")
	ns.waitListening(t)
	return ns
}

// runNATSServer starts the nats-server binary bin with args, a server named name whose
// clients connect to the loopback port. It is killed when the test ends, and its log is shown
// when the test failed.
func runNATSServer(t *testing.T, bin, name string, port int, args ...string) *natsServer {
	t.Helper()
	// The port may have served an earlier test's embedded server, whose credentials a client
	// of this one (without authentication) must not wait for.
	storeDirs.Delete(fmt.Sprintf("nats://127.0.0.1:%d", port))
	ns := &natsServer{
		name: name,
		url:  fmt.Sprintf("nats://127.0.0.1:%d", port),
		cmd:  exec.Command(bin, args...),
		done: make(chan error, 1),
		log:  new(syncBuffer),
	}
	ns.cmd.Stdout, ns.cmd.Stderr = ns.log, ns.log
	if err := ns.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ns.done <- ns.cmd.Wait() }()
	t.Cleanup(func() {
		if !ns.killed {
			ns.cmd.Process.Kill()
			<-ns.done
		}
		if t.Failed() {
			t.Logf("nats-server %s (%s), log:\n%s", ns.name, ns.url, lastLines(ns.log.String(), 200))
		}
	})
	return ns
}

// waitListening waits until the server accepts connections from clients.
func (ns *natsServer) waitListening(t *testing.T) {
	t.Helper()
	addr := strings.TrimPrefix(ns.url, "nats://")
	waitFor(t, 30*time.Second, "nats-server "+ns.name+" listening on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// kill sends SIGKILL to the server and waits for it to be gone.
func (ns *natsServer) kill(t *testing.T) {
	t.Helper()
	if err := ns.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ns.done:
		ns.killed = true
	case <-time.After(30 * time.Second):
		t.Fatalf("nats-server %s still there 30s after SIGKILL", ns.name)
	}
}
