package console

import "time"

// MayBeProblems returns the ids of the feeds whose state may be a problem at now (see
// watcher.FeedStatus.MayBeProblem), in no order. Apply keeps the set it reads from: the feeds
// that failed, are gone or stale, or back off, whose number is a fraction of all at any scale,
// so that a list that shows the problems first reads their states and its page's alone.
func (s *Snapshot) MayBeProblems(now time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.maybe))
	for id := range s.maybe {
		if s.states[id].Unpack().MayBeProblem(now) {
			out = append(out, id)
		}
	}
	return out
}
