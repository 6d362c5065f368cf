package notifier

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// names are the subjects and JetStream resources derived from the configuration.
type names struct {
	prefix      string // subject prefix, "newswatch"
	alertStream string // "NEWSWATCH_ALERTS", configured
	pollStream  string // "NEWSWATCH_POLLS"
	pollDurable string // "newswatch_pollers"
	stateBucket string // "newswatch_feeds"
	itemStream  string // "NEWSWATCH_ITEMS", configured
	storyStream string // "NEWSWATCH_STORIES"
	ledger      string // "newswatch_backfills": the rule versions backfilled
	delivery    string // "NEWSWATCH_DELIVERIES": digests, budget notices, spikes
	deliveryKV  string // "newswatch_delivery": each rule's delivery state
}

func newNames(cfg Config) names {
	base := nameFromPrefix(cfg.SubjectPrefix)
	return names{
		prefix:      cfg.SubjectPrefix,
		alertStream: cfg.AlertStream,
		pollStream:  strings.ToUpper(base) + "_POLLS",
		pollDurable: base + "_pollers",
		stateBucket: base + "_feeds",
		itemStream:  cfg.Archive.Stream,
		storyStream: strings.ToUpper(base) + "_STORIES",
		ledger:      base + "_backfills",
		delivery:    strings.ToUpper(base) + "_DELIVERIES",
		deliveryKV:  base + "_delivery",
	}
}

// AlertSubject is the subject of the alerts of one rule for one feed: <prefix>.alert.<rule>.<feed>.
func AlertSubject(prefix, ruleID, feedID string) string {
	return prefix + ".alert." + ruleID + "." + feedID
}

// ItemSubject is the subject of the archived items of one feed: <prefix>.item.<feed>.
func ItemSubject(prefix, feedID string) string {
	return prefix + ".item." + feedID
}

// pollSubject is the subject of the poll jobs of one feed: <prefix>.poll.<feed>.
func pollSubject(prefix, feedID string) string {
	return prefix + ".poll." + feedID
}

// streamConfigs are the streams newswatch owns, as they must be.
func streamConfigs(cfg Config, n names) []jetstream.StreamConfig {
	// The streams of events keep them by age and size, and drop a message published again
	// within the duplicate window (a poll repeated after a crash, another replica's copy).
	events := func(name, description string, maxAge time.Duration, maxBytes int64, subjects ...string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: description,
			Subjects:    subjects,
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  cfg.DuplicateWindow,
			MaxAge:      maxAge,
			MaxBytes:    orUnlimited(maxBytes),
			Replicas:    cfg.Replicas,
		}
	}
	items := events(n.itemStream, "newswatch item archive", cfg.Archive.MaxAge, cfg.Archive.MaxBytes, n.prefix+".item.>")
	items.Compression = jetstream.S2Compression
	return []jetstream.StreamConfig{
		events(n.alertStream, "newswatch alerts", cfg.AlertMaxAge, cfg.AlertMaxBytes, n.prefix+".alert.>"),
		{
			Name:        n.pollStream,
			Description: "newswatch poll jobs",
			Subjects:    []string{n.prefix + ".poll.>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  cfg.Jobs.DuplicateWindow,
			MaxAge:      cfg.Jobs.MaxAge,
			// A feed has at most one job pending (waiting or running): a slot that ticks meanwhile
			// is refused, and Enqueue counts it as queued. Under overload every feed keeps its
			// place in line, where a newer job taking the place of an older one would send it to
			// the back, again and again; and a poll slower than its interval is not run twice.
			MaxMsgsPerSubject:    1,
			Discard:              jetstream.DiscardNew,
			DiscardNewPerSubject: true,
			Replicas:             cfg.Replicas,
		},
		items,
		events(n.storyStream, "newswatch story events", cfg.AlertMaxAge, cfg.AlertMaxBytes, n.prefix+".story.>"),
		// A digest is published again after a crash between its publication and the commit of
		// its state, within seconds; the window of the alerts covers that many times over.
		events(n.delivery, "newswatch digests, budget notices and spikes", cfg.AlertMaxAge, cfg.AlertMaxBytes,
			n.prefix+".digest.>", n.prefix+".spike.>"),
	}
}

