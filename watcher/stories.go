package watcher

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/story"
)

// ArchiveFollower is the item archive as the stories follow it: every item in the archive's
// order, from a time on, then each new one; caughtUp is called once the items archived when the
// follow began are passed on.
type ArchiveFollower interface {
	FollowArchive(ctx context.Context, from time.Time, fn func(event.Archived) error, caughtUp func()) error
}

// StoryPublisher publishes story events. Telling the same event again (another replica, a
// restart) is harmless: the implementation de-duplicates by event id (rule, story, kind and
// period).
type StoryPublisher interface {
	Publish(ctx context.Context, events []event.StoryEvent) error
}

// Tuning of stories.
const (
	// storyWait bounds how long a poll waits for the stories of its new items before it
	// publishes their alerts without one; the follower is milliseconds behind the archive
	// unless it is replaying the window at start.
	storyWait = 10 * time.Second
	// storyResults is how long the story of an item is kept for its poll to read: a poll
	// repeated after a crash reads it again within minutes.
	storyResults = 30 * time.Minute
	// storyLive is how old an item may be for its story events to be told: older ones are
	// being replayed at start, and their events were told by the run that saw them first.
	storyLive = 10 * time.Minute
	// storyCatchUp bounds how long Run waits, before it takes poll jobs, for the stories to
	// replay the window of the archive.
	storyCatchUp = 2 * time.Minute
)

// itemRef names an item of a feed.
type itemRef struct{ feed, key string }

// storyResult is the story of an item and the rules it opened that story for.
type storyResult struct {
	story story.Story
	first map[string]bool
	at    time.Time // the item's first-seen time
}

// openStory is a story that has had an alert of a rule: what its update events tell.
type openStory struct {
	title, link string
	story       event.StoryRef // as it stands after its latest item
	last        time.Time      // the latest item
	bucket      time.Time      // the period of the pending sources
	pending     []event.StorySource
}

// stories gives every archived item its story, in the archive's order, so that every replica
// gives the same items the same stories; it tells story events and answers polls that wait for
// the stories of their items. Its follow runs on one goroutine; the results are safe for any.
type stories struct {
	w        *Watcher
	follower ArchiveFollower
	pub      StoryPublisher
	a        *story.Assigner
	window   time.Duration

	mu      sync.Mutex
	results map[itemRef]*storyResult
	order   []itemRef // of results, oldest first, for pruning
	changed chan struct{}
	opened  map[string]map[string]*openStory // story id, rule id
	events  []event.StoryEvent               // to publish
	ready   atomic.Bool                      // the window replayed
	now     func() time.Time
}

func newStories(w *Watcher, cfg Config) (*stories, error) {
	a, err := story.New(story.Options{Window: cfg.StoryWindow, Lists: cfg.StoryLists, MaxStories: cfg.StoryMax})
	if err != nil {
		return nil, err
	}
	return &stories{w: w, follower: cfg.Follower, pub: cfg.StoryPublisher, a: a, window: orDefault(cfg.StoryWindow, story.DefaultWindow),
		results: map[itemRef]*storyResult{}, changed: make(chan struct{}), opened: map[string]map[string]*openStory{}, now: time.Now}, nil
}

// run follows the archive from the start of the window until ctx is done, and publishes the
// story events told, retrying those that fail.
func (s *stories) run(ctx context.Context) {
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.flush(ctx)
			}
		}
	}()
	defer func() { <-flushed }()
	// Two windows back: a story open now opened at most a window before its latest item, and so
	// a replay that starts two windows back sees the first item of every story still open but
	// those that have run without a pause for more than a window.
	from := s.now().Add(-2 * s.window)
	err := s.follower.FollowArchive(ctx, from, s.add, func() {
		s.ready.Store(true)
		s.w.log.Info("stories caught up with the archive", zap.Time("from", from))
	})
	if err != nil && ctx.Err() == nil {
		s.w.log.Error("following the archive for stories stopped", zap.Error(err))
	}
}

