package notifier

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/newswatch/newswatch/event"
)

// The CloudEvents attributes of an alert (SPEC.md §4). Within EventType's ".v1", fields are only
// ever added.
const (
	EventType        = "io.newswatch.alert.v1"
	EventSpecVersion = "1.0"
	EventContentType = "application/cloudevents+json" // the message's Content-Type header
	eventDataType    = "application/json"
	eventSourcePath  = "newswatch/feeds/"
	// schemaBase is where the JSON Schemas of the events' data are published; each event names
	// its own in its dataschema attribute. The files are api/schemas/ of the repository.
	schemaBase = "https://github.com/newswatch/newswatch/blob/main/api/schemas/"
	// AlertDataSchema is the dataschema of alert events.
	AlertDataSchema = schemaBase + "alert.v1.json"
	// HealthDataSchema is the dataschema of feed-health events.
	HealthDataSchema = schemaBase + "feed.v1.json"
)

// ErrInvalidAlert is wrapped by the errors for an alert that cannot be published as is.
var ErrInvalidAlert = errors.New("notifier: invalid alert")

// Event is an alert as a CloudEvents 1.0 event in structured JSON mode: the message body.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	Type            string    `json:"type"`
	Source          string    `json:"source"`
	ID              string    `json:"id"`
	Time            string    `json:"time"`
	Subject         string    `json:"subject"`
	DataContentType string    `json:"datacontenttype"`
	DataSchema      string    `json:"dataschema"`
	Data            EventData `json:"data"`
}

// EventData is the "data" of an alert event.
type EventData struct {
	Rule EventRule  `json:"rule"`
	Feed EventFeed  `json:"feed"`
	Item EventItem  `json:"item"`
	Hits []EventHit `json:"hits"`
	// HitsTotal is how many hits the match had; hits lists at most the first 20.
	HitsTotal int    `json:"hits_total"`
	Snippet   string `json:"snippet,omitempty"`
	// Story is the story of the item when the daemon keeps stories.
	Story *EventStory `json:"story,omitempty"`
}

// EventStory is an alert's story: the items of every feed that report one event.
type EventStory struct {
	ID        string   `json:"id"`
	First     bool     `json:"first"` // this alert opened the story for its rule
	Size      int      `json:"size"`
	Feeds     []string `json:"feeds"`
	Languages []string `json:"languages"`
	FirstSeen string   `json:"first_seen"`
}

// eventStory is the story of an event, nil for none.
func eventStory(s *event.StoryRef) *EventStory {
	if s == nil {
		return nil
	}
	return &EventStory{ID: s.ID, First: s.First, Size: s.Size, Feeds: nonNil(s.Feeds), Languages: nonNil(s.Languages),
		FirstSeen: formatTime(s.FirstSeen)}
}

// nonNil is ss, or an empty slice for nil, so that JSON has [] rather than null.
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// EventRule identifies the rule; Version changes whenever its query text does.
type EventRule struct {
	ID      string `json:"id"`
	Query   string `json:"query"`
	Version string `json:"version"`
}

// EventFeed identifies the feed.
type EventFeed struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// EventItem is the item; empty fields are left out, times are RFC 3339 in UTC.
type EventItem struct {
	Key        string   `json:"key"`
	GUID       string   `json:"guid,omitempty"`
	Link       string   `json:"link,omitempty"`
	Title      string   `json:"title,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	Published  string   `json:"published,omitempty"`
	Updated    string   `json:"updated,omitempty"`
	Authors    []string `json:"authors,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

// EventHit is one matched span; an absent index means 0.
type EventHit struct {
	Field string `json:"field"`
	Index int    `json:"index,omitempty"`
	Start int    `json:"start"` // bytes of the field's UTF-8 text
	End   int    `json:"end"`
	Text  string `json:"text"`
	// The same offsets in UTF-16 code units (JavaScript, Java, C#) and in code points (Python).
	Start16 int `json:"start_utf16"`
	End16   int `json:"end_utf16"`
	StartCP int `json:"start_codepoint"`
	EndCP   int `json:"end_codepoint"`
}

// EventID identifies the (rule, feed, item) triple: the first 32 hex digits of the SHA-256 of
// the rule id, the feed id and the item key. The same item of the same feed matching the same
// rule always yields the same id, which is what JetStream de-duplicates on. The feed id is part
// of it so that a feed that copies another feed's GUIDs cannot publish their ids first and
// have the other feed's alerts dropped as duplicates.
func EventID(ruleID, feedID, itemKey string) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0}) // ids cannot contain NUL: ("a","bc") and ("ab","c") differ
	h.Write([]byte(feedID))
	h.Write([]byte{0})
	h.Write([]byte(itemKey))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// RuleVersion is the first 12 hex digits of the SHA-256 of a rule's query text
