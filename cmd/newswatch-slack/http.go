package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/internal/webserve"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 3 * time.Second

// httpConfig is what the bridge's endpoints serve, and where.
type httpConfig struct {
	listen        string
	webConfigFile string // TLS and basic auth in the exporter-toolkit format; "" = none
	ready         func(context.Context) error
	registry      *prometheus.Registry
}

// serveHTTP starts /healthz, /readyz and /metrics and returns a function that shuts the server
// down within ctx.
func serveHTTP(cfg httpConfig, log *zap.Logger) (func(context.Context) error, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := cfg.ready(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.registry, promhttp.HandlerOpts{Registry: cfg.registry}))
	srv, err := webserve.Listen(webserve.Config{Listen: cfg.listen, WebConfigFile: cfg.webConfigFile, Handler: mux}, log)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(); err != nil {
			log.Error("http server stopped", zap.Error(err))
		}
	}()
	log.Info("http listening", zap.String("addr", srv.Addr().String()), zap.String("web_config_file", cfg.webConfigFile))
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		<-done
		return err
	}, nil
}