// add assigns an archived item its story, records which rules it opened the story for, and
// tells the story events it causes.
func (s *stories) add(a event.Archived) error {
	if a.Muted != "" {
		// A first poll's baseline or a flood held back: old news, or too much of it, that made
		// no alert. It opens no story, so that a first poll of many feeds does not fill the
		// window with what they had before.
		return nil
	}
	text := a.Item.Summary
	if len(a.Content) > len(text) {
		text = a.Content
	}
	st := s.a.Assign(story.Item{FeedID: a.FeedID, Key: a.Item.Key, Title: a.Item.Title, Text: text, Link: a.Item.Link, Time: storyTime(a)})
	p := s.w.plan.Load()
	mi := archivedItem(a)
	matches := p.index.Match(&mi)

	s.mu.Lock()
	defer s.mu.Unlock()
	live := s.now().Sub(a.FirstSeen) < storyLive
	src := event.StorySource{FeedID: a.FeedID, Key: a.Item.Key, Publisher: hostOf(a.Item.Link), Language: st.Language,
		Title: a.Item.Title, Link: a.Item.Link, FirstSeen: a.FirstSeen}
	res := &storyResult{story: st, at: a.FirstSeen}
	for _, m := range matches {
		rules := s.opened[st.ID]
		if rules == nil {
			rules = map[string]*openStory{}
			s.opened[st.ID] = rules
		}
		o := rules[m.Rule]
		if o == nil {
			if res.first == nil {
				res.first = map[string]bool{}
			}
			res.first[m.Rule] = true
			rules[m.Rule] = &openStory{title: a.Item.Title, link: a.Item.Link, story: storyRef(st, false), last: a.FirstSeen}
			if live {
				s.events = append(s.events, event.StoryEvent{Kind: event.StoryNew, RuleID: m.Rule, RuleQuery: p.rules[m.Rule].Query,
					Story: storyRef(st, true), Title: a.Item.Title, Link: a.Item.Link, Sources: []event.StorySource{src}, Time: s.now()})
			}
			continue
		}
		bucket := a.FirstSeen.Truncate(storyUpdatePeriod)
		if len(o.pending) > 0 && !bucket.Equal(o.bucket) {
			s.tellUpdate(m.Rule, o, p)
		}
		o.bucket, o.last, o.story = bucket, a.FirstSeen, storyRef(st, false)
		if live {
			o.pending = append(o.pending, src)
		}
	}
	// Only items that match some rule have alerts to wait for their story.
	if len(matches) > 0 {
		ref := itemRef{a.FeedID, a.Item.Key}
		if _, ok := s.results[ref]; !ok {
			s.order = append(s.order, ref)
		}
		s.results[ref] = res
	}
	s.prune(a.FirstSeen)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// storyTime is the time that places an archived item in the stories' window: when it was
// published, when the feed says and that is earlier than when it was first seen, else when it
// was first seen. An item published a week before its feed was first polled opens no story
// that the window keeps.
func storyTime(a event.Archived) time.Time {
	if p := a.Item.Published; !p.IsZero() && p.Before(a.FirstSeen) {
		return p
	}
	return a.FirstSeen
}

// storyUpdatePeriod is how long a period of story updates lasts: a story of a rule has at most
// one update event a period.
const storyUpdatePeriod = 5 * time.Minute

// tellUpdate queues the update of o's pending sources. It is called with s.mu held.
func (s *stories) tellUpdate(rule string, o *openStory, p *plan) {
	s.events = append(s.events, event.StoryEvent{Kind: event.StoryUpdate, RuleID: rule, RuleQuery: p.rules[rule].Query,
		Story: o.story, Title: o.title, Link: o.link, Sources: o.pending, Bucket: o.bucket, Time: s.now()})
	o.pending = nil
}

// prune drops the results older than storyResults and the stories of rules that left the
// window, as of the item time now. It is called with s.mu held.
func (s *stories) prune(now time.Time) {
	n := 0
	for n < len(s.order) && now.Sub(s.results[s.order[n]].at) > storyResults {
		delete(s.results, s.order[n])
		n++
	}
	s.order = s.order[n:]
	if len(s.opened) > 0 && len(s.order)%1024 == 0 {
		for id, rules := range s.opened {
			for r, o := range rules {
				if now.Sub(o.last) > s.window && len(o.pending) == 0 {
					delete(rules, r)
				}
			}
			if len(rules) == 0 {
				delete(s.opened, id)
			}
		}
	}
}

// flush tells the updates whose period has ended, and publishes the events told.
func (s *stories) flush(ctx context.Context) {
	s.mu.Lock()
	cutoff := s.now().Add(-storyUpdatePeriod - 10*time.Second)
	p := s.w.plan.Load()
	for _, rules := range s.opened {
		for r, o := range rules {
			if len(o.pending) > 0 && o.bucket.Before(cutoff) {
				s.tellUpdate(r, o, p)
			}
		}
	}
	events := s.events
	s.events = nil
	s.mu.Unlock()
	if len(events) == 0 || s.pub == nil {
		return
	}
	if err := s.pub.Publish(ctx, events); err != nil && ctx.Err() == nil {
		s.w.log.Warn("story events not published; retried", zap.Int("events", len(events)), zap.Error(err))
		s.mu.Lock()
		s.events = append(events, s.events...)
		s.mu.Unlock()
	}
}

// awaitReady waits until the stories have replayed the archive's window, at most limit.
func (s *stories) awaitReady(ctx context.Context, limit time.Duration) {
	start := time.Now()
	for !s.ready.Load() && time.Since(start) < limit && ctx.Err() == nil {
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if !s.ready.Load() && ctx.Err() == nil {
		s.w.log.Warn("stories not caught up with the archive; polling starts, alerts may lack their story meanwhile", zap.Duration("waited", limit))
	}
}

// await returns the stories of the items of feed keys, waiting for those not known yet up to
// storyWait (or until ctx is done); those still unknown then are missing from the result.
func (s *stories) await(ctx context.Context, feed string, keys []string) map[string]*storyResult {
	deadline := time.NewTimer(storyWait)
	defer deadline.Stop()
	out := make(map[string]*storyResult, len(keys))
	for {
		s.mu.Lock()
		for _, k := range keys {
			if r, ok := s.results[itemRef{feed, k}]; ok {
				out[k] = r
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(out) == len(keys) {
			return out
		}
		select {
		case <-changed:
		case <-deadline.C:
			return out
		case <-ctx.Done():
			return out
		}
	}
}

// storyRef is an alert's view of a story.
func storyRef(st story.Story, first bool) event.StoryRef {
	return event.StoryRef{ID: st.ID, First: first, Size: st.Size, Feeds: st.Feeds, Languages: st.Languages, FirstSeen: st.FirstSeen}
}

// hostOf is the host of a link without "www.", "" when it has none.
func hostOf(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

// storiesOf waits for the stories of a poll's items that match some rule, and returns them by
// item key; nil without stories.
func (w *Watcher) storiesOf(ctx context.Context, f *feedPlan, items []Item) map[string]*storyResult {
	if w.stories == nil || len(items) == 0 {
		return nil
	}
	p := w.plan.Load()
	var keys []string
	for _, it := range items {
		mi := it.MatcherItem(f.ID, f.Tags)
		if len(p.index.Match(&mi)) > 0 {
			keys = append(keys, archivedKey(it))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	got := w.stories.await(ctx, f.ID, keys)
	if len(got) < len(keys) && ctx.Err() == nil {
		w.logLimited(zap.WarnLevel, "story_wait", f.ID, "stories of new items not known in time; their alerts go without",
			zap.String("feed", f.ID), zap.Int("items", len(keys)-len(got)), zap.Duration("waited", storyWait))
	}
	return got
}

// archivedKey is the key an item is archived under: its key, or the hash of one too long to
// carry (see boundedItem).
func archivedKey(it Item) string {
	if len(it.Key) > maxAlertID {
		return boundedItem(event.Item{Key: it.Key}).Key
	}
	return it.Key
}
