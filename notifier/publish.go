package notifier

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

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

// publisher sends messages with a Nats-Msg-Id to one stream and waits for their PubAcks,
// retrying what is not acknowledged; the alert stream and the item archive each have one. It is
// safe for concurrent use.
type publisher struct {
	js        jetstream.JetStream
	stream    string
	resource  resource // the stream, for re-creating it when it is missing
	store     *store
	published *prometheus.CounterVec // by result: ok, duplicate, error
	duration  prometheus.Histogram
}

// send publishes msgs and returns each one's result once every one is acknowledged, refused for
// good, or ctx is done (see Alerts.Publish for what is retried).
func (p *publisher) send(ctx context.Context, msgs []*nats.Msg) []result {
	defer func(start time.Time) { p.duration.Observe(time.Since(start).Seconds()) }(time.Now())
	res := make([]result, len(msgs))
	todo := make([]int, len(msgs))
	for i := range todo {
		todo[i] = i
	}
	wait := publishRetryFirst
	for {
		for start := 0; start < len(todo); start += maxAlertsInFlight {
			p.attempt(ctx, msgs, res, todo[start:min(start+maxAlertsInFlight, len(todo))])
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
		p.store.heal(ctx, p.resource, missingCause(res, todo))
		if !pause(ctx, wait) {
			break
		}
		wait = min(2*wait, publishRetryMax)
	}
	return res
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
func (p *publisher) attempt(ctx context.Context, msgs []*nats.Msg, res []result, todo []int) {
	nc := p.js.Conn()
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
		f, err := p.js.PublishMsgAsync(msgs[i], jetstream.WithExpectStream(p.stream))
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
					res[i] = p.acked(ack)
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
				res[i] = p.acked(ack)
				break wait
			case err := <-errc:
				res[i] = classify(err)
				break wait
			case <-tick.C:
				if err := nc.LastError(); err != seen {
					seen = err
					p.deny(denied, err, msgs, todo, futures)
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
func (p *publisher) deny(denied map[string]error, err error, msgs []*nats.Msg, todo []int, futures []jetstream.PubAckFuture) {
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
func (p *publisher) acked(ack *jetstream.PubAck) result {
	label := "ok"
	if ack.Duplicate {
		label = "duplicate"
	}
	p.published.WithLabelValues(label).Inc()
	return result{state: acked}
}

// report is the error of a publish of n messages with results res: nil when every one was
// acknowledged; else one error per message that was not, named by name(i). When every failure
// is a refusal for good, each error wraps ErrRejected; when some message is still to be sent
// again, none does (see Alerts.Publish).
func (p *publisher) report(ctx context.Context, res []result, name func(i int) string) error {
	var refused, unsent []error
	for i, r := range res {
		switch r.state {
		case acked:
			continue
		case rejected:
			refused = append(refused, fmt.Errorf("publish %s: %w: %w", name(i), ErrRejected, r.err))
		case pending:
			err := r.err
			if ctx.Err() != nil && !errors.Is(err, context.Cause(ctx)) {
				err = fmt.Errorf("no acknowledgement: %w (last error: %w)", context.Cause(ctx), err)
			}
			unsent = append(unsent, fmt.Errorf("publish %s: %w", name(i), err))
		default:
			unsent = append(unsent, fmt.Errorf("publish %s: %w", name(i), r.err))
		}
		p.published.WithLabelValues("error").Inc()
	}
	if len(unsent) == 0 {
		return errors.Join(refused...)
	}
	// The batch has to be published again, refused messages included: ErrRejected must not
	// let the caller take it as done.
	for _, err := range refused {
		unsent = append(unsent, errors.New(err.Error()))
	}
	return errors.Join(unsent...)
}

// pause waits for d, and reports whether it did: false when ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
