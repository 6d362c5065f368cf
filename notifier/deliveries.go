package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// The delivery events: digests, budget notices and the alerts a rule in mode budget delivered
// at once on <prefix>.digest.<rule>, spikes on <prefix>.spike.<rule>, all in the delivery
// stream. Within ".v1", fields are only ever added.
const (
	DigestEventType    = "io.newswatch.digest.v1"
	NoticeEventType    = "io.newswatch.digest.notice.v1"
	DeliveredEventType = "io.newswatch.digest.alert.v1"
	SpikeEventType     = "io.newswatch.spike.v1"
	// DigestDataSchema is the dataschema of digests and budget notices.
	DigestDataSchema = schemaBase + "digest.v1.json"
	// DeliveredDataSchema is the dataschema of delivered alerts.
	DeliveredDataSchema = schemaBase + "digest.alert.v1.json"
	// SpikeDataSchema is the dataschema of spikes.
	SpikeDataSchema = schemaBase + "spike.v1.json"
)

// DeliveryKind is what a delivery event is.
type DeliveryKind string

// The kinds of delivery event.
const (
	KindDigest DeliveryKind = "digest" // a digest of a period (or of the alerts past a budget)
	KindNotice DeliveryKind = "notice" // a rule reached its budget
	KindAlert  DeliveryKind = "alert"  // an alert delivered at once by a rule whose mode is not immediate
	KindSpike  DeliveryKind = "spike"  // a rule's topic surges
)

// DigestSubject is the subject of a rule's deliveries (digests, budget notices, alerts delivered
// at once): <prefix>.digest.<rule>.
func DigestSubject(prefix, ruleID string) string { return prefix + ".digest." + ruleID }

// SpikeSubject is the subject of a rule's spikes: <prefix>.spike.<rule>.
func SpikeSubject(prefix, ruleID string) string { return prefix + ".spike." + ruleID }

// DeliveryEvent is one digest, notice or spike to publish. ID is the delivery's own id (rule and
// period, window or time), the same on every replica and after every replay: the stream drops
// a second publication within its duplicate window.
type DeliveryEvent struct {
	Kind    DeliveryKind
	RuleID  string
	ID      string
	Subject string // the CloudEvents subject: the period, window or time it is of
	Time    time.Time
	Data    any // marshalled as the event's data
}

// DeliveryCloudEvent is a delivery event as a CloudEvents 1.0 event in structured JSON mode.
type DeliveryCloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	ID              string          `json:"id"`
	Time            string          `json:"time"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema"`
	Data            json.RawMessage `json:"data"`
}

// NewDeliveryCloudEvent builds the CloudEvent of a delivery event.
func NewDeliveryCloudEvent(e DeliveryEvent) (DeliveryCloudEvent, error) {
	typ, schema := DigestEventType, DigestDataSchema
	switch e.Kind {
	case KindDigest:
	case KindNotice:
		typ = NoticeEventType
	case KindAlert:
		typ, schema = DeliveredEventType, DeliveredDataSchema
	case KindSpike:
		typ, schema = SpikeEventType, SpikeDataSchema
	default:
		return DeliveryCloudEvent{}, fmt.Errorf("%w: delivery event of kind %q", ErrInvalidAlert, e.Kind)
	}
	if !validToken(e.RuleID) || e.ID == "" {
		return DeliveryCloudEvent{}, fmt.Errorf("%w: delivery event of rule %q, id %q", ErrInvalidAlert, e.RuleID, e.ID)
	}
	data, err := json.Marshal(e.Data)
	if err != nil {
		return DeliveryCloudEvent{}, fmt.Errorf("encode %s %s: %w", e.Kind, e.ID, err)
	}
	return DeliveryCloudEvent{
		SpecVersion: EventSpecVersion, Type: typ, Source: storySourcePath + e.RuleID, ID: e.ID,
		Time: formatTime(e.Time), Subject: e.Subject, DataContentType: eventDataType, DataSchema: schema, Data: data,
	}, nil
}

// DeliveredAlert is the data of a delivered alert (DeliveredEventType): an alert that a rule
// whose delivery is not immediate delivered at once, which its readers get as it is. A rule in
// mode budget delivers the first Max alerts of each window; those past it are held for the
// window's digest and have no event of their own.
type DeliveredAlert struct {
	Rule string `json:"rule"`
	// Mode is the rule's delivery mode ("budget").
	Mode string `json:"mode"`
	// Max is the rule's budget: the alerts a window delivers at once.
	Max int `json:"max"`
	// Sent is the alert's place among those its window delivered at once, 1 to Max.
	Sent int `json:"sent"`
	// Window is the budget window the alert counts against.
	Window DeliveryWindow `json:"window"`
	// Alert is the alert event, as the alert stream has it.
	Alert Event `json:"alert"`
}

