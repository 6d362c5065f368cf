package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

func TestItemKey(t *testing.T) {
	pub := utc("2026-11-26T15:37:26Z")
	hashOf := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name                    string
		guid, link, title, date string
		at                      time.Time
		want                    string
	}{
		{"guid wins", " urn:uuid:1 ", "https://example.org/a", "T", "", time.Time{}, "urn:uuid:1"},
		{"guid kept as written", "HTTP://Example.org/A#x", "", "", "", time.Time{}, "HTTP://Example.org/A#x"},
		{"link canonical", "", "HTTP://Example.ORG/World/Story?id=7#comments", "T", "", time.Time{}, "http://example.org/World/Story?id=7"},
		{"link port kept", "", "https://Example.org:8443/a", "", "", time.Time{}, "https://example.org:8443/a"},
		{"relative link as written", "", " /a/b#c ", "", "", time.Time{}, "/a/b#c"},
		{"hash of title and parsed date", "", "", " Title ", "Thu, 26 Nov 2026 15:37:26 +0000", pub, hashOf("Title\x002026-11-26T15:37:26Z")},
		{"hash of title and unparsed date", "", "", "Title", " yesterday ", time.Time{}, hashOf("Title\x00yesterday")},
		{"hash of title alone", "", "", "Title", "", time.Time{}, hashOf("Title\x00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := itemKey(tt.guid, tt.link, tt.title, tt.date, tt.at); got != tt.want {
				t.Errorf("itemKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestItemKeyDateFormsAgree(t *testing.T) {
	// The same instant written two ways is one item; another instant is another item.
	a := itemKey("", "", "T", "Thu, 26 Nov 2026 16:37:26 +0100", utc("2026-11-26T15:37:26Z"))
	b := itemKey("", "", "T", "2026-11-26T15:37:26Z", utc("2026-11-26T15:37:26Z").In(time.FixedZone("CET", 3600)))
	c := itemKey("", "", "T", "2026-11-26T15:37:27Z", utc("2026-11-26T15:37:27Z"))
	if a != b {
		t.Errorf("same instant: got keys %q and %q, want equal", a, b)
	}
	if a == c {
		t.Errorf("other instant: got equal keys %q, want different", a)
	}
}
