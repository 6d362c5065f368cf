package watcher

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/event"
)

// archive archives the new items of a poll of f (those its step holds) and returns, once every
// one is stored, where the feed's record in the archive ends, for its state. A first poll, and
// a poll of a feed whose state knows that end, archive through Archiver.ArchiveAfter, all at
// once; a feed whose state does not (written by a version before it) archives alertBatch items
// at a time through Archiver.Archive. Items the archive refuses for good are logged and dropped,
// as alerts are, so that they do not fail the feed's every poll from now on. Without an
// Archiver it does nothing.
//
// The archive keeps every field the matcher reads as the item was parsed (each at most
// MaxFieldBytes), so that a backtest matches it as the live poll did; the identifiers and
// names are cut as in an alert.
func (w *Watcher) archive(ctx context.Context, f *feedPlan, s step, now time.Time) (uint64, error) {
	items, end := s.fresh, s.state.ArchiveSeq
	if w.archiver == nil || len(items) == 0 {
		return end, nil
	}
	feedURL, feedTitle := redactURL(f.URL), truncateUTF8(s.title, maxAlertTitle)
	var alerting map[string]bool // of a poll that mutes some items
	if s.muted != "" {
		alerting = make(map[string]bool, len(s.alerting))
		for _, it := range s.alerting {
			alerting[it.Key] = true
		}
	}
	byID := !s.first && end == 0
	archive, size := func(ctx context.Context, items []event.Archived) (uint64, error) {
		return w.archiver.ArchiveAfter(ctx, items, end)
	}, len(items)
	if byID {
		archive, size = w.archiver.Archive, alertBatch
	}
	for start := 0; start < len(items); start += size {
		chunk := items[start:min(start+size, len(items))]
		batch := make([]event.Archived, len(chunk))
		for i, it := range chunk {
			item := boundedItem(it.Item)
			item.Title, item.Summary = it.Title, it.Summary
			batch[i] = event.Archived{
				FeedID:    f.ID,
				FeedURL:   feedURL,
				FeedTitle: feedTitle,
				Tags:      f.Tags,
				Item:      item,
				Content:   it.Content,
				FirstSeen: now,
			}
			if alerting != nil && !alerting[it.Key] {
				batch[i].Muted = s.muted
			}
		}
		actx, cancel := context.WithTimeoutCause(ctx, publishTimeout, errPublishTimeout)
		last, err := archive(actx, batch)
		cancel()
		if byID {
			end = max(end, last)
		} else {
			end = last // which may be less than it was: a subject cut, or a stream made anew
		}
		if errors.Is(err, ErrRejected) {
			w.log.Error("items rejected by the archive for good; not retried", zap.String("feed", f.ID), zap.Int("items", len(batch)), zap.Error(err))
			continue
		}
		if err != nil {
			return 0, err
		}
	}
	return end, nil
}