// DeliveryWindow is a period of a rule's delivery: its id is its start in UTC.
type DeliveryWindow struct {
	ID    string    `json:"id"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// DeliveredID is the delivery id of alert alertID delivered at once by rule: the same on every
// replica and after every replay, so that the delivery stream keeps it once.
func DeliveredID(rule, alertID string) string { return rule + ".alert." + alertID }

// NewDelivered is the delivery event of the alert a delivered at once. Its CloudEvents subject
// is the alert's id, its time the alert's.
func NewDelivered(a DeliveredAlert) DeliveryEvent {
	t, err := time.Parse(time.RFC3339Nano, a.Alert.Time)
	if err != nil {
		t = a.Window.Start
	}
	return DeliveryEvent{Kind: KindAlert, RuleID: a.Rule, ID: DeliveredID(a.Rule, a.Alert.ID), Subject: a.Alert.ID, Time: t, Data: a}
}

// ParseDelivered decodes the data of a delivered alert and checks that it holds an alert of its
// rule.
func ParseDelivered(ce DeliveryCloudEvent) (DeliveredAlert, error) {
	var a DeliveredAlert
	if ce.Type != DeliveredEventType {
		return a, fmt.Errorf("parse delivered alert %s: type %q, want %q", ce.ID, ce.Type, DeliveredEventType)
	}
	if err := json.Unmarshal(ce.Data, &a); err != nil {
		return a, fmt.Errorf("parse delivered alert %s: %w", ce.ID, err)
	}
	e := a.Alert
	if e.SpecVersion != EventSpecVersion || e.Type != EventType || e.ID == "" || e.Data.Rule.ID != a.Rule || e.Data.Feed.ID == "" {
		return a, fmt.Errorf("parse delivered alert %s: not a %s event of rule %q (type %q, id %q, rule %q)",
			ce.ID, EventType, a.Rule, e.Type, e.ID, e.Data.Rule.ID)
	}
	return a, nil
}

// Deliveries publishes digests, notices and spikes to the delivery stream, keeps each rule's
// delivery state in the delivery bucket, and follows the alert stream for them. It is safe for
// concurrent use.
type Deliveries struct {
	pub         *publisher
	prefix      string
	js          jetstream.JetStream
	log         *zap.Logger
	alertStream string
	state       *StateStore
}

// Deliveries is the delivery publisher.
func (n *Notifier) Deliveries() *Deliveries { return n.deliveries }

// State is the delivery bucket: a document per key with compare-and-swap, as the feed state's.
func (d *Deliveries) State() *StateStore { return d.state }

// Publish publishes each event on its rule's digest or spike subject and returns once JetStream
// has acknowledged every one, with the retries and errors of Alerts.Publish.
func (d *Deliveries) Publish(ctx context.Context, events []DeliveryEvent) error {
	msgs := make([]*nats.Msg, len(events))
	for i, e := range events {
		ce, err := NewDeliveryCloudEvent(e)
		if err != nil {
			return fmt.Errorf("publish deliveries: %w", err)
		}
		body, err := json.Marshal(ce)
		if err != nil {
			return fmt.Errorf("encode delivery event: %w", err)
		}
		subject := DigestSubject(d.prefix, e.RuleID)
		if e.Kind == KindSpike {
			subject = SpikeSubject(d.prefix, e.RuleID)
		}
		m := nats.NewMsg(subject)
		m.Data = body
		m.Header.Set("Content-Type", EventContentType)
		m.Header.Set(jetstream.MsgIDHeader, ce.ID)
		msgs[i] = m
	}
	res := d.pub.send(ctx, msgs)
	return d.pub.report(ctx, res, func(i int) string { return string(events[i].Kind) + " " + events[i].ID })
}

// FollowedAlert is one alert of the alert stream, with its stream sequence.
type FollowedAlert struct {
	Seq   uint64
	Event Event
}

// FollowAlerts calls fn with every alert of the alert stream from stream sequence from (or, when
// from is 0, from the first alert stored at since or later), in stream order, and then with each
// new alert, until ctx is done (it returns nil) or fn fails. An ordered consumer needs no state on
// the server; a connection lost or a consumer gone is retried from the alert after the last one
// passed on. An alert that does not decode is skipped.
func (d *Deliveries) FollowAlerts(ctx context.Context, from uint64, since time.Time, fn func(FollowedAlert) error) error {
	occ := jetstream.OrderedConsumerConfig{FilterSubjects: []string{d.prefix + ".alert.>"}, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case from > 0:
		occ.DeliverPolicy, occ.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	case !since.IsZero():
		occ.DeliverPolicy, occ.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	f := streamFollow{js: d.js, log: d.log, stream: d.alertStream, what: "the alert stream", first: occ, pull: 256}
	return f.run(ctx, func(m jetstream.Msg, md *jetstream.MsgMetadata) error {
		e, err := ParseEvent(m.Data())
		if err != nil {
			return nil
		}
		return fn(FollowedAlert{Seq: md.Sequence.Stream, Event: e})
	}, nil)
}
