package notifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
)

// embeddedServerName is fixed so that the JetStream store is recognised across restarts.
const embeddedServerName = "newswatch"

// startEmbedded starts a JetStream-enabled nats-server in this process, which admits only the
// users that a signs, and waits until it accepts connections, at most cfg.ReadyTimeout and never
// past ctx.
func startEmbedded(ctx context.Context, cfg EmbeddedConfig, a *auth, log *zap.Logger) (*server.Server, error) {
	opts := &server.Options{
		ServerName:       embeddedServerName,
		JetStream:        true,
		StoreDir:         cfg.StoreDir,
		SyncAlways:       cfg.SyncAlways,
		NoSigs:           true,
		DontListen:       cfg.Listen == "",
		TrustedOperators: []*jwt.OperatorClaims{a.operator},
		AccountResolver:  a.resolver,
		SystemAccount:    a.systemAcc,
		// A client's CONNECT carries its user JWT, which lists the role's permissions: the
		// subscriber's (four streams read alike) is past the default limit of 4 KiB.
		MaxControlLine: 16 << 10,
	}
	if cfg.Listen != "" {
		host, port, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen: %w", err)
		}
		if port == 0 {
			port = server.RANDOM_PORT // for nats-server, 0 means its default port 4222
		}
		opts.Host, opts.Port = host, port
		if !loopback(host) {
			log.Warn("the embedded nats server listens beyond loopback without TLS: alerts and JetStream traffic cross the network in clear",
				zap.String("listen", cfg.Listen), zap.Bool("allow_insecure", cfg.AllowInsecure))
		}
	}
	if from, err := adoptStore(cfg.StoreDir, a.account); err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	} else if from != "" {
		log.Warn("jetstream data moved to the account of the credentials", zap.String("from_account", from),
			zap.String("account", a.account), zap.String("store_dir", cfg.StoreDir))
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	logs := &serverLog{log: log.Named("nats-server")}
	srv.SetLoggerV2(logs, false, false, false)
	go srv.Start()

	if err := waitReady(ctx, srv, cfg.ReadyTimeout, logs); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats: jetstream did not start (store %s): %w", cfg.StoreDir, logs.failure())
	}
	return srv, nil
}

// loopback reports whether host names only loopback addresses: "localhost" or a loopback IP.
// An empty host is every interface.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// waitReady waits until srv accepts connections, giving up after timeout, when ctx is done,
// or as soon as the server reports a fatal error (a taken port, an unusable store).
func waitReady(ctx context.Context, srv *server.Server, timeout time.Duration, logs *serverLog) error {
	deadline := time.Now().Add(timeout)
	for {
		if srv.ReadyForConnections(readyPoll) {
			return nil
		}
		if logs.failed() {
			return fmt.Errorf("embedded nats: %w", logs.failure())
		}
		if ctx.Err() != nil {
			return fmt.Errorf("embedded nats not ready: %w", context.Cause(ctx))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embedded nats not ready within %s", timeout)
		}
	}
}

// readyPoll is how often waitReady looks at the server's fatal errors and the context.
const readyPoll = 50 * time.Millisecond

// embeddedURL is the URL at which other processes reach srv, "" when it has no listener.
// A wildcard listen address is reported as 127.0.0.1, which a local client can dial (Go
// listens on both IPv4 and IPv6 for a wildcard).
func embeddedURL(srv *server.Server) string {
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok || addr == nil {
		return ""
	}
	ip := addr.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "nats://" + net.JoinHostPort(ip.String(), strconv.Itoa(addr.Port))
}

// serverLog routes the embedded server's warnings and errors to zap and drops its notices (the
// banner, every start and stop step) and debug lines, which say nothing a user of the daemon
// acts on. Fatal messages do not
// exit the process; the last one is kept to explain a failed start.
type serverLog struct {
	log *zap.Logger

	mu    sync.Mutex
	fatal string
}

func (l *serverLog) Noticef(string, ...any)         {}
func (l *serverLog) Warnf(format string, v ...any)  { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLog) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(string, ...any)          {}
func (l *serverLog) Tracef(string, ...any)          {}

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	l.mu.Lock()
	l.fatal = msg
	l.mu.Unlock()
}

// failed reports whether the server logged a fatal error.
func (l *serverLog) failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal != ""
}

// failure is the server's last fatal message as an error, or a generic one.
func (l *serverLog) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatal == "" {
		return errors.New("no error reported by the server")
	}
	return errors.New(l.fatal)
}
