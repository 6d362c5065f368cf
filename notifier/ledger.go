package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Ledger keeps, in a KV bucket every replica shares ("<base>_backfills"), when each rule version
// went live and the claim or completion of its backfill; one key a version. It implements
// watcher.Ledger and is safe for concurrent use; writes are compare-and-swap, so that two
// replicas that record or claim at once agree on one answer.
type Ledger struct {
	kv jetstream.KeyValue
}

// Ledger is the backfill ledger, or nil when the archive is disabled.
func (n *Notifier) Ledger() *Ledger { return n.ledger }

// ledgerEntry is the value of one rule version's key.
type ledgerEntry struct {
	Live  time.Time `json:"live"`            // when the version first went live
	Owner string    `json:"owner,omitempty"` // the replica that claimed its backfill
	Until time.Time `json:"until,omitzero"`  // when that claim lapses unless renewed
	Done  time.Time `json:"done,omitzero"`   // when its backfill was done
}

// maxLedgerAttempts bounds the compare-and-swap retries of one write.
const maxLedgerAttempts = 10

// Live records now as the time each version first went live, for those without one, and
// returns every version's recorded time.
func (l *Ledger) Live(ctx context.Context, versions []string, now time.Time) (map[string]time.Time, error) {
	known := map[string]bool{}
	keys, err := l.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: list: %w", err)
	}
	for k := range keys.Keys() {
		known[k] = true
	}
	out := make(map[string]time.Time, len(versions))
	for _, v := range versions {
		if !known[v] {
			data, _ := json.Marshal(ledgerEntry{Live: now.UTC()})
			_, err := l.kv.Create(ctx, v, data)
			if err == nil {
				out[v] = now.UTC()
				continue
			}
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return nil, fmt.Errorf("ledger: record %s: %w", v, err)
			}
		}
		e, _, err := l.get(ctx, v)
		if err != nil {
			return nil, err
		}
		out[v] = e.Live
	}
	return out, nil
}

// Claim takes the backfill of version for owner until until, unless it is done or another
// owner's claim has not lapsed; a claim of the same owner is renewed.
func (l *Ledger) Claim(ctx context.Context, version, owner string, until time.Time) (claimed, done bool, err error) {
	for range maxLedgerAttempts {
		e, rev, err := l.get(ctx, version)
		if err != nil {
			return false, false, err
		}
		switch {
		case !e.Done.IsZero():
			return false, true, nil
		case e.Owner != "" && e.Owner != owner && time.Now().Before(e.Until):
			return false, false, nil
		}
		e.Owner, e.Until = owner, until.UTC()
		ok, err := l.update(ctx, version, e, rev)
		if err != nil {
			return false, false, err
		}
		if ok {
			return true, false, nil
		}
	}
	return false, false, fmt.Errorf("ledger: claim %s: too many concurrent writes", version)
}

// Done marks the backfill of version done.
func (l *Ledger) Done(ctx context.Context, version string) error {
	for range maxLedgerAttempts {
		e, rev, err := l.get(ctx, version)
		if err != nil {
			return err
		}
		e.Done, e.Until = time.Now().UTC(), time.Time{}
		ok, err := l.update(ctx, version, e, rev)
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("ledger: done %s: too many concurrent writes", version)
}

// get reads version's entry and its revision.
func (l *Ledger) get(ctx context.Context, version string) (ledgerEntry, uint64, error) {
	kve, err := l.kv.Get(ctx, version)
	if err != nil {
		return ledgerEntry{}, 0, fmt.Errorf("ledger: read %s: %w", version, err)
	}
	var e ledgerEntry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		return ledgerEntry{}, 0, fmt.Errorf("ledger: read %s: %w", version, err)
	}
	return e, kve.Revision(), nil
}

// update writes e if version is still at rev; false when another write came first.
func (l *Ledger) update(ctx context.Context, version string, e ledgerEntry, rev uint64) (bool, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	_, err = l.kv.Update(ctx, version, data, rev)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return false, nil
	default:
		return false, fmt.Errorf("ledger: write %s: %w", version, err)
	}
}
