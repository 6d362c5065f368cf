package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/internal/buildinfo"
	"github.com/newswatch/newswatch/internal/logging"
	"github.com/newswatch/newswatch/internal/webserve"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

type runCmd struct {
	Config          string        `short:"c" required:"" type:"path" help:"Configuration file."`
	Workers         int           `default:"8" help:"Polls run at once by this process."`
	ShutdownTimeout time.Duration `default:"20s" help:"How long SIGTERM waits for polls in flight before abandoning them."`
	SummaryInterval time.Duration `default:"5m" hidden:"" help:"How often the polls summary is logged."`
}

// The notifier implements what the watcher consumes.
var (
	_ watcher.StateStore = (*notifier.StateStore)(nil)
	_ watcher.JobQueue   = (*notifier.JobQueue)(nil)
	_ watcher.Publisher  = alertPublisher{}
)

func (r runCmd) Run(e *env) error {
	log, err := logging.New(e.stderr, e.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	limitMemory(log, memlimit.FromCgroup)

	l, err := load(r.Config)
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{1}
	}
	releaseLoadMemory()
	if err := webserve.Validate(l.cfg.HTTP.WebConfigFile); err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	// SIGHUP is taken from here on, so that a reload asked for early or during the shutdown never
	// kills the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	ver, _ := buildinfo.Version()
	log.Info("starting", zap.String("version", ver), zap.String("config", r.Config),
		zap.Int("feeds", len(l.cfg.Feeds)), zap.Int("rules", len(l.rules)))
	for _, w := range configWarnings(l.cfg) {
		log.Warn(w.Msg, zap.String("config", w.File), zap.Int("line", w.Line))
	}

	started := time.Now()
	registry := newRegistry()
	reloads := newReloadMetrics(registry)
	reloads.record(true, time.Now())

	// The HTTP endpoints answer from the start: while NATS is awaited the daemon is alive but not
	// ready, so that a liveness probe does not restart a daemon that waits for its server.
	var up atomic.Pointer[running]
	alive := func() error {
		if u := up.Load(); u != nil {
			return u.live.alive()
		}
		return nil
	}
	// Every goroutine started here ends before NATS is closed.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop() // ends them also when the watcher stops by itself
	if addr := l.cfg.HTTP.Listen; addr != "" {
		handlers := opsHandlers{
			registry: registry,
			alive:    alive,
			ready:    func(ctx context.Context) error { return up.Load().ready(ctx) },
			reload:   func() error { return up.Load().reload() },
			api:      func() http.Handler { return up.Load().apiHandler() },
		}
		ops, err := listenOps(l.cfg.HTTP, handlers, log.Named("http"))
		if err != nil {
			log.Error("cannot start", zap.Error(err))
			return exitError{1}
		}
		wg.Go(ops.serve)
		defer ops.shutdown(5 * time.Second)
		log.Info("http listening", zap.String("addr", addr), zap.String("web_config_file", l.cfg.HTTP.WebConfigFile))
	}

	ncfg := notifierConfig(l.cfg)
	ncfg.Registerer = registry
	n, err := notifier.Open(ctx, ncfg, log.Named("nats"))
	if err != nil && ctx.Err() != nil {
		log.Info("stopped while waiting for nats", zap.Error(err))
		return nil
	}
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}
	defer r.closeNotifier(n, log)

	wcfg := watcherConfig(l, n, r.Workers, r.ShutdownTimeout)
	wcfg.Registerer = registry
	wcfg.SummaryInterval = r.SummaryInterval
	w, err := watcher.New(wcfg, log.Named("watcher"))
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}
	ps, err := policies(l.cfg)
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}
	// The deliverer ends before NATS is closed.
	dl := newDeliverer(n.Deliveries(), ps, log.Named("delivery"))
	dctx, dcancel := context.WithCancel(ctx)
	var dwg sync.WaitGroup
	dwg.Go(func() { dl.run(dctx) })
	defer dwg.Wait()
	defer dcancel()
	// The status API keeps a copy of every feed's state, watched in the bucket: only a daemon
	// that serves it pays for that.
	var apiMux http.Handler
	var reloaded func(*loaded)
	rules := new(consoleRules)
	rules.set(l)
	if l.cfg.HTTP.Listen != "" {
		api, err := startStatusAPI(ctx, w, n, l, log.Named("console"))
		if err != nil {
			log.Error("cannot start", zap.Error(err))
			return exitError{1}
		}
		defer api.stop() // before NATS is closed
		if l.cfg.HTTP.Console {
			st := daemonStatus{n: n, embedded: l.cfg.NATS.URL == "", started: started, registry: registry}
			if err := registerWebConsole(api, w, n, rules, st, log.Named("console")); err != nil {
				log.Error("cannot start", zap.Error(err))
				return exitError{1}
			}
		}
		apiMux, reloaded = api.mux, api.backtester.configure
	}
	sd := sdNotifier{log: log}
	rl := &reloader{path: r.Config, update: func(l *loaded) error {
		ps, err := policies(l.cfg)
		if err != nil {
			return err
		}
		if err := w.Update(watcherFeeds(l.cfg), l.rules, l.index); err != nil {
			return err
		}
		dl.set(ps)
		w.SetBackfills(backfills(l.cfg))
		if reloaded != nil {
			reloaded(l)
		}
		rules.set(l)
		return nil
	}, log: log, sd: sd, metrics: reloads, now: time.Now}
	live := liveness{lastTick: w.LastTick, started: time.Now(), bound: livenessBound}
	up.Store(&running{n: n, rl: rl, live: live, api: apiMux})
	wg.Go(func() { rl.onHangup(ctx, hup) })
	wg.Go(func() { sd.watchdog(ctx, live.alive) })

	log.Info("running", zap.String("nats", n.ClientURL()))
	sd.ready()
	err = w.Run(ctx)
	sd.stopping()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("watcher stopped", zap.Error(err))
		return exitError{1}
	}
	log.Info("stopping")
	return nil
}

