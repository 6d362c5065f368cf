package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/internal/buildinfo"
	"github.com/newswatch/newswatch/internal/logging"
	"github.com/newswatch/newswatch/internal/webserve"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/slack"
)

type runCmd struct {
	Server        string `name:"server" short:"s" aliases:"nats-url" default:"nats://127.0.0.1:4222" env:"NEWSWATCH_SLACK_SERVER,NEWSWATCH_SLACK_NATS_URL,NATS_URL" help:"NATS server(s) with the alert stream, comma-separated (--nats-url is its old name)."`
	Creds         string `name:"creds" type:"existingfile" env:"NEWSWATCH_SLACK_CREDS,NATS_CREDS" help:"NATS credentials file: newswatch's <store_dir>/credentials/bridge.creds for its embedded server."`
	NATSCredsFile string `name:"nats-creds-file" type:"existingfile" hidden:"" help:"Old name of --creds."`
	SubjectPrefix string `name:"subject-prefix" default:"newswatch" help:"newswatch's subject prefix (nats.subject_prefix)."`
	AlertStream   string `name:"alert-stream" default:"NEWSWATCH_ALERTS" help:"The alert stream (nats.alert_stream)."`
	Durable       string `name:"durable" default:"newswatch_slack" help:"Name of the durable consumer; bridges with the same name share the work."`
	Start         string `name:"start" default:"new" help:"Where a new consumer starts: new, all, or a duration such as 24h."`

	TokenFile      string `name:"token-file" type:"path" help:"File holding the bot token (xoxb-...), for chat.postMessage; scopes chat:write, channels:history and channels:read (groups:* for private channels)."`
	WebhookURLFile string `name:"webhook-url-file" type:"path" help:"File holding an incoming webhook URL, instead of a bot token."`
	APIURL         string `name:"api-url" default:"https://slack.com/api/" help:"Base URL of the Slack Web API."`

	Route          []string `name:"route" sep:" " placeholder:"RULE[/FEED]=CHANNEL[,CHANNEL]" help:"Route the alerts of matching rules and feeds (ids or * globs) to channels; repeatable, or space-separated."`
	DefaultChannel string   `name:"default-channel" help:"Channel for the alerts that no route matches."`
	DigestRules    []string `name:"digest-rules" sep:" " placeholder:"RULE" help:"Rules (ids or * globs) whose deliveries the bridge posts: their single alerts are posted only as the daemon delivers them at once, which for mode digest is never (mode budget: the first max of each window), besides their notices and digests; repeatable, or space-separated."`
	Group          string   `name:"group" default:"stories" help:"One message per story and channel (stories: later alerts of the story update it) or per item and channel (items)."`
	Threads        bool     `name:"threads" help:"With --group stories, also post each later source of a story as a reply in its message's thread."`

	Rate              float64       `name:"rate" default:"1" help:"Messages per second to one channel."`
	Burst             int           `name:"burst" default:"3" help:"Messages one channel may get at once after a quiet spell."`
	MaxInFlight       int           `name:"max-in-flight" default:"64" help:"Alerts handled at once."`
	PostTimeout       time.Duration `name:"post-timeout" default:"15s" help:"Bound of one request to Slack."`
	DeadLetterSubject string        `name:"dead-letter-subject" help:"Subject prefix of dead letters (default <subject-prefix>.slack.dead)."`

	HTTPListen      string        `name:"http-listen" default:"127.0.0.1:9781" help:"Address of /healthz, /readyz and /metrics; empty: off."`
	WebConfigFile   string        `name:"web-config-file" type:"path" help:"TLS and basic auth of the HTTP endpoints, in the Prometheus exporter-toolkit web configuration format."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"10s" help:"How long SIGTERM lets posts in flight finish."`
}

