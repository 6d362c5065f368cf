package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/internal/feedsim"

	"github.com/newswatch/newswatch/watcher"
)

// The shape of the cluster test and the bounds it holds the daemon to.
const (
	clusterFeedCount  = 300
	clusterReplicas   = 3
	clusterInterval   = 2 * time.Second  // every feed's schedule
	clusterAckWait    = 5 * time.Second  // nats.ack_wait
	clusterPeriod     = 10 * time.Second // the mean time between two new items of a feed
	clusterItems      = 40               // items a feed document holds: every item of the test
	clusterMatchEvery = 4                // every fourth item matches a rule
	// clusterSteady is the window over which polls per slot are counted: a whole number of
	// intervals, so that it holds exactly that many slots of every feed.
	clusterSteady = 10 * clusterInterval
	// clusterLag is how late after its slot a poll may run, and the slack of the bounds below.
	clusterLag = time.Second
	// clusterResume is how soon polls resume after the NATS node that leads the poll stream is
	// killed: "about ten seconds". The followers of a raft group call an election after 4 to 9
	// seconds without their leader (nats-server's election timeout); the bound leaves room for
	// the election and for the daemon's requests that were waiting on the dead leader.
	clusterResume = 15 * time.Second
)

// TestCluster runs three `newswatch run` replicas with one configuration against a cluster of
// three nats-server processes and a simulator of 300 feeds, each polled every two seconds and
// getting a new item every five to fifteen. It shows that the replicas share the work: each
// feed is polled once per slot, not once per replica; that when a replica is killed (SIGKILL)
// its work is taken over within the feed's interval plus AckWait; that when the NATS node that
// leads the poll stream is killed, polls and alerts resume within about ten seconds; and that
// in the end the alert stream holds every (item, rule) pair of every item that appeared after
// the baseline exactly once. The feeds' clock is stopped before the end, and every feed is
// polled twice more, so that the expected set is exact.
//
// Windows start and end at nine tenths of a second, between the bursts of polls that follow
// the slots (every feed's slots fall on whole seconds), so that no poll straddles their edges.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test: skipped with -short")
	}
	began := time.Now()
	bin := plainBinary(t) // three replicas under -race would not fit two cores
	nodes := startNATSCluster(t, 3)
	js := connectCluster(t, nodes)
	// A replica that starts before every server has joined is refused its streams ("no
	// suitable peers for placement") and exits: see the report of issue 8.
	waitPlacement(t, js)

	// The feeds stay empty until every baseline is committed; then their items start.
	simCfg := feedsim.Config{Feeds: clusterFeedCount, Period: clusterPeriod, Items: clusterItems,
		MatchEvery: clusterMatchEvery, Epoch: time.Now().Add(365 * 24 * time.Hour)}
	feeds := newSimFeeds(t, clusterFeedCount, feedsim.New(simCfg))
	ids := make([]string, clusterFeedCount)
	offsets := make([]time.Duration, clusterFeedCount)
	feedCfg := make([]map[string]any, clusterFeedCount)
	for n := range ids {
		ids[n] = fmt.Sprintf("sim-%03d", n)
		offsets[n] = watcher.SlotOffset(ids[n], clusterInterval)
		feedCfg[n] = map[string]any{"id": ids[n], "url": feeds.URL + feedsim.Path(n)}
	}
	dir := t.TempDir()
	cfg, _ := testConfigMap(t, dir, feedCfg)
	cfg["nats"] = map[string]any{"url": clusterURL(nodes), "replicas": 0, "ack_wait": clusterAckWait.String()}
	cfg["defaults"] = map[string]any{"schedule": "@every " + clusterInterval.String(), "timeout": "5s",
		"allow_private": true, "first_poll": "baseline"}
	// The configurations differ only in http.listen, for the metrics of each replica.
	replicas := make([]*daemon, clusterReplicas)
	metrics := make([]string, clusterReplicas)
	var path string
	for i := range replicas {
		metrics[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cfg["http"] = map[string]any{"listen": metrics[i]}
		path = filepath.Join(dir, fmt.Sprintf("newswatch-%d.yaml", i))
		writeConfig(t, path, cfg)
		replicas[i] = startDaemonBinary(t, bin, path)
	}
	for i, addr := range metrics {
		waitFor(t, 90*time.Second, fmt.Sprintf("replica %d ready", i), func() bool {
			requireAlive(t, replicas[i])
			return readyz(addr) == http.StatusOK
		})
	}
	waitBaselines(t, js, ids, 90*time.Second)
	started := time.Since(began)

	// replicas: 0 chooses 3 on a cluster of three.
	leaders := map[string]string{}
	for _, name := range []string{"NEWSWATCH_POLLS", "NEWSWATCH_ALERTS", "KV_newswatch_feeds"} {
		info := streamInfo(t, js, name, 30*time.Second)
		if info.Config.Replicas != 3 || len(info.Cluster.Replicas) != 2 {
			t.Errorf("stream %s: %d replicas configured, %d peers besides the leader, want 3 and 2",
				name, info.Config.Replicas, len(info.Cluster.Replicas))
		}
		leaders[name] = info.Cluster.Leader
	}

	simCfg.Epoch = time.Now()
	sim := feedsim.New(simCfg)
	feeds.sim.Store(sim)

	// 1. Polls per slot, while nothing fails.
	steadyFrom := sleepUntilFraction(900 * time.Millisecond)
	steadyTo := steadyFrom.Add(clusterSteady)
	time.Sleep(time.Until(steadyTo))
	steady := checkPollsPerSlot(t, feeds.pollTimes(), offsets, steadyFrom, steadyTo)

	// 2. SIGKILL of a replica, just after a slot, while it has polls in flight.
	killedAt := sleepUntilFraction(150 * time.Millisecond)
	killDaemon(t, replicas[0])
	ackPending := pollAckPending(js)
	time.Sleep(time.Until(killedAt.Add(clusterAckWait + 2*clusterInterval + clusterLag)))
	replicaTakeover, replicaExtra := checkReplicaTakeover(t, feeds.pollTimes(), offsets, killedAt, time.Now())

	// 3. SIGKILL of the NATS node that leads the poll stream.
	info := streamInfo(t, js, "NEWSWATCH_POLLS", 30*time.Second)
	var leader *natsServer
	for _, nd := range nodes {
		if nd.name == info.Cluster.Leader {
			leader = nd
		}
	}
	if leader == nil {
		t.Fatalf("poll stream leader %q is none of the cluster's servers", info.Cluster.Leader)
	}
	consumer := consumerLeader(js)
	leaderKilledAt := sleepUntilFraction(900 * time.Millisecond)
	leader.kill(t)
	elected := waitNewLeader(t, js, "NEWSWATCH_POLLS", leader.name, 60*time.Second)
	feeds.waitPolledAfter(t, leaderKilledAt.Add(elected+clusterLag), 2, 60*time.Second, "two polls of every feed after the new poll stream leader")
	leaderObserved := sleepUntilFraction(900 * time.Millisecond)
	leaderTakeover, leaderExtra := checkNodeTakeover(t, feeds.pollTimes(), offsets, leaderKilledAt, leaderObserved)

	// 4. Stop the feeds' clock, let every feed be polled twice more, stop the replicas.
	frozenAt := feeds.freeze()
	for n := range ids {
		if latest := sim.Latest(n, frozenAt); latest+1 > clusterItems {
			t.Fatalf("feed %s has %d items at the freeze, more than a document holds (%d): the expected set would be incomplete", ids[n], latest+1, clusterItems)
		}
	}
	feeds.waitPolledAfter(t, frozenAt, 2, 60*time.Second, "two polls of every feed after the freeze")
	sleepUntilFraction(900 * time.Millisecond) // no poll in flight
	var counts []string
	for i, addr := range metrics[1:] {
		pc := scrapePollCounts(t, addr)
		counts = append(counts, fmt.Sprintf("replica %d: %d polls fetched, %d of them committed no state; %d state conflicts",
			i+1, pc.fetched, pc.fetched-pc.committed, pc.conflicts))
	}
	for _, d := range replicas[1:] {
		d.stop(t, 30*time.Second)
	}
	stoppedAt := time.Now()

	alerts := readAlerts(t, js)
	want := expectedAlerts(t, path, sim, ids, frozenAt)
	checkAlertsExactlyOnce(t, alerts, want)
	var stored []time.Time
	for _, a := range alerts {
		stored = append(stored, a.stored)
	}
	alertPause, alertsBack := longestSilence(stored, leaderKilledAt, leaderObserved)
	alertResume := alertsBack.Sub(leaderKilledAt)
	if bound := clusterResume + clusterInterval + clusterLag; alertResume > bound {
		t.Errorf("node kill: no alert stored for %s, until %s after the kill, want new alerts within %s",
			alertPause.Round(time.Millisecond), alertResume.Round(time.Millisecond), bound)
	}

	times := feeds.pollTimes()
	var polls, extra int
	for n, p := range times {
		polls += len(p)
		extra += extraPolls(p, offsets[n], began, stoppedAt)
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	t.Logf("figures: %d feeds every %s, %d replicas, %d NATS nodes, AckWait %s; %d polls in all, %d extra (a second poll of a feed between two of its slots)",
		clusterFeedCount, clusterInterval, clusterReplicas, len(nodes), clusterAckWait, polls, extra)
	t.Logf("figures: steady state: %d polls in %d slots of %d feeds: %.3f polls per slot, %d extra",
		steady.polls, steady.slots, clusterFeedCount, float64(steady.polls)/float64(steady.slots*clusterFeedCount), steady.extra)
	t.Logf("figures: replica kill: %d poll jobs unacknowledged just after it (all replicas'); every feed polled again within %s; largest gap of a feed %s (bound %s); %d extra polls",
		ackPending, ms(replicaTakeover.first), ms(replicaTakeover.gap), clusterInterval+clusterAckWait+clusterLag, replicaExtra)
	t.Logf("figures: node kill at %s: %s led %v (poll consumer: %s); stream info named a new poll stream leader after %s",
		leaderKilledAt.UTC().Format(time.TimeOnly+".000"), leader.name, ledBy(leaders, leader.name), consumer, ms(elected))
	t.Logf("figures: node kill: no poll at all for %s, polls resumed %s after the kill; every feed polled again within %s; largest gap of a feed %s (bound %s); new alerts stored %s after the kill; %d extra polls",
		ms(leaderTakeover.silence), ms(leaderTakeover.resume), ms(leaderTakeover.first), ms(leaderTakeover.gap), clusterResume+clusterInterval+clusterLag,
		ms(alertResume), leaderExtra)
	t.Logf("figures: %d alerts in the stream, %d expected", len(alerts), len(want))
	t.Logf("figures: metrics of the replicas not killed (a poll that commits no state lost a compare-and-swap to a newer slot, or failed): %s", strings.Join(counts, "; "))
	logReplicaLogs(t, replicas)
	t.Logf("timings: cluster, replicas and baselines %s; whole test %s", started.Round(time.Second), time.Since(began).Round(time.Second))
}

// sleepUntilFraction sleeps until the next instant that is frac past a whole second, and
// returns it.
func sleepUntilFraction(frac time.Duration) time.Time {
	now := time.Now()
	at := now.Truncate(time.Second).Add(frac)
	if !at.After(now) {
		at = at.Add(time.Second)
	}
	time.Sleep(time.Until(at))
	return at
}

// readyz is the status of a replica's readiness endpoint, 0 when it does not answer.
func readyz(addr string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pollCounts are counts from a replica's metrics.
type pollCounts struct {
	fetched   int // polls that fetched their feed: newswatch_poll_lag_seconds or newswatch_polls_past_slot_total, counted before the fetch
	committed int // polls that committed the feed's state: newswatch_fetch_results_total, every result
	conflicts int // compare-and-swap conflicts on a feed's state: newswatch_state_conflicts_total
}

// scrapePollCounts reads the metrics of the replica on addr.
func scrapePollCounts(t *testing.T, addr string) pollCounts {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics of the replica on %s: %v", addr, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	value := func(line string) int {
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
		if err != nil {
			t.Fatalf("metrics of the replica on %s: %q: %v", addr, line, err)
		}
		return int(v)
	}
	var pc pollCounts
	for line := range strings.Lines(string(body)) {
		switch {
		case strings.HasPrefix(line, "newswatch_poll_lag_seconds_count"), strings.HasPrefix(line, "newswatch_polls_past_slot_total "):
			pc.fetched += value(line)
		case strings.HasPrefix(line, "newswatch_fetch_results_total{"):
			pc.committed += value(line)
		case strings.HasPrefix(line, "newswatch_state_conflicts_total"):
			pc.conflicts += value(line)
		}
	}
	return pc
}

// waitBaselines waits until the first poll of every feed is committed: its state in the KV
// bucket says it is baselined.
func waitBaselines(t *testing.T, js jetstream.JetStream, ids []string, timeout time.Duration) {
	t.Helper()
	pending := slices.Clone(ids)
	waitFor(t, timeout, "the baseline of every feed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kv, err := js.KeyValue(ctx, "newswatch_feeds")
		if err != nil {
			return false
		}
		pending = slices.DeleteFunc(pending, func(id string) bool {
			e, err := kv.Get(ctx, id)
			if err != nil {
				return false
			}
			var st struct {
				Baselined bool `json:"baselined"`
			}
			return json.Unmarshal(e.Value(), &st) == nil && st.Baselined
		})
		return len(pending) == 0
	})
}

