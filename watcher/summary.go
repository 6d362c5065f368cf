package watcher

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultSummaryInterval is how often Run logs what the polls came to.
const DefaultSummaryInterval = 5 * time.Minute

// summary counts what the committed polls of this replica came to since it was last logged.
type summary struct {
	mu       sync.Mutex
	results  map[string]int // polls by result: ok, not_modified, unchanged, or an error class
	newItems int
	alerts   int
}

// add counts a committed poll whose result is result.
func (s *summary) add(result string, st step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.results == nil {
		s.results = make(map[string]int)
	}
	s.results[result]++
	s.newItems += len(st.fresh)
	s.alerts += st.alerts.published
}

// take returns the counts and starts again from zero.
func (s *summary) take() (results map[string]int, newItems, alerts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	results, newItems, alerts = s.results, s.newItems, s.alerts
	s.results, s.newItems, s.alerts = nil, 0, 0
	return results, newItems, alerts
}

// logSummary logs one line of what the polls of the last interval came to, and how many feeds
// back off after a failure now.
func (w *Watcher) logSummary(interval time.Duration) {
	results, newItems, alerts := w.summary.take()
	if results == nil {
		results = map[string]int{}
	}
	polls := 0
	for _, n := range results {
		polls += n
	}
	w.log.Info("polls summary",
		zap.Duration("interval", interval),
		zap.Int("polls", polls),
		zap.Any("polls_by_result", results),
		zap.Int("new_items", newItems),
		zap.Int("alerts", alerts),
		zap.Int("feeds_backing_off", int(w.metrics.backingOff())),
	)
}
