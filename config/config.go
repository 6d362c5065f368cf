package config

import "time"

// Config is a loaded, defaulted and validated configuration.
type Config struct {
	File     string // path it was loaded from
	NATS     NATS
	HTTP     HTTP
	Archive  Archive
	Stories  Stories
	Defaults Defaults
	Feeds    []Feed
	Lists    map[string][]string
	Rules    []Rule

	src     source              // the file's lines, for positions found later
	queries []scalar            // rules[i].query as written in the file
	terms   map[string][]scalar // lists[name][i] as written in the file
}

// NATS is the nats section.
type NATS struct {
	URL             string // "" runs the embedded server
	Embedded        Embedded
	CredsFile       string
	SubjectPrefix   string
	AlertStream     string
	DuplicateWindow time.Duration
	// AlertMaxAge bounds how long the alert stream keeps alerts.
	AlertMaxAge time.Duration
	// AlertMaxBytes bounds the alert stream's size; the oldest alerts go first.
	AlertMaxBytes int64
	// Replicas of every stream and bucket; 0 chooses: 3 on a cluster of three or more
	// servers, else 1.
	Replicas int
	// AckWait is how long a poll job may go unacknowledged (its worker sends a heartbeat every
	// third of it) before another worker gets it.
	AckWait time.Duration
	TLS     TLS
}

// TLS configures the connection to an external NATS server; the files are read at start.
type TLS struct {
	CAFile   string // the server's CA, when it is not in the system's pool
	CertFile string // a client certificate, with KeyFile
	KeyFile  string
}

// Embedded configures the embedded NATS server used when NATS.URL is "".
type Embedded struct {
	// Listen is host:port with a numeric port. "" means in-process only; an
	// absent or null key means DefaultEmbeddedListen.
	Listen   string
	StoreDir string
	// SyncAlways makes the server flush every write to disk before acknowledging it, so that
	// a power loss loses no acknowledged alert or state; the default flushes every two minutes
	// and survives a crash of the process but not of the machine.
	SyncAlways bool
	// AllowInsecure lets Listen be a non-loopback address without TLS; it is logged at warn
	// level either way.
	AllowInsecure bool
}

// HTTP is the http section.
type HTTP struct {
	Listen string // host:port with a numeric port; "" = off
	// WebConfigFile is a web configuration in the Prometheus exporter-toolkit format (TLS,
	// basic auth); "" serves plain HTTP without authentication.
	WebConfigFile string
	// Console serves the web console under /; false leaves only the endpoints and the API.
	Console bool
}

// Archive is the archive section: the stream that keeps every new item once, for backtests
// and backfills.
type Archive struct {
	Enabled bool
	// Stream is the JetStream stream of the archive.
	Stream string
	// MaxAge bounds how long items are kept; MaxBytes the stream's size, the oldest items
	// going first.
	MaxAge   time.Duration
	MaxBytes int64
}

// Stories is the stories section: how items of every feed that report one event are grouped.
type Stories struct {
	// Enabled gives every archived item its story; it needs the archive.
	Enabled bool
	// Window is how long a story stays open after its latest item.
	Window time.Duration
	// MaxStories bounds the stories open at once, and so their memory.
	MaxStories int
}

// Defaults are the values every feed inherits.
type Defaults struct {
	Schedule string
	// AutoMin and AutoMax bound the interval of schedule "auto".
	AutoMin, AutoMax time.Duration
	Timeout          time.Duration
	MaxBody          int64 // bytes
	FirstPoll        FirstPoll
	AllowPrivate     bool
	// FloodGuard is the number of new items above which one poll may be a flood; 0 is off.
	FloodGuard int
	// MaxAlertsPerPoll is the most alerts one poll publishes; the rest of its items are
	// recorded as seen and reported once.
	MaxAlertsPerPoll int
	// FullText says when the articles of new items are fetched and matched: never, auto (when
	// the feed's text is short) or always.
	FullText string
	// Deliver and Spike are what every rule inherits (rules[].deliver replaces Deliver whole;
	// each key of rules[].spike overrides Spike's).
	Deliver Deliver
	Spike   Spike

	deliveryPos deliveryPos
}

