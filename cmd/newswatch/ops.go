package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/internal/buildinfo"
)

// opsServer serves /healthz, /readyz, /metrics and POST /-/reload on http.listen.
type opsServer struct {
	srv *http.Server
	ln  net.Listener
	log *zap.Logger
}

// opsHandlers are what the endpoints ask of the daemon.
type opsHandlers struct {
	registry *prometheus.Registry
	ready    func(ctx context.Context) error // nil error: ready
	reload   func() error
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

// listenOps binds addr; it is a separate step so that the daemon fails to start on a taken port.
func listenOps(addr string, h opsHandlers, log *zap.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
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
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, _ *http.Request) {
		if err := h.reload(); err != nil {
			http.Error(w, "reload failed: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "reloaded")
	})
	return &opsServer{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		ln:  ln,
		log: log,
	}, nil
}

// serve serves until shutdown is called.
func (s *opsServer) serve() {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
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

type healthcheckCmd struct {
	URL string `default:"http://127.0.0.1:9780/readyz" help:"The readiness endpoint to ask."`
}

// Run exits 0 when the endpoint answers 200 within a few seconds, 1 otherwise.
func (c healthcheckCmd) Run(e *env) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: healthcheck: %v\n", err)
		return exitError{1}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "newswatch: healthcheck: %s answered %s\n", c.URL, resp.Status)
		return exitError{1}
	}
	return nil
}
