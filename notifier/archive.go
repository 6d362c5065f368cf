package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
)

// The CloudEvents attributes of an archived item. Within ".v1", fields are only ever added.
const (
	ItemEventType = "io.newswatch.item.v1"
	// ItemDataSchema is the dataschema of item events.
	ItemDataSchema = schemaBase + "item.v1.json"
)

// ErrInvalidItem is wrapped by the errors for an item that cannot be archived as is.
var ErrInvalidItem = errors.New("notifier: invalid item")

// ErrArchiveDisabled is returned by the archive's functions when the configuration turned it off.
var ErrArchiveDisabled = errors.New("notifier: the item archive is disabled (archive.enabled: false)")

// Archive publishes new items to the item archive. It is safe for concurrent use.
type Archive struct {
	pub    *publisher
	prefix string
}

// Archive is the item archive, or nil when the configuration turned it off.
func (n *Notifier) Archive() *Archive { return n.archive }

// ItemEvent is an archived item as a CloudEvents 1.0 event in structured JSON mode.
type ItemEvent struct {
	SpecVersion     string   `json:"specversion"`
	Type            string   `json:"type"`
	Source          string   `json:"source"`
	ID              string   `json:"id"`
	Time            string   `json:"time"`
	Subject         string   `json:"subject"`
	DataContentType string   `json:"datacontenttype"`
	DataSchema      string   `json:"dataschema"`
	Data            ItemData `json:"data"`
}

// ItemData is the "data" of an item event: the feed, every field of the item that rules read,
// and when newswatch first saw it.
type ItemData struct {
	Feed      ItemFeed    `json:"feed"`
	Item      ArchiveItem `json:"item"`
	FirstSeen string      `json:"first_seen"` // RFC 3339 with nanoseconds, UTC
	// Muted is why the item made no alert: "baseline" or "flood"; absent otherwise.
	Muted string `json:"muted,omitempty"`
}

// ItemFeed is the feed of an archived item, with its tags, which rules may test.
type ItemFeed struct {
	ID    string   `json:"id"`
	URL   string   `json:"url"`
	Title string   `json:"title,omitempty"`
	Tags  []string `json:"tags,omitempty"`
}

// ArchiveItem is an alert's item and its content.
type ArchiveItem struct {
	EventItem
	Content string `json:"content,omitempty"`
}

// ItemID identifies an item of a feed in the archive: the first 32 hex digits of the SHA-256
// of "item", the feed id and the item key. It is the message's Nats-Msg-Id, so that the same
// item archived again within the duplicate window (a poll repeated after a crash) is dropped.
func ItemID(feedID, itemKey string) string {
	h := sha256.New()
	h.Write([]byte("item\x00"))
	h.Write([]byte(feedID))
	h.Write([]byte{0})
	h.Write([]byte(itemKey))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// NewItemEvent builds the event of an archived item; it fails when the item lacks what the event
// requires.
func NewItemEvent(a event.Archived) (ItemEvent, error) {
	switch {
	case !validToken(a.FeedID):
		return ItemEvent{}, fmt.Errorf("%w: feed id %q is not a subject token", ErrInvalidItem, a.FeedID)
	case a.Item.Key == "":
		return ItemEvent{}, fmt.Errorf("%w: feed %s: item key is empty", ErrInvalidItem, a.FeedID)
	case a.FirstSeen.IsZero():
		return ItemEvent{}, fmt.Errorf("%w: feed %s: first-seen time is zero", ErrInvalidItem, a.FeedID)
	}
	return ItemEvent{
		SpecVersion:     EventSpecVersion,
		Type:            ItemEventType,
		Source:          eventSourcePath + a.FeedID,
		ID:              ItemID(a.FeedID, a.Item.Key),
		Time:            formatTime(a.FirstSeen),
		Subject:         a.FeedID,
		DataContentType: eventDataType,
		DataSchema:      ItemDataSchema,
		Data: ItemData{
			Feed:      ItemFeed{ID: a.FeedID, URL: a.FeedURL, Title: a.FeedTitle, Tags: a.Tags},
			Item:      ArchiveItem{EventItem: eventItem(a.Item), Content: a.Content},
			FirstSeen: a.FirstSeen.UTC().Format(time.RFC3339Nano),
			Muted:     a.Muted,
		},
	}, nil
}

// Publish publishes one event per item on <prefix>.item.<feed> and returns once JetStream has
// acknowledged every one, with the retries and the errors of Alerts.Publish: errors.Is(err,
// ErrRejected) means that the batch is done but for the items refused for good.
func (a *Archive) Publish(ctx context.Context, items []event.Archived) error {
	msgs := make([]*nats.Msg, len(items))
	for i, it := range items {
		ev, err := NewItemEvent(it)
		if err != nil {
			return fmt.Errorf("archive items: %w", err)
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode item feed %s: %w", it.FeedID, err)
		}
		m := nats.NewMsg(ItemSubject(a.prefix, it.FeedID))
		m.Data = body
		m.Header.Set("Content-Type", EventContentType)
		m.Header.Set(jetstream.MsgIDHeader, ev.ID)
		msgs[i] = m
	}
	if ctx.Err() != nil {
		return fmt.Errorf("archive items: %w", context.Cause(ctx))
	}
	res := a.pub.send(ctx, msgs)
	return a.pub.report(ctx, res, func(i int) string {
		return "item feed " + items[i].FeedID + " key " + items[i].Item.Key
	})
}

// ParseItemEvent decodes a message body into an archived item. It decodes with go-json, which
// reads these events four times as fast as encoding/json and as encoding/json does: decoding was
// most of a backtest's time (BENCHMARKS.md).
func ParseItemEvent(body []byte) (event.Archived, error) {
	var ev ItemEvent
	if err := gojson.Unmarshal(body, &ev); err != nil {
		return event.Archived{}, fmt.Errorf("parse item event: %w", err)
	}
	if ev.Type != ItemEventType || ev.Data.Item.Key == "" {
		return event.Archived{}, fmt.Errorf("parse item event: not a %s event with an item key (type %q, id %q)", ItemEventType, ev.Type, ev.ID)
	}
	d := ev.Data
	a := event.Archived{
		FeedID:    d.Feed.ID,
		FeedURL:   d.Feed.URL,
		FeedTitle: d.Feed.Title,
		Tags:      d.Feed.Tags,
		Content:   d.Item.Content,
		Muted:     d.Muted,
		Item: event.Item{
			Key:        d.Item.Key,
			GUID:       d.Item.GUID,
			Link:       d.Item.Link,
			Title:      d.Item.Title,
			Summary:    d.Item.Summary,
			Published:  parseTime(d.Item.Published),
			Updated:    parseTime(d.Item.Updated),
			Authors:    d.Item.Authors,
			Categories: d.Item.Categories,
		},
	}
	a.FirstSeen, _ = time.Parse(time.RFC3339Nano, d.FirstSeen)
	return a, nil
}

// parseTime is the time of an RFC 3339 text, zero when s is empty or not one.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
