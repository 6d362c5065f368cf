package slack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Bridge posts the alerts of the alert stream to Slack.
type Bridge struct {
	cfg     Config
	log     *zap.Logger
	js      jetstream.JetStream
	router  router
	gates   *gates
	lanes   *lanes
	metrics *metrics
	now     func() time.Time
	// instance tells this bridge's pending records from those of others.
	instance string

	ledger atomic.Pointer[ledger]
	ready  atomic.Bool
	ran    atomic.Bool

	mu       sync.Mutex
	inFlight map[string]bool // event ids being handled
}

// New validates cfg and returns a Bridge; nothing is contacted until Run.
func New(cfg Config, log *zap.Logger) (*Bridge, error) {
	if log == nil {
		return nil, fmt.Errorf("%w: logger is nil", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Bridge{
		instance: rand.Text(),
		cfg:      cfg,
		log:      log,
		js:       js,
		router:   router{routes: cfg.Routes, def: cfg.DefaultChannel},
		gates:    newGates(cfg.Rate, cfg.Burst),
		lanes:    newLanes(),
		metrics:  m,
		now:      time.Now,
		inFlight: map[string]bool{},
	}, nil
}

// Run consumes the alert stream until ctx is done, then lets the alerts in flight finish for at
// most DrainTimeout and returns nil. While the alert stream does not exist (the daemon has not
// started yet) or NATS does not answer, it waits and tries again. Run may be called once.
func (b *Bridge) Run(ctx context.Context) error {
	if !b.ran.CompareAndSwap(false, true) {
		return errors.New("slack bridge: Run called twice")
	}
	// Handlers keep working for DrainTimeout after ctx is done, so that posts in flight finish.
	work, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(errors.New("slack bridge stopped"))
	var wg sync.WaitGroup
	sem := make(chan struct{}, b.cfg.MaxInFlight)
	wg.Go(func() { b.runDeliveries(ctx, work) })

	for ctx.Err() == nil {
		cons, err := b.setup(ctx)
		if err != nil {
			break // ctx is done
		}
		b.ready.Store(true)
		b.consume(ctx, work, cons, sem, &wg)
		b.ready.Store(false)
	}

	drained := make(chan struct{})
	go func() {
		wg.Wait()
		close(drained)
	}()
	t := time.NewTimer(b.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		b.log.Warn("alerts still in flight after the drain timeout; they will be delivered again",
			zap.Duration("drain_timeout", b.cfg.DrainTimeout))
		cancelWork(errors.New("slack bridge drain timeout"))
		<-drained
	}
	return nil
}

// Ready reports whether the bridge is consuming: set up, connected, JetStream answering.
func (b *Bridge) Ready(ctx context.Context) error {
	if !b.ready.Load() {
		return errors.New("slack bridge not ready: not consuming")
	}
	if st := b.cfg.Conn.Status(); st != nats.CONNECTED {
		return fmt.Errorf("slack bridge not ready: nats connection %s", st)
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("slack bridge not ready: jetstream: %w", err)
	}
	return nil
}

// consume hands each message to a handler until ctx is done or the consumer goes away.
func (b *Bridge) consume(ctx, work context.Context, cons jetstream.Consumer, sem chan struct{}, wg *sync.WaitGroup) {
	iter, err := cons.Messages(jetstream.PullMaxMessages(b.cfg.MaxInFlight))
	if err != nil {
		b.log.Warn("cannot consume the alert stream; retrying", zap.Error(err))
		b.sleep(ctx, b.cfg.RetryMin)
		return
	}
	stop := context.AfterFunc(ctx, iter.Stop)
	defer stop()
	defer iter.Stop()
	var lastErr string
	for {
		msg, err := iter.Next()
		if err != nil {
			switch {
			case errors.Is(err, jetstream.ErrMsgIteratorClosed):
				return
			case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
				b.log.Warn("the consumer is gone; creating it again", zap.String("consumer", b.cfg.Durable), zap.Error(err))
				return
			}
			if err.Error() != lastErr { // log once per kind of trouble, not at every heartbeat
				b.log.Warn("consuming the alert stream", zap.Error(err))
				lastErr = err.Error()
			}
			continue
		}
		lastErr = ""
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			_ = msg.Nak() // unhandled: let it go at once to another bridge
			return
		}
		j := b.receive(msg) // here, so that the alerts take their turns in the order they come
		wg.Go(func() {
			defer func() { <-sem }()
			b.handle(ctx, work, j)
		})
	}
}

// sleep waits d or until ctx is done.
func (b *Bridge) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
