package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/event"
)

// The story events: io.newswatch.story.new.v1 and io.newswatch.story.update.v1. Within ".v1",
// fields are only ever added.
const (
	storyTypePrefix = "io.newswatch.story."
	// StoryDataSchema is the dataschema of story events.
	StoryDataSchema = schemaBase + "story.v1.json"
	storySourcePath = "newswatch/rules/"
)

// StoryEventType is the CloudEvents type of a story event of kind.
func StoryEventType(kind event.StoryKind) string { return storyTypePrefix + string(kind) + ".v1" }

// StorySubject is the subject of a rule's story events of kind: <prefix>.story.<rule>.<kind>.
func StorySubject(prefix, ruleID string, kind event.StoryKind) string {
	return prefix + ".story." + ruleID + "." + string(kind)
}

// StoryEventID identifies a story event: the first 32 hex digits of the SHA-256 of the rule,
// the story, the kind and, for an update, the start of its period. Every replica that tells the
// same story event gives it the same id, which the story stream de-duplicates on.
func StoryEventID(e event.StoryEvent) string {
	h := sha256.New()
	fmt.Fprintf(h, "story\x00%s\x00%s\x00%s", e.RuleID, e.Story.ID, e.Kind)
	if e.Kind == event.StoryUpdate {
		fmt.Fprintf(h, "\x00%d", e.Bucket.Unix())
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// StoryCloudEvent is a story event as a CloudEvents 1.0 event in structured JSON mode.
type StoryCloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	Type            string    `json:"type"`
	Source          string    `json:"source"`
	ID              string    `json:"id"`
	Time            string    `json:"time"`
	Subject         string    `json:"subject"`
	DataContentType string    `json:"datacontenttype"`
	DataSchema      string    `json:"dataschema"`
	Data            StoryData `json:"data"`
}

// StoryData is the "data" of a story event.
type StoryData struct {
	Rule    EventRule    `json:"rule"`
	Story   StoryState   `json:"story"`
	Sources []StoryItem  `json:"sources"`
	Period  *StoryPeriod `json:"period,omitempty"` // of an update
}

// StoryState is a story as it stood when its event was told.
type StoryState struct {
	ID        string   `json:"id"`
	Title     string   `json:"title,omitempty"`
	Link      string   `json:"link,omitempty"`
	Size      int      `json:"size"`
	Feeds     []string `json:"feeds"`
	Languages []string `json:"languages"`
	FirstSeen string   `json:"first_seen"`
}

// StoryItem is one item a story event tells of.
type StoryItem struct {
	Feed      string `json:"feed"`
	Key       string `json:"key"`
	Publisher string `json:"publisher,omitempty"`
	Language  string `json:"language,omitempty"`
	Title     string `json:"title,omitempty"`
	Link      string `json:"link,omitempty"`
	FirstSeen string `json:"first_seen"`
}

// StoryPeriod is the period whose items an update lists.
type StoryPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// StoryUpdatePeriod is how long a period of story updates lasts: a story of a rule has at most
// one update event a period.
const StoryUpdatePeriod = 5 * time.Minute

// NewStoryCloudEvent builds the CloudEvent of a story event.
func NewStoryCloudEvent(e event.StoryEvent) (StoryCloudEvent, error) {
	if !validToken(e.RuleID) || e.Story.ID == "" || (e.Kind != event.StoryNew && e.Kind != event.StoryUpdate) {
		return StoryCloudEvent{}, fmt.Errorf("%w: story event of rule %q, story %q, kind %q", ErrInvalidAlert, e.RuleID, e.Story.ID, e.Kind)
	}
	d := StoryData{
		Rule: EventRule{ID: e.RuleID, Query: e.RuleQuery, Version: RuleVersion(e.RuleQuery)},
		Story: StoryState{ID: e.Story.ID, Title: e.Title, Link: e.Link, Size: e.Story.Size, Feeds: nonNil(e.Story.Feeds),
			Languages: nonNil(e.Story.Languages), FirstSeen: formatTime(e.Story.FirstSeen)},
		Sources: make([]StoryItem, len(e.Sources)),
	}
	for i, s := range e.Sources {
		d.Sources[i] = StoryItem{Feed: s.FeedID, Key: s.Key, Publisher: s.Publisher, Language: s.Language, Title: s.Title,
			Link: s.Link, FirstSeen: formatTime(s.FirstSeen)}
	}
	if e.Kind == event.StoryUpdate {
		d.Period = &StoryPeriod{Start: formatTime(e.Bucket), End: formatTime(e.Bucket.Add(StoryUpdatePeriod))}
	}
	return StoryCloudEvent{
		SpecVersion:     EventSpecVersion,
		Type:            StoryEventType(e.Kind),
		Source:          storySourcePath + e.RuleID,
		ID:              StoryEventID(e),
		Time:            formatTime(e.Time),
		Subject:         e.Story.ID,
		DataContentType: eventDataType,
		DataSchema:      StoryDataSchema,
		Data:            d,
	}, nil
}

// Stories publishes story events to the story stream. It is safe for concurrent use.
type Stories struct {
	pub    *publisher
	prefix string
}

// Stories is the story publisher, or nil when the archive (and so stories) is disabled.
func (n *Notifier) Stories() *Stories { return n.stories }

// Publish publishes each event on <prefix>.story.<rule>.<kind> and returns once JetStream has
// acknowledged every one, with the retries and errors of Alerts.Publish. An event told again
// (by another replica, or after a crash) within the duplicate window is dropped by the stream.
func (s *Stories) Publish(ctx context.Context, events []event.StoryEvent) error {
	msgs := make([]*nats.Msg, len(events))
	for i, e := range events {
		ce, err := NewStoryCloudEvent(e)
		if err != nil {
			return fmt.Errorf("publish story events: %w", err)
		}
		body, err := json.Marshal(ce)
		if err != nil {
			return fmt.Errorf("encode story event: %w", err)
		}
		m := nats.NewMsg(StorySubject(s.prefix, e.RuleID, e.Kind))
		m.Data = body
		m.Header.Set("Content-Type", EventContentType)
		m.Header.Set(jetstream.MsgIDHeader, ce.ID)
		msgs[i] = m
	}
	res := s.pub.send(ctx, msgs)
	return s.pub.report(ctx, res, func(i int) string {
		return "story event rule " + events[i].RuleID + " story " + events[i].Story.ID + " " + string(events[i].Kind)
	})
}
