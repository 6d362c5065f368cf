package notifier

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrInvalidConfig is wrapped by every error that Open returns for a Config that does not validate.
var ErrInvalidConfig = errors.New("notifier: invalid config")

// Config says where NATS is and how newswatch's streams are named. The zero values of the
// fields marked "optional" select the documented defaults; every other field is required.
type Config struct {
	// URL of an external NATS server or cluster (comma-separated); "" runs an embedded server.
	URL string
	// CredsFile is a NATS credentials file for the external server; optional.
	CredsFile string
	// TLS configures the connection to the external server; optional.
	TLS TLSConfig
	// Embedded configures the embedded server; used only when URL is "".
	Embedded EmbeddedConfig
	// SubjectPrefix is the first subject token(s) of everything newswatch publishes, e.g. "newswatch".
	SubjectPrefix string
	// AlertStream is the name of the JetStream stream that stores alerts, e.g. "NEWSWATCH_ALERTS".
	AlertStream string
	// DuplicateWindow is the alert stream's de-duplication window.
	DuplicateWindow time.Duration
	// Name is the client connection name shown by the server; optional.
	Name string
	// Replicas of every stream and of the KV bucket; optional: 0 chooses at connection, 3 when
	// the server is in a cluster that has at least three servers, else 1.
	Replicas int
	// AlertMaxAge bounds how long alerts are kept; optional, 0 keeps them until removed by hand.
	// When set it must be at least DuplicateWindow.
	AlertMaxAge time.Duration
	// AlertMaxBytes bounds the alert stream's size, the oldest alerts removed first; optional,
	// 0 keeps them until removed by hand.
	AlertMaxBytes int64
	// Jobs tunes the poll work queue; optional.
	Jobs JobsConfig
	// Archive configures the item archive; optional, on by default.
	Archive ArchiveConfig
	// Registerer takes the notifier's Prometheus metrics; optional, nil: not registered.
	Registerer prometheus.Registerer
}

// TLSConfig names the files of a TLS connection to an external server.
type TLSConfig struct {
	CAFile   string // the server's CA, when it is not in the system's pool; optional
	CertFile string // a client certificate; optional, with KeyFile
	KeyFile  string
}

// options are the nats.go options of the files that are set.
func (t TLSConfig) options() []nats.Option {
	var opts []nats.Option
	if t.CAFile != "" {
		opts = append(opts, nats.RootCAs(t.CAFile))
	}
	if t.CertFile != "" {
		opts = append(opts, nats.ClientCert(t.CertFile, t.KeyFile))
	}
	return opts
}

// EmbeddedConfig configures the embedded NATS server.
type EmbeddedConfig struct {
	// Listen is the client listener "host:port" (port 0: a free port chosen by the kernel), or ""
	// for no listener: newswatch then talks to the server in-process and nothing else can.
	Listen string
	// StoreDir is the directory of the JetStream file store; required.
	StoreDir string
	// SyncAlways flushes every write to disk before it is acknowledged (nats-server's
	// sync_always); optional, off: writes are flushed every two minutes.
	SyncAlways bool
	// ReadyTimeout bounds the server start (optional, 30s); the context given to Open bounds it too.
	ReadyTimeout time.Duration
	// AllowInsecure permits a Listen address other than loopback without TLS; such a listener
	// is logged at warn level either way.
	AllowInsecure bool
}

// ArchiveConfig configures the item archive: the stream that keeps every new item once, for
// backtests and backfills.
type ArchiveConfig struct {
	// Disabled turns the archive off: no item is published and the stream is not created (one
	// that exists is left as it is).
	Disabled bool
	// Stream is the stream's name; optional, "NEWSWATCH_ITEMS".
	Stream string
	// MaxAge bounds how long items are kept; optional, 0 keeps them until MaxBytes or by hand.
	// When set it must be at least DuplicateWindow.
	MaxAge time.Duration
	// MaxBytes bounds the stream's size, the oldest items removed first; optional, 0: no bound.
	MaxBytes int64
}

// DefaultArchiveStream is the item archive's stream when ArchiveConfig.Stream is empty.
const DefaultArchiveStream = "NEWSWATCH_ITEMS"