// steadyPolls counts the polls of a window without failures.
type steadyPolls struct{ polls, slots, extra int }

// checkPollsPerSlot requires each feed to be polled once per slot in [from, to), a whole
// number of intervals: as many polls as slots, give or take the slot in progress at either end,
// and no slot polled twice.
func checkPollsPerSlot(t *testing.T, times [][]time.Time, offsets []time.Duration, from, to time.Time) steadyPolls {
	t.Helper()
	st := steadyPolls{slots: int(to.Sub(from) / clusterInterval)}
	var off []string
	for n, p := range times {
		c := countIn(p, from, to)
		st.polls += c
		st.extra += extraPolls(p, offsets[n], from, to)
		// Once a slot, not once per replica: more than one poll a slot is the work not shared.
		// Fewer is a loaded machine falling behind (a feed's slot that ticks while its job
		// waits adds none), which is how it should fall behind, down to half; below that a
		// feed is starved.
		if c < st.slots/2 || c > st.slots+1 {
			off = append(off, fmt.Sprintf("feed %d: %d", n, c))
		}
	}
	if len(off) > 0 {
		t.Errorf("steady state: polls in %s (%d slots) of %d feeds, want %d to %d: %v", to.Sub(from), st.slots, len(off), st.slots/2, st.slots+1, off)
	}
	// A second poll of a slot is a job delivered again after AckWait, which a loaded machine's
	// late acknowledgements cause now and then; replicas that did not share the work would
	// poll every slot two or three times.
	if 10*st.extra > st.polls {
		t.Errorf("steady state: %d second polls of a slot in %d polls, want at most a tenth", st.extra, st.polls)
	}
	return st
}

