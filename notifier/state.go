package notifier

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrConflict is wrapped by Save's error when the stored revision is not the one given: another
// writer got there first. Nothing was written; re-read and redo.
var ErrConflict = errors.New("notifier: state revision conflict")

// StateStore keeps each feed's state document in the KV bucket, keyed by feed id, with the
// KV revision for compare-and-swap. It satisfies watcher.StateStore and is safe for concurrent use.
// A bucket found deleted is re-created, empty, and the operation done again once.
type StateStore struct {
	kv    jetstream.KeyValue
	store *store
	res   resource // the bucket, for re-creating it
}

// Load returns the feed's state and its revision; a feed without state yields nil, 0, nil.
func (s *StateStore) Load(ctx context.Context, feedID string) ([]byte, uint64, error) {
	if !validToken(feedID) {
		return nil, 0, fmt.Errorf("load state: feed id %q is not a key", feedID)
	}
	e, err := s.kv.Get(ctx, feedID)
	if s.store.heal(ctx, s.res, err) {
		e, err = s.kv.Get(ctx, feedID)
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load state %s: %w", feedID, err)
	}
	return e.Value(), e.Revision(), nil
}

// Save writes data only if the stored revision is still revision (0: only if the feed has no
// state) and returns the new revision. A stale revision fails with ErrConflict; any error means
// nothing was written.
func (s *StateStore) Save(ctx context.Context, feedID string, data []byte, revision uint64) (uint64, error) {
	if !validToken(feedID) {
		return 0, fmt.Errorf("save state: feed id %q is not a key", feedID)
	}
	rev, err := s.write(ctx, feedID, data, revision)
	if s.store.heal(ctx, s.res, err) {
		// No stream got the write, so it is safe to repeat. A bucket re-created is empty: only
		// a revision 0 is right in it, any other is a conflict.
		rev, err = s.write(ctx, feedID, data, revision)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("save state %s at revision %d: %w: %w", feedID, revision, ErrConflict, err)
	}
	if err != nil {
		return 0, fmt.Errorf("save state %s: %w", feedID, err)
	}
	return rev, nil
}

// write creates the key (revision 0) or updates it at revision.
func (s *StateStore) write(ctx context.Context, feedID string, data []byte, revision uint64) (uint64, error) {
	if revision == 0 {
		return s.kv.Create(ctx, feedID, data)
	}
	return s.kv.Update(ctx, feedID, data, revision)
}