// JobsConfig tunes the poll work queue.
type JobsConfig struct {
	// AckWait is how long a job may go without an acknowledgement or a heartbeat before the
	// server delivers it again (optional, 1m). Handlers in flight send heartbeats every AckWait/3.
	AckWait time.Duration
	// RetryDelay is how long a job whose handler failed waits before its next delivery (optional, 5s).
	RetryDelay time.Duration
	// MaxDeliver is how many times a job is delivered before it is given up (optional, 10): its
	// last failure removes it, and so does a delivery past it (the last ended with no answer: its
	// process died), so that the feed's next slot is queued. The server itself delivers without
	// limit.
	MaxDeliver int
	// DuplicateWindow is the poll stream's de-duplication window: every replica enqueues every
	// slot, so it must cover the clock skew and tick jitter between replicas, and the slot a
	// replica enqueues when it starts (optional, 15m). A copy enqueued later polls nothing (its
	// slot is done in the feed's state) but holds the feed's place in the queue meanwhile.
	// With the embedded server, whose one replica enqueues each slot once, jobs carry no id.
	DuplicateWindow time.Duration
	// MaxAge drops jobs that no worker took for this long (optional, 24h).
	MaxAge time.Duration
}

const (
	defaultReadyTimeout     = 30 * time.Second
	defaultAckWait          = time.Minute
	defaultRetryDelay       = 5 * time.Second
	defaultMaxDeliver       = 10
	defaultJobDupWindow     = 15 * time.Minute
	defaultJobMaxAge        = 24 * time.Hour
	maxReplicas             = 5
	defaultConnectionPrefix = "newswatch"
)

// withDefaults returns cfg with the optional zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Replicas == 0 && cfg.URL == "" {
		cfg.Replicas = 1
	}
	if cfg.Name == "" {
		cfg.Name = defaultConnectionPrefix
	}
	if cfg.Embedded.ReadyTimeout == 0 {
		cfg.Embedded.ReadyTimeout = defaultReadyTimeout
	}
	if cfg.Archive.Stream == "" {
		cfg.Archive.Stream = DefaultArchiveStream
	}
	j := &cfg.Jobs
	if j.AckWait == 0 {
		j.AckWait = defaultAckWait
	}
	if j.RetryDelay == 0 {
		j.RetryDelay = defaultRetryDelay
	}
	if j.MaxDeliver == 0 {
		j.MaxDeliver = defaultMaxDeliver
	}
	if j.DuplicateWindow == 0 {
		j.DuplicateWindow = defaultJobDupWindow
	}
	if j.MaxAge == 0 {
		j.MaxAge = defaultJobMaxAge
	}
	return cfg
}

