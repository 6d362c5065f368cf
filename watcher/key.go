package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// Items are told apart by their identities: the GUID and the canonical link, each where the
// document gives it to this item alone. An item is new when none of its identities has been
// seen, so an item whose GUID changes while its link stays, or whose link gains a tracking
// parameter while its GUID stays, is the same item. A GUID or a link that several items of one
// document share identifies none of them (feeds that give every item the same GUID, or the
// home page as every link); the items are then told apart by what remains, in the end by a
// hash of title and date.

// assignKeys sets the key and identities of every item of one document. An item's key is its
// first identity: its GUID, else its canonical link, else the hex SHA-256 of its title and
// publication date (RFC 3339 in UTC when it parses, else as written) joined by a NUL byte. The
// inputs are the feed's raw strings, so keys do not change when text normalisation does.
func assignKeys(items []Item) {
	guids := make(map[string]int, len(items))
	links := make(map[string]int, len(items))
	for i := range items {
		it := &items[i]
		it.canonLink = ""
		if it.Link != "" {
			it.canonLink = canonicalLink(it.Link)
			links[it.canonLink]++
		}
		if it.GUID != "" {
			guids[it.GUID]++
		}
	}
	for i := range items {
		it := &items[i]
		it.ids = it.ids[:0]
		if it.GUID != "" && guids[it.GUID] == 1 {
			it.ids = append(it.ids, it.GUID)
		}
		if it.canonLink != "" && links[it.canonLink] == 1 && it.canonLink != it.GUID {
			it.ids = append(it.ids, it.canonLink)
		}
		if len(it.ids) == 0 {
			it.ids = append(it.ids, hashKey(it.rawTitle, it.rawPublished, it.Published))
		}
		it.Key = it.ids[0]
	}
}

// hashKey identifies an item that has neither GUID nor link of its own.
func hashKey(title, published string, publishedAt time.Time) string {
	date := strings.TrimSpace(published)
	if !publishedAt.IsZero() {
		date = publishedAt.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(title) + "\x00" + date))
	return hex.EncodeToString(sum[:])
}

// trackingParams are query parameters that say how a reader came to a link, not what it links
// to; canonicalLink drops them. Names ending in "_" are prefixes.
var trackingParams = []string{
	"utm_", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
	"igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
	"at_medium", "at_campaign", "ito", "cmpid", "ocid", "sr_share",
}

func isTrackingParam(name string) bool {
	name = strings.ToLower(name)
	for _, p := range trackingParams {
		if strings.HasSuffix(p, "_") && strings.HasPrefix(name, p) || name == p {
			return true
		}
	}
	return false
}

// canonicalLink makes the links a feed writes for one item over time equal: http and https are
// one, the host is lower-cased and its default port dropped, the fragment and the tracking
// parameters go; the path and the other parameters stay as written, in their order. A link that
// is not an absolute http(s) URL is returned trimmed and otherwise unchanged.
func canonicalLink(link string) string {
	link = strings.TrimSpace(link)
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		return link
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return link
	}
	u.Scheme = "https"
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(strings.TrimSuffix(host, ":80"), ":443")
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		kept := make([]string, 0, 4)
		for _, kv := range strings.Split(u.RawQuery, "&") {
			name, _, _ := strings.Cut(kv, "=")
			if n, err := url.QueryUnescape(name); err == nil && isTrackingParam(n) || kv == "" {
				continue
			}
			kept = append(kept, kv)
		}
		u.RawQuery = strings.Join(kept, "&")
	}
	u.ForceQuery = false
	return u.String()
}
