package watcher

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/newswatch/newswatch/internal/redact"
)

// redacted stands for a query value in a redacted URL.
const redacted = redact.Mark

// RedactURL returns rawURL as it may be shown: without its userinfo and fragment, and with the
// value of every query parameter replaced by "redacted", keys kept so that URLs stay apart. A
// feed URL may carry a credential in its userinfo (https://user:token@host/feed) or in a query
// value under any name (?apikey=…, ?token=…, ?k=…), and neither may leave the fetch: log lines,
// errors, the feed state, health events and alerts all name the URL this way. A parameter
// without "=" (?s3cr3t) is replaced whole, since it may be the secret itself; an empty value is
// kept. The path is shown as it is.
func RedactURL(rawURL string) string { return redactURL(rawURL) }

func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	u.RawQuery = redact.Query(u.RawQuery)
	return u.String()
}

// rebuildURL turns redactedURL, the redacted form of a URL the feed moved to, back into the URL
// to request, taking the redacted query values from cfgURL, the configured URL: the n-th
// redacted value of a key gets the n-th value of that key in cfgURL. It carries cfgURL's
// userinfo to a URL on the same host. ok is false when cfgURL lacks a value to put back.
//
// The state stores no query value, so a moved URL can be polled only when its values are the
// configured URL's (the common case of a server that keeps the query when it moves a feed);
// adoptableMove checks that before a move is recorded.
func rebuildURL(cfgURL, redactedURL string) (string, bool) {
	cu, err1 := url.Parse(cfgURL)
	mu, err2 := url.Parse(redactedURL)
	if err1 != nil || err2 != nil {
		return "", false
	}
	if mu.RawQuery != "" {
		values := map[string][]string{} // cfgURL's raw values by raw key; "" key for bare ones
		for p := range strings.SplitSeq(cu.RawQuery, "&") {
			if k, v, ok := strings.Cut(p, "="); ok {
				values[k] = append(values[k], v)
			} else if p != "" {
				values[""] = append(values[""], p)
			}
		}
		parts := strings.Split(mu.RawQuery, "&")
		for i, p := range parts {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				k = ""
			}
			if p != redacted && v != redacted {
				continue
			}
			if len(values[k]) == 0 {
				return "", false
			}
			if ok {
				parts[i] = k + "=" + values[k][0]
			} else {
				parts[i] = values[k][0]
			}
			values[k] = values[k][1:]
		}
		mu.RawQuery = strings.Join(parts, "&")
	}
	if cu.User != nil && strings.EqualFold(cu.Host, mu.Host) {
		mu.User = cu.User
	}
	return mu.String(), true
}

// adoptableMove returns the form of movedTo, a URL the feed configured as cfgURL was
// permanently redirected to, that the state records: its redacted form, when rebuildURL turns
// that back into movedTo exactly; else "", and the feed keeps polling cfgURL and following the
// redirect. A query value the server put in the new URL is not the configured URL's and cannot
// be stored (it may be a credential too: a signed URL), so such a move is never adopted.
func adoptableMove(cfgURL, movedTo string) string {
	if movedTo == "" {
		return ""
	}
	u, err := url.Parse(movedTo)
	if err != nil {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	r := redactURL(movedTo)
	if back, ok := rebuildURL(cfgURL, r); !ok || back != u.String() {
		return ""
	}
	return r
}

// queryHash is a fingerprint of the query of rawURL, "" when it has none. The state keeps it
// beside the redacted URLs it stores (URL, Gone, MovedFrom), which do not tell apart two URLs
// whose query values differ: without it, a feed whose configuration changed ?category=a into
// ?category=b would get the validators of the first, stay gone if the first was, or keep
// polling where the first moved.
//
// It is a hash of a secret, so it is made weak on purpose: 32 bits of SHA-256, salted with the
// URL's redacted form so that no table serves two feeds. Two queries of one feed collide once
// in four billion changes (the change then goes unnoticed, as it did before query values were
// redacted), and the fingerprint says nothing of a token of 64 bits or more (any API key)
// beyond telling it from others. A password chosen by a person belongs in the userinfo, of
// which the state keeps no trace.
func queryHash(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.RawQuery == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(redactURL(rawURL) + "\x00" + u.RawQuery))
	return hex.EncodeToString(sum[:4])
}
