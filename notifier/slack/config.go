package slack

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrInvalidConfig is wrapped by every error New returns for a Config that does not validate.
var ErrInvalidConfig = errors.New("slack: invalid config")

// Config configures a Bridge. The fields marked "optional" have documented defaults for their
// zero values; every other field is required.
type Config struct {
	// Conn is the NATS connection; the caller owns it and closes it after Run returned.
	Conn *nats.Conn
	// SubjectPrefix is newswatch's subject prefix, e.g. "newswatch": alerts arrive on
	// <prefix>.alert.<rule>.<feed>.
	SubjectPrefix string
	// AlertStream is the JetStream stream that holds the alerts, e.g. "NEWSWATCH_ALERTS".
	AlertStream string
	// Durable is the name of the durable consumer; optional, "newswatch_slack". Two bridges with
	// the same name share the work; with different names each posts every alert.
	Durable string
	// DigestRules are rule ids (or * globs) whose deliveries the bridge posts: their single
	// alerts are posted only as the daemon delivers them at once (the delivered alerts of the
	// delivery stream), which for mode digest is never and for mode budget is the first max of
	// each window; optional. Digests, notices and spikes are posted for every rule.
	DigestRules []string
	// Start says where a consumer that does not exist yet starts; optional, new alerts only.
	// An existing consumer keeps its position.
	Start Start
	// PostedBucket is the KV bucket that records the messages posted; optional, Durable+"_posted".
	PostedBucket string
	// PostedTTL is how long a posted message is remembered, and so how long after its first
	// delivery a redelivered alert is still recognised; optional, 30 days.
	PostedTTL time.Duration
	// DeadLetterSubject is the subject prefix of dead letters, which go to
	// <DeadLetterSubject>.<rule>.<feed>; optional, <SubjectPrefix>.slack.dead.
	DeadLetterSubject string
	// DeadLetterStream is the stream created to keep dead letters; optional, DeadLetterSubject in
	// upper case with "_" for ".", e.g. "NEWSWATCH_SLACK_DEAD". Bridges with different consumers
	// share it.
	DeadLetterStream string
	// Poster posts messages: a *BotPoster or a *WebhookPoster.
	Poster Poster
	// Group says what has one message in a channel: a story (GroupStories, the zero value) or
	// an item (GroupItems). Alerts without a story have one message per item either way.
	Group Group
	// Threads, with GroupStories, posts each later source of a story as a reply in the thread
	// of the story's message, besides counting it in the message. A webhook cannot reply in a
	// thread: with one, Threads changes nothing.
	Threads bool
	// Routes send alerts to channels; every matching route fires.
	Routes []Route
	// DefaultChannel gets the alerts that no route matches; optional when Routes is not empty.
	DefaultChannel string
	// Rate is the steady number of messages per second sent to one channel; optional, 1.
	Rate float64
	// Burst is how many messages one channel may get at once after a quiet spell; optional, 3.
	Burst int
	// MaxInFlight bounds the alerts being handled at once; optional, 64.
	MaxInFlight int
	// AckWait is how long JetStream waits for an acknowledgement or a heartbeat before it delivers
	// an alert again; optional, 30s. Alerts in flight send heartbeats every AckWait/3.
	AckWait time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a 5xx answer or a network error;
	// optional, 1s and 5m.
	RetryMin, RetryMax time.Duration
	// PostTimeout bounds one request to Slack; optional, 15s.
	PostTimeout time.Duration
	// DrainTimeout bounds how long Run, once its context is done, lets alerts in flight finish;
	// optional, 10s.
	DrainTimeout time.Duration
	// Registerer receives the bridge's metrics; optional, none.
	Registerer prometheus.Registerer
}

const (
	defaultDurable      = "newswatch_slack"
	defaultPostedTTL    = 30 * 24 * time.Hour
	defaultRate         = 1
	defaultBurst        = 3
	defaultMaxInFlight  = 64
	defaultAckWait      = 30 * time.Second
	defaultRetryMin     = time.Second
	defaultRetryMax     = 5 * time.Minute
	defaultPostTimeout  = 15 * time.Second
	defaultDrainTimeout = 10 * time.Second
)

func (cfg Config) withDefaults() Config {
	if cfg.Durable == "" {
		cfg.Durable = defaultDurable
	}
	if cfg.PostedBucket == "" {
		cfg.PostedBucket = cfg.Durable + "_posted"
	}
	if cfg.PostedTTL == 0 {
		cfg.PostedTTL = defaultPostedTTL
	}
	if cfg.DeadLetterSubject == "" && cfg.SubjectPrefix != "" {
		cfg.DeadLetterSubject = cfg.SubjectPrefix + ".slack.dead"
	}
	if cfg.DeadLetterStream == "" {
		cfg.DeadLetterStream = streamName(cfg.DeadLetterSubject)
	}
	if cfg.Rate == 0 {
		cfg.Rate = defaultRate
	}
	if cfg.Burst == 0 {
		cfg.Burst = defaultBurst
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = defaultAckWait
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = defaultRetryMin
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = defaultRetryMax
	}
	if cfg.PostTimeout == 0 {
		cfg.PostTimeout = defaultPostTimeout
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = defaultDrainTimeout
	}
	return cfg
}

// ConfigError is the error of New for a Config that does not validate: the field of Config at
// fault, so that a command can name its own flag for it, and what is wrong with it. It wraps
// ErrInvalidConfig.
type ConfigError struct {
	// Field is the name of the Config field, with an index for Routes: "Routes[2]".
	Field string
	// Index is the index of the route at fault for Field "Routes[i]", else -1.
	Index int
	// Reason says what is wrong, without the field's name.
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidConfig, e.Field, e.Reason)
}

