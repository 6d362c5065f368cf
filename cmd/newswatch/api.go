package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

var (
	_ console.Feeds  = (*watcher.Watcher)(nil)
	_ console.Poller = (*watcher.Watcher)(nil)
	_ console.States = (*console.Snapshot)(nil)
	_ console.Alerts = alertReader{}
)

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
	mux    *http.ServeMux
	snap   *console.Snapshot
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startStatusAPI builds the console over w and n and starts watching the feed states.
func startStatusAPI(ctx context.Context, w *watcher.Watcher, n *notifier.Notifier, log *zap.Logger) (*statusAPI, error) {
	snap := console.NewSnapshot(log)
	c, err := console.New(console.Config{Feeds: w, States: snap, Poller: w, Alerts: alertReader{n}}, log)
	if err != nil {
		return nil, err
	}
	a := &statusAPI{mux: http.NewServeMux(), snap: snap}
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
