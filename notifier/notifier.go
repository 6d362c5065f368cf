// Package notifier owns everything newswatch does with NATS: connecting to a server or running
// an embedded one, provisioning the JetStream streams and the KV bucket, the CloudEvents alert
// format, publishing alerts with de-duplication (Alerts), the poll work queue (JobQueue), the
// feed state store with compare-and-swap (StateStore) and feed-health events (Health).
//
// A Notifier and the values it hands out are safe for concurrent use. The connection reconnects
// forever; Open retries provisioning until its context ends, JobQueue.Consume retries its pulls
// through outages, and a failed job is redelivered by JetStream. Alerts.Publish retries
// transient failures until its context ends and reports alerts the server refuses for good as
// ErrRejected. Enqueue and the StateStore do not retry: they report the failure and the caller
// decides, because every one of them is safe to repeat.
//
// A stream or the bucket deleted under a running Notifier is re-created with its configuration,
// empty, and logged at error level: by the first operation that fails on it (Publish, Enqueue,
// the StateStore, a pull), once a stream info confirms that it is gone, after which the
// operation is done again; and by the next poll job in any case. Ready reports it missing
// meanwhile.
package notifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

const (
	// pubAckTimeout forgets an async publish that was never acknowledged, so that a caller that
	// gave up waiting does not leave it pending forever.
	pubAckTimeout = time.Minute
	// pubAsyncMaxPending is the connection's limit of PubAcks awaited at once, for every worker.
	pubAsyncMaxPending = 16384
)

// Notifier is a connection to NATS with newswatch's streams provisioned.
type Notifier struct {
	cfg   Config
	log   *zap.Logger
	srv   *server.Server // nil with an external server
	auth  *auth          // the embedded server's credentials; nil with an external server
	nc    *nats.Conn
	js    jetstream.JetStream
	names names
	store *store

	alerts  *Alerts
	archive *Archive // nil when disabled
	ledger  *Ledger  // nil when the archive is disabled
	stories *Stories // nil when the archive is disabled

	deliveries *Deliveries
	state      *StateStore
	jobs       *JobQueue
	health     *Health

	closed    chan struct{} // closed when the connection is closed
	closeOnce sync.Once
	closeErr  error
}

// Open validates cfg, starts the embedded server when cfg.URL is empty, connects, and creates or
// updates the alert stream, the poll stream and the feed-state bucket. While the server does not
// answer, Open retries until ctx is done; ctx bounds the whole of it.
func Open(ctx context.Context, cfg Config, log *zap.Logger) (*Notifier, error) {
	if log == nil {
		return nil, fmt.Errorf("%w: logger is nil", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg, log: log, names: newNames(cfg), closed: make(chan struct{})}
	if cfg.URL == "" {
		dir := CredentialsDir(cfg.Embedded.StoreDir)
		a, err := loadAuth(dir, n.names)
		if err != nil {
			return nil, err
		}
		files := make([]string, len(Roles))
		for i, role := range Roles {
			files[i] = CredsFile(cfg.Embedded.StoreDir, role)
		}
		log.Info("nats credentials", zap.String("dir", dir), zap.Strings("files", files), zap.Strings("written", roleNames(a.written)))
		srv, err := startEmbedded(ctx, cfg.Embedded, a, log)
		if err != nil {
			return nil, err
		}
		n.srv, n.auth = srv, a
	}
	if err := n.connect(); err != nil {
		n.shutdownServer()
		return nil, err
	}
	n.store = &store{js: n.js, cfg: cfg, names: n.names, log: log}
	kv, err := n.store.provision(ctx)
	if err != nil {
		n.nc.Close()
		n.shutdownServer()
		return nil, err
	}
	n.alerts = &Alerts{prefix: cfg.SubjectPrefix, pub: &publisher{js: n.js, stream: n.names.alertStream, resource: alertStream,
		store: n.store, published: m.alerts.published, duration: m.alerts.duration}}
	if !cfg.Archive.Disabled {
		n.ledger = &Ledger{kv: n.store.ledgerKV}
		n.stories = &Stories{prefix: cfg.SubjectPrefix, pub: &publisher{js: n.js, stream: n.names.storyStream, resource: storyStream,
			store: n.store, published: m.stories.published, duration: m.stories.duration}}
		n.archive = &Archive{prefix: cfg.SubjectPrefix, pub: &publisher{js: n.js, stream: n.names.itemStream, resource: itemStream,
			store: n.store, published: m.archive.published, duration: m.archive.duration}}
	}
	n.state = &StateStore{kv: kv, store: n.store, res: stateBucket}
	n.deliveries = &Deliveries{prefix: cfg.SubjectPrefix, js: n.js, log: log.Named("deliveries"), alertStream: n.names.alertStream,
		state: &StateStore{kv: n.store.deliveryKV, store: n.store, res: deliveryBucket},
		pub: &publisher{js: n.js, stream: n.names.delivery, resource: deliveryStream, store: n.store,
			published: m.deliveries.published, duration: m.deliveries.duration}}
	n.health = &Health{nc: n.nc, prefix: cfg.SubjectPrefix}
	n.jobs = &JobQueue{js: n.js, names: n.names, cfg: cfg.Jobs, log: log.Named("jobs"), stream: n.names.pollStream, store: n.store, shared: n.srv == nil}
	log.Info("nats ready", zap.String("url", n.redactedURL()), zap.Bool("embedded", n.srv != nil),
		zap.String("alert_stream", n.names.alertStream), zap.String("poll_stream", n.names.pollStream),
		zap.String("state_bucket", n.names.stateBucket))
	return n, nil
}

// connect dials the server with options that survive outages (see connectOptions).
func (n *Notifier) connect() error {
	var once sync.Once
	opts := connectOptions(n.cfg.Name, n.cfg.CredsFile, n.log, func() { once.Do(func() { close(n.closed) }) })
	opts = append(opts, n.cfg.TLS.options()...)
	opts = append(opts, nats.CustomInboxPrefix(daemonInboxPrefix))
	url := n.cfg.URL
	if n.srv != nil {
		url = ""
		opts = append(opts, nats.InProcessServer(n.srv), nats.UserJWTAndSeed(n.auth.daemonJWT, string(n.auth.daemonSeed)))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", n.redactedURL(), err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(pubAckTimeout),
		jetstream.WithPublishAsyncMaxPending(pubAsyncMaxPending))
	if err != nil {
		nc.Close()
		return fmt.Errorf("jetstream: %w", err)
	}
	n.nc, n.js = nc, js
	return nil
}

// connectOptions are the options of every connection: reconnect forever, also when the first
// attempt fails, log every change of state, and call closed when the connection is closed.
func connectOptions(name, credsFile string, log *zap.Logger, closed func()) []nats.Option {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil { // our own Close or Drain
				log.Debug("nats disconnected")
				return
			}
			log.Warn("nats disconnected", zap.Error(err))
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", zap.String("server", RedactURL(c.ConnectedUrlRedacted())))
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			log.Debug("nats connection closed")
			closed()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			fields := []zap.Field{zap.Error(err)}
			if sub != nil {
				fields = append(fields, zap.String("subject", sub.Subject))
			}
			log.Warn("nats async error", fields...)
		}),
	}
	if credsFile != "" {
		opts = append(opts, nats.UserCredentials(credsFile))
	}
	return opts
}

