package console

import (
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/watcher"
)

// Snapshot is an in-memory copy of every feed's decoded state, kept up to date by a watch of the
// state bucket (see Apply and Ready), so that a page of the feed list costs no reads of the
// store. It keeps the status of each feed alone, not its seen set: a few hundred bytes a feed.
// It is safe for concurrent use.
type Snapshot struct {
	log    *zap.Logger
	mu     sync.RWMutex
	states map[string]watcher.PackedStatus
	// maybe is the feeds whose state may be a problem at some time (see MayBeProblems).
	maybe  map[string]struct{}
	loaded bool
}

// NewSnapshot returns an empty Snapshot, not loaded. A nil log discards logs.
func NewSnapshot(log *zap.Logger) *Snapshot {
	if log == nil {
		log = zap.NewNop()
	}
	return &Snapshot{log: log, states: make(map[string]watcher.PackedStatus), maybe: make(map[string]struct{})}
}

// Apply records the stored state of a feed; nil is a state deleted.
func (s *Snapshot) Apply(id string, value []byte) {
	if value == nil {
		s.mu.Lock()
		delete(s.states, id)
		delete(s.maybe, id)
		s.mu.Unlock()
		return
	}
	st, err := watcher.DecodeStatus(value)
	if err != nil {
		// The watcher starts such a feed again at its next poll; until then it shows as new.
		s.log.Debug("feed state does not decode", zap.String("feed", id), zap.Error(err))
		st = watcher.FeedStatus{}
	}
	p := st.Pack()
	// At the zero time any backoff is still to come: a problem now or later.
	maybe := st.MayBeProblem(time.Time{})
	s.mu.Lock()
	s.states[id] = p
	if maybe {
		s.maybe[id] = struct{}{}
	} else {
		delete(s.maybe, id)
	}
	s.mu.Unlock()
}

// Ready marks the snapshot loaded: every state stored when the watch began is in.
func (s *Snapshot) Ready() {
	s.mu.Lock()
	s.loaded = true
	s.mu.Unlock()
}

// Get implements States.
func (s *Snapshot) Get(id string) (watcher.FeedStatus, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.states[id].Unpack(), s.loaded
}
