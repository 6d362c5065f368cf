// Package watcher polls news feeds on their schedules and turns every new item that matches a
// watch rule into an Alert.
//
// It owns the schedule (robfig/cron, with "@every" aligned to the Unix epoch so that replicas
// agree on slot times), the fetcher (conditional GET, gzip, size and time limits, an address
// guard at dial time, a per-host concurrency limit), the parser (charset to UTF-8, gofeed, caps
// on items and field sizes) and the poll job that ties them to the matcher. It declares the
// interfaces it needs from the outside (Publisher, StateStore, JobQueue) and never imports NATS.
//
// A Watcher is safe for concurrent use: Poll runs on many workers at once, and Update may be
// called while Run runs. Nothing is retried inside a poll except the state commit, which is
// redone against the re-read state a few times. A failing feed is recorded in its state with
// the class of its error and the time before which it is not polled again (Retry-After of a
// 429 or 503, else an exponential backoff with jitter up to BackoffCeiling); jobs for earlier
// slots are acknowledged without a request, and polling resumes by itself. A 410 stops the
// feed until its configured URL changes; a permanent redirect within the feed's host seen on
// two polls in a row is kept in the state and polled instead. A failing publisher or state store fails the job,
// which the JobQueue redelivers.
//
// What comes from the bus is checked, not obeyed: a job for a slot beyond the feed's schedule is
// acknowledged without work, and a state with values no poll writes is repaired and logged.
// What a feed serves is bounded: a poll publishes at most its feed's MaxAlertsPerPoll alerts, a
// batch at a time, each with at most 20 hits and capped texts, and reports the rest.
package watcher

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// Defaults of Config.
const (
	DefaultWorkers         = 4
	DefaultShutdownTimeout = 30 * time.Second
	DefaultUserAgent       = "newswatch (+https://github.com/newswatch/newswatch)"
	// DefaultHostConcurrency is how many requests run at once to one host, across all its feeds.
	DefaultHostConcurrency = 2
	// DefaultBackoffCeiling is the longest pause of a failing feed between two polls.
	DefaultBackoffCeiling = 6 * time.Hour
	// DefaultMaxAlertsPerPoll is the most alerts one poll publishes.
	DefaultMaxAlertsPerPoll = 1000
)

// Config is what a Watcher needs. Publisher, State, Jobs and Index are required.
type Config struct {
	Feeds []Feed
	Rules []matcher.Rule
	// Index is Rules compiled by the caller with matcher.Compile.
	Index *matcher.Index
	// Workers is how many polls run at once on this replica; 0 means DefaultWorkers.
	Workers int
	// UserAgent is sent with every request; empty means DefaultUserAgent.
	UserAgent string
	// Location interprets cron expressions without CRON_TZ=; nil means UTC, so that replicas in
	// different zones agree.
	Location *time.Location
	// ShutdownTimeout bounds each step of the shutdown: waiting for the schedule to stop, and
	// for polls in flight, which are cancelled when it runs out; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// HostConcurrency is how many requests run at once to one host (host:port of the feed's
	// URL), across all its feeds; 0 means DefaultHostConcurrency.
	HostConcurrency int
	// BackoffCeiling is the longest pause of a failing feed; 0 means DefaultBackoffCeiling.
	BackoffCeiling time.Duration
	// AddressPolicy guards the feeds without AllowPrivate; nil means PublicOnly.
	AddressPolicy AddressPolicy
	Publisher     Publisher
	// Archiver keeps every new item; nil keeps none.
	Archiver Archiver
	// Archive and Ledger serve backfills (see Backfill); without both, none is done.
	Archive   ArchiveReader
	Ledger    Ledger
	Backfills []Backfill
	// Owner names this replica in the ledger's claims; empty: a name made up at New.
	Owner string
	// Follower feeds the stories every archived item in the archive's order; nil keeps no
	// stories. StoryPublisher tells their events (nil: none are told).
	Follower       ArchiveFollower
	StoryPublisher StoryPublisher
	// StoryWindow is how long a story stays open after its latest item; 0 means
	// story.DefaultWindow. StoryLists are the term lists that name one concept in every
	// language (the configuration's lists), read once at New.
	StoryWindow time.Duration
	StoryLists  map[string][]string
	// StoryMax bounds the stories open at once (story.Options.MaxStories); 0: no bound.
	StoryMax int
	State    StateStore
	Jobs     JobQueue
	// Health receives the changes in the feeds' health; nil drops them.
	Health HealthReporter
	// SummaryInterval is how often Run logs what the polls came to; 0 means
	// DefaultSummaryInterval.
	SummaryInterval time.Duration
	// EventID names an alert in the log line of its publication, as the publisher identifies
	// it; nil logs no event id.
	EventID func(event.Alert) string
	// Registerer is where the watcher's metrics are registered; nil leaves them unregistered.
	Registerer prometheus.Registerer
}