// takeover is how the polls of every feed went on after a failure.
type takeover struct {
	first   time.Duration // until every feed had been polled again
	gap     time.Duration // the largest gap between two polls of one feed across the failure
	silence time.Duration // the longest time in which no feed was polled
	resume  time.Duration // when that silence ended, after the failure
}

// measureTakeover measures the polls after a failure at at, up to end; worst is the feed with
// the largest gap.
func measureTakeover(times [][]time.Time, at, end time.Time) (tk takeover, worst int) {
	var all []time.Time
	for n, p := range times {
		all = append(all, p...)
		i, _ := slices.BinarySearchFunc(p, at, time.Time.Compare)
		if i < len(p) {
			tk.first = max(tk.first, p[i].Sub(at))
		} else {
			tk.first = max(tk.first, end.Sub(at))
		}
		if g := largestGap(p, at, end); g > tk.gap {
			tk.gap, worst = g, n
		}
	}
	var back time.Time
	tk.silence, back = longestSilence(all, at, end)
	tk.resume = back.Sub(at)
	return tk, worst
}

// checkReplicaTakeover requires the polls of every feed to go on after a replica was killed,
// with no gap longer than the interval plus AckWait. It returns the figures and the extra polls.
func checkReplicaTakeover(t *testing.T, times [][]time.Time, offsets []time.Duration, killed, end time.Time) (takeover, int) {
	t.Helper()
	tk, worst := measureTakeover(times, killed, end)
	if bound := clusterInterval + clusterAckWait + clusterLag; tk.gap > bound {
		t.Errorf("replica kill: feed %d went %s without a poll, want at most the interval plus AckWait (%s); its polls around the kill: %v",
			worst, tk.gap.Round(time.Millisecond), bound, around(times[worst], killed))
	}
	extra := 0
	for n, p := range times {
		extra += extraPolls(p, offsets[n], killed, end)
	}
	return tk, extra
}