// FirstPollMode says what the first poll of a new feed alerts.
type FirstPollMode string

// The first_poll modes.
const (
	FirstPollBaseline FirstPollMode = "baseline" // remember the items, alert none
	FirstPollAll      FirstPollMode = "all"      // alert every item
	FirstPollWindow   FirstPollMode = "window"   // alert items published within Window
)

// FirstPoll is a first_poll value. Window is set only for FirstPollWindow.
type FirstPoll struct {
	Mode   FirstPollMode
	Window time.Duration
}

// Feed is one feed, every field resolved: the feed's own value, else the
// default.
type Feed struct {
	ID               string
	URL              string
	Schedule         string
	AutoMin, AutoMax time.Duration
	Timeout          time.Duration
	MaxBody          int64
	FirstPoll        FirstPoll
	AllowPrivate     bool
	FloodGuard       int
	MaxAlertsPerPoll int
	FullText         string // never, auto or always
	Tags             []string
	// Type is the kind of document the feed is: rss (the default), sitemap, html, telegram,
	// mastodon or bluesky; the fields below are its options. URL may be empty for telegram
	// (Channel), mastodon (Instance with Tag or Account) and bluesky (Account).
	Type             string
	Selectors        Selectors // html
	Channel          string    // telegram
	Instance, Tag    string    // mastodon
	Account          string    // mastodon, bluesky
	ExcludeReplies   bool      // mastodon account
	Replies, Reposts bool      // bluesky; Reposts defaults to true
	Pos              Position  // the feed's first key
}

// Rule is one watch rule. Feeds holds feed ids and "tag:NAME" entries; empty
// means every feed.
type Rule struct {
	ID    string
	Query string
	Feeds []string
	// Backfill is how far back the archive is matched when the rule, or a new query of it, is
	// first loaded; 0 is no backfill.
	Backfill time.Duration
	// Deliver and Spike are the rule's delivery and spike detection, defaults applied.
	Deliver Deliver
	Spike   Spike
	Pos     Position // the rule's first key

	deliveryPos deliveryPos // see DeliveryPosition
}

// Position is a 1-based line and a 1-based byte column in the file.
type Position struct {
	Line, Column int
}

// Defaults as SPEC.md §2 states them.
const (
	DefaultSubjectPrefix    = "newswatch"
	DefaultAlertStream      = "NEWSWATCH_ALERTS"
	DefaultDuplicateWindow  = 30 * time.Minute
	DefaultAlertMaxAge      = 30 * 24 * time.Hour
	DefaultAlertMaxBytes    = 1 << 30
	DefaultMaxAlertsPerPoll = 1000
	DefaultArchiveStream    = "NEWSWATCH_ITEMS"
	DefaultArchiveMaxAge    = 30 * 24 * time.Hour
	DefaultArchiveMaxBytes  = 10 << 30
	DefaultStoryWindow      = 48 * time.Hour
	DefaultMaxStories       = 200000
	DefaultAckWait          = time.Minute
	DefaultEmbeddedListen   = "127.0.0.1:4222"
	DefaultHTTPListen       = "127.0.0.1:9780"
	DefaultSchedule         = "@every 5m"
	DefaultAutoMin          = 5 * time.Minute
	DefaultAutoMax          = time.Hour
	DefaultFloodGuard       = 10
	DefaultTimeout          = 30 * time.Second
	DefaultMaxBody          = 10 << 20
	// DefaultStoreDir is used when $STATE_DIRECTORY is not set; with it, the
	// store is $STATE_DIRECTORY/nats.
	DefaultStoreDir = "./newswatch-data/nats"
)