// running is what the HTTP endpoints answer from once NATS is up and the watcher exists; a nil
// running is a daemon still waiting for NATS.
type running struct {
	n    *notifier.Notifier
	rl   *reloader
	live liveness
	api  http.Handler
}

// apiHandler is the status API's handler; nil while waiting for NATS.
func (u *running) apiHandler() http.Handler {
	if u == nil {
		return nil
	}
	return u.api
}

func (u *running) ready(ctx context.Context) error {
	if u == nil {
		return errors.New("starting: waiting for nats")
	}
	return u.n.Ready(ctx)
}

func (u *running) reload() error {
	if u == nil {
		return errors.New("starting: waiting for nats; the file is read when it is up")
	}
	return u.rl.reload()
}

// closeNotifier drains NATS and stops the embedded server, within a bound.
func (r runCmd) closeNotifier(n *notifier.Notifier, log *zap.Logger) {
	ctx, cancel := context.WithTimeoutCause(context.Background(), r.ShutdownTimeout,
		errors.New("nats shutdown took too long"))
	defer cancel()
	if err := n.Close(ctx); err != nil {
		log.Warn("closing nats", zap.Error(err))
	}
}

// reloader replaces the running feeds and rules with those of the configuration file, on SIGHUP
// or POST /-/reload. A file that does not validate whole changes nothing.
type reloader struct {
	path string
	// update applies a configuration loaded: Watcher.Update, SetBackfills, and the API's
	// backtests' lists.
	update  func(*loaded) error
	log     *zap.Logger
	sd      sdNotifier
	metrics *reloadMetrics
	now     func() time.Time
	mu      sync.Mutex // one reload at a time
}

func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sd.reloading()
	defer r.sd.ready()
	l, err := load(r.path)
	if err == nil {
		err = r.update(l)
	}
	r.metrics.record(err == nil, r.now())
	if err != nil {
		r.log.Error("reload failed; the running configuration stays", zap.String("config", r.path), zap.Error(err))
		return err
	}
	r.log.Info("configuration reloaded", zap.String("config", r.path),
		zap.Int("feeds", len(l.cfg.Feeds)), zap.Int("rules", len(l.rules)))
	releaseLoadMemory()
	return nil
}

// releaseLoadMemory returns to the system the memory that loading a configuration took and
// left as garbage. Parsing YAML takes far more than its result keeps (the file of 100,000 feeds:
// up to 90 MiB of heap while it parses, in batches, 30 MB after), and the runtime would give it
// back over minutes.
func releaseLoadMemory() { debug.FreeOSMemory() }

// onHangup reloads on every SIGHUP until ctx is done.
func (r *reloader) onHangup(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.reload() // logged
		}
	}
}
