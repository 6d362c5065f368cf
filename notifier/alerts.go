package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
)

// ErrRejected is wrapped by the error of a Publish (of alerts or of archived items) for the
// messages that NATS refused for good: larger than the server's max_payload or the stream's
// max_msg_size, a subject the connection may not publish to, a stream that refuses the message
// (sealed, not the stream meant). Sending such a message again gives the same answer.
var ErrRejected = errors.New("notifier: message rejected")

// Alerts publishes alert events to the alert stream. It is safe for concurrent use.
type Alerts struct {
	pub    *publisher
	prefix string
}

// Publish publishes one event per alert on <prefix>.alert.<rule>.<feed> and returns once
// JetStream has acknowledged every one of them, or each that was not is known to be refused
// for good, or ctx is done. A message de-duplicated by the stream (the same rule and item
// published within the duplicate window) counts as acknowledged, so publishing again after a
// failure is safe. Nothing is sent when an alert does not validate (ErrInvalidAlert).
//
// Transient failures are retried with a short backoff until ctx is done: no JetStream responder
// (a server starting, a stream leader moving), a PubAck that does not come, a connection that
// is reconnecting (nothing is sent then; the attempt waits for the connection instead of
// filling its reconnect buffer). No responder may also mean that the alert stream was deleted:
// when a stream info confirms it, the stream is re-created before the next attempt.
//
// The error joins one error per alert that failed, each naming its rule and feed. When every
// alert that failed was refused for good and all the others were acknowledged, each of those
// errors wraps ErrRejected: errors.Is(err, ErrRejected) then means that the batch is done and
// the refused alerts can only be logged. Whenever some alert was not acknowledged for another
// reason (ctx done, connection closed), the error does not wrap ErrRejected, and the caller
// must publish the batch again later.
func (a *Alerts) Publish(ctx context.Context, alerts []event.Alert) error {
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
	res := a.pub.send(ctx, msgs)
	return a.pub.report(ctx, res, func(i int) string {
		return "alert rule " + alerts[i].RuleID + " feed " + alerts[i].FeedID
	})
}

// message is the NATS message of one alert.
func (a *Alerts) message(al event.Alert) (*nats.Msg, error) {
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
