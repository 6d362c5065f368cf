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

// ledger remembers, in a KV bucket, every message posted or being posted: one key per (event id,
// channel). A key is written "pending" before the message is sent and "posted" once Slack
// accepted it, so that a bridge killed in between leaves a trace that its successor checks
// against Slack before it posts again.
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

// begin writes a pending record, created when prev is the zero entry and replacing prev
// otherwise. It fails with an error wrapping jetstream.ErrKeyExists when another handler wrote
// the key since prev was read.
func (l *ledger) begin(ctx context.Context, eventID, channel, owner string, prev ledgerEntry, now time.Time) (ledgerEntry, error) {
	rec := postedRecord{EventID: eventID, Channel: channel, State: statePending, Owner: owner, Begun: now.UTC()}
	v, err := json.Marshal(rec)
	if err != nil {
		return ledgerEntry{}, fmt.Errorf("record pending %s %s: %w", eventID, channel, err)
	}
	key := ledgerKey(eventID, channel)
	var rev uint64
	if prev.rev == 0 {
		rev, err = l.kv.Create(ctx, key, v)
	} else {
		rev, err = l.kv.Update(ctx, key, v, prev.rev)
	}
	if err != nil {
		return ledgerEntry{}, fmt.Errorf("record pending %s %s: %w", eventID, channel, err)
	}
	return ledgerEntry{rec: rec, rev: rev}, nil
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

// abandon removes a pending record after Slack refused the message, which it therefore does
// not have; only if the record is still the one at e.
func (l *ledger) abandon(ctx context.Context, eventID, channel string, e ledgerEntry) error {
	if err := l.kv.Delete(ctx, ledgerKey(eventID, channel), jetstream.LastRevision(e.rev)); err != nil {
		return fmt.Errorf("drop pending %s %s: %w", eventID, channel, err)
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