// checkNodeTakeover requires polls to resume within clusterResume of the kill of a NATS node,
// and every feed to be polled again within the interval after that. It returns the figures and
// the extra polls.
func checkNodeTakeover(t *testing.T, times [][]time.Time, offsets []time.Duration, killed, end time.Time) (takeover, int) {
	t.Helper()
	tk, worst := measureTakeover(times, killed, end)
	if tk.resume > clusterResume {
		t.Errorf("node kill: no feed polled for %s, until %s after the kill, want polls again within %s",
			tk.silence.Round(time.Millisecond), tk.resume.Round(time.Millisecond), clusterResume)
	}
	if bound := clusterResume + clusterInterval + clusterLag; tk.gap > bound {
		t.Errorf("node kill: feed %d went %s without a poll, want at most %s; its polls around the kill: %v",
			worst, tk.gap.Round(time.Millisecond), bound, around(times[worst], killed))
	}
	extra := 0
	for n, p := range times {
		extra += extraPolls(p, offsets[n], killed, end)
	}
	return tk, extra
}

// around is the poll times of a feed near at, relative to it.
func around(times []time.Time, at time.Time) []string {
	var out []string
	for _, x := range times {
		if d := x.Sub(at); d > -3*clusterInterval && d < 30*time.Second {
			out = append(out, d.Round(time.Millisecond).String())
		}
	}
	return out
}