func bucketConfig(cfg Config, n names, r resource) jetstream.KeyValueConfig {
	bucket, description := n.stateBucket, "newswatch feed state"
	switch r {
	case deliveryBucket:
		bucket, description = n.deliveryKV, "newswatch delivery: each rule's digests, budget and spike counts"
	case ledgerBucket:
		bucket, description = n.ledger, "newswatch backfills: the rule versions whose backfill is claimed or done"
	}
	return jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: description,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}
}

// resource is one of the JetStream resources newswatch owns.
type resource int

const (
	alertStream resource = iota
	pollStream
	stateBucket
	itemStream
	ledgerBucket
	storyStream
	deliveryStream
	deliveryBucket
)

// resources are the resources newswatch owns with cfg: the archive's only when it is on.
func resources(cfg Config) []resource {
	if cfg.Archive.Disabled {
		return []resource{alertStream, pollStream, stateBucket, deliveryStream, deliveryBucket}
	}
	return []resource{alertStream, pollStream, stateBucket, itemStream, ledgerBucket, storyStream, deliveryStream, deliveryBucket}
}

// store provisions newswatch's streams and bucket, tells which are missing, and re-creates
// them as provision made them. It is safe for concurrent use.
type store struct {
	js    jetstream.JetStream
	cfg   Config // with Replicas chosen once provisioned
	names names
	log   *zap.Logger

	ledgerKV   jetstream.KeyValue // set by provision when the archive is on
	deliveryKV jetstream.KeyValue // set by provision

	mu sync.Mutex // serialises re-creations, so that each is done and logged once

	checkMu  sync.Mutex
	healing  atomic.Bool // a poll job is looking for missing resources (healMissing)
	checked  time.Time   // when gone was last found; zero: find it again
	gone     []resource  // missing at that time
	checkErr error
}

// missingCheckTTL is how long the result of a check of every resource is reused, so that a
// readiness probe and the workers' checks cost at most one round of stream infos that long.
const missingCheckTTL = time.Second

// describe names r for logs and errors: "alert stream NEWSWATCH_ALERTS".
func (s *store) describe(r resource) string {
	switch r {
	case alertStream:
		return "alert stream " + s.names.alertStream
	case pollStream:
		return "poll stream " + s.names.pollStream
	case itemStream:
		return "item archive " + s.names.itemStream
	case ledgerBucket:
		return "backfill bucket " + s.names.ledger
	case storyStream:
		return "story stream " + s.names.storyStream
	case deliveryStream:
		return "delivery stream " + s.names.delivery
	case deliveryBucket:
		return "delivery bucket " + s.names.deliveryKV
	default:
		return "state bucket " + s.names.stateBucket
	}
}

// stream is the name of the stream that holds r (a bucket is the stream KV_<bucket>).
func (s *store) stream(r resource) string {
	switch r {
	case alertStream:
		return s.names.alertStream
	case pollStream:
		return s.names.pollStream
	case itemStream:
		return s.names.itemStream
	case ledgerBucket:
		return "KV_" + s.names.ledger
	case storyStream:
		return s.names.storyStream
	case deliveryStream:
		return s.names.delivery
	case deliveryBucket:
		return "KV_" + s.names.deliveryKV
	default:
		return "KV_" + s.names.stateBucket
	}
}

// provision creates or updates the streams and the buckets, and returns the state bucket; the
// ledger bucket's handle is kept in s.ledgerKV. NATS may not
// be reachable yet (the connection retries in the background), so attempts that fail for want
// of an answer are repeated until ctx is done; an answer that refuses the configuration fails at
// once.
func (s *store) provision(ctx context.Context) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	attempt := func(ctx context.Context) error {
		if err := checkServer(ctx, s.js); err != nil {
			return err
		}
		if s.cfg.Replicas == 0 {
			s.cfg.Replicas = chooseReplicas(s.js.Conn())
			s.log.Info("jetstream replicas chosen", zap.Int("replicas", s.cfg.Replicas), zap.String("cluster", s.js.Conn().ConnectedClusterName()))
		}
		for _, r := range resources(s.cfg) {
			b, err := s.create(ctx, r)
			if err != nil {
				return err
			}
			switch r {
			case stateBucket:
				kv = b
			case ledgerBucket:
				s.ledgerKV = b
			case deliveryBucket:
				s.deliveryKV = b
			}
		}
		return nil
	}
	err := retry(ctx, s.log, "provision jetstream", attempt)
	return kv, err
}

