package watcher

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/event"
)

// archive archives the new items of a poll of f (those its step holds), alertBatch at a time (a
// first poll's at once, through Archiver.ArchiveFirst), and returns when every one is stored.
// Items the archive refuses for good are logged and dropped, as alerts are, so that they do not
// fail the feed's every poll from now on. Without an Archiver it does nothing.
//
// The archive keeps every field the matcher reads as the item was parsed (each at most
// MaxFieldBytes), so that a backtest matches it as the live poll did; the identifiers and
// names are cut as in an alert.
func (w *Watcher) archive(ctx context.Context, f *feedPlan, s step, now time.Time) error {
	items := s.fresh
	if w.archiver == nil || len(items) == 0 {
		return nil
	}
	feedURL, feedTitle := redactURL(f.URL), truncateUTF8(s.title, maxAlertTitle)
	var alerting map[string]bool // of a poll that mutes some items
	if s.muted != "" {
		alerting = make(map[string]bool, len(s.alerting))
		for _, it := range s.alerting {
			alerting[it.Key] = true
		}
	}
	archive, size := w.archiver.Archive, alertBatch
	if s.first {
		// One call for the whole poll (at most the poll's cap of items): each call of
		// ArchiveFirst after the first would have to read what the earlier ones archived.
		archive, size = w.archiver.ArchiveFirst, len(items)
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
		err := archive(actx, batch)
		cancel()
		if errors.Is(err, ErrRejected) {
			w.log.Error("items rejected by the archive for good; not retried", zap.String("feed", f.ID), zap.Int("items", len(batch)), zap.Error(err))
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}
