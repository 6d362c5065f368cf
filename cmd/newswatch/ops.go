package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/internal/buildinfo"
	"github.com/newswatch/newswatch/internal/webserve"
)

// opsServer serves /healthz, /readyz, /metrics and POST /-/reload on http.listen.
type opsServer struct {
	srv *webserve.Server
	log *zap.Logger
}

// opsHandlers are what the endpoints ask of the daemon.
type opsHandlers struct {
	registry *prometheus.Registry
	alive    func() error                    // nil error: alive (see liveness)
	ready    func(ctx context.Context) error // nil error: ready
	reload   func() error
	api      func() http.Handler // the status API; nil while starting
}

// livenessBound is how long the scheduler loop may go without a tick before the daemon counts as
// stuck. The loop ticks every second, so thirty missed ticks are no hiccup (a GC pause, a loaded
// machine), and a stuck daemon is noticed within half a minute.
const livenessBound = 30 * time.Second

// liveness is what /healthz and the systemd watchdog mean by alive: the scheduler loop has ticked
// within bound. NATS is not part of it: an outage of an external server is waited out (see
// /readyz), not answered by a restart.
type liveness struct {
	lastTick func() time.Time // the loop's last tick; zero before it started
	started  time.Time        // when the daemon started; the loop has bound from then to tick
	bound    time.Duration
}

// check reports why the daemon is not alive at now, or nil.
func (l liveness) check(now time.Time) error {
	last := l.lastTick()
	if last.IsZero() {
		if age := now.Sub(l.started); age > l.bound {
			return fmt.Errorf("the schedule has not started %s after the daemon did", age.Round(time.Second))
		}
		return nil
	}
	if age := now.Sub(last); age > l.bound {
		return fmt.Errorf("the schedule last ticked %s ago, more than %s", age.Round(time.Second), l.bound)
	}
	return nil
}

// alive is check at the current time.
func (l liveness) alive() error { return l.check(time.Now()) }

// reloadMetrics tell whether the configuration file last loaded, named as Prometheus and
// Alertmanager name theirs, so that the same alerting rule serves all three.
type reloadMetrics struct {
	successful  prometheus.Gauge
	successTime prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newswatch_config_last_reload_successful",
			Help: "Whether the last load of the configuration file, at start, on SIGHUP or POST /-/reload, succeeded (1) or failed (0).",
		}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newswatch_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration file last loaded successfully, in seconds since the Unix epoch.",
		}),
	}
	reg.MustRegister(m.successful, m.successTime)
	return m
}

// record sets the metrics after a load at the given time; a failure keeps the time of the last
// success.
func (m *reloadMetrics) record(ok bool, at time.Time) {
	if !ok {
		m.successful.Set(0)
		return
	}
	m.successful.Set(1)
	m.successTime.Set(float64(at.UnixNano()) / 1e9)
}

// newRegistry is the daemon's own Prometheus registry with the Go, process and build collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	ver, rev := buildinfo.Version()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "newswatch_build_info",
			Help:        "Always 1; the labels name the build.",
			ConstLabels: prometheus.Labels{"version": ver, "revision": rev},
		}, func() float64 { return 1 }),
	)
	return reg
}

// listenOps validates the web configuration file and binds the address of hc, so that the daemon
// fails to start on a bad file or a taken port.
func listenOps(hc config.HTTP, h opsHandlers, log *zap.Logger) (*opsServer, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := h.alive(); err != nil {
			http.Error(w, "not alive: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{Registry: h.registry}))
	// webserve refuses this one from another origin: a web page cannot reload the daemon.
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, _ *http.Request) {
		if err := h.reload(); err != nil {
			http.Error(w, "reload failed: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "reloaded")
	})
	// The feed status API (package console). webserve refuses its POSTs from another origin.
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		api := h.api()
		if api == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"error":"starting: waiting for nats"}`)
			return
		}
		api.ServeHTTP(w, r)
	})
	// The web console (package console/web) under every other path, when http.console is on;
	// the status API's mux answers 404 for them when it is off. Its POSTs are refused from
	// another origin as the API's are.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api := h.api()
		if api == nil {
			w.Header().Set("Retry-After", "2")
			http.Error(w, "starting: waiting for nats", http.StatusServiceUnavailable)
			return
		}
		api.ServeHTTP(w, r)
	})
	srv, err := webserve.Listen(webserve.Config{Listen: hc.Listen, WebConfigFile: hc.WebConfigFile, Handler: mux}, log)
	if err != nil {
		return nil, err
	}
	return &opsServer{srv: srv, log: log}, nil
}

// serve serves until shutdown is called.
func (s *opsServer) serve() {
	if err := s.srv.Serve(); err != nil {
		s.log.Error("http server stopped", zap.Error(err))
	}
}

// shutdown stops the server, letting requests in flight finish for at most timeout.
func (s *opsServer) shutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.log.Warn("http shutdown", zap.Error(err))
	}
}
