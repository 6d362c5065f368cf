package notifier

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/newswatch/newswatch/event"
)

// itemEventBodies are item events as the archive writes them, with escapes, non-ASCII text,
// nulls, unknown and case-folded fields, and broken ones.
func itemEventBodies(t testing.TB) []string {
	seen := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	items := []event.Archived{
		{FeedID: "bbc", FeedURL: "https://feeds.example/bbc.xml", FeedTitle: "BBC <World>", Tags: []string{"news", "uk"},
			Item: event.Item{Key: "k1", GUID: "g1", Link: "https://bbc.example/a?x=1&y=2", Title: `North Korean troops "in Kursk"`,
				Summary: "Line one\nline two\ttab — café 日本 한국 Курск \u2028 😀", Published: seen.Add(-time.Hour),
				Authors: []string{"A. Writer", ""}, Categories: []string{}},
			Content: strings.Repeat("Long content with <b>markup</b> & more. ", 40), FirstSeen: seen, Muted: "flood"},
		{FeedID: "plain", Item: event.Item{Key: "k2", Title: "plain"}, FirstSeen: seen},
	}
	var bodies []string
	for _, a := range items {
		ev, err := NewItemEvent(a)
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
	return append(bodies,
		head+`"title":"\u003cb\u003e \"quoted\" \\ \/ \u2028 \ud83d\ude00 \t tab","summary":"caf\u00e9 — 日本"}}}`,
		head+"\"title\":\"bad \xff\xfe bytes\",\"summary\":\"half \\ud83d surrogate\"}}}",
		head+`"title":"lone \udc00 and \ud800\u0041 and \ud83d\ude00\ud83d"}}}`,
		head+`"title":null,"authors":["a",null],"categories":[],"published":"2026-11-30T23:00:00+01:00","extra":{"n":[1,2.5e3,true]}}},"later":1}`,
		head+`"title":"dup","title":"second","authors":["x"],"authors":null}}}`,
		head+`"Title":"folded key","KEY":"K"}}}`,
		head+`"title":"control`+"\x01"+`char"}}}`,
		head+`"title":"bad escape \x"}}}`,
		head+`"title":"unterminated`,
		head+`"title":"trailing"}}} x`,
		head+`"title":"trailing"}}}  `+"\n",
		` { "type" : "io.newswatch.item.v1" , "data" : { "item" : { "key" : "spaced" } , "item" : { "title" : "merged" } } } `,
		`{"type":"io.newswatch.item.v1","data":{"item":{"key":1}}}`,
		`{"type":"io.newswatch.item.v1","data":null}`,
		`{"type":"other","data":{"item":{"key":"k"}}}`,
		`null`, ``, `[]`, `{}`, `{"type":"io.newswatch.item.v1","data":{"item":{"key":"k","authors":"x"}}}`,
	)
}

// TestReadItemEvent: go-json (ParseItemEvent) decodes every body as encoding/json does, the
// decoder without copies as ParseItemEvent does, and the latter reads the archive's plain form
// itself (its strings point into the body).
func TestReadItemEvent(t *testing.T) {
	for i, body := range itemEventBodies(t) {
		var want, got ItemEvent
		wantErr := json.Unmarshal([]byte(body), &want)
		gotErr := gojson.Unmarshal([]byte(body), &got)
		// On an error go-json leaves what it read before it; ParseItemEvent drops it.
		if (wantErr != nil) != (gotErr != nil) || wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("body %d: go-json decoded %+v (%v)\nwant encoding/json's %+v (%v)\n%q", i, got, gotErr, want, wantErr, body)
		}
		checkReadItemEvent(t, []byte(body))
		if i < 2 {
			var ev itemEnvelope
			d := itemDecoder{b: []byte(body)}
			if !d.envelope(&ev) {
				t.Errorf("body %d, as the archive writes it, is not read without copies:\n%s", i, body)
			}
		}
	}
}

func checkReadItemEvent(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := ParseItemEvent(body)
	got, gotErr := readItemEvent(body)
	if (wantErr != nil) != (gotErr != nil) || wantErr != nil && wantErr.Error() != gotErr.Error() || !reflect.DeepEqual(got, want) {
		t.Fatalf("readItemEvent(%q)\n= %+v, %v\nwant %+v, %v", body, got, gotErr, want, wantErr)
	}
}

func FuzzReadItemEvent(f *testing.F) {
	for _, b := range itemEventBodies(f) {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkReadItemEvent(t, body)
	})
}

// BenchmarkReadItemEvent decodes item events both ways, go-json (ParseItemEvent) and without
// copies (readItemEvent), one op being one event: one of 1.4 kB of plain text, as the archive
// benchmark's corpus, and one of 2.4 kB whose content has escapes every few words.
func BenchmarkReadItemEvent(b *testing.B) {
	seen := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	plain, err := json.Marshal(must(NewItemEvent(event.Archived{FeedID: "feed1", FeedURL: "https://newsfeed1.example/rss.xml",
		FeedTitle: "News feed1", Tags: []string{"news", "en"}, FirstSeen: seen,
		Item: event.Item{Key: "https://newsfeed1.example/1", GUID: "https://newsfeed1.example/1", Link: "https://newsfeed1.example/1",
			Title: "Officials said the troops crossed the border near Kursk", Summary: strings.Repeat("Words of a plain summary. ", 12),
			Published: seen.Add(-time.Hour), Authors: []string{"Reporter 7"}, Categories: []string{"world"}},
		Content: strings.Repeat("Words of plain content, longer than the summary. ", 18)})))
	if err != nil {
		b.Fatal(err)
	}
	for _, body := range []struct {
		name string
		b    []byte
	}{{"plain", plain}, {"escaped", []byte(itemEventBodies(b)[0])}} {
		for _, c := range []struct {
			name string
			read func([]byte) (event.Archived, error)
		}{{"go-json", ParseItemEvent}, {"without-copies", readItemEvent}} {
			b.Run(body.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(body.b)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.read(body.b); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
