// Command scalebench measures the newswatch daemon at scale against newswatch-feedsim, for
// `make bench-scale`. It is a harness, not part of the product, and CI does not run it.
//
// It starts the simulator (which writes a configuration of --feeds feeds on --schedule), starts
// the daemon (a non-race build) on that configuration, and reports:
//   - start-up: from exec to /readyz 200, and until every feed's first poll is committed;
//     then the harness waits for the jobs of the slots that ticked meanwhile to be done;
//   - for each phase (--phases, each --phase long): live (the simulator as it is, with a
//     period such that --unchanged of the polls find nothing new), unchanged (every
//     conditional request answered 304), changed (every request answered 200 with the whole
//     document): polls/s achieved against scheduled, the daemon's CPU per poll (user+sys from
//     /proc/PID/stat) and in cores, the lateness of polls against their slots (the daemon's
//     newswatch_poll_lag_seconds, and the simulator's exact measure from slot to request),
//     the requests each feed had (feeds not polled at all), fetch results, the time to publish
//     alerts (newswatch_alert_publish_duration_seconds) and from the start of the fetch that
//     found an item to its alert's delivery to a subscriber, VmRSS/VmHWM at its end and VmRSS
//     read every 5 s over its second half (min, median, mean, max), heap in use per feed,
//     the cost of one /metrics scrape, and the CPU the rest of the machine took meanwhile;
//   - with --fulltext SHARE, that share of the feeds carries headlines alone and has
//     `fulltext: auto`, and each phase reports the articles the daemon read by result
//     (newswatch_fulltext_articles_total) and the article pages the simulator served; the
//     articles are on the feeds' own hosts, so --hosts bounds them at one a second a host;
//   - with --perf, a CPU profile of the daemon for each phase (perf record), top entries; with
//     --pprof, the daemon runs in a test binary (cmd/newswatch, tag scale) that writes Go CPU
//     profiles of each phase and heap profiles at their ends.
//
// Usage (see the Makefile's bench-scale target):
//
//	go run ./internal/scalebench --bin bin/scale --feeds 10000 --schedule '@every 30s'
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/newswatch/newswatch/internal/feedsim"
)

type options struct {
	bin, dir          string
	feeds, workers    int
	hosts             int
	schedule          string
	every             time.Duration
	unchanged         float64
	period            time.Duration
	phase             time.Duration
	phases            []string
	perf, perfStartup time.Duration
	baselineTimeout   time.Duration
	logLevel, simArgs string
	pprof             bool
	archive, stories  bool
	backfill          time.Duration
	fullText          float64
}

