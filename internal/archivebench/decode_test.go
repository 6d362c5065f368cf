package archivebench

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/newswatch/newswatch/notifier"
)

// TestParseItemEventAgreesWithEncodingJSON: the archive's decoder, goccy/go-json (for speed),
// reads every item event of the corpus, and events with escapes, invalid UTF-8, nulls and
// unknown fields, exactly as encoding/json does.
func TestParseItemEventAgreesWithEncodingJSON(t *testing.T) {
	c := newCorpus(time.Now().UTC())
	var bodies []string
	for i := range 300 {
		ev, err := notifier.NewItemEvent(c.item(i))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	const head = `{"specversion":"1.0","type":"io.newswatch.item.v1","id":"x","data":{"feed":{"id":"f","tags":null},"first_seen":"2026-12-01T10:00:00.123456789Z","item":{"key":"k",`
	bodies = append(bodies,
		head+`"title":"\u003cb\u003e \"quoted\" \\ \/ \u2028 \ud83d\ude00 \t tab","summary":"caf\u00e9 — 日本"}}}`,
		head+"\"title\":\"bad \xff\xfe bytes\",\"summary\":\"half \\ud83d surrogate\"}}}",
		head+`"title":null,"authors":["a",null],"categories":[],"published":"2026-11-30T23:00:00+01:00","extra":{"n":[1,2.5e3,true]}}},"later":1}`,
		head+`"title":"dup","title":"second"}}}`,
	)
	for i, body := range bodies {
		var want, got notifier.ItemEvent
		wantErr := json.Unmarshal([]byte(body), &want)
		gotErr := gojson.Unmarshal([]byte(body), &got)
		if (wantErr != nil) != (gotErr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("body %d: go-json decoded %+v (%v)\nwant encoding/json's %+v (%v)\n%s", i, got, gotErr, want, wantErr, body)
		}
		if _, err := notifier.ParseItemEvent([]byte(body)); err != nil {
			t.Errorf("body %d: %v", i, err)
		}
	}
}
