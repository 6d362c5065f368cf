package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
)

// ErrRejected is wrapped by the error of Publish for alerts that NATS refused for good: larger
// than the server's max_payload or the stream's max_msg_size, a subject the connection may not
// publish to, a stream that refuses the message (sealed, not the alert stream). Sending such an
// alert again gives the same answer.
var ErrRejected = errors.New("notifier: alert rejected")

const (
	// maxAlertsInFlight bounds the PubAcks one Publish awaits at once, far below the connection's
	// async-publish limit (pubAsyncMaxPending), so that concurrent batches do not stall each other.
	maxAlertsInFlight = 256
	// publishAttemptTimeout bounds the wait for the PubAcks of one attempt. An alert that has none
	// by then (its message or its answer was lost with a server) is sent again; its Msg-Id makes
	// the second copy harmless.
	publishAttemptTimeout = 5 * time.Second
	// publishRetryFirst and publishRetryMax bound the pause between two attempts, doubling from
	// the first to the second.
	publishRetryFirst = 100 * time.Millisecond
	publishRetryMax   = 2 * time.Second
	// permissionPoll is how often a wait for PubAcks looks for a permissions violation: the server
	// answers one with an asynchronous -ERR on the connection, never with a PubAck.
	permissionPoll = 50 * time.Millisecond
)

// Alerts publishes alert events to the alert stream. It is safe for concurrent use.
type Alerts struct {
	js      jetstream.JetStream
	prefix  string
	stream  string
	store   *store
	metrics *metrics
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
	defer func(start time.Time) { a.metrics.publishDuration.Observe(time.Since(start).Seconds()) }(time.Now())

	res := make([]result, len(msgs))
	todo := make([]int, len(msgs))
	for i := range todo {
		todo[i] = i
	}
	wait := publishRetryFirst
	for {
		for start := 0; start < len(todo); start += maxAlertsInFlight {
			a.attempt(ctx, msgs, res, todo[start:min(start+maxAlertsInFlight, len(todo))])
		}
		todo = todo[:0]
		for i, r := range res {
			if r.state == pending {
				todo = append(todo, i)
			}
		}
		if len(todo) == 0 || ctx.Err() != nil {
			break
		}
		// A deleted stream comes back empty, and the next attempt stores every alert not
		// acknowledged yet in it.
		a.store.heal(ctx, alertStream, missingCause(res, todo))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
		wait = min(2*wait, publishRetryMax)
	}
	return a.report(ctx, alerts, res)
}

// state is where one alert of a Publish stands.
type state int

const (
	pending  state = iota // not acknowledged yet; sent (again) at the next attempt
	acked                 // stored by the stream, or dropped by it as a duplicate
	rejected              // refused for good
	failed                // cannot be sent on this connection any more (closed, draining)
)

// result is the state of one alert and the last error it met.
type result struct {
	state state
	err   error
}

// classify is the result of an alert whose publish or PubAck failed with err.
func classify(err error) result {
	switch {
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrPermissionViolation):
		return result{rejected, err}
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// A deleted stream, which Publish re-creates: not the alert's fault.
		return result{pending, err}
	case permanent(err):
		// A 4xx answer of the stream to this message: too large for its max_msg_size, a sealed
		// stream, another stream than the alert stream. Store failures (503: limits reached with
		// discard new, no space) may pass when space frees up, so they are retried.
		return result{rejected, err}
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return result{failed, err}
	default:
		return result{pending, err}
	}
}

// missingCause is the first error of the alerts res[i], i in todo, that may mean that the
// stream is missing, or nil.
func missingCause(res []result, todo []int) error {
	for _, i := range todo {
		if mayBeMissing(res[i].err) {
			return res[i].err
		}
	}
	return nil
}