// create creates or updates r with its configuration; for a bucket, it returns its handle.
func (s *store) create(ctx context.Context, r resource) (jetstream.KeyValue, error) {
	if r == stateBucket || r == ledgerBucket || r == deliveryBucket {
		bc := bucketConfig(s.cfg, s.names, r)
		kv, err := s.js.CreateOrUpdateKeyValue(ctx, bc)
		if err != nil {
			return nil, fmt.Errorf("kv bucket %s: %w", bc.Bucket, err)
		}
		return kv, nil
	}
	for _, sc := range streamConfigs(s.cfg, s.names) {
		if sc.Name != s.stream(r) {
			continue
		}
		if _, err := s.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("stream %s: %w", sc.Name, err)
		}
	}
	return nil, nil
}

// exists asks the server whether r exists. An error is no answer either way.
func (s *store) exists(ctx context.Context, r resource) (bool, error) {
	_, err := s.js.Stream(ctx, s.stream(r))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("%s: %w", s.describe(r), err)
	}
}

// mayBeMissing tells whether err, from an operation on a stream or the bucket, may mean that
// the resource is gone. No responders also answers a publish or a request while a server starts
// or a stream's leader moves, so the resource must be looked up before it is re-created.
func mayBeMissing(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// heal re-creates r if cause, the failure of an operation on r, may mean that r is missing
// (mayBeMissing) and a stream info confirms that it does not exist; the re-creation is logged
// at error level, once however many operations found r missing. heal reports whether r exists
// now, found or re-created: whether the operation is worth repeating at once. A connection that
// is down, or a server that does not answer the stream info, leave r alone.
func (s *store) heal(ctx context.Context, r resource, cause error) bool {
	if !mayBeMissing(cause) || !s.js.Conn().IsConnected() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, retryAttempt)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, err := s.exists(ctx, r)
	if err != nil {
		s.log.Debug("looking for a resource that may be missing", zap.NamedError("cause", cause), zap.Error(err))
		return false
	}
	if ok {
		return true // re-created meanwhile, or the failure was passing (a server starting)
	}
	// A stream being deleted is forgotten by the server before its files are moved away, after
	// its consumers are stopped (nats-server stream.stop, fileStore.Delete): a stream created
	// under its name meanwhile shares its directory and loses its files to the deletion, then
	// fails every write. So a stream found missing is looked for again after healSettle.
	select {
	case <-time.After(healSettle):
	case <-ctx.Done():
		return false
	}
	if ok, err = s.exists(ctx, r); err != nil || ok {
		return ok
	}
	if _, err := s.create(ctx, r); err != nil {
		s.log.Error(s.describe(r)+" missing; re-creating it failed", zap.NamedError("cause", cause), zap.Error(err))
		return false
	}
	s.log.Error(s.describe(r)+" missing; re-created", zap.NamedError("cause", cause))
	s.checkMu.Lock()
	s.checked = time.Time{}
	s.checkMu.Unlock()
	return true
}

// missing is the resources that do not exist, found with one stream info each, at most once
// every missingCheckTTL.
func (s *store) missing(ctx context.Context) ([]resource, error) {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if !s.checked.IsZero() && time.Since(s.checked) < missingCheckTTL {
		return s.gone, s.checkErr
	}
	if !s.js.Conn().IsConnected() {
		return nil, fmt.Errorf("looking for the streams: %w", nats.ErrConnectionReconnecting)
	}
	var gone []resource
	var errs []error
	for _, r := range resources(s.cfg) {
		ok, err := s.exists(ctx, r)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			gone = append(gone, r)
		}
	}
	s.gone, s.checkErr = gone, errors.Join(errs...)
	if ctx.Err() == nil {
		s.checked = time.Now()
	}
	return s.gone, s.checkErr
}

