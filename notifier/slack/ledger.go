package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ledger remembers, in a KV bucket, what each channel has: one key per (event id, channel),
// written once the channel has the alert (its item's message posted, or updated to name its
// rule), and one per (feed, item key, channel) for the item's message. An item's key is written
// "pending" before the message is sent and "posted" once Slack accepted it, so that a bridge
// killed in between leaves a trace that its successor checks against Slack before it posts
// again. Event records written "pending" by earlier versions are settled the same way.
type ledger struct {
	kv jetstream.KeyValue
}

// The states of a ledger record.
const (
	statePending = "pending" // a post was begun; Slack may or may not have the message
	statePosted  = "posted"  // Slack accepted the message
)

// postedRecord is the value of a ledger key, readable with `nats kv get`.
type postedRecord struct {
	EventID string `json:"event_id"`
	Channel string `json:"channel"`
	// State is statePending or statePosted; records written before pending existed have none
	// and mean posted.
	State string `json:"state,omitempty"`
	// Owner is the bridge instance that wrote a pending record.
	Owner     string    `json:"owner,omitempty"`
	ChannelID string    `json:"channel_id,omitempty"`
	TS        string    `json:"ts,omitempty"`
	Begun     time.Time `json:"begun,omitzero"` // when the post was begun
	Posted    time.Time `json:"posted,omitzero"`
}

func (r postedRecord) pending() bool { return r.State == statePending }

// ledgerEntry is a record and its revision, for the compare-and-set of the next write.
type ledgerEntry struct {
	rec postedRecord
	rev uint64 // 0: no record
}

func openLedger(ctx context.Context, js jetstream.JetStream, cfg Config) (*ledger, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.PostedBucket,
		Description: "newswatch Slack bridge: messages posted, by event id and channel",
		History:     1,
		TTL:         cfg.PostedTTL,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w", cfg.PostedBucket, err)
	}
	return &ledger{kv: kv}, nil
}

// get reads the record of the event's message to channel; a zero entry when there is none.
func (l *ledger) get(ctx context.Context, eventID, channel string) (ledgerEntry, error) {
	e, err := l.kv.Get(ctx, ledgerKey(eventID, channel))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ledgerEntry{}, nil
	}
	if err != nil {
		return ledgerEntry{}, fmt.Errorf("read ledger %s %s: %w", eventID, channel, err)
	}
	var rec postedRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		// Unreadable, yet written by a bridge: something was posted, or begun. Treat it as
		// pending, so that Slack is asked.
		rec = postedRecord{EventID: eventID, Channel: channel, State: statePending, Begun: e.Created()}
	}
	return ledgerEntry{rec: rec, rev: e.Revision()}, nil
}

// record remembers that the event's message was posted to channel. It overwrites whatever is
// there: posted is final.
func (l *ledger) record(ctx context.Context, eventID, channel string, r Receipt, now time.Time) error {
	v, err := json.Marshal(postedRecord{EventID: eventID, Channel: channel, State: statePosted, ChannelID: r.Channel, TS: r.TS, Posted: now.UTC()})
	if err != nil {
		return fmt.Errorf("record posted %s %s: %w", eventID, channel, err)
	}
	if _, err := l.kv.Put(ctx, ledgerKey(eventID, channel), v); err != nil {
		return fmt.Errorf("record posted %s %s: %w", eventID, channel, err)
	}
	return nil
}

// ledgerKey is "<event id>.<16 hex digits of the channel's SHA-256>": channel names may hold
// characters that keys may not. An event id that is not a plain token is hashed too.
func ledgerKey(eventID, channel string) string {
	return keyToken(eventID) + "." + shortHash(channel)
}

func keyToken(s string) string {
	if len(s) > 0 && len(s) <= 64 && validName(s) {
		return s
	}
	return shortHash(s)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// itemRecord is the value of an item's key: the one message that an item has in a channel,
// whichever of the rules that matched it came first. Like a posted record, it is "pending"
// before the message is sent and "posted" once Slack accepted it.
type itemRecord struct {
	Feed    string `json:"feed"`
	ItemKey string `json:"item_key"`
	Channel string `json:"channel"`
	State   string `json:"state"`
	Owner   string `json:"owner,omitempty"`
	// EventID is the event whose alert posted the message; its id is in the message's metadata.
	EventID string `json:"event_id"`
	// Rules are the rules the message names, in the order their alerts came.
	Rules     []string  `json:"rules"`
	ChannelID string    `json:"channel_id,omitempty"`
	TS        string    `json:"ts,omitempty"`
	Begun     time.Time `json:"begun,omitzero"`
	Posted    time.Time `json:"posted,omitzero"`
}

func (r itemRecord) pending() bool { return r.State == statePending }

// receipt is where the item's message is.
func (r itemRecord) receipt() Receipt { return Receipt{Channel: r.ChannelID, TS: r.TS} }

// itemEntry is an item record and its revision, for the compare-and-set of the next write.
type itemEntry struct {
	rec itemRecord
	rev uint64 // 0: no record
}

// getItem reads the record of the item's message in channel; a zero entry when there is none.
func (l *ledger) getItem(ctx context.Context, feed, itemKey, channel string) (itemEntry, error) {
	e, err := l.kv.Get(ctx, itemLedgerKey(feed, itemKey, channel))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return itemEntry{}, nil
	}
	if err != nil {
		return itemEntry{}, fmt.Errorf("read ledger of item %s %s in %s: %w", feed, itemKey, channel, err)
	}
	var rec itemRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		// Unreadable, yet written by a bridge: treat it as a post begun, so that Slack is asked.
		rec = itemRecord{Feed: feed, ItemKey: itemKey, Channel: channel, State: statePending, Begun: e.Created()}
	}
	return itemEntry{rec: rec, rev: e.Revision()}, nil
}

// putItem writes rec, created when prev is 0 and replacing revision prev otherwise. It fails
// with an error wrapping jetstream.ErrKeyExists when another handler wrote the key since prev
// was read.
func (l *ledger) putItem(ctx context.Context, rec itemRecord, prev uint64) (itemEntry, error) {
	v, err := json.Marshal(rec)
	if err != nil {
		return itemEntry{}, fmt.Errorf("record item %s %s in %s: %w", rec.Feed, rec.ItemKey, rec.Channel, err)
	}
	key := itemLedgerKey(rec.Feed, rec.ItemKey, rec.Channel)
	var rev uint64
	if prev == 0 {
		rev, err = l.kv.Create(ctx, key, v)
	} else {
		rev, err = l.kv.Update(ctx, key, v, prev)
	}
	if err != nil {
		return itemEntry{}, fmt.Errorf("record item %s %s in %s (%s): %w", rec.Feed, rec.ItemKey, rec.Channel, rec.State, err)
	}
	return itemEntry{rec: rec, rev: rev}, nil
}

// dropItem removes a pending item record after Slack refused its message; only if the record
// is still the one at rev.
func (l *ledger) dropItem(ctx context.Context, rec itemRecord, rev uint64) error {
	if err := l.kv.Delete(ctx, itemLedgerKey(rec.Feed, rec.ItemKey, rec.Channel), jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("drop pending item %s %s in %s: %w", rec.Feed, rec.ItemKey, rec.Channel, err)
	}
	return nil
}

// itemLedgerKey is "item.<16 hex digits of the SHA-256 of the feed id and the item key>.<16 of
// the channel's>": in the same bucket as the events' keys, which never start with "item.".
func itemLedgerKey(feed, itemKey, channel string) string {
	return "item." + shortHash(feed+"\x00"+itemKey) + "." + shortHash(channel)
}
