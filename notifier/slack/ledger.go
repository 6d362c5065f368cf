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

// ledger remembers, in a KV bucket, every message posted: one key per (event id, channel). It is
// what keeps a redelivered alert from being posted twice to a channel.
type ledger struct {
	kv jetstream.KeyValue
}

// postedRecord is the value of a ledger key, readable with `nats kv get`.
type postedRecord struct {
	EventID   string    `json:"event_id"`
	Channel   string    `json:"channel"`
	ChannelID string    `json:"channel_id,omitempty"`
	TS        string    `json:"ts,omitempty"`
	Posted    time.Time `json:"posted"`
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

// posted reports whether the event's message was posted to channel.
func (l *ledger) posted(ctx context.Context, eventID, channel string) (bool, error) {
	_, err := l.kv.Get(ctx, ledgerKey(eventID, channel))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read posted %s %s: %w", eventID, channel, err)
	}
	return true, nil
}

// record remembers that the event's message was posted to channel.
func (l *ledger) record(ctx context.Context, eventID, channel string, r Receipt, now time.Time) error {
	v, err := json.Marshal(postedRecord{EventID: eventID, Channel: channel, ChannelID: r.Channel, TS: r.TS, Posted: now.UTC()})
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
