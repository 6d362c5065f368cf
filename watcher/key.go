package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// itemKey identifies an item within its feed, stably across polls, restarts and replicas: the
// GUID when the feed gives one, else the canonical link, else the hex SHA-256 of the title and
// the publication date (RFC 3339 in UTC when it parses, else as written), joined by a NUL byte.
// The inputs are the feed's raw strings, so the key does not change when text normalisation does.
func itemKey(guid, link, title, published string, publishedAt time.Time) string {
	if g := strings.TrimSpace(guid); g != "" {
		return g
	}
	if l := strings.TrimSpace(link); l != "" {
		return canonicalLink(l)
	}
	date := strings.TrimSpace(published)
	if !publishedAt.IsZero() {
		date = publishedAt.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(title) + "\x00" + date))
	return hex.EncodeToString(sum[:])
}

// canonicalLink lower-cases the scheme and host of an absolute link and drops its fragment, so
// that HTTP://Example.org/a#top and http://example.org/a are one item. A link that is not an
// absolute URL is returned trimmed and otherwise unchanged.
func canonicalLink(link string) string {
	link = strings.TrimSpace(link)
	u, err := url.Parse(link)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return link
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}
