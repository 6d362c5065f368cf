package notifier

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StateChange is one feed's state as the bucket holds it now: Value is nil when it was deleted.
type StateChange struct {
	Key   string
	Value []byte
}

// Watch calls fn with every feed state in the bucket, then ready once, then with every change,
// in order, until ctx is done (it returns nil) or the watch fails. The bucket's values are
// streamed once by the server, not read one by one, so a replica keeps a copy of the states of
// 100,000 feeds up to date at the cost of the changes alone. fn and ready run on the caller's
// goroutine, one at a time.
func (s *StateStore) Watch(ctx context.Context, fn func(StateChange), ready func()) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch feed states: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("watch feed states: the watcher stopped")
			}
			if e == nil {
				ready()
				continue
			}
			c := StateChange{Key: e.Key()}
			if e.Operation() == jetstream.KeyValuePut {
				c.Value = e.Value()
			}
			fn(c)
		}
	}
}

// AlertQuery selects recent alerts: those of Rule and Feed ("" for any) published at or after
// Since, the last Limit of them.
type AlertQuery struct {
	Rule, Feed string
	Since      time.Time
	Limit      int
}

// RecentAlerts reads the alerts the query selects from the alert stream, oldest first, through
// an ordered consumer started at q.Since; it reads up to the alerts stored when it started.
func (n *Notifier) RecentAlerts(ctx context.Context, q AlertQuery) ([]TailedAlert, error) {
	if q.Limit < 1 {
		return nil, fmt.Errorf("%w: limit must be positive, got %d", ErrInvalidConfig, q.Limit)
	}
	for _, t := range []string{q.Rule, q.Feed} {
		if t != "" && !validToken(t) {
			return nil, fmt.Errorf("%w: %q is not a subject token", ErrInvalidConfig, t)
		}
	}
	since := q.Since
	occ := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{AlertSubject(n.cfg.SubjectPrefix, orAny(q.Rule), orAny(q.Feed))},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	}
	cons, err := n.js.OrderedConsumer(ctx, n.names.alertStream, occ)
	if err != nil {
		return nil, fmt.Errorf("read alert stream %s: %w", n.names.alertStream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read alert stream %s: %w", n.names.alertStream, err)
	}
	pending := info.NumPending
	ring := make([]TailedAlert, 0, min(uint64(q.Limit), pending))
	next := 0
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read alert stream %s: %w", n.names.alertStream, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			pending--
			ev, err := ParseEvent(m.Data())
			if err != nil {
				continue // not an alert of ours; tail logs these
			}
			a := TailedAlert{Subject: m.Subject(), Body: m.Data(), Event: ev}
			if len(ring) < q.Limit {
				ring = append(ring, a)
			} else {
				ring[next] = a
				next = (next + 1) % q.Limit
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read alert stream %s: %w", n.names.alertStream, err)
		}
		if got == 0 || ctx.Err() != nil {
			break
		}
	}
	return slices.Concat(ring[next:], ring[:next]), nil
}
