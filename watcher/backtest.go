package watcher

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
	"golang.org/x/time/rate"
)

// ArchiveReader reads the item archive for backtests and backfills. ReadArchive passes the
// items q selects, oldest first, a chunk at a time, to work, possibly on several goroutines at
// once, and calls the function work returns for each chunk in the archive's order, on the
// caller's goroutine; its error ends the read.
type ArchiveReader interface {
	ReadArchive(ctx context.Context, q event.ArchiveQuery, work func([]event.Archived) func() error) error
}

// BacktestQuery is what a backtest matches: the archive's items that Archive selects against
// the rules of Index, or only those named in Rules.
type BacktestQuery struct {
	Archive event.ArchiveQuery
	Index   *matcher.Index
	Rules   []string // empty: every rule of Index
	// Pace, when set, bounds the items read a second (a backfill beside live polls); its burst
	// must be at least the reader's chunk (512).
	Pace *rate.Limiter
}

// BacktestFound is one archived item and the rules it matched, each with its hits (offsets in
// every unit, see matcher.Units).
type BacktestFound struct {
	Item    event.Archived
	Matches []matcher.Match
}

// BacktestStats is what a backtest went through.
type BacktestStats struct {
	Items   int // items read
	Matched int // items that matched a rule
	Matches int // (item, rule) matches
	Took    time.Duration
}

// ErrStopBacktest may be returned by a backtest's found function to end it early without an
// error (a limit reached).
var ErrStopBacktest = errors.New("backtest stopped")

// Backtest matches the archived items q selects as a live poll would have, and calls found with
// each item that matched, in the archive's order. It publishes nothing and changes nothing.
// Matching runs on the reader's goroutines; found runs on the caller's.
func Backtest(ctx context.Context, r ArchiveReader, q BacktestQuery, found func(BacktestFound) error) (BacktestStats, error) {
	if q.Index == nil {
		return BacktestStats{}, errors.New("backtest: no rules")
	}
	start := time.Now()
	var st BacktestStats
	err := r.ReadArchive(ctx, q.Archive, func(items []event.Archived) func() error {
		var hits []BacktestFound
		for _, a := range items {
			if ms := matchArchived(q.Index, q.Rules, a); len(ms) > 0 {
				hits = append(hits, BacktestFound{Item: a, Matches: ms})
			}
		}
		n := len(items)
		return func() error {
			if q.Pace != nil {
				if err := q.Pace.WaitN(ctx, n); err != nil {
					return err
				}
			}
			st.Items += n
			for _, f := range hits {
				st.Matched++
				st.Matches += len(f.Matches)
				if err := found(f); err != nil {
					return err
				}
			}
			return nil
		}
	})
	st.Took = time.Since(start)
	if errors.Is(err, ErrStopBacktest) {
		err = nil
	}
	return st, err
}

// matchArchived is the matches of an archived item against idx, only of rules when any are
// named, with the hits' offsets in every unit.
func matchArchived(idx *matcher.Index, rules []string, a event.Archived) []matcher.Match {
	mi := archivedItem(a)
	ms := idx.Match(&mi)
	if len(rules) > 0 {
		ms = slices.DeleteFunc(ms, func(m matcher.Match) bool { return !slices.Contains(rules, m.Rule) })
	}
	for _, m := range ms {
		matcher.Units(m.Hits, &mi)
	}
	return ms
}

// archivedItem is an archived item as the matcher sees it: as its live poll saw it.
func archivedItem(a event.Archived) matcher.Item {
	return Item{Item: a.Item, Content: a.Content}.MatcherItem(a.FeedID, a.Tags)
}