// attempt sends the alerts msgs[i] for i in todo, all at once, and waits for their PubAcks, at
// most publishAttemptTimeout and never past ctx, recording each outcome in res[i].
func (a *Alerts) attempt(ctx context.Context, msgs []*nats.Msg, res []result, todo []int) {
	nc := a.js.Conn()
	switch st := nc.Status(); st {
	case nats.CONNECTED, nats.DRAINING_SUBS, nats.DRAINING_PUBS:
		// Draining refuses publishes itself (ErrConnectionDraining) once it should.
	case nats.CLOSED:
		for _, i := range todo {
			res[i] = result{failed, nats.ErrConnectionClosed}
		}
		return
	default:
		for _, i := range todo {
			res[i] = result{pending, fmt.Errorf("%w (connection %s)", nats.ErrConnectionReconnecting, st)}
		}
		return
	}
	// A permissions violation is an -ERR that replaces the connection's last error; the one
	// there before this attempt is not ours.
	seen := nc.LastError()
	futures := make([]jetstream.PubAckFuture, len(todo))
	for k, i := range todo {
		f, err := a.js.PublishMsgAsync(msgs[i], jetstream.WithExpectStream(a.stream))
		if err != nil {
			res[i] = classify(err)
			continue
		}
		futures[k] = f
	}

	deadline := time.NewTimer(publishAttemptTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(permissionPoll)
	defer tick.Stop()
	denied := make(map[string]error) // by subject
	over := false                    // the attempt's time or ctx ran out: take only what is there
	for k, f := range futures {
		if f == nil {
			continue
		}
		i := todo[k]
		subject := msgs[i].Subject
		ok, errc := f.Ok(), f.Err()
	wait:
		for {
			if err, found := denied[subject]; found {
				res[i] = result{rejected, err}
				break
			}
			if over {
				select {
				case ack := <-ok:
					res[i] = a.acked(ack)
				case err := <-errc:
					res[i] = classify(err)
				default:
					res[i] = result{pending, fmt.Errorf("no acknowledgement within %s", publishAttemptTimeout)}
					if ctx.Err() != nil {
						res[i].err = fmt.Errorf("no acknowledgement: %w", context.Cause(ctx))
					}
				}
				break
			}
			select {
			case ack := <-ok:
				res[i] = a.acked(ack)
				break wait
			case err := <-errc:
				res[i] = classify(err)
				break wait
			case <-tick.C:
				if err := nc.LastError(); err != seen {
					seen = err
					a.deny(denied, err, msgs, todo, futures)
				}
			case <-deadline.C:
				over = true
			case <-ctx.Done():
				over = true
			}
		}
	}
}

// deny records in denied the subjects of msgs still awaited (futures[k] for msgs[todo[k]]) that
// err, the connection's last error, says may not be published to. The server names the subject
// only in the text of the -ERR, which nats.go passes on as it came.
func (a *Alerts) deny(denied map[string]error, err error, msgs []*nats.Msg, todo []int, futures []jetstream.PubAckFuture) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	for k, f := range futures {
		if f == nil {
			continue
		}
		subject := msgs[todo[k]].Subject
		if strings.Contains(err.Error(), "Publish to "+strconv.Quote(subject)) {
			denied[subject] = err
		}
	}
}

// acked counts a PubAck and is its result.
func (a *Alerts) acked(ack *jetstream.PubAck) result {
	label := "ok"
	if ack.Duplicate {
		label = "duplicate"
	}
	a.metrics.published.WithLabelValues(label).Inc()
	return result{state: acked}
}

// report is Publish's error for the results res of alerts.
func (a *Alerts) report(ctx context.Context, alerts []event.Alert, res []result) error {
	var refused, unsent []error
	for i, r := range res {
		al := alerts[i]
		switch r.state {
		case acked:
			continue
		case rejected:
			refused = append(refused, fmt.Errorf("publish alert rule %s feed %s: %w: %w", al.RuleID, al.FeedID, ErrRejected, r.err))
		case pending:
			err := r.err
			if ctx.Err() != nil && !errors.Is(err, context.Cause(ctx)) {
				err = fmt.Errorf("no acknowledgement: %w (last error: %w)", context.Cause(ctx), err)
			}
			unsent = append(unsent, fmt.Errorf("publish alert rule %s feed %s: %w", al.RuleID, al.FeedID, err))
		default:
			unsent = append(unsent, fmt.Errorf("publish alert rule %s feed %s: %w", al.RuleID, al.FeedID, r.err))
		}
		a.metrics.published.WithLabelValues("error").Inc()
	}
	if len(unsent) == 0 {
		return errors.Join(refused...)
	}
	// The batch has to be published again, refused alerts included: ErrRejected must not let the
	// caller take it as done.
	for _, err := range refused {
		unsent = append(unsent, errors.New(err.Error()))
	}
	return errors.Join(unsent...)
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