func main() {
	var o options
	var phases string
	flag.StringVar(&o.bin, "bin", "bin/scale", "directory holding the newswatch and newswatch-feedsim binaries")
	flag.StringVar(&o.dir, "dir", "", "work directory for the configuration, the store, logs, profiles and the report (default: a new temporary one)")
	flag.IntVar(&o.feeds, "feeds", 100000, "simulated feeds")
	flag.IntVar(&o.workers, "workers", 0, "the daemon's --workers (0: its default)")
	flag.IntVar(&o.hosts, "hosts", 1, "simulator listeners (hosts to the daemon, which runs at most 2 requests at once per host)")
	flag.StringVar(&o.schedule, "schedule", "@every 5m", "every feed's schedule; must be @every D")
	flag.Float64Var(&o.unchanged, "unchanged", 0.85, "fraction of polls that find no new item in the live phase")
	flag.DurationVar(&o.period, "period", 0, "the simulator's mean time between items (default: from --unchanged and the schedule)")
	flag.DurationVar(&o.phase, "phase", 0, "length of each measured phase (default: one schedule interval, at least 1m)")
	flag.StringVar(&phases, "phases", "live,unchanged,changed", "the phases, in order: live, unchanged, changed")
	flag.DurationVar(&o.perf, "perf", 0, "record a CPU profile of the daemon with perf for this long at the start of each phase (0: none)")
	flag.DurationVar(&o.perfStartup, "perf-startup", 0, "record a CPU profile of the daemon with perf for this long from its start (0: none)")
	flag.DurationVar(&o.baselineTimeout, "baseline-timeout", 30*time.Minute, "how long to wait for every feed's first poll")
	flag.StringVar(&o.logLevel, "log-level", "warn", "the daemon's --log-level")
	flag.BoolVar(&o.pprof, "pprof", false, "run the daemon in a test binary (cmd/newswatch, build tag scale) that writes Go CPU profiles of each phase and heap profiles at their ends; run from the repository's root")
	flag.StringVar(&o.simArgs, "sim-args", "", "further flags for newswatch-feedsim, space-separated (e.g. --latency=20ms)")
	flag.BoolVar(&o.archive, "archive", true, "keep the item archive (false: the configuration turns it off)")
	flag.BoolVar(&o.stories, "stories", true, "give items their stories (false: the configuration turns them off)")
	flag.DurationVar(&o.backfill, "backfill", 0, "at the start of the live phase, reload with a new rule that backfills this window of the archive (0: none)")
	flag.Float64Var(&o.fullText, "fulltext", 0, "share of the feeds (0 to 1) that carry headlines alone and have fulltext: auto, so that the daemon reads the articles of their new items from the simulator (0: none)")
	flag.Parse()
	o.phases = strings.Split(phases, ",")
	if o.fullText < 0 || o.fullText > 1 {
		fatal(fmt.Errorf("--fulltext %v: want a share from 0 to 1", o.fullText))
	}
	every, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(o.schedule, "@every")))
	if err != nil || !strings.HasPrefix(o.schedule, "@every") {
		fatal(fmt.Errorf("--schedule %q: want @every D", o.schedule))
	}
	o.every = every
	if o.period == 0 {
		// A feed's period is uniform in [P/2, 3P/2); it has a new item within an interval I < P/2
		// with probability I/period, on average I/P*ln 3 over the feeds.
		o.period = time.Duration(float64(every) * math.Log(3) / (1 - o.unchanged)).Round(time.Second)
	}
	if o.phase == 0 {
		o.phase = max(every, time.Minute)
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "newswatch-scale-"); err != nil {
			fatal(err)
		}
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		fatal(err)
	}
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		fatal(err)
	}
	if err := runBench(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "scalebench: %v\n", err)
	os.Exit(1)
}

type bench struct {
	o                  options
	nats               *natsConn
	cpus, heaps        int // profiles asked of the profiling test binary
	out                io.Writer
	sim, daemon        *proc
	simAddr            string
	httpAddr, natsAddr string
}

// proc is a child process and a channel closed when it has exited.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
}