// healMissing re-creates the resources that missing finds gone. It runs before every poll job,
// so a job that finds another one looking goes on without waiting: one look is enough, and a
// slow server would otherwise hold every worker behind it.
func (s *store) healMissing(ctx context.Context) {
	if !s.healing.CompareAndSwap(false, true) {
		return
	}
	defer s.healing.Store(false)
	ctx, cancel := context.WithTimeout(ctx, retryAttempt)
	defer cancel()
	gone, _ := s.missing(ctx)
	for _, r := range gone {
		s.heal(ctx, r, jetstream.ErrStreamNotFound)
	}
}

const (
	retryFirst   = 250 * time.Millisecond
	retryMax     = 5 * time.Second
	retryAttempt = 5 * time.Second
	// healSettle is how long heal waits before it re-creates a resource found missing, for a
	// deletion under way to end.
	healSettle = 500 * time.Millisecond
)

// retry runs attempt with a bounded context until it succeeds, fails permanently, or ctx is
// done. The first failure is logged at warn level, the repeats at debug level.
func retry(ctx context.Context, log *zap.Logger, what string, attempt func(context.Context) error) error {
	wait := retryFirst
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, retryAttempt)
		err := attempt(actx)
		cancel()
		if err == nil {
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		level := zap.DebugLevel
		if n == 1 {
			level = zap.WarnLevel
		}
		log.Log(level, "nats not answering, retrying", zap.String("op", what), zap.Int("attempt", n), zap.Error(err))
		if !pause(ctx, wait) {
			return fmt.Errorf("%s: %w (last error: %w)", what, context.Cause(ctx), err)
		}
		wait = min(2*wait, retryMax)
	}
}

// permanent reports whether err is an answer from JetStream that a retry will not change,
// such as a stream configuration it refuses. Timeouts, missing responders (no JetStream yet),
// connection states, and a cluster that cannot place the replicas yet (servers still joining)
// are transient.
func permanent(err error) bool {
	if errors.Is(err, errServer) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	if apiErr.ErrorCode == jetstream.ErrorCode(server.JSClusterNoPeersErrF) {
		return false
	}
	return apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.Code != 408
}

// minServerVersion is the oldest nats-server with everything newswatch uses: per-subject limits
// on a work queue, KV compare-and-swap, consumer pause-free pull with heartbeats.
const minServerVersion = "2.10.0"

// errServer is wrapped by the errors of a server that cannot run newswatch; they are permanent.
var errServer = errors.New("nats server unsuitable")

// checkServer refuses a server older than minServerVersion or without JetStream for this
// account, with an error that says what to change. A server that does not answer yet is a
// transient failure.
func checkServer(ctx context.Context, js jetstream.JetStream) error {
	nc := js.Conn()
	if !nc.IsConnected() {
		return nats.ErrNoServers
	}
	if v := nc.ConnectedServerVersion(); !atLeast(v, minServerVersion) {
		return fmt.Errorf("%w: version %s, newswatch needs %s or later", errServer, v, minServerVersion)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return fmt.Errorf("%w: %w (start nats-server with -js, or enable JetStream for the account)", errServer, err)
		}
		return err
	}
	return nil
}

// atLeast compares dotted versions such as "2.10.22" or "2.11.0-beta.1" by their first three
// numbers; a version that does not parse is taken as new enough, so that odd builds work.
func atLeast(version, least string) bool {
	parse := func(s string) ([3]int, bool) {
		var v [3]int
		s, _, _ = strings.Cut(s, "-")
		parts := strings.SplitN(s, ".", 3)
		if len(parts) != 3 {
			return v, false
		}
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil {
				return v, false
			}
			v[i] = n
		}
		return v, true
	}
	have, ok1 := parse(version)
	want, ok2 := parse(least)
	if !ok1 || !ok2 {
		return true
	}
	for i := range have {
		if have[i] != want[i] {
			return have[i] > want[i]
		}
	}
	return true
}

// chooseReplicas is 3 when the connected server is in a cluster that has at least three
// servers, else 1.
func chooseReplicas(nc *nats.Conn) int {
	if nc.ConnectedClusterName() == "" || len(nc.Servers()) < 3 {
		return 1
	}
	return 3
}

// orUnlimited is n, or JetStream's -1 (no limit) for 0.
func orUnlimited(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}
