package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxAlertsInFlight bounds the PubAcks one Publish awaits at once, far below the connection's
// async-publish limit (pubAsyncMaxPending), so that concurrent batches do not stall each other.
const maxAlertsInFlight = 256

// Alerts publishes alert events to the alert stream. It is safe for concurrent use.
type Alerts struct {
	js      jetstream.JetStream
	prefix  string
	stream  string
	metrics *metrics
}

// Publish publishes one event per alert on <prefix>.alert.<rule>.<feed> and returns once
// JetStream has acknowledged every one of them, or ctx is done. A message de-duplicated by the
// stream (the same rule and item published within the duplicate window) counts as acknowledged,
// so publishing again after a failure is safe. Nothing is sent when an alert does not validate.
// The error joins one error per alert that failed, each naming its rule and feed.
func (a *Alerts) Publish(ctx context.Context, alerts []Alert) error {
	msgs := make([]*nats.Msg, len(alerts))
	for i, al := range alerts {
		m, err := a.message(al)
		if err != nil {
			return fmt.Errorf("publish alerts: %w", err)
		}
		msgs[i] = m
	}
	if ctx.Err() != nil {
		return fmt.Errorf("publish alerts: %w", context.Cause(ctx))
	}
	defer func(start time.Time) { a.metrics.publishDuration.Observe(time.Since(start).Seconds()) }(time.Now())
	var errs []error
	for start := 0; start < len(msgs); start += maxAlertsInFlight {
		end := min(start+maxAlertsInFlight, len(msgs))
		errs = append(errs, a.publishChunk(ctx, alerts[start:end], msgs[start:end])...)
	}
	return errors.Join(errs...)
}

// publishChunk sends msgs asynchronously and waits for each PubAck.
func (a *Alerts) publishChunk(ctx context.Context, alerts []Alert, msgs []*nats.Msg) []error {
	var errs []error
	fail := func(al Alert, err error) {
		a.metrics.published.WithLabelValues("error").Inc()
		errs = append(errs, fmt.Errorf("publish alert rule %s feed %s: %w", al.RuleID, al.FeedID, err))
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := a.js.PublishMsgAsync(m, jetstream.WithExpectStream(a.stream))
		if err != nil {
			fail(alerts[i], err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			result := "ok"
			if ack.Duplicate {
				result = "duplicate"
			}
			a.metrics.published.WithLabelValues(result).Inc()
		case err := <-f.Err():
			fail(alerts[i], err)
		case <-ctx.Done():
			fail(alerts[i], fmt.Errorf("no acknowledgement: %w", context.Cause(ctx)))
		}
	}
	return errs
}

// message is the NATS message of one alert.
func (a *Alerts) message(al Alert) (*nats.Msg, error) {
	ev, err := NewEvent(al)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode alert rule %s feed %s: %w", al.RuleID, al.FeedID, err)
	}
	m := nats.NewMsg(AlertSubject(a.prefix, al.RuleID, al.FeedID))
	m.Data = body
	m.Header.Set("Content-Type", EventContentType)
	m.Header.Set(jetstream.MsgIDHeader, ev.ID)
	return m, nil
}
