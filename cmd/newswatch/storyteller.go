package main

import (
	"context"
	"sync"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/story"
	"github.com/newswatch/newswatch/watcher"
)

// storyTeller gives the items test and backtest read their stories, as the daemon gives them,
// over the items in the order it is shown them (publication for test's sources, the archive's
// for backtest), and tells which match of a rule opened its story for the rule. One goroutine's.
type storyTeller struct {
	a         *story.Assigner
	preparers sync.Pool               // of *story.Preparer of a, for the reader's goroutines
	opened    map[string]bool         // rule and story id
	latest    map[itemRef]story.Story // of the items of the chunk being told (backtest)
}

// itemRef names an item of a feed.
type itemRef struct{ feed, key string }

func newStoryTeller(l *loaded) (*storyTeller, error) {
	a, err := story.New(story.Options{Window: l.cfg.Stories.Window, Lists: l.cfg.Lists, MaxStories: l.cfg.Stories.MaxStories})
	if err != nil {
		return nil, err
	}
	s := &storyTeller{a: a, opened: map[string]bool{}, latest: map[itemRef]story.Story{}}
	s.preparers.New = func() any { return a.NewPreparer() }
	return s, nil
}

// assign gives an item of feed its story, at time at (its publication, else when it was seen).
func (s *storyTeller) assign(feed string, it watcher.Item, at time.Time) story.Story {
	return s.a.Assign(storyItem(feed, it, at))
}

// storyItem is an item of feed as the stories read it, at time at.
func storyItem(feed string, it watcher.Item, at time.Time) story.Item {
	text := it.Summary
	if len(it.Content) > len(text) {
		text = it.Content
	}
	return story.Item{FeedID: feed, Key: it.Key, Title: it.Title, Text: text, Link: it.Link, Time: at}
}

// prepare reads the story keys of archived items, at the earlier of their publication and when
// they were first seen. It is safe for concurrent use.
func (s *storyTeller) prepare(items []event.Archived) []story.Prepared {
	pr := s.preparers.Get().(*story.Preparer)
	defer s.preparers.Put(pr)
	out := make([]story.Prepared, len(items))
	for i, a := range items {
		at := a.FirstSeen
		if p := a.Item.Published; !p.IsZero() && p.Before(at) {
			at = p
		}
		out[i] = pr.Prepare(storyItem(a.FeedID, watcher.Item{Item: a.Item, Content: a.Content}, at))
	}
	return out
}

// ref is the story of a match of rule, which opens st for the rule when no earlier one did.
func (s *storyTeller) ref(st story.Story, rule string) *console.BacktestStory {
	first := !s.opened[rule+"\x00"+st.ID]
	s.opened[rule+"\x00"+st.ID] = true
	return &console.BacktestStory{ID: st.ID, First: first, Size: st.Size, Feeds: st.Feeds, Languages: st.Languages, FirstSeen: st.FirstSeen.UTC()}
}

// storyReader gives every item its reader passes on its story, in the archive's order, before
// the work on the chunk is taken in: so that found, called in that taking, can read the story
// of its item in latest. The keys of a chunk's items are read beside the work on the chunk, on
// the reader's goroutines; only the stories' decisions are made in order.
type storyReader struct {
	r watcher.ArchiveReader
	s *storyTeller
}

func (r storyReader) ReadArchive(ctx context.Context, q event.ArchiveQuery, work func([]event.Archived) func() error) error {
	return r.r.ReadArchive(ctx, q, func(items []event.Archived) func() error {
		prepared := r.s.prepare(items)
		then := work(items)
		return func() error {
			clear(r.s.latest)
			for i, a := range items {
				r.s.latest[itemRef{a.FeedID, a.Item.Key}] = r.s.a.AssignPrepared(&prepared[i])
			}
			return then()
		}
	})
}
