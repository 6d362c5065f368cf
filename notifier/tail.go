package notifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// TailConfig says where the alert stream is and which of its alerts Tail reads.
type TailConfig struct {
	// URL of the NATS server(s), comma-separated; required.
	URL string
	// CredsFile is a NATS credentials file; optional.
	CredsFile string
	// SubjectPrefix and AlertStream are those of the daemon; required.
	SubjectPrefix string
	AlertStream   string
	// Rule and Feed select the alerts of one rule or one feed; "" selects all.
	Rule, Feed string
	// Since replays the alerts stored within this duration before the new ones; 0 starts with
	// the next alert.
	Since time.Duration
}

// TailedAlert is one alert read by Tail: its subject and its event as stored.
type TailedAlert struct {
	Subject string
	Body    []byte // the CloudEvents JSON
	Event   Event
}

// Tail reads the alert stream through an ordered consumer, which survives reconnects and needs
// no state on the server, and calls fn with each alert in stream order until ctx is done (then it
// returns nil) or fn returns an error. A server that cannot be reached fails it at once with a
// *ConnectError. An alert that does not decode is logged and skipped.
func Tail(ctx context.Context, cfg TailConfig, log *zap.Logger, fn func(TailedAlert) error) error {
	if cfg.URL == "" || cfg.SubjectPrefix == "" || cfg.AlertStream == "" {
		return fmt.Errorf("%w: tail needs a URL, a subject prefix and an alert stream", ErrInvalidConfig)
	}
	if cfg.Since < 0 {
		return fmt.Errorf("%w: since must not be negative, got %s", ErrInvalidConfig, cfg.Since)
	}
	nc, err := Connect(cfg.URL, connectOptions("newswatch-tail", cfg.CredsFile, log, func() {})...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	occ := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{AlertSubject(cfg.SubjectPrefix, orAny(cfg.Rule), orAny(cfg.Feed))},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	}
	if cfg.Since > 0 {
		start := time.Now().Add(-cfg.Since)
		occ.DeliverPolicy, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := js.OrderedConsumer(ctx, cfg.AlertStream, occ)
	if err != nil {
		return fmt.Errorf("tail alert stream %s: %w", cfg.AlertStream, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("tail alert stream %s: %w", cfg.AlertStream, err)
	}
	defer msgs.Stop()
	stop := context.AfterFunc(ctx, msgs.Stop)
	defer stop()
	for {
		m, err := msgs.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tail alert stream %s: %w", cfg.AlertStream, err)
		}
		ev, err := ParseEvent(m.Data())
		if err != nil {
			log.Warn("skipping an alert that does not decode", zap.String("subject", m.Subject()), zap.Error(err))
			continue
		}
		if err := fn(TailedAlert{Subject: m.Subject(), Body: m.Data(), Event: ev}); err != nil {
			return err
		}
	}
}

func orAny(token string) string {
	if token == "" {
		return "*"
	}
	return token
}
