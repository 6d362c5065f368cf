package main

import (
	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/watcher"
	"github.com/newswatch/newswatch/watcher/source"
)

// feedSource is the watcher's view of a feed's type and options.
func feedSource(f config.Feed) watcher.Source {
	return watcher.Source{
		Type:           watcher.SourceType(f.Type),
		Selectors:      source.Selectors{Item: f.Selectors.Item, Title: f.Selectors.Title, Link: f.Selectors.Link, Date: f.Selectors.Date, Summary: f.Selectors.Summary},
		Channel:        f.Channel,
		Instance:       f.Instance,
		Tag:            f.Tag,
		Account:        f.Account,
		ExcludeReplies: f.ExcludeReplies,
		Replies:        f.Replies,
		SkipReposts:    !f.Reposts,
	}
}