// Watcher schedules, runs and commits the polls of a set of feeds.
type Watcher struct {
	log             *zap.Logger
	pub             Publisher
	archiver        Archiver
	archiveReader   ArchiveReader
	ledger          Ledger
	owner           string
	backfillRules   atomic.Pointer[map[string]time.Duration] // rule id -> window
	backfillWake    chan struct{}
	stories         *stories // nil without a Follower
	state           StateStore
	jobs            JobQueue
	health          HealthReporter
	metrics         *metrics
	workers         int
	userAgent       string
	loc             *time.Location
	shutdownTimeout time.Duration
	backoffCeiling  time.Duration
	fetcher         *fetcher
	summaryInterval time.Duration
	eventID         func(event.Alert) string
	summary         summary
	articles        articles // of full text

	plan     atomic.Pointer[plan]
	inFlight sync.Map // feed id -> slot, of the polls running on this replica
	logged   sync.Map // kind and feed id -> when logLimited last logged them
	// clock is what the slots of jobs and the times of states are judged by (see slotLimit
	// and repairState): time.Now, but for tests that poll slots ahead of it.
	clock   func() time.Time
	updated chan struct{} // a new plan waits for Run to apply it to the schedule
	ran     atomic.Bool
	// lastTick is the Unix nanoseconds of the schedule's last heartbeat.
	lastTick atomic.Int64
}

// New validates cfg and returns a Watcher. A nil log discards logs.
func New(cfg Config, log *zap.Logger) (*Watcher, error) {
	switch {
	case cfg.Publisher == nil:
		return nil, errors.New("watcher: publisher is nil")
	case cfg.State == nil:
		return nil, errors.New("watcher: state store is nil")
	case cfg.Jobs == nil:
		return nil, errors.New("watcher: job queue is nil")
	case cfg.Workers < 0:
		return nil, fmt.Errorf("watcher: workers must not be negative, got %d", cfg.Workers)
	case cfg.ShutdownTimeout < 0:
		return nil, fmt.Errorf("watcher: shutdown timeout must not be negative, got %s", cfg.ShutdownTimeout)
	case cfg.HostConcurrency < 0:
		return nil, fmt.Errorf("watcher: host concurrency must not be negative, got %d", cfg.HostConcurrency)
	case cfg.SummaryInterval < 0:
		return nil, fmt.Errorf("watcher: summary interval must not be negative, got %s", cfg.SummaryInterval)
	case cfg.BackoffCeiling < 0:
		return nil, fmt.Errorf("watcher: backoff ceiling must not be negative, got %s", cfg.BackoffCeiling)
	}
	if log == nil {
		log = zap.NewNop()
	}
	w := &Watcher{
		log:             log,
		pub:             cfg.Publisher,
		archiver:        cfg.Archiver,
		archiveReader:   cfg.Archive,
		ledger:          cfg.Ledger,
		owner:           cfg.Owner,
		backfillWake:    make(chan struct{}, 1),
		state:           cfg.State,
		jobs:            cfg.Jobs,
		health:          cfg.Health,
		metrics:         newMetrics(cfg.Registerer),
		workers:         orDefault(cfg.Workers, DefaultWorkers),
		userAgent:       orDefault(cfg.UserAgent, DefaultUserAgent),
		loc:             cfg.Location,
		shutdownTimeout: orDefault(cfg.ShutdownTimeout, DefaultShutdownTimeout),
		backoffCeiling:  orDefault(cfg.BackoffCeiling, DefaultBackoffCeiling),
		summaryInterval: orDefault(cfg.SummaryInterval, DefaultSummaryInterval),
		eventID:         cfg.EventID,
		fetcher:         newFetcher(cfg.AddressPolicy, cfg.HostConcurrency),
		updated:         make(chan struct{}, 1),
		clock:           time.Now,
	}
	if w.loc == nil {
		w.loc = time.UTC
	}
	if w.archiveReader == nil {
		w.ledger = nil // backfills need both
	}
	if w.owner == "" {
		host, _ := os.Hostname()
		w.owner = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano())
	}
	w.SetBackfills(cfg.Backfills)
	p, err := buildPlan(cfg.Feeds, cfg.Rules, cfg.Index, w.loc)
	if err != nil {
		return nil, fmt.Errorf("watcher: %w", err)
	}
	w.plan.Store(p)
	if cfg.Follower != nil {
		if w.stories, err = newStories(w, cfg); err != nil {
			return nil, fmt.Errorf("watcher: stories: %w", err)
		}
	}
	return w, nil
}

// logEvery is how often logLimited logs one kind of line for one feed at its level; the
// repeats in between are logged at debug level.
const logEvery = time.Hour

// logLimited logs a line that something outside the daemon can make repeat at every poll
// (forged jobs, say) at level once per logEvery for each kind and feed, else at debug level.
func (w *Watcher) logLimited(level zapcore.Level, kind, feedID, msg string, fields ...zap.Field) {
	key := kind + "\x00" + feedID
	now := time.Now()
	if v, loaded := w.logged.LoadOrStore(key, now); loaded {
		// Of polls that race here, the one that swaps the time logs at level.
		if last := v.(time.Time); now.Sub(last) < logEvery || !w.logged.CompareAndSwap(key, last, now) {
			level = zap.DebugLevel
		}
	}
	if ce := w.log.Check(level, msg); ce != nil {
		ce.Write(fields...)
	}
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Update replaces the feeds and rules atomically: polls that start afterwards use the new set,
// and a running Run re-schedules to it and polls new feeds (and feeds whose schedule changed)
// at once. Polls in flight finish with the set they started with. An invalid set is an error
// and changes nothing.
func (w *Watcher) Update(feeds []Feed, rules []matcher.Rule, ix *matcher.Index) error {
	p, err := buildPlan(feeds, rules, ix, w.loc)
	if err != nil {
		return fmt.Errorf("watcher: update: %w", err)
	}
	w.metrics.forget(w.plan.Swap(p), p)
	select {
	case w.updated <- struct{}{}:
	default: // Run has a wake-up pending and will read the newest plan.
	}
	return nil
}
