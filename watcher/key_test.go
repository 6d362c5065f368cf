package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/newswatch/newswatch/event"
)

// keyed is an item as ParseItems reads it before assignKeys: raw GUID, link, title and date.
func keyed(guid, link, title, date string, at time.Time) Item {
	return Item{Item: event.Item{GUID: guid, Link: link, Published: at}, rawTitle: title, rawPublished: date}
}

func TestAssignKeys(t *testing.T) {
	pub := utc("2026-11-26T15:37:26Z")
	hashOf := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name    string
		item    Item
		wantKey string
		wantIDs []string
	}{
		{"guid first, link too", keyed("urn:uuid:1", "https://example.org/a", "T", "", time.Time{}), "urn:uuid:1", []string{"urn:uuid:1", "https://example.org/a"}},
		{"guid kept as written", keyed("HTTP://Example.org/A#x", "", "", "", time.Time{}), "HTTP://Example.org/A#x", []string{"HTTP://Example.org/A#x"}},
		{"permalink guid is one identity", keyed("https://example.org/a", "https://example.org/a", "", "", time.Time{}), "https://example.org/a", []string{"https://example.org/a"}},
		{"link canonical", keyed("", "HTTP://Example.ORG/World/Story?id=7#comments", "T", "", time.Time{}), "https://example.org/World/Story?id=7", nil},
		{"link default port dropped", keyed("", "https://Example.org:443/a", "", "", time.Time{}), "https://example.org/a", nil},
		{"link other port kept", keyed("", "https://Example.org:8443/a", "", "", time.Time{}), "https://example.org:8443/a", nil},
		{"tracking parameters dropped", keyed("", "https://example.org/a?utm_source=rss&id=7&fbclid=x&UTM_Medium=y&gclid=z", "", "", time.Time{}), "https://example.org/a?id=7", nil},
		{"only tracking parameters", keyed("", "http://example.org/a?utm_campaign=c", "", "", time.Time{}), "https://example.org/a", nil},
		{"relative link as written", keyed("", "/a/b#c", "", "", time.Time{}), "/a/b#c", nil},
		{"hash of title and parsed date", keyed("", "", " Title ", "Thu, 26 Nov 2026 15:37:26 +0000", pub), hashOf("Title\x002026-11-26T15:37:26Z"), nil},
		{"hash of title and unparsed date", keyed("", "", "Title", " yesterday ", time.Time{}), hashOf("Title\x00yesterday"), nil},
		{"hash of title alone", keyed("", "", "Title", "", time.Time{}), hashOf("Title\x00"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := []Item{tt.item}
			assignKeys(items)
			if got := items[0].Key; got != tt.wantKey {
				t.Errorf("key = %q, want %q", got, tt.wantKey)
			}
			want := tt.wantIDs
			if want == nil {
				want = []string{tt.wantKey}
			}
			if got := items[0].ids; !slices.Equal(got, want) {
				t.Errorf("ids = %q, want %q", got, want)
			}
		})
	}
}

func TestAssignKeysSharedIdentities(t *testing.T) {
	items := []Item{
		keyed("same", "https://example.org/1", "One", "", time.Time{}),
		keyed("same", "https://example.org/2", "Two", "", time.Time{}),
		keyed("g3", "https://example.org/", "Three", "", time.Time{}),
		keyed("g4", "https://example.org/", "Four", "", time.Time{}),
		keyed("", "https://example.org/", "Five", "", time.Time{}),
	}
	assignKeys(items)
	want := []string{"https://example.org/1", "https://example.org/2", "g3", "g4", hashKey("Five", "", time.Time{})}
	for i, it := range items {
		if it.Key != want[i] {
			t.Errorf("item %d: key %q, want %q", i, it.Key, want[i])
		}
		if len(it.ids) != 1 {
			t.Errorf("item %d: ids %q, want only the key: a shared GUID or link identifies nothing", i, it.ids)
		}
	}
}

func TestHashKeyDateFormsAgree(t *testing.T) {
	// The same instant written two ways is one item; another instant is another item.
	a := hashKey("T", "Thu, 26 Nov 2026 16:37:26 +0100", utc("2026-11-26T15:37:26Z"))
	b := hashKey("T", "2026-11-26T15:37:26Z", utc("2026-11-26T15:37:26Z").In(time.FixedZone("CET", 3600)))
	c := hashKey("T", "2026-11-26T15:37:27Z", utc("2026-11-26T15:37:27Z"))
	if a != b {
		t.Errorf("same instant: got keys %q and %q, want equal", a, b)
	}
	if a == c {
		t.Errorf("other instant: got equal keys %q, want different", a)
	}
}