// checkAlertsExactlyOnce requires alerts to hold every pair of want once and nothing else.
func checkAlertsExactlyOnce(t *testing.T, alerts []storedAlert, want map[clusterPair]int) {
	t.Helper()
	got := make(map[clusterPair]int)
	for _, a := range alerts {
		got[a.key]++
	}
	var missing, extra, twice []string
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k.String())
		}
	}
	for k, n := range got {
		switch {
		case want[k] == 0:
			extra = append(extra, k.String())
		case n > 1:
			twice = append(twice, fmt.Sprintf("%s (%d times)", k, n))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	slices.Sort(twice)
	if len(missing) > 0 {
		t.Errorf("%d of %d expected alerts missing from the stream: %v", len(missing), len(want), missing)
	}
	if len(extra) > 0 {
		t.Errorf("%d unexpected alerts in the stream: %v", len(extra), extra)
	}
	if len(twice) > 0 {
		t.Errorf("%d alerts in the stream more than once: %v", len(twice), twice)
	}
	if len(alerts) != len(want) {
		t.Errorf("alert stream: %d messages, want %d, one per (item, rule)", len(alerts), len(want))
	}
}

// requireAlive fails the test at once if the replica has exited.
func requireAlive(t *testing.T, d *daemon) {
	t.Helper()
	select {
	case err := <-d.done:
		d.stopped = true
		t.Fatalf("replica (pid %d) exited by itself: %v", d.cmd.Process.Pid, err)
	default:
	}
}

// pollAckPending is how many poll jobs the shared consumer has delivered and not had
// acknowledged, or -1 when it does not answer at once.
func pollAckPending(js jetstream.JetStream) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, "NEWSWATCH_POLLS", "newswatch_pollers")
	if err != nil {
		return -1
	}
	info, err := c.Info(ctx)
	if err != nil {
		return -1
	}
	return info.NumAckPending
}