func start(cmd *exec.Cmd) (*proc, error) {
	t := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, started: t, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits up to grace, then kills.
func (p *proc) stop(grace time.Duration) {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func runBench(o options) error {
	report, err := os.Create(filepath.Join(o.dir, "report.txt"))
	if err != nil {
		return err
	}
	defer report.Close()
	b := &bench{o: o, out: io.MultiWriter(os.Stdout, report)}
	b.printf("# newswatch scale run %s\n", time.Now().UTC().Format(time.RFC3339))
	b.printf("machine: %s; work directory %s\n", machine(), o.dir)
	b.printf("feeds %d, schedule %q (%.1f polls/s scheduled), simulator period %s (%.0f%% of polls unchanged in the live phase), %d simulator host(s), daemon workers %s\n",
		o.feeds, o.schedule, float64(o.feeds)/o.every.Seconds(), o.period, 100*o.unchanged, o.hosts, orText(o.workers, "default"))

	if err := b.startSim(); err != nil {
		return err
	}
	defer b.sim.stop(5 * time.Second)
	if err := b.startDaemon(); err != nil {
		return err
	}
	defer b.daemon.stop(60 * time.Second)

	if err := b.startup(); err != nil {
		return err
	}
	for _, ph := range b.o.phases {
		if err := b.runPhase(ph); err != nil {
			return err
		}
	}
	b.storeInfo()
	b.nats.nc.Close()
	b.nats.sub.Close()
	t := time.Now()
	b.daemon.stop(60 * time.Second)
	b.printf("\nshutdown on SIGTERM: %s (%v)\n", time.Since(t).Round(time.Millisecond), b.daemon.cmd.ProcessState)
	b.logSummary()
	return nil
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func orText(n int, def string) string {
	if n == 0 {
		return def
	}
	return fmt.Sprint(n)
}

// machine names the CPU and the number of CPUs, from nproc and /proc/cpuinfo.
func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	nproc, _ := exec.Command("nproc").Output()
	return fmt.Sprintf("nproc %s, model name %q", strings.TrimSpace(string(nproc)), model)
}

func (b *bench) startSim() error {
	// Every run starts cold: a store left by an earlier run would make its feeds' first polls
	// 304s against states the new simulator does not match.
	if err := os.RemoveAll(filepath.Join(b.o.dir, "nats")); err != nil {
		return err
	}
	args := []string{"--listen", "127.0.0.1:0", "--hosts", fmt.Sprint(b.o.hosts), "--feeds", fmt.Sprint(b.o.feeds),
		"--period", b.o.period.String(), "--schedule", b.o.schedule,
		"--config", filepath.Join(b.o.dir, "newswatch.yaml"), "--store-dir", filepath.Join(b.o.dir, "nats")}
	if !b.o.archive {
		args = append(args, "--no-archive")
	}
	if !b.o.stories {
		args = append(args, "--no-stories")
	}
	if b.o.fullText > 0 {
		args = append(args, fmt.Sprintf("--fulltext=%g", b.o.fullText))
	}
	args = append(args, strings.Fields(b.o.simArgs)...)
	cmd := exec.Command(filepath.Join(b.o.bin, "newswatch-feedsim"), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if b.sim, err = start(cmd); err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if b.simAddr == "" {
			b.simAddr = line
		}
		if _, err := fmt.Sscanf(line, "config %s http %s nats %s", new(string), &b.httpAddr, &b.natsAddr); err == nil {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			b.printf("simulator pid %d on %s; daemon http %s, nats %s\n", b.sim.pid(), b.simAddr, b.httpAddr, b.natsAddr)
			b.fullTextInfo()
			return nil
		}
	}
	return errors.New("simulator exited before writing the configuration")
}

func (b *bench) startDaemon() error {
	log, err := os.Create(filepath.Join(b.o.dir, "daemon.log"))
	if err != nil {
		return err
	}
	args := []string{"--log-level", b.o.logLevel, "run", "-c", filepath.Join(b.o.dir, "newswatch.yaml")}
	if b.o.workers > 0 {
		args = append(args, "--workers", fmt.Sprint(b.o.workers))
	}
	cmd := exec.Command(filepath.Join(b.o.bin, "newswatch"), args...)
	if b.o.pprof {
		// The test binary's TestMain builds a binary of its own from its package directory.
		test, err := filepath.Abs(filepath.Join(b.o.bin, "newswatch.test"))
		if err != nil {
			return err
		}
		if out, err := exec.Command("go", "test", "-c", "-tags", "scale", "-o", test, "./cmd/newswatch").CombinedOutput(); err != nil {
			return fmt.Errorf("build the profiling test binary: %v\n%s", err, out)
		}
		cmd = exec.Command(test, "-test.run", "^TestScaleDaemon$", "-test.timeout", "0")
		cmd.Dir = "cmd/newswatch"
		cmd.Env = append(os.Environ(), "NEWSWATCH_SCALE_CONFIG="+filepath.Join(b.o.dir, "newswatch.yaml"),
			"NEWSWATCH_SCALE_PROFILES="+b.o.dir, "NEWSWATCH_SCALE_WORKERS="+orText(b.o.workers, ""))
		b.printf("daemon: in the test binary %s (--pprof): start-up includes its TestMain's build of a race binary\n", test)
	}
	cmd.Stdout, cmd.Stderr = log, log
	b.daemon, err = start(cmd)
	return err
}

// startup measures the time to /readyz 200 and to every feed's first committed poll.
func (b *bench) startup() error {
	pid := b.daemon.pid()
	t0 := b.daemon.started
	if b.o.perfStartup > 0 {
		file := filepath.Join(b.o.dir, "perf-startup.data")
		if perf := b.startPerf(file, b.o.perfStartup); perf != nil {
			defer func() { _ = perf.Wait(); b.perfReport("startup", file) }()
		}
	}
	for {
		resp, err := http.Get("http://" + b.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-b.daemon.done:
			return fmt.Errorf("daemon exited during start-up; see %s", filepath.Join(b.o.dir, "daemon.log"))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(t0) > 10*time.Minute {
			return errors.New("daemon not ready within 10 minutes")
		}
	}
	ready := time.Since(t0)
	cpu, _ := cpuTime(pid)
	mem, _ := memoryOf(pid)
	b.printf("\n## start-up\nready (/readyz 200) %.2f s after exec; CPU so far %.2f s; VmRSS %s, VmHWM %s (the peak so far)\n", ready.Seconds(), cpu.Seconds(), mib(mem.rss), mib(mem.hwm))

	// Every feed's first poll: the feed-state bucket holds a key per feed polled at least once.
	if err := b.connectNATS(); err != nil {
		return err
	}
	s0 := b.snapshot()
	last := time.Now()
	for {
		n, err := b.feedsWithState()
		if err != nil {
			return err
		}
		if n >= b.o.feeds {
			break
		}
		if time.Since(last) >= 30*time.Second {
			last = time.Now()
			c, _ := cpuTime(pid)
			mem, _ := memoryOf(pid)
			b.printf("  … %.0f s: %d feeds polled, daemon CPU %.1f s, VmRSS %s\n", time.Since(t0).Seconds(), n, c.Seconds(), mib(mem.rss))
		}
		if time.Since(t0) > b.o.baselineTimeout {
			b.printf("only %d of %d feeds polled within %s; going on\n", n, b.o.feeds, b.o.baselineTimeout)
			break
		}
		time.Sleep(time.Second)
	}
	s1 := b.snapshot()
	b.signal(syscall.SIGUSR1)
	b.printf("every feed polled once %.1f s after exec (%.1f s after ready)\n", s1.at.Sub(t0).Seconds(), s1.at.Sub(t0).Seconds()-ready.Seconds())
	b.phaseReport("first polls (200, baseline)", s0, s1)
	b.pprofReport("the first polls")
	return b.drain()
}

// drain waits until the jobs of the slots that ticked during the first polls are done, so that
// the first phase measures the steady state, not the end of the catch-up: until the poll queue
// holds at most two seconds of scheduled polls, or has not shrunk for 15 s (a daemon asked for
// more than it can do never drains it).
func (b *bench) drain() error {
	t0, shrunk := time.Now(), time.Now()
	limit := max(50, int(2*float64(b.o.feeds)/b.o.every.Seconds()))
	least := math.MaxInt
	for {
		n, err := b.pollBacklog()
		if err != nil {
			return err
		}
		if n < least {
			least, shrunk = n, time.Now()
		}
		switch {
		case n <= limit:
			b.printf("\npoll backlog of the first polls drained in %.1f s (%d jobs queued, limit %d)\n", time.Since(t0).Seconds(), n, limit)
			return nil
		case time.Since(shrunk) > 15*time.Second:
			b.printf("\npoll backlog of the first polls not drained: %d jobs queued after %.1f s, none fewer for 15 s (limit %d): the daemon does not keep up\n", n, time.Since(t0).Seconds(), limit)
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// snapshot is the state of the daemon and the simulator at one instant.
type snapshot struct {
	at                  time.Time
	cpu, cpuAfterScrape time.Duration // the daemon's, before and after the scrape
	simCPU              time.Duration
	machine             machineCPU
	mem                 memory
	m                   sample
	scrapeBytes         int64
	scrapeWall          time.Duration
	sim                 feedsim.StatsDoc
}

func (b *bench) snapshot() snapshot {
	pid := b.daemon.pid()
	var s snapshot
	s.at = time.Now()
	s.cpu, _ = cpuTime(pid)
	s.simCPU, _ = cpuTime(b.sim.pid())
	s.machine, _ = machineTimes()
	s.mem, _ = memoryOf(pid)
	s.sim, _ = b.simStats()
	t := time.Now()
	var err error
	s.m, s.scrapeBytes, err = scrape("http://" + b.httpAddr + "/metrics")
	if err != nil {
		b.printf("scrape: %v\n", err)
		s.m = sample{}
	}
	s.scrapeWall = time.Since(t)
	s.cpuAfterScrape, _ = cpuTime(pid)
	return s
}

func (b *bench) simStats() (feedsim.StatsDoc, error) {
	var s feedsim.StatsDoc
	resp, err := http.Get("http://" + b.simAddr + "/-/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// backfillRule is the rule that --backfill adds: it matches the simulator's Kursk items.
const backfillRule = "  - id: backfill-probe\n    query: 'kursk OR курск'\n    backfill: %s\n"

// addBackfillRule appends backfillRule to the configuration, whose last section is its rules,
// and has the daemon reload it.
func (b *bench) addBackfillRule() error {
	f, err := os.OpenFile(filepath.Join(b.o.dir, "newswatch.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, backfillRule, b.o.backfill); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	resp, err := http.Post("http://"+b.httpAddr+"/-/reload", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /-/reload: %s", resp.Status)
	}
	b.printf("reloaded with a rule that backfills %s\n", b.o.backfill)
	return nil
}

func (b *bench) simPost(path string) error {
	resp, err := http.Post("http://"+b.simAddr+path, "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

func (b *bench) runPhase(mode string) error {
	if err := b.simPost("/-/mode?set=" + mode); err != nil {
		return err
	}
	if err := b.simPost("/-/stats/reset"); err != nil {
		return err
	}
	timer, err := b.timeAlerts()
	if err != nil {
		return err
	}
	s0 := b.snapshot()
	if mode == "live" && b.o.backfill > 0 {
		if err := b.addBackfillRule(); err != nil {
			return err
		}
	}
	b.signal(syscall.SIGUSR2) // a CPU profile of this phase
	var perf *exec.Cmd
	perfFile := filepath.Join(b.o.dir, "perf-"+mode+".data")
	if b.o.perf > 0 {
		perf = b.startPerf(perfFile, min(b.o.perf, b.o.phase))
	}
	rss := sampleRSS(b.daemon.pid(), b.o.phase)
	s1 := b.snapshot()
	b.signal(syscall.SIGUSR1) // a heap profile at its end
	b.phaseReport("phase "+mode, s0, s1)
	b.rssReport(rss)
	if ds, miss := timer.stop(); len(ds) > 0 {
		q := func(p float64) float64 { return 1000 * ds[min(len(ds)-1, int(p*float64(len(ds))))].Seconds() }
		b.printf("fetch start (request at the simulator) to alert delivered to a subscriber, %d alerts (%d not timed): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			len(ds), miss, q(.5), q(.9), q(.99), 1000*ds[len(ds)-1].Seconds())
	}
	b.pprofReport(mode)
	if perf != nil {
		_ = perf.Wait()
		b.perfReport(mode, perfFile)
	}
	return nil
}

func (b *bench) phaseReport(title string, s0, s1 snapshot) {
	dt := s1.at.Sub(s0.at).Seconds()
	results := s1.m.byLabel("newswatch_fetch_results_total", "result")
	before := s0.m.byLabel("newswatch_fetch_results_total", "result")
	var polls float64
	var parts []string
	for r, v := range results {
		d := v - before[r]
		polls += d
		if d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", r, d))
		}
	}
	cpu := (s1.cpu - s0.cpuAfterScrape).Seconds()
	simCPU := (s1.simCPU - s0.simCPU).Seconds()
	busy := (s1.machine.busy - s0.machine.busy).Seconds()
	sched := float64(b.o.feeds) / b.o.every.Seconds()
	b.printf("\n## %s: %.0f s\n", title, dt)
	b.printf("polls committed %.0f (%s): %.1f polls/s, %.2f × the %.1f scheduled\n", polls, strings.Join(parts, ", "), polls/dt, polls/dt/sched, sched)
	if polls > 0 {
		b.printf("daemon CPU %.1f s = %.3f cores; %.3f ms per poll\n", cpu, cpu/dt, 1000*cpu/polls)
	}
	b.printf("machine: %.2f cores busy in all; simulator %.2f, daemon %.2f, everything else %.2f (other users of the machine, this harness)\n",
		busy/dt, simCPU/dt, cpu/dt, (busy-cpu-simCPU)/dt)
	sim := s1.sim
	b.printf("simulator: %d requests, %d 200, %d 304 (+%d 304 of the unchanged mode), %d errors\n",
		sim.Requests-s0.sim.Requests, sim.OK-s0.sim.OK, sim.NotModified-s0.sim.NotModified, sim.Unchanged-s0.sim.Unchanged, sim.Errors-s0.sim.Errors)

	if pf := sim.PerFeed; s0.sim.Mode != "" {
		b.printf("requests per feed in the phase: min %d, median %d, max %d; feeds not polled at all: %d of %d\n", pf.Min, pf.P50, pf.Max, pf.Zero, b.o.feeds)
	}
	lag := histDelta(s0.m, s1.m, "newswatch_poll_lag_seconds")
	b.printf("lateness, daemon (slot to fetch start, newswatch_poll_lag_seconds, %.0f polls): %s\n", lag.count(), quantiles(lag))
	if l := sim.Lateness; l.Count > 0 {
		b.printf("lateness, simulator (slot to request, 1 ms resolution, %d requests): p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, p99.9 %.0f ms, max %.0f ms\n",
			l.Count, l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	for _, r := range []string{"ok", "not_modified", "error"} {
		h := histDelta(s0.m, s1.m, "newswatch_fetch_duration_seconds", `result="`+r+`"`)
		if h.count() > 0 {
			b.printf("fetch+parse %s (%.0f): %s\n", r, h.count(), quantiles(h))
		}
	}
	pub := histDelta(s0.m, s1.m, "newswatch_alert_publish_duration_seconds")
	alerts := s1.m.byLabel("newswatch_alerts_published_total", "result")
	alerts0 := s0.m.byLabel("newswatch_alerts_published_total", "result")
	b.printf("alerts published: ok %.0f, duplicate %.0f, error %.0f; publish to last PubAck (%.0f batches): %s\n",
		alerts["ok"]-alerts0["ok"], alerts["duplicate"]-alerts0["duplicate"], alerts["error"]-alerts0["error"], pub.count(), quantiles(pub))
	heap := s1.m["go_memstats_heap_inuse_bytes"]
	b.printf("memory: VmRSS %s, VmHWM %s; heap in use %s = %.0f B per feed; Go sys %s; goroutines %.0f\n",
		mib(s1.mem.rss), mib(s1.mem.hwm), mib(int64(heap)), heap/float64(b.o.feeds), mib(int64(s1.m["go_memstats_sys_bytes"])), s1.m["go_goroutines"])
	if n, err := b.feedsWithState(); err == nil {
		b.printf("feeds polled at least once since the start: %d of %d\n", n, b.o.feeds)
	}
	b.fullTextReport(s0, s1, dt)
	b.printf("a /metrics scrape: %s, %.0f ms, %.0f ms of daemon CPU\n", mib(s1.scrapeBytes), 1000*s1.scrapeWall.Seconds(), 1000*(s1.cpuAfterScrape-s1.cpu).Seconds())
}

// quantiles formats p50, p99 and the bucket of the largest observation of h, in ms.
func quantiles(h histogram) string {
	if h.count() == 0 {
		return "none"
	}
	p50, b50 := h.quantile(.5)
	p99, b99 := h.quantile(.99)
	lo, hi := h.maxBucket()
	return fmt.Sprintf("p50 ≈ %s (≤ %s), p99 ≈ %s (≤ %s), max in (%s, %s]; mean %s",
		ms(p50), ms(b50), ms(p99), ms(b99), ms(lo), ms(hi), ms(h.sum/h.count()))
}

func ms(s float64) string {
	if math.IsInf(s, 1) {
		return "+Inf"
	}
	if s < 1 {
		return fmt.Sprintf("%.1f ms", 1000*s)
	}
	return fmt.Sprintf("%.2f s", s)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// signal sends sig to the daemon when it runs in the profiling test binary.
func (b *bench) signal(sig syscall.Signal) {
	if b.o.pprof {
		_ = b.daemon.cmd.Process.Signal(sig)
		if sig == syscall.SIGUSR1 {
			b.heaps++
		} else {
			b.cpus++
		}
	}
}

// pprofReport prints the top entries of the CPU profile of the phase that ended and of the heap
// profile written at its end. The CPU profile is complete once the next one starts or the
// daemon stops, so it is read after a short wait for the heap profile.
func (b *bench) pprofReport(mode string) {
	if !b.o.pprof {
		return
	}
	time.Sleep(3 * time.Second) // the heap profile follows a GC
	heap := filepath.Join(b.o.dir, fmt.Sprintf("heap-%d.pprof", b.heaps))
	bin := filepath.Join(b.o.bin, "newswatch.test")
	for _, v := range []struct {
		what, suffix string
		args         []string
	}{
		{"heap in use at the end of " + mode, "", []string{"-sample_index=inuse_space"}},
		{"heap in use at the end of " + mode + ", cumulative", "-cum", []string{"-sample_index=inuse_space", "-cum"}},
	} {
		args := append([]string{"tool", "pprof", "-top", "-nodecount=30"}, v.args...)
		out, err := exec.Command("go", append(args, bin, heap)...).CombinedOutput()
		txt := strings.TrimSuffix(heap, ".pprof") + v.suffix + ".txt"
		_ = os.WriteFile(txt, out, 0o644)
		if err != nil {
			b.printf("pprof %s: %v\n", heap, err)
			continue
		}
		b.printf("%s (go tool pprof, %s):\n", v.what, txt)
		for line := range strings.SplitSeq(string(out), "\n") {
			b.printf("    %s\n", line)
		}
	}
	if b.cpus == 0 {
		return
	}
	b.printf("CPU profile of the phase: %s (go tool pprof -top %s %s)\n",
		filepath.Join(b.o.dir, fmt.Sprintf("cpu-%d.pprof", b.cpus)), bin, filepath.Join(b.o.dir, fmt.Sprintf("cpu-%d.pprof", b.cpus)))
}

// startPerf starts recording a CPU profile of the daemon into file for d; nil when perf fails.
func (b *bench) startPerf(file string, d time.Duration) *exec.Cmd {
	perf := exec.Command("perf", "record", "-F", "199", "--call-graph", "fp", "-p", fmt.Sprint(b.daemon.pid()),
		"-o", file, "--", "sleep", fmt.Sprint(max(1, int(d.Seconds()))))
	perf.Stdout, perf.Stderr = io.Discard, io.Discard
	if err := perf.Start(); err != nil {
		b.printf("perf: %v\n", err)
		return nil
	}
	return perf
}

// perfReport writes perf's flat and inclusive top entries for the phase's profile.
func (b *bench) perfReport(mode, file string) {
	for _, v := range []struct{ name, flag string }{{"flat", "--no-children"}, {"inclusive", "--children"}} {
		out, err := exec.Command("perf", "report", "-i", file, "--stdio", v.flag, "--sort", "symbol",
			"--percent-limit", "1.5", "-g", "none").Output()
		if err != nil {
			b.printf("perf report: %v\n", err)
			return
		}
		txt := filepath.Join(b.o.dir, "perf-"+mode+"-"+v.name+".txt")
		_ = os.WriteFile(txt, out, 0o644)
		b.printf("CPU profile (%s, perf, %s), top entries:\n", v.name, txt)
		n := 0
		for line := range strings.SplitSeq(string(out), "\n") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Fields(line)
			for len(f) > 0 && f[len(f)-1] == "-" {
				f = f[:len(f)-1]
			}
			b.printf("    %s\n", strings.Join(f, " "))
			if n++; n == 25 {
				break
			}
		}
	}
}

// storeInfo reports the size of the JetStream store on disk.
func (b *bench) storeInfo() {
	var total int64
	_ = filepath.WalkDir(filepath.Join(b.o.dir, "nats"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	b.printf("\nJetStream store on disk: %s\n", mib(total))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.streamInfo(ctx); err != nil {
		b.printf("stream info: %v\n", err)
	}
}

// logSummary counts the daemon's log lines by level and shows the first few warnings.
func (b *bench) logSummary() {
	data, err := os.ReadFile(filepath.Join(b.o.dir, "daemon.log"))
	if err != nil {
		return
	}
	levels := map[string]int{}
	var shown []string
	for line := range strings.SplitSeq(string(data), "\n") {
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		levels[l.Level]++
		if l.Level != "info" && l.Level != "debug" && len(shown) < 5 {
			shown = append(shown, line)
		}
	}
	b.printf("daemon log lines by level: %v\n", levels)
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.Contains(line, `"backfill `) {
			b.printf("    %s\n", line)
		}
	}
	for _, l := range shown {
		if len(l) > 400 {
			l = l[:400] + "…"
		}
		b.printf("    %s\n", l)
	}
}
