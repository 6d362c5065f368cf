package watcher

import (
	"context"
	"errors"
	"time"

	"github.com/newswatch/newswatch/event"
)

// Publisher publishes alerts and returns only once the server has acknowledged every one of them.
// Publishing the same alert twice must be harmless: the implementation de-duplicates by event id.
// When the only failures are alerts that the server refuses for good (too large, not
// permitted), so that publishing them again cannot help, Publish returns an error that wraps
// ErrRejected and names them; every other alert has been stored then. No other error may wrap
// ErrRejected.
type Publisher interface {
	Publish(ctx context.Context, alerts []event.Alert) error
}

// Archiver keeps every new item once, as it is first seen, before the state that remembers it
// commits; like Publisher, it returns only once every item is stored, archiving an item again is
// harmless (the implementation de-duplicates by feed and item key), and items refused for good
// make an error that wraps ErrRejected, the others stored.
//
// ArchiveFirst does the same for the items of a feed's first poll, all of one feed; it must keep
// them once without a window of time in which repeats are recognised, because a cold start of
// many feeds archives all their items at once (see notifier.Archive.PublishFirst).
type Archiver interface {
	Archive(ctx context.Context, items []event.Archived) error
	ArchiveFirst(ctx context.Context, items []event.Archived) error
}

// ErrRejected marks alerts that the server refused for good; see Publisher. A poll logs them
// with their feed and goes on, rather than retry its feed forever.
var ErrRejected = errors.New("rejected for good")

// StateStore keeps each feed's state as an opaque document with a revision, for compare-and-swap.
type StateStore interface {
	// Load returns the feed's state and its revision; a feed without state yields nil, 0, nil.
	Load(ctx context.Context, feedID string) (data []byte, revision uint64, err error)
	// Save writes data only if the stored revision is still revision (0: only if absent) and
	// returns the new revision. Any error means nothing was written.
	Save(ctx context.Context, feedID string, data []byte, revision uint64) (uint64, error)
}

// JobQueue carries poll jobs between the schedule and the workers, across replicas.
type JobQueue interface {
	// Enqueue submits the poll of feedID for the slot; enqueueing the same (feedID, slot) again
	// is a no-op, so every replica may enqueue every slot.
	Enqueue(ctx context.Context, feedID string, slot time.Time) error
	// Consume runs handle for queued jobs with at most workers at once until ctx is done, then
	// waits for the handlers in flight. A job is acknowledged when handle returns nil and
	// delivered again later when it returns an error or its worker dies.
	Consume(ctx context.Context, workers int, handle func(ctx context.Context, feedID string, slot time.Time) error) error
}
