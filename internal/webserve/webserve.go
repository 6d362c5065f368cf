// Package webserve serves the HTTP endpoints of the newswatch commands as Prometheus serves its
// own. TLS, basic auth (bcrypt hashes) and response headers come from a web configuration file
// in the exporter-toolkit format, through the toolkit itself, which reads the file again on every
// request and certificates on every connection: a changed password or certificate takes effect
// without a restart. A state-changing request from another origin (a form or a fetch of another
// site in a browser) is refused, so that no web page can act on an endpoint with the credentials
// a browser keeps.
//
// Shutdown may be called while Serve runs, from another goroutine; nothing here retries.
package webserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"golang.org/x/crypto/bcrypt"
)

// Config is what a Server serves, and where.
type Config struct {
	// Listen is the host:port to bind.
	Listen string
	// WebConfigFile is a web configuration in the exporter-toolkit format; "" serves plain HTTP
	// without authentication.
	WebConfigFile string
	// Handler serves every request that passed authentication and the cross-origin check.
	Handler http.Handler
}

// Server is an HTTP server bound to its address, not serving yet.
type Server struct {
	srv       *http.Server
	ln        net.Listener
	webConfig string
	slog      *slog.Logger
}

// readHeaderTimeout bounds a request's TLS handshake and headers, so that idle or slow clients
// cannot hold connections open.
const readHeaderTimeout = 10 * time.Second

// Validate reads the web configuration file and the certificates it names, and checks its
// password hashes are bcrypt hashes; "" is valid. The error names the file.
func Validate(path string) error {
	if path == "" {
		return nil
	}
	err := web.Validate(path)
	if _, ok := errors.AsType[bcrypt.InvalidHashPrefixError](err); ok || errors.Is(err, bcrypt.ErrHashTooShort) {
		err = fmt.Errorf("%w (basic_auth_users takes bcrypt hashes, not passwords)", err)
	}
	if err != nil {
		return fmt.Errorf("web config file %s: %w", path, err)
	}
	return nil
}

// Listen validates the web configuration file and binds cfg.Listen, so that a bad file or a
// taken port fails before anything else starts.
func Listen(cfg Config, log *zap.Logger) (*Server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("webserve: no handler")
	}
	if err := Validate(cfg.WebConfigFile); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.Listen, err)
	}
	return &Server{
		srv:       &http.Server{Handler: sameOrigin(cfg.Handler, log), ReadHeaderTimeout: readHeaderTimeout},
		ln:        ln,
		webConfig: cfg.WebConfigFile,
		slog:      slog.New(zapslog.NewHandler(log.Core(), zapslog.WithName(log.Name()))),
	}, nil
}

// sameOrigin refuses with 403 the unsafe requests (POST and the rest) that a browser sends from
// another origin, told by Sec-Fetch-Site or by an Origin other than the Host. Requests without
// those headers (curl, Prometheus, systemd's ExecReload) pass.
func sameOrigin(h http.Handler, log *zap.Logger) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			log.Warn("cross-origin request refused", zap.String("method", r.Method),
				zap.String("path", r.URL.Path), zap.String("remote", r.RemoteAddr),
				zap.String("origin", r.Header.Get("Origin")), zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
			http.Error(w, "cross-origin request refused: "+err.Error(), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Addr is the address the server is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown, then returns nil; an error is a web configuration file that
// stopped validating since Listen, or the listener failing.
func (s *Server) Serve() error {
	defer s.ln.Close() // when the toolkit fails before it serves
	flags := &web.FlagConfig{WebConfigFile: &s.webConfig, WebListenAddresses: &[]string{s.ln.Addr().String()}}
	err := web.Serve(s.ln, s.srv, flags, s.slog)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the server, letting requests in flight finish until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
