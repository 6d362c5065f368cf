package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/console/web"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/internal/buildinfo"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

var (
	_ web.Rules        = (*consoleRules)(nil)
	_ web.Backtester   = playgroundBacktest{}
	_ web.StatusSource = daemonStatus{}
)

// consoleRules is the running configuration's rules, lists and deliveries, which the reloader
// keeps current, for the web console's playground.
type consoleRules struct {
	p atomic.Pointer[rulesAndDeliveries]
}

type rulesAndDeliveries struct {
	l          *loaded
	deliveries map[string]delivery.Options
}

func (c *consoleRules) set(l *loaded) {
	d := make(map[string]delivery.Options, len(l.cfg.Rules))
	for _, r := range l.cfg.Rules {
		d[r.ID] = deliveryOptions(r)
	}
	c.p.Store(&rulesAndDeliveries{l: l.rulesOnly(), deliveries: d})
}

func (c *consoleRules) Rules() ([]matcher.Rule, map[string][]string) {
	rd := c.p.Load()
	if rd == nil {
		return nil, nil
	}
	return rd.l.rules, rd.l.cfg.Lists
}

func (c *consoleRules) Delivery(rule string) (delivery.Options, bool) {
	rd := c.p.Load()
	if rd == nil {
		return delivery.Options{}, false
	}
	o, ok := rd.deliveries[rule]
	return o, ok
}

// playgroundBacktest matches the playground's rules over the notifier's item archive.
type playgroundBacktest struct{ n *notifier.Notifier }

func (a playgroundBacktest) Backtest(ctx context.Context, q watcher.BacktestQuery, found func(watcher.BacktestFound) error) (watcher.BacktestStats, error) {
	return watcher.Backtest(ctx, a.n, q, found)
}

// daemonStatus is what the console's status page shows: the build, the uptime, the NATS
// connection and JetStream's streams, and the last load of the configuration as the reload
// metrics record it.
type daemonStatus struct {
	n        *notifier.Notifier
	embedded bool
	started  time.Time
	registry *prometheus.Registry
}

func (d daemonStatus) Status(ctx context.Context) (web.Status, error) {
	ver, rev := buildinfo.Version()
	st := web.Status{Version: ver, Revision: rev, Go: runtime.Version(), Started: d.started, Reload: d.reload()}
	nc := d.n.Conn()
	st.NATS = web.NATS{Embedded: d.embedded, URL: nc.ConnectedUrlRedacted(), Connected: nc.Status() == nats.CONNECTED,
		Server: nc.ConnectedServerName(), ServerVersion: nc.ConnectedServerVersion(), Cluster: nc.ConnectedClusterName(),
		Servers: nc.Servers()}
	if d.embedded {
		// The daemon talks to its own server in process; clients connect at its listen address.
		st.NATS.URL, st.NATS.Servers = d.n.ClientURL(), []string{d.n.ClientURL()}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return st, fmt.Errorf("jetstream: %w", err)
	}
	var errs []error
	if info, err := js.AccountInfo(ctx); err != nil {
		errs = append(errs, fmt.Errorf("jetstream account info: %w", err))
	} else {
		st.NATS.JetStream = web.JetStreamUsage{Memory: info.Memory, Storage: info.Store,
			MaxMemory: info.Limits.MaxMemory, MaxStorage: info.Limits.MaxStore, Streams: info.Streams, Consumers: info.Consumers}
	}
	streams := js.ListStreams(ctx)
	for si := range streams.Info() {
		s := web.Stream{Name: si.Config.Name, Messages: si.State.Msgs, Bytes: si.State.Bytes,
			Consumers: si.State.Consumers, Replicas: si.Config.Replicas}
		if c := si.Cluster; c != nil {
			s.Leader = c.Leader
			for _, p := range c.Replicas {
				s.Peers = append(s.Peers, web.Peer{Name: p.Name, Current: p.Current, Lag: p.Lag})
			}
		}
		st.Streams = append(st.Streams, s)
	}
	if err := streams.Err(); err != nil {
		errs = append(errs, fmt.Errorf("listing the streams: %w", err))
	}
	return st, errors.Join(errs...)
}

// reload reads the last load of the configuration from the reload metrics.
func (d daemonStatus) reload() web.Reload {
	var r web.Reload
	mfs, err := d.registry.Gather()
	if err != nil {
		return r
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) == 0 {
			continue
		}
		v := mf.GetMetric()[0].GetGauge().GetValue()
		switch mf.GetName() {
		case "newswatch_config_last_reload_successful":
			r.Successful = v == 1
		case "newswatch_config_last_reload_success_timestamp_seconds":
			r.LastSuccess = time.Unix(0, int64(v*1e9))
		}
	}
	return r
}

// registerWebConsole adds the web console's pages to the status API's mux.
func registerWebConsole(api *statusAPI, w *watcher.Watcher, n *notifier.Notifier, rules *consoleRules, st daemonStatus, log *zap.Logger) error {
	c, err := web.New(web.Config{Feeds: w, States: api.snap, Poller: w, Alerts: alertReader{n},
		Backtest: playgroundBacktest{n}, Rules: rules, Status: st}, log)
	if err != nil {
		return err
	}
	c.Register(api.mux)
	return nil
}
