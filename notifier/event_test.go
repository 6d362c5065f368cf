package notifier_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cloudevent "github.com/cloudevents/sdk-go/v2/event"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/notifier"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestEventID(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	base := notifier.EventID("dprk-troops", "world", "urn:example:item:1")
	tests := []struct {
		name     string
		rule     string
		feed     string
		key      string
		wantSame bool
	}{
		{name: "same inputs", rule: "dprk-troops", feed: "world", key: "urn:example:item:1", wantSame: true},
		{name: "other rule", rule: "kursk", feed: "world", key: "urn:example:item:1"},
		{name: "other feed, same item key", rule: "dprk-troops", feed: "copycat", key: "urn:example:item:1"},
		{name: "other item", rule: "dprk-troops", feed: "world", key: "urn:example:item:2"},
		{name: "boundary moved", rule: "dprk-troopsw", feed: "orld", key: "urn:example:item:1"},
		{name: "boundary moved to the key", rule: "dprk-troops", feed: "worldu", key: "rn:example:item:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notifier.EventID(tt.rule, tt.feed, tt.key)
			if !hex32.MatchString(got) {
				t.Errorf("EventID(%q, %q, %q) = %q, want 32 lower-case hex digits", tt.rule, tt.feed, tt.key, got)
			}
			if same := got == base; same != tt.wantSame {
				t.Errorf("EventID(%q, %q, %q) = %q, base %q: got same %v, want %v", tt.rule, tt.feed, tt.key, got, base, same, tt.wantSame)
			}
		})
	}
}

func TestAlertSubject(t *testing.T) {
	tests := []struct {
		prefix, rule, feed string
		want               string
	}{
		{"newswatch", "dprk-troops", "world", "newswatch.alert.dprk-troops.world"},
		{"acme.news", "kursk", "bbc_ru", "acme.news.alert.kursk.bbc_ru"},
	}
	for _, tt := range tests {
		if got := notifier.AlertSubject(tt.prefix, tt.rule, tt.feed); got != tt.want {
			t.Errorf("AlertSubject(%q, %q, %q) = %q, want %q", tt.prefix, tt.rule, tt.feed, got, tt.want)
		}
	}
}

func TestRuleVersion(t *testing.T) {
	for _, q := range []string{"kursk", "kursk ", `@dprk NEAR/15 troop*`} {
		sum := sha256.Sum256([]byte(q))
		want := hex.EncodeToString(sum[:])[:12]
		if got := notifier.RuleVersion(q); got != want {
			t.Errorf("RuleVersion(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestNewEventGolden(t *testing.T) {
	ev, err := notifier.NewEvent(sampleAlert())
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	got, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "alert.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("event JSON differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestNewEventOmitsEmptyFields(t *testing.T) {
	a := sampleAlert()
	a.FeedTitle = ""
	a.Snippet = ""
	a.Hits = nil
	a.Item = event.Item{Key: "k1", Link: "https://example.org/1"}
	ev, err := notifier.NewEvent(a)
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var doc struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if got, want := string(doc.Data["item"]), `{"key":"k1","link":"https://example.org/1"}`; got != want {
		t.Errorf("item: got %s, want %s", got, want)
	}
	if got, want := string(doc.Data["hits"]), `[]`; got != want {
		t.Errorf("hits: got %s, want %s", got, want)
	}
	if got, want := string(doc.Data["feed"]), `{"id":"world","url":"https://example.org/world/rss.xml"}`; got != want {
		t.Errorf("feed: got %s, want %s", got, want)
	}
	if _, ok := doc.Data["snippet"]; ok {
		t.Errorf("snippet: got %s, want it absent", doc.Data["snippet"])
	}
}

func TestNewEventInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*event.Alert)
		want   string
	}{
		{"empty rule", func(a *event.Alert) { a.RuleID = "" }, "rule id"},
		{"rule with dot", func(a *event.Alert) { a.RuleID = "a.b" }, "rule id"},
		{"feed with wildcard", func(a *event.Alert) { a.FeedID = "w*" }, "feed id"},
		{"feed with space", func(a *event.Alert) { a.FeedID = "w x" }, "feed id"},
		{"no item key", func(a *event.Alert) { a.Item.Key = "" }, "item key"},
		{"no time", func(a *event.Alert) { a.Time = time.Time{} }, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAlert()
			tt.mutate(&a)
			_, err := notifier.NewEvent(a)
			if !errors.Is(err, notifier.ErrInvalidAlert) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewEvent: got error %v, want ErrInvalidAlert naming %q", err, tt.want)
			}
		})
	}
}

func TestParseEvent(t *testing.T) {
	ev, err := notifier.NewEvent(sampleAlert())
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got, err := notifier.ParseEvent(body)
	if err != nil {
		t.Fatalf("ParseEvent: %v", err)
	}
	if got.ID != ev.ID || got.Data.Item.Title != ev.Data.Item.Title || len(got.Data.Hits) != 2 {
		t.Errorf("ParseEvent: got %+v, want %+v", got, ev)
	}
	for _, bad := range []string{`{`, `{"specversion":"1.0","type":"other","id":"x"}`, `{"specversion":"0.3","type":"io.newswatch.alert.v1","id":"x"}`} {
		if _, err := notifier.ParseEvent([]byte(bad)); err == nil {
			t.Errorf("ParseEvent(%s): got nil error, want one", bad)
		}
	}
}

// checkCloudEvent validates body with the CloudEvents SDK and checks its attributes.
func checkCloudEvent(t *testing.T, body []byte, a event.Alert) {
	t.Helper()
	ce := cloudevent.New()
	if err := json.Unmarshal(body, &ce); err != nil {
		t.Fatalf("cloudevents unmarshal: %v", err)
	}
	if err := ce.Validate(); err != nil {
		t.Fatalf("cloudevents validate: %v", err)
	}
	attrs := []struct{ name, got, want string }{
		{"specversion", ce.SpecVersion(), "1.0"},
		{"type", ce.Type(), "io.newswatch.alert.v1"},
		{"source", ce.Source(), "newswatch/feeds/" + a.FeedID},
		{"id", ce.ID(), notifier.EventID(a.RuleID, a.FeedID, a.Item.Key)},
		{"subject", ce.Subject(), a.RuleID},
		{"datacontenttype", ce.DataContentType(), "application/json"},
		{"time", ce.Time().Format(time.RFC3339Nano), a.Time.UTC().Truncate(time.Second).Format(time.RFC3339Nano)},
	}
	for _, at := range attrs {
		if at.got != at.want {
			t.Errorf("%s: got %q, want %q", at.name, at.got, at.want)
		}
	}
	var data notifier.EventData
	if err := ce.DataAs(&data); err != nil {
		t.Fatalf("DataAs: %v", err)
	}
	if data.Rule.ID != a.RuleID || data.Rule.Query != a.RuleQuery || data.Rule.Version != notifier.RuleVersion(a.RuleQuery) {
		t.Errorf("data.rule: got %+v, want id %q query %q", data.Rule, a.RuleID, a.RuleQuery)
	}
	if data.Item.Key != a.Item.Key || len(data.Hits) != len(a.Hits) {
		t.Errorf("data: got item key %q and %d hits, want %q and %d", data.Item.Key, len(data.Hits), a.Item.Key, len(a.Hits))
	}
}
