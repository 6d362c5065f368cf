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
// of "item", the feed id and the item key. It is the message's Nats-Msg-Id (but for a first
// poll's items, see PublishFirst), so that the same item archived again within the duplicate
// window (a poll repeated after a crash) is dropped.
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
		m, id, err := a.message(it)
		if err != nil {
			return err
		}
		m.Header.Set(jetstream.MsgIDHeader, id)
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

// message is the message of an archived item, and the item's event id.
func (a *Archive) message(it event.Archived) (*nats.Msg, string, error) {
	ev, err := NewItemEvent(it)
	if err != nil {
		return nil, "", fmt.Errorf("archive items: %w", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, "", fmt.Errorf("encode item feed %s: %w", it.FeedID, err)
	}
	m := nats.NewMsg(ItemSubject(a.prefix, it.FeedID))
	m.Data = body
	m.Header.Set("Content-Type", EventContentType)
	return m, ev.ID, nil
}

// PublishFirst archives the items of a feed's first poll, all of one feed, each once. Unlike
// Publish, its messages carry no Nats-Msg-Id: each is stored only if the feed's subject still
// ends where this publisher last saw it (Nats-Expected-Last-Subject-Sequence), starting from an
// empty subject. When it does not, an earlier attempt (a first poll cut by a crash) or another
// replica archived on the subject meanwhile: the items the subject holds are read, left out, and
// the rest goes on from its end. So a first poll repeated or run twice at once archives each item
// once, however late it comes, and a retry after a lost answer is harmless too.
//
// Why not message ids: the server keeps each one for the duplicate window, and a cold start of
// many feeds archives every feed's items at once (2,000,000 at 100,000 feeds, in minutes); the
// server's map of ids grows to hold them and keeps that size while any id is held, that is for as
// long as items keep coming (BENCHMARKS.md). A first poll is where such bursts come from, and
// where the condition costs nothing: the subject is empty, and then ends with the message just
// stored.
func (a *Archive) PublishFirst(ctx context.Context, items []event.Archived) error {
	if len(items) == 0 {
		return nil
	}
	defer func(start time.Time) { a.pub.duration.Observe(time.Since(start).Seconds()) }(time.Now())
	feed := items[0].FeedID
	msgs := make([]*nats.Msg, len(items))
	for i, it := range items {
		if it.FeedID != feed {
			return fmt.Errorf("archive first items: %w: items of feeds %s and %s in one first poll", ErrInvalidItem, feed, it.FeedID)
		}
		m, _, err := a.message(it)
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	subject := ItemSubject(a.prefix, feed)
	var (
		last    uint64          // the subject's last sequence as this publisher knows it
		held    map[string]bool // the item keys the subject holds, once it had to be read
		refused []error
		wait    = publishRetryFirst
	)
	for i := 0; i < len(msgs); {
		if held[items[i].Item.Key] {
			a.pub.published.WithLabelValues("duplicate").Inc()
			i++
			continue
		}
		ack, err := a.pub.js.PublishMsg(ctx, msgs[i], jetstream.WithExpectStream(a.pub.stream), jetstream.WithExpectLastSequencePerSubject(last))
		if err == nil {
			a.pub.published.WithLabelValues("ok").Inc()
			last, wait = ack.Sequence, publishRetryFirst
			i++
			continue
		}
		if wrongLastSequence(err) {
			before := last
			held, last, err = readSubjectKeys(ctx, a.pub.js, a.pub.stream, subject)
			if err == nil && last != before {
				continue
			}
			if err == nil {
				// The subject ends elsewhere than its read says (a message removed meanwhile):
				// read it again after a pause.
				err = fmt.Errorf("the subject %s does not end at %d, where its read ended", subject, last)
			}
		}
		switch r := classify(err); r.state {
		case rejected:
			a.pub.published.WithLabelValues("error").Inc()
			refused = append(refused, fmt.Errorf("publish item feed %s key %s: %w: %w", feed, items[i].Item.Key, ErrRejected, err))
			i++
			continue
		case failed:
			return fmt.Errorf("archive first items of feed %s: %w", feed, err)
		}
		a.pub.store.heal(ctx, a.pub.resource, err)
		if !pause(ctx, wait) {
			return fmt.Errorf("archive first items of feed %s: %w (last error: %w)", feed, context.Cause(ctx), err)
		}
		wait = min(2*wait, publishRetryMax)
	}
	return errors.Join(refused...)
}

// wrongLastSequence reports whether err is the stream's refusal of a message whose subject does
// not end at the expected sequence.
func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// readSubjectKeys reads every item event on subject of stream: their item keys, and the
// sequence of the last one (0 when there is none).
func readSubjectKeys(ctx context.Context, js jetstream.JetStream, stream, subject string) (map[string]bool, uint64, error) {
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, 0, err
	}
	keys := make(map[string]bool, info.NumPending)
	var last uint64
	for got := uint64(0); got < info.NumPending; {
		batch, err := cons.Fetch(int(min(info.NumPending-got, archiveChunk)), jetstream.FetchMaxWait(archiveIdle))
		if err != nil {
			return nil, 0, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if md, err := m.Metadata(); err == nil {
				last = max(last, md.Sequence.Stream)
			}
			if it, err := ParseItemEvent(m.Data()); err == nil {
				keys[it.Item.Key] = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, 0, err
		}
		if n == 0 {
			break // the stream's limits removed the rest meanwhile
		}
		got += uint64(n)
	}
	return keys, last, nil
}

// ParseItemEvent decodes a message body into an archived item. It decodes with go-json, which
// reads these events four times as fast as encoding/json and as encoding/json does: decoding was
// most of a backtest's time (BENCHMARKS.md).
func ParseItemEvent(body []byte) (event.Archived, error) {
	var ev itemEnvelope
	if err := gojson.Unmarshal(body, &ev); err != nil {
		return event.Archived{}, fmt.Errorf("parse item event: %w", err)
	}
	return ev.archived()
}

// itemEnvelope is what an item event is decoded into: only what the item is made of, so that
// the envelope's other fields are not read, nor allocated.
type itemEnvelope struct {
	Type string   `json:"type"`
	ID   string   `json:"id"`
	Data ItemData `json:"data"`
}

// archived is the item of a decoded event, or an error when the event is no item event.
func (ev *itemEnvelope) archived() (event.Archived, error) {
	if ev.Type != ItemEventType || ev.Data.Item.Key == "" {
		return event.Archived{}, fmt.Errorf("parse item event: not a %s event with an item key (type %q, id %q)", ItemEventType, ev.Type, ev.ID)
	}
	d := &ev.Data
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
	if s == "" {
		return time.Time{} // without the error time.Parse would make
	}
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
