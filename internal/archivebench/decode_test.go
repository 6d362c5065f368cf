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
// reads every item event of the corpus exactly as encoding/json does (events with escapes,
// invalid UTF-8, nulls and unknown fields: notifier's TestReadItemEvent).
func TestParseItemEventAgreesWithEncodingJSON(t *testing.T) {
	c := newCorpus(time.Now().UTC())
	for i := range 300 {
		ev, err := notifier.NewItemEvent(c.item(i))
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want, got notifier.ItemEvent
		wantErr := json.Unmarshal(body, &want)
		gotErr := gojson.Unmarshal(body, &got)
		if wantErr != nil || gotErr != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("item %d: go-json decoded %+v (%v)\nwant encoding/json's %+v (%v)\n%s", i, got, gotErr, want, wantErr, body)
		}
		if _, err := notifier.ParseItemEvent(body); err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
}
