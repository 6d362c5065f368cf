package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

type runCmd struct {
	Config          string        `short:"c" required:"" type:"path" help:"Configuration file."`
	Workers         int           `default:"8" help:"Polls run at once by this process."`
	ShutdownTimeout time.Duration `default:"20s" help:"How long SIGTERM waits for polls in flight before abandoning them."`
}

// The notifier implements what the watcher consumes.
var (
	_ watcher.StateStore = (*notifier.StateStore)(nil)
	_ watcher.JobQueue   = (*notifier.JobQueue)(nil)
	_ watcher.Publisher  = alertPublisher{}
)

func (r runCmd) Run(e *env) error {
	log, err := newLogger(e.stderr, e.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	l, err := load(r.Config)
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{1}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ver, _ := buildVersion()
	log.Info("starting", zap.String("version", ver), zap.String("config", r.Config),
		zap.Int("feeds", len(l.cfg.Feeds)), zap.Int("rules", len(l.rules)))

	n, err := notifier.Open(ctx, notifierConfig(l.cfg), log.Named("nats"))
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}
	defer r.closeNotifier(n, log)

	w, err := watcher.New(watcherConfig(l, n, r.Workers, r.ShutdownTimeout), log.Named("watcher"))
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}
	go reloadOnHangup(ctx, r.Config, w, log)

	log.Info("running", zap.String("nats", n.ClientURL()))
	if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("watcher stopped", zap.Error(err))
		return exitError{1}
	}
	log.Info("stopping")
	return nil
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

// reloadOnHangup reloads the configuration on SIGHUP: a file that validates whole replaces the
// running feeds and rules; any other is logged and changes nothing.
func reloadOnHangup(ctx context.Context, path string, w *watcher.Watcher, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		l, err := load(path)
		if err != nil {
			log.Error("reload failed; the running configuration stays", zap.String("config", path), zap.Error(err))
			continue
		}
		if err := w.Update(watcherFeeds(l.cfg), l.rules, l.index); err != nil {
			log.Error("reload failed; the running configuration stays", zap.String("config", path), zap.Error(err))
			continue
		}
		log.Info("configuration reloaded", zap.String("config", path),
			zap.Int("feeds", len(l.cfg.Feeds)), zap.Int("rules", len(l.rules)))
	}
}
