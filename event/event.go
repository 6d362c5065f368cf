// Package event is the vocabulary of what newswatch publishes: plain types for an alert, an
// item, a hit and an archived item, shared by watcher (which makes them), notifier (which
// publishes them) and the commands (which read them), so that none copies another's types
// field by field.
//
// It holds data only: no I/O, no behaviour beyond small pure helpers, nothing of ours
// imported. Its values are safe to share once built; nothing here retries.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Alert is one (item, rule) match, ready to publish.
type Alert struct {
	RuleID    string
	RuleQuery string
	FeedID    string
	FeedURL   string
	FeedTitle string
	Item      Item
	// Hits carries at most the first hits of the match; HitCount says how many there were
	// (0 means len(Hits)).
	Hits     []Hit
	HitCount int
	Snippet  string
	Time     time.Time // when the match was found
	// Story is the story of the item as it stood when the item joined it; nil when the
	// daemon keeps no stories (the archive off) or did not know it in time.
	Story *StoryRef
}

// StoryRef is the story of an alert's item: the items of every feed that report one event.
type StoryRef struct {
	ID string
	// First is whether this alert opened the story for its rule: no earlier item of the story
	// matched the rule.
	First     bool
	Size      int      // the story's items so far, this one included
	Feeds     []string // distinct, in order of arrival
	Languages []string
	FirstSeen time.Time
}

// StoryKind says what a story event tells.
type StoryKind string

// The story events.
const (
	StoryNew    StoryKind = "new"    // a story got its first alert for a rule
	StoryUpdate StoryKind = "update" // a story of a rule gained items since its last event
)

// StoryEvent is one story event of a rule: a story that opened for it, or the sources it
// gained within a few minutes.
type StoryEvent struct {
	Kind      StoryKind
	RuleID    string
	RuleQuery string
	Story     StoryRef
	Title     string // the title of the story's first item that matched the rule
	Link      string
	// Sources are the items the event tells of: the opening item, or those the story gained.
	Sources []StorySource
	// Bucket is the start of the period whose items an update lists; zero for StoryNew.
	Bucket time.Time
	Time   time.Time
}

// StorySource is one item of a story event.
type StorySource struct {
	FeedID    string
	Key       string
	Publisher string
	Language  string
	Title     string
	Link      string
	FirstSeen time.Time
}

// Item is the part of a feed item that an alert carries. Text is plain text, the same text
// that hits' byte offsets refer to.
type Item struct {
	Key        string // GUID, else canonical link, else a hash of title and date
	GUID       string
	Link       string
	Title      string
	Summary    string
	Published  time.Time // zero when the feed gives none
	Updated    time.Time
	Authors    []string
	Categories []string
}

// Hit is one span of an item's field that made a rule match. Its layout is matcher.Hit's, so
// that one converts to the other.
type Hit struct {
	Field string // title, summary, content, author, category, link
	Index int    // which value of a multi-valued field (author, category)
	Start int    // bytes into the field's UTF-8 text
	End   int
	Text  string
	// The same offsets in UTF-16 code units and in code points.
	Start16, End16 int
	StartCP, EndCP int
}

// Archived is a new item as the archive keeps it: every field the matcher reads, the feed's
// tags and when newswatch first saw it, so that the archive can be matched again later exactly
// as the live item was.
type Archived struct {
	FeedID    string
	FeedURL   string
	FeedTitle string
	Tags      []string
	Item      Item
	Content   string
	FirstSeen time.Time
	// Muted says why the poll that found the item alerted none of its matches: MutedBaseline
	// or MutedFlood; "" when it matched it for alerts as usual.
	Muted string
}

// The reasons an archived item was muted.
const (
	MutedBaseline = "baseline" // a first poll recorded it (first_poll)
	MutedFlood    = "flood"    // the flood guard held it back
)

// ArchiveQuery selects archived items by when they were first seen and by feed.
type ArchiveQuery struct {
	// From and To bound the first-seen time, From included, To excluded; a zero From is the
	// archive's start, a zero To its end as the read begins.
	From, To time.Time
	// Feeds are the feed ids to read; empty: every feed.
	Feeds []string
}

// RuleVersion is the first 12 hex digits of the SHA-256 of a rule's query text: it changes
// whenever the query does.
func RuleVersion(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])[:12]
}
