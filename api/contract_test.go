// Package api holds newswatch's published contract: the AsyncAPI document of what it publishes on
// NATS (asyncapi.yaml) and the JSON Schemas of its events' data (schemas/). Its tests check the
// document against the AsyncAPI 3.0 specification and real published events against the schemas.
package api

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/goccy/go-yaml"
	"github.com/nats-io/nats.go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// asyncAPISchema is the AsyncAPI 3.0.0 specification's JSON Schema, from the npm package
// @asyncapi/specs at the version api/package-lock.json pins; `make test` installs it.
const asyncAPISchema = "node_modules/@asyncapi/specs/schemas/3.0.0.json"

// TestAsyncAPIDocument validates asyncapi.yaml against the AsyncAPI 3.0.0 specification and
// checks that it names every subject and status newswatch publishes.
func TestAsyncAPIDocument(t *testing.T) {
	spec, err := os.Open(asyncAPISchema)
	if err != nil {
		t.Fatalf("the AsyncAPI specification is not installed (run `make test`, or `npm ci --prefix api`): %v", err)
	}
	defer spec.Close()
	specDoc, err := jsonschema.UnmarshalJSON(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const specURL = "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
	if err := c.AddResource(specURL, specDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(specURL)
	if err != nil {
		t.Fatalf("compile the AsyncAPI specification: %v", err)
	}

	doc := readYAML(t, "asyncapi.yaml")
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("asyncapi.yaml does not validate against AsyncAPI 3.0.0: %v", err)
	}

	channels := doc.(map[string]any)["channels"].(map[string]any)
	addresses := map[string]string{}
	for name, ch := range channels {
		addresses[name] = ch.(map[string]any)["address"].(string)
	}
	// The subjects the code builds, with the parameters in place of the ids.
	want := map[string]string{
		"alert":      notifier.AlertSubject("{prefix}", "{rule}", "{feed}"),
		"feedHealth": notifier.HealthSubject("{prefix}", "{feed}", "{status}"),
		"item":       notifier.ItemSubject("{prefix}", "{feed}"),
		"story":      notifier.StorySubject("{prefix}", "{rule}", "{kind}"),
		"digest":     notifier.DigestSubject("{prefix}", "{rule}"),
		"spike":      notifier.SpikeSubject("{prefix}", "{rule}"),
	}
	for name, subject := range want {
		if addresses[name] != subject {
			t.Errorf("channel %s: address %q, want %q", name, addresses[name], subject)
		}
	}
	status := channels["feedHealth"].(map[string]any)["parameters"].(map[string]any)["status"].(map[string]any)["enum"]
	var statuses []string
	for _, s := range status.([]any) {
		statuses = append(statuses, s.(string))
	}
	for _, s := range healthStatuses {
		if !slices.Contains(statuses, string(s)) {
			t.Errorf("channel feedHealth: status %q is not in the document's enum %q", s, statuses)
		}
	}
}

// healthStatuses are the feed-health statuses newswatch publishes.
var healthStatuses = notifier.FeedStatuses

// TestPublishedEventsMatchSchemas publishes an alert, an archived item and a feed-health event
// of every status through a real server, and validates each message as a subscriber gets it: a CloudEvents 1.0
// event whose dataschema names a schema of schemas/, which its data satisfies.
func TestPublishedEventsMatchSchemas(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	msgs := make(chan *nats.Msg, 64)
	sub, err := n.Conn().ChanSubscribe("newswatch.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := n.Conn().Flush(); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	alert := event.Alert{
		RuleID: "kursk", RuleQuery: "kursk OR курск", FeedID: "world", FeedURL: "https://example.org/rss?token=xxxxx",
		FeedTitle: "World",
		Item: event.Item{Key: "urn:example:1", GUID: "urn:example:1", Link: "https://example.org/1",
			Title: "Бои под Курском", Summary: "Kursk region", Published: now.Add(-time.Hour),
			Authors: []string{"A. Author"}, Categories: []string{"Europe"}},
		Hits:     []event.Hit{{Field: "title", Start: 12, End: 24, Text: "Курском"}, {Field: "summary", Start: 0, End: 5, Text: "Kursk"}},
		HitCount: 30,
		Snippet:  "Kursk region",
		Time:     now,
		Story: &event.StoryRef{ID: "0123456789abcdef", First: true, Size: 3, Feeds: []string{"world", "ru"},
			Languages: []string{"en", "ru"}, FirstSeen: now.Add(-time.Minute)},
	}
	if err := n.Alerts().Publish(t.Context(), []event.Alert{alert}); err != nil {
		t.Fatal(err)
	}
	item := event.Archived{FeedID: "world", FeedURL: "https://example.org/rss", FeedTitle: "World", Tags: []string{"world", "ru"},
		Item: alert.Item, Content: "Полный текст статьи о боях под Курском.", FirstSeen: now}
	if err := n.Archive().Publish(t.Context(), []event.Archived{item}); err != nil {
		t.Fatal(err)
	}
	src := event.StorySource{FeedID: "world", Key: "urn:example:1", Publisher: "example.org", Language: "ru", Title: "Бои под Курском",
		Link: "https://example.org/1", FirstSeen: now}
	stories := []event.StoryEvent{
		{Kind: event.StoryNew, RuleID: "kursk", RuleQuery: "kursk", Story: *alert.Story, Title: "Бои под Курском", Link: src.Link,
			Sources: []event.StorySource{src}, Time: now},
		{Kind: event.StoryUpdate, RuleID: "kursk", RuleQuery: "kursk", Story: *alert.Story, Sources: []event.StorySource{src},
			Bucket: now.Truncate(5 * time.Minute), Time: now},
	}
	if err := n.Stories().Publish(t.Context(), stories); err != nil {
		t.Fatal(err)
	}
	if err := n.Deliveries().Publish(t.Context(), deliveryEvents(t, now)); err != nil {
		t.Fatal(err)
	}
	for _, s := range healthStatuses {
		fh := notifier.FeedHealth{FeedID: "world", FeedURL: "https://example.org/rss", Status: s, Time: now,
			Since: now.Add(-time.Hour), Failures: 2, Items: 40, Error: "fetch: timeout", ErrorClass: "timeout", NextPoll: now.Add(time.Minute),
			Alerts: 1000, AlertsDropped: 4000}
		if err := n.Health().Publish(t.Context(), fh); err != nil {
			t.Fatal(err)
		}
	}

	schemas := dataSchemas(t)
	seen := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(seen) < 8+len(healthStatuses) {
		select {
		case m := <-msgs:
			if !strings.HasPrefix(m.Subject, "newswatch.alert.") && !strings.HasPrefix(m.Subject, "newswatch.feed.") &&
				!strings.HasPrefix(m.Subject, "newswatch.item.") && !strings.HasPrefix(m.Subject, "newswatch.story.") &&
				!strings.HasPrefix(m.Subject, "newswatch.digest.") && !strings.HasPrefix(m.Subject, "newswatch.spike.") {
				continue
			}
			if got := m.Header.Get("Content-Type"); got != notifier.EventContentType {
				t.Errorf("%s: Content-Type %q, want %q", m.Subject, got, notifier.EventContentType)
			}
			ev := cloudevent.New()
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatalf("%s: not a CloudEvents event: %v\n%s", m.Subject, err, m.Data)
			}
			if err := ev.Validate(); err != nil {
				t.Errorf("%s: invalid CloudEvents event: %v", m.Subject, err)
			}
			sch := schemas[ev.DataSchema()]
			if sch == nil {
				t.Fatalf("%s: dataschema %q is none of the schemas of api/schemas", m.Subject, ev.DataSchema())
			}
			data, err := jsonschema.UnmarshalJSON(bytes.NewReader(ev.Data()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(data); err != nil {
				t.Errorf("%s: data does not match %s: %v\n%s", m.Subject, ev.DataSchema(), err, ev.Data())
			}
			seen[ev.Type()] = true
		case <-deadline:
			t.Fatalf("got events of types %v within 30s, want an alert, an item, two story events, a digest, a notice, a delivered alert, a spike and %d feed-health events", seen, len(healthStatuses))
		}
	}
}

// deliveryEvents are a digest, a budget notice and a spike as the delivery policy makes them: a
// rule in mode budget (one alert an hour) fed three stories, two of them surging past a baseline.
func deliveryEvents(t *testing.T, now time.Time) []notifier.DeliveryEvent {
	t.Helper()
	p, err := delivery.New("kursk", delivery.Options{Mode: delivery.ModeBudget, Max: 1,
		Spike: delivery.SpikeOptions{MinStories: 2, MinPublishers: 2, BaselineDays: 1}})
	if err != nil {
		t.Fatal(err)
	}
	st := &delivery.State{}
	var out []notifier.DeliveryEvent
	spiked := false // one spike is enough
	start := now.Add(-49 * time.Hour).Truncate(time.Hour)
	evs := []delivery.Event{
		{ID: "a0", Story: "s0", Title: "Earlier", Link: "https://a.example/0", Publisher: "a.example", Time: start},
		{ID: "a1", Story: "s1", Title: "Бои под Курском", Link: "https://a.example/1", Publisher: "a.example", Time: start.Add(48 * time.Hour)},
		{ID: "a2", Story: "s2", Title: "Kursk offensive", Link: "https://b.example/2", Publisher: "b.example", Time: start.Add(48*time.Hour + time.Minute)},
		{ID: "a3", Story: "s3", Title: "Kursk front", Link: "https://c.example/3", Publisher: "c.example", Time: start.Add(48*time.Hour + 2*time.Minute)},
	}
	for _, ev := range evs {
		d := p.Decide(st, ev)
		if d.Action == delivery.Deliver {
			a := alertEvent(t, ev)
			out = append(out, notifier.NewDelivered(notifier.DeliveredAlert{Rule: "kursk", Mode: "budget", Max: 1, Sent: d.Sent,
				Window: notifier.DeliveryWindow{ID: d.Period.ID, Start: d.Period.Start, End: d.Period.End}, Alert: a}))
		}
		if d.Notice != nil {
			out = append(out, notifier.DeliveryEvent{Kind: notifier.KindNotice, RuleID: "kursk", ID: d.Notice.ID, Subject: d.Notice.Window.ID, Time: ev.Time, Data: d.Notice})
		}
		if d.Spike != nil && !spiked {
			spiked = true
			out = append(out, notifier.DeliveryEvent{Kind: notifier.KindSpike, RuleID: "kursk", ID: d.Spike.ID, Subject: d.Spike.End.Format(time.RFC3339), Time: d.Spike.End, Data: d.Spike})
		}
	}
	for _, d := range p.Due(st, now) {
		out = append(out, notifier.DeliveryEvent{Kind: notifier.KindDigest, RuleID: "kursk", ID: d.ID, Subject: d.Period.ID, Time: d.Period.End, Data: d})
	}
	kinds := map[notifier.DeliveryKind]bool{}
	for _, e := range out {
		kinds[e.Kind] = true
	}
	if len(kinds) != 4 {
		t.Fatalf("the policy made %d kinds of delivery (%v), want a digest, a notice, a delivered alert and a spike", len(kinds), kinds)
	}
	return out
}

// alertEvent is the alert event of a delivery event, as the alert stream would have it.
func alertEvent(t *testing.T, ev delivery.Event) notifier.Event {
	t.Helper()
	e, err := notifier.NewEvent(event.Alert{RuleID: "kursk", RuleQuery: "kursk", FeedID: "world", FeedURL: "https://example.org/rss",
		Item: event.Item{Key: ev.ID, Link: ev.Link, Title: ev.Title, Published: ev.Time},
		Hits: []event.Hit{{Field: "title", Start: 0, End: 5, Text: "Kursk"}}, Time: ev.Time})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// dataSchemas compiles every schema of schemas/, by the URI that events name in dataschema.
func dataSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob("schemas/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema in api/schemas: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if id != "https://github.com/newswatch/newswatch/blob/main/api/"+filepath.ToSlash(f) {
			t.Errorf("%s: $id %q does not name the file", f, id)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		if out[id], err = c.Compile(id); err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
	}
	for _, uri := range []string{notifier.AlertDataSchema, notifier.HealthDataSchema, notifier.ItemDataSchema, notifier.StoryDataSchema,
		notifier.DigestDataSchema, notifier.DeliveredDataSchema, notifier.SpikeDataSchema} {
		if out[uri] == nil {
			t.Errorf("the events name dataschema %q, which is none of api/schemas", uri)
		}
	}
	return out
}

// readYAML reads a YAML file as the values encoding/json would give.
func readYAML(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