func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// validate names the first field that is missing or out of range; it expects withDefaults.
func (cfg Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Index: -1, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.Conn == nil:
		return bad("Conn", "is required")
	case cfg.Poster == nil:
		return bad("Poster", "is required")
	case !validSubject(cfg.SubjectPrefix):
		return bad("SubjectPrefix", "%q is not a subject prefix", cfg.SubjectPrefix)
	case !validName(cfg.AlertStream):
		return bad("AlertStream", "%q is not a stream name (letters, digits, '-' and '_')", cfg.AlertStream)
	case !validName(cfg.Durable):
		return bad("Durable", "%q is not a consumer name (letters, digits, '-' and '_')", cfg.Durable)
	case !validName(cfg.PostedBucket):
		return bad("PostedBucket", "%q is not a bucket name (letters, digits, '-' and '_')", cfg.PostedBucket)
	case !validName(cfg.DeadLetterStream):
		return bad("DeadLetterStream", "%q is not a stream name (letters, digits, '-' and '_')", cfg.DeadLetterStream)
	case !validSubject(cfg.DeadLetterSubject):
		return bad("DeadLetterSubject", "%q is not a subject prefix", cfg.DeadLetterSubject)
	case cfg.DeadLetterSubject == cfg.SubjectPrefix+".alert" || strings.HasPrefix(cfg.DeadLetterSubject, cfg.SubjectPrefix+".alert."):
		return bad("DeadLetterSubject", "%q is inside the alert subjects", cfg.DeadLetterSubject)
	case cfg.PostedTTL < time.Second:
		return bad("PostedTTL", "must be at least 1s, got %s", cfg.PostedTTL)
	case cfg.Rate <= 0:
		return bad("Rate", "must be positive, got %g", cfg.Rate)
	case cfg.Burst < 1:
		return bad("Burst", "must be at least 1, got %d", cfg.Burst)
	case cfg.MaxInFlight < 1:
		return bad("MaxInFlight", "must be at least 1, got %d", cfg.MaxInFlight)
	case cfg.AckWait < time.Second:
		return bad("AckWait", "must be at least 1s, got %s", cfg.AckWait)
	case cfg.RetryMin <= 0:
		return bad("RetryMin", "must be positive, got %s", cfg.RetryMin)
	case cfg.RetryMax < cfg.RetryMin:
		return bad("RetryMax", "must be at least RetryMin (%s), got %s", cfg.RetryMin, cfg.RetryMax)
	case cfg.PostTimeout <= 0:
		return bad("PostTimeout", "must be positive, got %s", cfg.PostTimeout)
	case cfg.DrainTimeout <= 0:
		return bad("DrainTimeout", "must be positive, got %s", cfg.DrainTimeout)
	case len(cfg.Routes) == 0 && cfg.DefaultChannel == "":
		return bad("Routes", "none, and no default channel: nothing would be posted")
	case cfg.Group != GroupStories && cfg.Group != GroupItems:
		return bad("Group", "unknown grouping %d", cfg.Group)
	case cfg.Start.Mode == StartSince && cfg.Start.Since <= 0:
		return bad("Start", "a start time must be a positive duration, got %s", cfg.Start.Since)
	}
	for i, r := range cfg.Routes {
		if err := r.validate(); err != nil {
			return &ConfigError{Field: fmt.Sprintf("Routes[%d]", i), Index: i, Reason: err.Error()}
		}
	}
	if cfg.DefaultChannel != "" {
		if err := validChannel(cfg.DefaultChannel); err != nil {
			return bad("DefaultChannel", "%v", err)
		}
	}
	return nil
}

// Group is what has one message in a channel.
type Group int

// The groupings; the zero value is GroupStories.
const (
	GroupStories Group = iota // one message per story: later alerts of the story update it
	GroupItems                // one message per item: later alerts of the item update it
)

// ParseGroup reads "stories" or "items".
func ParseGroup(s string) (Group, error) {
	switch s {
	case "", "stories":
		return GroupStories, nil
	case "items":
		return GroupItems, nil
	}
	return 0, fmt.Errorf("group %q: want stories or items", s)
}

func (g Group) String() string {
	if g == GroupItems {
		return "items"
	}
	return "stories"
}

// StartMode is where a new consumer starts reading the alert stream.
type StartMode int

// The start modes; the zero value is StartNew.
const (
	StartNew   StartMode = iota // only alerts published after the consumer was created
	StartAll                    // every alert the stream still holds
	StartSince                  // the alerts published within Start.Since before the consumer was created
)

// Start is where a new consumer starts.
type Start struct {
	Mode  StartMode
	Since time.Duration // for StartSince
}

// ParseStart reads "new", "all" or a duration such as "24h".
func ParseStart(s string) (Start, error) {
	switch s {
	case "", "new":
		return Start{Mode: StartNew}, nil
	case "all":
		return Start{Mode: StartAll}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Start{}, fmt.Errorf("start %q: want new, all or a positive duration such as 24h", s)
	}
	return Start{Mode: StartSince, Since: d}, nil
}

func (s Start) String() string {
	switch s.Mode {
	case StartAll:
		return "all"
	case StartSince:
		return s.Since.String()
	default:
		return "new"
	}
}

// validName reports whether s is a safe stream, consumer or bucket name.
func validName(s string) bool {
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

// validSubject reports whether s is one or more dot-separated literal subject tokens.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return false
		}
	}
	return true
}

// streamName turns a subject prefix into a stream name: "newswatch.slack.dead" ->
// "NEWSWATCH_SLACK_DEAD".
func streamName(subject string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(subject) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