func roleNames(roles []Role) []string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return s
}

// Alerts publishes alerts to the alert stream.
func (n *Notifier) Alerts() *Alerts { return n.alerts }

// State is the feed state store.
func (n *Notifier) State() *StateStore { return n.state }

// Jobs is the poll work queue.
func (n *Notifier) Jobs() *JobQueue { return n.jobs }

// Health publishes feed-health events.
func (n *Notifier) Health() *Health { return n.health }

// Conn is the underlying connection, for tests and `tail`.
func (n *Notifier) Conn() *nats.Conn { return n.nc }

// ClientURL is the URL that other local processes can connect to: the embedded server's real
// listener address (with the port the kernel chose), the configured URL of an external server
// (which may carry credentials), or "" for an embedded server without a listener.
func (n *Notifier) ClientURL() string {
	if n.srv != nil {
		return embeddedURL(n.srv)
	}
	return n.cfg.URL
}

// CredsFile is the credentials file of role for the embedded server, "" with an external one.
func (n *Notifier) CredsFile(role Role) string {
	if n.srv == nil {
		return ""
	}
	return CredsFile(n.cfg.Embedded.StoreDir, role)
}

// Ready reports whether the connection is up, JetStream answers, and the alert stream, the poll
// stream and the state bucket exist. It only looks: a missing one is re-created by the next
// operation that needs it or the next poll job. Whether they exist is asked at most once a
// second, however often Ready is called.
func (n *Notifier) Ready(ctx context.Context) error {
	if st := n.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats not ready: connection %s", st)
	}
	if _, err := n.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("nats not ready: jetstream: %w", err)
	}
	gone, err := n.store.missing(ctx)
	if len(gone) > 0 {
		what := make([]string, len(gone))
		for i, r := range gone {
			what[i] = n.store.describe(r)
		}
		return fmt.Errorf("nats not ready: %s missing; re-created at the next poll", strings.Join(what, ", "))
	}
	if err != nil {
		return fmt.Errorf("nats not ready: %w", err)
	}
	return nil
}

// Close drains the connection (letting pending publishes and acknowledgements finish), then
// shuts the embedded server down. It is bounded by ctx: when ctx ends first, the connection is
// closed at once and Close reports ctx's cause. Calls after the first return the first's result.
func (n *Notifier) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		var errs []error
		if err := n.nc.Drain(); err != nil {
			n.nc.Close()
			if !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrConnectionReconnecting) {
				errs = append(errs, fmt.Errorf("drain nats connection: %w", err))
			}
		}
		select {
		case <-n.closed:
		case <-ctx.Done():
			n.nc.Close()
			errs = append(errs, fmt.Errorf("drain nats connection: %w", context.Cause(ctx)))
		}
		if n.srv != nil {
			if err := n.shutdownServerCtx(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// shutdownServerCtx shuts the embedded server down and waits for it, at most until ctx is done.
func (n *Notifier) shutdownServerCtx(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		n.shutdownServer()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shut down embedded nats: %w", context.Cause(ctx))
	}
}

func (n *Notifier) shutdownServer() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// redactedURL names the server for logs and errors without credentials.
func (n *Notifier) redactedURL() string {
	if n.srv != nil {
		if u := embeddedURL(n.srv); u != "" {
			return u
		}
		return "in-process"
	}
	return RedactURL(n.cfg.URL)
}