func (r runCmd) Run(e *env) error {
	log, err := logging.New(e.stderr, e.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	fail := func(err error) error {
		log.Error("cannot start", zap.Error(err))
		return exitError{1}
	}

	poster, err := r.poster()
	if err != nil {
		return fail(err)
	}
	if err := webserve.Validate(r.WebConfigFile); err != nil {
		return fail(err)
	}
	start, err := slack.ParseStart(r.Start)
	if err != nil {
		return fail(err)
	}
	group, err := slack.ParseGroup(r.Group)
	if err != nil {
		return fail(err)
	}
	routes := make([]slack.Route, 0, len(r.Route))
	var given []string // the text of each route, for its errors
	for _, s := range r.Route {
		if strings.TrimSpace(s) == "" {
			continue
		}
		rt, err := slack.ParseRoute(s)
		if err != nil {
			return fail(err)
		}
		routes, given = append(routes, rt), append(given, s)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cl := &connectLog{log: log, url: r.Server}
	defer cl.stop() // after the connection is closed
	nc, err := r.connect(log, cl)
	if err != nil {
		return fail(err)
	}
	defer r.closeNATS(nc, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b, err := slack.New(slack.Config{
		Conn:              nc,
		SubjectPrefix:     r.SubjectPrefix,
		AlertStream:       r.AlertStream,
		Durable:           r.Durable,
		Start:             start,
		DeadLetterSubject: r.DeadLetterSubject,
		Poster:            poster,
		Routes:            routes,
		DefaultChannel:    r.DefaultChannel,
		DigestRules:       r.DigestRules,
		Group:             group,
		Threads:           r.Threads,
		Rate:              r.Rate,
		Burst:             r.Burst,
		MaxInFlight:       r.MaxInFlight,
		PostTimeout:       r.PostTimeout,
		DrainTimeout:      r.ShutdownTimeout,
		Registerer:        reg,
	}, log.Named("bridge"))
	if err != nil {
		return fail(flagError(err, given))
	}
	if r.HTTPListen != "" {
		shutdown, err := serveHTTP(httpConfig{listen: r.HTTPListen, webConfigFile: r.WebConfigFile, ready: b.Ready, registry: reg}, log.Named("http"))
		if err != nil {
			return fail(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(sctx); err != nil {
				log.Warn("http shutdown", zap.Error(err))
			}
		}()
	}

	ver, _ := buildinfo.Version()
	log.Info("starting", zap.String("version", ver), zap.String("nats", notifier.RedactURL(r.Server)),
		zap.Int("routes", len(routes)), zap.String("default_channel", r.DefaultChannel), zap.Stringer("group", group), zap.Bool("threads", r.Threads))
	if err := b.Run(ctx); err != nil {
		log.Error("bridge stopped", zap.Error(err))
		return exitError{1}
	}
	log.Info("stopped")
	return nil
}

// poster builds the transport from exactly one of the two secret files.
func (r runCmd) poster() (slack.Poster, error) {
	switch {
	case r.TokenFile != "" && r.WebhookURLFile != "":
		return nil, errors.New("--token-file and --webhook-url-file exclude each other")
	case r.TokenFile != "":
		token, err := readSecret(r.TokenFile)
		if err != nil {
			return nil, err
		}
		return slack.NewBotPoster(slack.BotConfig{Token: token, APIURL: r.APIURL})
	case r.WebhookURLFile != "":
		u, err := readSecret(r.WebhookURLFile)
		if err != nil {
			return nil, err
		}
		return slack.NewWebhookPoster(slack.WebhookConfig{URL: u})
	}
	return nil, errors.New("one of --token-file and --webhook-url-file is required")
}

// readSecret reads a secret file, without its surrounding white space.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// connectLog logs the failures to connect to NATS when their cause changes, until stop: nats.go
// calls it from a goroutine of its own that may outlive the connection.
type connectLog struct {
	log *zap.Logger
	url string

	mu      sync.Mutex
	last    string
	stopped bool
}

func (l *connectLog) failed(err error) {
	msg := (&notifier.ConnectError{URL: notifier.RedactURL(l.url), Err: err}).Error()
	l.mu.Lock()
	defer l.mu.Unlock()
	if msg != l.last && !l.stopped {
		l.log.Warn(msg + "; retrying")
		l.last = msg
	}
}

func (l *connectLog) connected() {
	l.mu.Lock()
	l.last = ""
	l.mu.Unlock()
}

func (l *connectLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// connect dials NATS and keeps reconnecting forever, also when the first attempt fails; each
// failure to connect is logged when its cause changes, saying what happened, until cl.stop.
func (r runCmd) connect(log *zap.Logger, cl *connectLog) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { cl.failed(err) }),
		nats.Name("newswatch-slack"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", zap.String("server", c.ConnectedUrlRedacted()))
			cl.connected()
		}),
	}
	if creds := cmp.Or(r.Creds, r.NATSCredsFile); creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(r.Server, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", notifier.RedactURL(r.Server), err)
	}
	return nc, nil
}

// closeNATS drains the connection, so that the last acknowledgements reach the server.
func (r runCmd) closeNATS(nc *nats.Conn, log *zap.Logger) {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		log.Warn("nats drain took too long; closing")
		nc.Close()
	}
}

// flags are the flags of the fields of slack.Config that the command sets.
var flags = map[string]string{
	"SubjectPrefix":     "--subject-prefix",
	"AlertStream":       "--alert-stream",
	"Durable":           "--durable",
	"PostedBucket":      "--durable", // <durable>_posted
	"DeadLetterSubject": "--dead-letter-subject",
	"DeadLetterStream":  "--dead-letter-subject", // derived from it
	"DefaultChannel":    "--default-channel",
	"Start":             "--start",
	"Group":             "--group",
	"Rate":              "--rate",
	"Burst":             "--burst",
	"MaxInFlight":       "--max-in-flight",
	"PostTimeout":       "--post-timeout",
	"DrainTimeout":      "--shutdown-timeout",
}

// flagError names the flag of a configuration error of the bridge instead of its Go field;
// routes are the texts of the routes given.
func flagError(err error, routes []string) error {
	ce, ok := errors.AsType[*slack.ConfigError](err)
	if !ok {
		return err
	}
	switch {
	case ce.Field == "Routes":
		return errors.New("no --route and no --default-channel: nothing would be posted")
	case ce.Index >= 0 && ce.Index < len(routes):
		return fmt.Errorf("--route %q: %s", routes[ce.Index], ce.Reason)
	}
	if flag, ok := flags[ce.Field]; ok {
		return fmt.Errorf("%s: %s", flag, ce.Reason)
	}
	return err
}
