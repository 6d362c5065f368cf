package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/notifier"
)

// storyRecord is the value of a story's key: the one message that a story has in a channel,
// and what it shows. Like an item record, it is "pending" before the message is sent and
// "posted" once Slack accepted it; a thread reply under it is announced in Reply before it is
// sent, and added to Sources once Slack accepted it.
type storyRecord struct {
	Story   string `json:"story"`
	Channel string `json:"channel"`
	State   string `json:"state"`
	Owner   string `json:"owner,omitempty"`
	// EventID is the event whose alert posted the message; First is that alert, trimmed, whose
	// item the message shows.
	EventID string         `json:"event_id"`
	First   notifier.Event `json:"first"`
	Rules   []string       `json:"rules"`   // the rules the message names, in the order their alerts came
	Sources []string       `json:"sources"` // sourceKey of each item the channel has, the first one first
	Listed  []storySource  `json:"listed,omitempty"`
	Size    int            `json:"size"` // the story as the latest alert said: items, feeds, languages
	Feeds   int            `json:"feeds"`
	Langs   []string       `json:"languages,omitempty"`
	Replies int            `json:"replies,omitempty"` // thread replies posted
	Reply   *pendingReply  `json:"reply,omitempty"`
	Stale   bool           `json:"stale,omitempty"` // the message does not show the record yet

	ChannelID string    `json:"channel_id,omitempty"`
	TS        string    `json:"ts,omitempty"`
	Begun     time.Time `json:"begun,omitzero"`
	Posted    time.Time `json:"posted,omitzero"`
}

// storySource is a later source of a story as the message lists it, without threads.
type storySource struct {
	Title string `json:"title"`
	Link  string `json:"link,omitempty"`
	Feed  string `json:"feed"`
}

// pendingReply is a thread reply begun and not recorded: Slack may or may not have it.
type pendingReply struct {
	Source  string    `json:"source"`
	Feed    string    `json:"feed"`
	ItemKey string    `json:"item_key"`
	EventID string    `json:"event_id"`
	Owner   string    `json:"owner"`
	Begun   time.Time `json:"begun"`
}

func (r storyRecord) pending() bool { return r.State == statePending }

// receipt is where the story's message is.
func (r storyRecord) receipt() Receipt { return Receipt{Channel: r.ChannelID, TS: r.TS} }

// clone copies the record's slices, so that a changed copy leaves the original as read.
func (r storyRecord) clone() storyRecord {
	r.Rules = slices.Clone(r.Rules)
	r.Sources = slices.Clone(r.Sources)
	r.Listed = slices.Clone(r.Listed)
	r.Langs = slices.Clone(r.Langs)
	if r.Reply != nil {
		p := *r.Reply
		r.Reply = &p
	}
	return r
}

// storyEntry is a story record and its revision, for the compare-and-set of the next write.
type storyEntry struct {
	rec storyRecord
	rev uint64 // 0: no record
}

// getStory reads the record of the story's message in channel; a zero entry when there is none.
func (l *ledger) getStory(ctx context.Context, storyID, channel string) (storyEntry, error) {
	e, err := l.kv.Get(ctx, storyLedgerKey(storyID, channel))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return storyEntry{}, nil
	}
	if err != nil {
		return storyEntry{}, fmt.Errorf("read ledger of story %s in %s: %w", storyID, channel, err)
	}
	var rec storyRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		// Unreadable, yet written by a bridge: treat it as a post begun, so that Slack is asked.
		rec = storyRecord{Story: storyID, Channel: channel, State: statePending, Begun: e.Created()}
	}
	return storyEntry{rec: rec, rev: e.Revision()}, nil
}

// putStory writes rec, created when prev is 0 and replacing revision prev otherwise. It fails
// with an error wrapping jetstream.ErrKeyExists when another handler wrote the key since prev
// was read.
func (l *ledger) putStory(ctx context.Context, rec storyRecord, prev uint64) (storyEntry, error) {
	v, err := json.Marshal(rec)
	if err != nil {
		return storyEntry{}, fmt.Errorf("record story %s in %s: %w", rec.Story, rec.Channel, err)
	}
	key := storyLedgerKey(rec.Story, rec.Channel)
	var rev uint64
	if prev == 0 {
		rev, err = l.kv.Create(ctx, key, v)
	} else {
		rev, err = l.kv.Update(ctx, key, v, prev)
	}
	if err != nil {
		return storyEntry{}, fmt.Errorf("record story %s in %s (%s): %w", rec.Story, rec.Channel, rec.State, err)
	}
	return storyEntry{rec: rec, rev: rev}, nil
}

// dropStory removes a pending story record after Slack refused its message; only if the
// record is still the one at rev.
func (l *ledger) dropStory(ctx context.Context, rec storyRecord, rev uint64) error {
	if err := l.kv.Delete(ctx, storyLedgerKey(rec.Story, rec.Channel), jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("drop pending story %s in %s: %w", rec.Story, rec.Channel, err)
	}
	return nil
}

// storyLedgerKey is "story.<the story id, or its hash>.<16 hex digits of the channel's
// SHA-256>": in the same bucket as the events' and items' keys.
func storyLedgerKey(storyID, channel string) string {
	return "story." + keyToken(storyID) + "." + shortHash(channel)
}

// sourceKey names an item among a story's sources.
func sourceKey(feed, itemKey string) string { return shortHash(feed + "\x00" + itemKey) }

// Bounds of what a story record keeps of the alert its message shows, in characters: enough
// for the message, whatever a feed sends.
const (
	keptTitle   = 1000
	keptAuthors = 50
	keptHits    = 50
)

// trimmed is the alert that a story's message shows, as its record keeps it: what Format uses,
// each part bounded.
func trimmed(ev notifier.Event) notifier.Event {
	d := &ev.Data
	d.Story = nil
	d.Item.Categories = nil
	d.Item.Title = truncate(d.Item.Title, keptTitle)
	d.Feed.Title = truncate(d.Feed.Title, keptTitle)
	d.Item.Authors = d.Item.Authors[:min(len(d.Item.Authors), keptAuthors)]
	d.Hits = d.Hits[:min(len(d.Hits), keptHits)]
	if d.Snippet != "" {
		d.Item.Summary = ""
		d.Snippet = truncate(d.Snippet, maxSnippet+1)
	} else {
		// One character more than the snippet keeps, so that the message still says "…".
		d.Item.Summary = d.Item.Summary[:cutAt(d.Item.Summary, maxSnippet+1)]
	}
	return ev
}