// validate reports the first field that is missing or out of range. It expects withDefaults.
func (cfg Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if err := validPrefix(cfg.SubjectPrefix); err != nil {
		return bad("SubjectPrefix", "%v", err)
	}
	if !validStreamName(cfg.AlertStream) {
		return bad("AlertStream", "%q is not a stream name (letters, digits, '-' and '_')", cfg.AlertStream)
	}
	if cfg.DuplicateWindow <= 0 {
		return bad("DuplicateWindow", "must be positive, got %s", cfg.DuplicateWindow)
	}
	if cfg.AlertMaxBytes < 0 {
		return bad("AlertMaxBytes", "must not be negative, got %d", cfg.AlertMaxBytes)
	}
	if cfg.AlertMaxAge < 0 || (cfg.AlertMaxAge > 0 && cfg.AlertMaxAge < cfg.DuplicateWindow) {
		return bad("AlertMaxAge", "must be 0 or at least DuplicateWindow (%s), got %s", cfg.DuplicateWindow, cfg.AlertMaxAge)
	}
	if a := cfg.Archive; !a.Disabled {
		switch {
		case !validStreamName(a.Stream) || a.Stream == cfg.AlertStream:
			return bad("Archive.Stream", "%q is not a stream name of its own (letters, digits, '-' and '_')", a.Stream)
		case a.MaxBytes < 0:
			return bad("Archive.MaxBytes", "must not be negative, got %d", a.MaxBytes)
		case a.MaxAge < 0 || (a.MaxAge > 0 && a.MaxAge < cfg.DuplicateWindow):
			return bad("Archive.MaxAge", "must be 0 or at least DuplicateWindow (%s), got %s", cfg.DuplicateWindow, a.MaxAge)
		}
	}
	if cfg.Replicas < 0 || cfg.Replicas > maxReplicas || cfg.URL == "" && cfg.Replicas != 1 {
		return bad("Replicas", "must be from 1 to %d (1 with the embedded server), or 0 to choose, got %d", maxReplicas, cfg.Replicas)
	}
	if cfg.URL == "" {
		if cfg.CredsFile != "" {
			return bad("CredsFile", "is for an external server, but URL is empty (embedded server)")
		}
		if cfg.TLS != (TLSConfig{}) {
			return bad("TLS", "is for an external server, but URL is empty (embedded server)")
		}
		if cfg.Embedded.StoreDir == "" {
			return bad("Embedded.StoreDir", "is required for the embedded server")
		}
		if cfg.Embedded.Listen != "" {
			host, _, err := splitListen(cfg.Embedded.Listen)
			if err != nil {
				return bad("Embedded.Listen", "%v", err)
			}
			if !loopback(host) && !cfg.Embedded.AllowInsecure {
				return bad("Embedded.Listen", "%q is not a loopback address, and the embedded server has no TLS: "+
					"keep nats.embedded.listen on loopback (127.0.0.1, ::1), or set nats.embedded.allow_insecure: true", cfg.Embedded.Listen)
			}
		}
		if cfg.Embedded.ReadyTimeout < 0 {
			return bad("Embedded.ReadyTimeout", "must be positive, got %s", cfg.Embedded.ReadyTimeout)
		}
	} else {
		for field, path := range map[string]string{"CredsFile": cfg.CredsFile, "TLS.CAFile": cfg.TLS.CAFile,
			"TLS.CertFile": cfg.TLS.CertFile, "TLS.KeyFile": cfg.TLS.KeyFile} {
			if path == "" {
				continue
			}
			if _, err := os.Stat(path); err != nil {
				return bad(field, "%v", err)
			}
		}
		if (cfg.TLS.CertFile == "") != (cfg.TLS.KeyFile == "") {
			return bad("TLS", "CertFile and KeyFile go together")
		}
	}
	j := cfg.Jobs
	switch {
	case j.AckWait < time.Second:
		return bad("Jobs.AckWait", "must be at least 1s, got %s", j.AckWait)
	case j.RetryDelay < 0:
		return bad("Jobs.RetryDelay", "must be positive, got %s", j.RetryDelay)
	case j.MaxDeliver < 1:
		return bad("Jobs.MaxDeliver", "must be positive, got %d", j.MaxDeliver)
	case j.DuplicateWindow <= 0:
		return bad("Jobs.DuplicateWindow", "must be positive, got %s", j.DuplicateWindow)
	case j.MaxAge < j.DuplicateWindow:
		return bad("Jobs.MaxAge", "must be at least Jobs.DuplicateWindow (%s), got %s", j.DuplicateWindow, j.MaxAge)
	}
	return nil
}

// splitListen parses "host:port" with a port from 0 to 65535.
func splitListen(listen string) (string, int, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port: %w", listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be a number from 0 to 65535", listen)
	}
	return host, port, nil
}

// validPrefix accepts one or more dot-separated subject tokens.
func validPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("is required")
	}
	for tok := range strings.SplitSeq(prefix, ".") {
		if !validToken(tok) {
			return fmt.Errorf("%q is not a subject prefix (dot-separated tokens without spaces, '*' or '>')", prefix)
		}
	}
	return nil
}

// validToken reports whether s can be one token of a subject: a feed id, a rule id.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f:
			return false
		}
	}
	return true
}

// validStreamName reports whether s is a safe stream, bucket or consumer name.
func validStreamName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// nameFromPrefix turns a subject prefix into a stream-name fragment: "acme.news" -> "acme_news".
func nameFromPrefix(prefix string) string {
	var b strings.Builder
	for _, r := range prefix {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