// consumerLeader is the server that leads the poll consumer, or "?".
func consumerLeader(js jetstream.JetStream) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, "NEWSWATCH_POLLS", "newswatch_pollers")
	if err != nil {
		return "?"
	}
	info, err := c.Info(ctx)
	if err != nil || info.Cluster == nil {
		return "?"
	}
	return info.Cluster.Leader
}

// waitNewLeader waits until the stream has a leader other than old and returns how long that took.
func waitNewLeader(t *testing.T, js jetstream.JetStream, stream, old string, timeout time.Duration) time.Duration {
	t.Helper()
	from := time.Now()
	for time.Since(from) < timeout {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := js.Stream(ctx, stream)
		cancel()
		if err == nil {
			if c := s.CachedInfo().Cluster; c != nil && c.Leader != "" && c.Leader != old {
				return time.Since(from)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s: no new leader within %s of the kill of %s", stream, timeout, old)
	return 0
}

// ledBy lists the streams whose leader was name.
func ledBy(leaders map[string]string, name string) []string {
	var out []string
	for s, l := range leaders {
		if l == name {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// logReplicaLogs counts, in each replica's log, the compare-and-swap conflicts on a feed's state
// (the watcher redoes the poll's matching against the state another poll wrote) and the lines
// that tell of failures, and shows the first three conflicts and every failed job and error.
func logReplicaLogs(t *testing.T, replicas []*daemon) {
	t.Helper()
	msg := func(m string) func(string) bool {
		return func(line string) bool { return strings.Contains(line, `"msg":"`+m+`"`) }
	}
	conflict, failed := msg("feed state changed by another poll; matching again"), msg("poll job failed, will be retried")
	isErr := func(line string) bool { return strings.Contains(line, `"level":"error"`) }
	counted := []struct {
		name  string
		match func(string) bool
	}{
		{"state_conflicts", conflict},
		{"busy_feed_jobs", msg("job for a feed being polled acknowledged")},
		{"failed_jobs", failed},
		{"enqueue_failures", msg("enqueue poll jobs failed")},
		{"of_them_msg_id_in_process", func(line string) bool {
			return msg("enqueue poll jobs failed")(line) && strings.Contains(line, "err_code=10158")
		}},
		{"pull_errors", msg("pull poll jobs")},
		{"ack_errors", msg("ack poll job")},
		{"reconnects", msg("nats reconnected")},
		{"errors", isErr},
	}
	for i, d := range replicas {
		counts := make([]int, len(counted))
		var shown []string
		for line := range strings.Lines(d.output()) {
			for j, c := range counted {
				if c.match(line) {
					counts[j]++
				}
			}
			if counts[0] <= 3 && conflict(line) || failed(line) || isErr(line) {
				shown = append(shown, strings.TrimSpace(line))
			}
		}
		parts := make([]string, len(counted))
		for j, c := range counted {
			parts[j] = fmt.Sprintf("%s=%d", c.name, counts[j])
		}
		t.Logf("figures: replica %d log: %s", i, strings.Join(parts, " "))
		for _, line := range shown {
			t.Logf("replica %d: %s", i, line)
		}
	}
}
