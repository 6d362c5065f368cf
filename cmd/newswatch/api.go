package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

var (
	_ console.Feeds  = (*watcher.Watcher)(nil)
	_ console.Poller = (*watcher.Watcher)(nil)
	_ console.States = (*console.Snapshot)(nil)
	_ console.Alerts = alertReader{}

	_ console.Backtester = (*backtester)(nil)
)

// backtester serves the console's backtests with the notifier's archive and the running
// configuration: its rules, and its lists for a query.
type backtester struct {
	n      *notifier.Notifier
	config atomic.Pointer[loaded]
}

// configure makes l the configuration that backtests use: the one loaded at start, then each
// one reloaded.
func (b *backtester) configure(l *loaded) { b.config.Store(l.rulesOnly()) }

func (b *backtester) Backtest(ctx context.Context, q console.BacktestQuery) (console.BacktestResult, error) {
	l := b.config.Load()
	var only []string
	switch {
	case q.Query != "":
		ix, rules, err := compileQuery(q.Query, l.cfg.Lists)
		if err != nil {
			return console.BacktestResult{}, err
		}
		l = &loaded{cfg: l.cfg, rules: rules, index: ix}
	case !q.All:
		for _, id := range q.Rules {
			if !slices.ContainsFunc(l.rules, func(r matcher.Rule) bool { return r.ID == id }) {
				return console.BacktestResult{}, fmt.Errorf("rule %q: %w", id, console.ErrUnknownRule)
			}
		}
		only = q.Rules
	}
	var res console.BacktestResult
	sum, err := newArchiveBacktest(l, only, q.Archive).run(ctx, b.n, func(m console.BacktestMatch, _ watcher.Item, _ matcher.Match) error {
		if len(res.Matches) == q.Limit {
			res.Truncated = true
			return nil
		}
		res.Matches = append(res.Matches, m)
		return nil
	})
	res.Summary = sum
	return res, err
}

// alertReader reads the recent alerts of the notifier's stream for the console.
type alertReader struct{ n *notifier.Notifier }

func (a alertReader) RecentAlerts(ctx context.Context, q console.AlertQuery) ([]console.Alert, error) {
	got, err := a.n.RecentAlerts(ctx, notifier.AlertQuery{Rule: q.Rule, Feed: q.Feed, Since: q.Since, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]console.Alert, len(got))
	for i, t := range got {
		out[i] = console.Alert{Subject: t.Subject, Event: t.Body}
	}
	return out, nil
}

// statusAPI is the feed status and control API of a running daemon: its console, and the watch
// of the state bucket that keeps the console's snapshot of the states current.
type statusAPI struct {
	mux        *http.ServeMux
	snap       *console.Snapshot
	backtester *backtester // configured again on every reload
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// startStatusAPI builds the console over w, n and the configuration l, and starts watching the
// feed states.
func startStatusAPI(ctx context.Context, w *watcher.Watcher, n *notifier.Notifier, l *loaded, log *zap.Logger) (*statusAPI, error) {
	snap := console.NewSnapshot(log)
	bt := &backtester{n: n}
	bt.configure(l)
	c, err := console.New(console.Config{Feeds: w, States: snap, Poller: w, Alerts: alertReader{n}, Backtester: bt}, log)
	if err != nil {
		return nil, err
	}
	a := &statusAPI{mux: http.NewServeMux(), snap: snap, backtester: bt}
	c.Register(a.mux)
	ctx, a.cancel = context.WithCancel(ctx)
	a.wg.Go(func() {
		apply := func(ch notifier.StateChange) { snap.Apply(ch.Key, ch.Value) }
		for ctx.Err() == nil {
			err := n.State().Watch(ctx, apply, snap.Ready)
			if err == nil || ctx.Err() != nil {
				return
			}
			log.Warn("watching the feed states; retrying", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	})
	return a, nil
}

// stop ends the watch and waits for it.
func (a *statusAPI) stop() {
	a.cancel()
	a.wg.Wait()
}