// (event.RuleVersion).
func RuleVersion(query string) string { return event.RuleVersion(query) }

// NewEvent builds the event of a; it fails when a lacks what the event requires.
func NewEvent(a event.Alert) (Event, error) {
	if err := validateAlert(a); err != nil {
		return Event{}, err
	}
	hits := make([]EventHit, len(a.Hits))
	for i, h := range a.Hits {
		hits[i] = EventHit(h)
	}
	return Event{
		SpecVersion:     EventSpecVersion,
		Type:            EventType,
		Source:          eventSourcePath + a.FeedID,
		ID:              EventID(a.RuleID, a.FeedID, a.Item.Key),
		Time:            formatTime(a.Time),
		Subject:         a.RuleID,
		DataContentType: eventDataType,
		DataSchema:      AlertDataSchema,
		Data: EventData{
			Rule:      EventRule{ID: a.RuleID, Query: a.RuleQuery, Version: RuleVersion(a.RuleQuery)},
			Feed:      EventFeed{ID: a.FeedID, URL: a.FeedURL, Title: a.FeedTitle},
			Item:      eventItem(a.Item),
			Hits:      hits,
			HitsTotal: max(a.HitCount, len(hits)),
			Snippet:   a.Snippet,
			Story:     eventStory(a.Story),
		},
	}, nil
}

// ParseEvent decodes a message body into an alert event and checks that it is one.
func ParseEvent(body []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("parse alert event: %w", err)
	}
	if ev.SpecVersion != EventSpecVersion || ev.Type != EventType || ev.ID == "" {
		return Event{}, fmt.Errorf("parse alert event: not a %s %s event (specversion %q, type %q, id %q)",
			EventType, EventSpecVersion, ev.SpecVersion, ev.Type, ev.ID)
	}
	return ev, nil
}

// eventItem is the item of an event.
func eventItem(it event.Item) EventItem {
	return EventItem{
		Key:        it.Key,
		GUID:       it.GUID,
		Link:       it.Link,
		Title:      it.Title,
		Summary:    it.Summary,
		Published:  formatTime(it.Published),
		Updated:    formatTime(it.Updated),
		Authors:    it.Authors,
		Categories: it.Categories,
	}
}

// validateAlert checks that a has what its event and subject require.
func validateAlert(a event.Alert) error {
	switch {
	case !validToken(a.RuleID):
		return fmt.Errorf("%w: rule id %q is not a subject token", ErrInvalidAlert, a.RuleID)
	case !validToken(a.FeedID):
		return fmt.Errorf("%w: rule %s: feed id %q is not a subject token", ErrInvalidAlert, a.RuleID, a.FeedID)
	case a.Item.Key == "":
		return fmt.Errorf("%w: rule %s feed %s: item key is empty", ErrInvalidAlert, a.RuleID, a.FeedID)
	case a.Time.IsZero():
		return fmt.Errorf("%w: rule %s feed %s: time is zero", ErrInvalidAlert, a.RuleID, a.FeedID)
	}
	return nil
}

// formatTime is RFC 3339 in UTC, "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
