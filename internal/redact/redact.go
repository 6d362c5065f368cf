// Package redact takes the secrets out of URLs so that they can be shown: in logs, errors, feed
// states, events and the output of commands. A URL may carry a credential in its userinfo
// (https://user:token@host/feed) or in a query value under any name (?apikey=…, ?token=…, ?k=…).
// It is pure and safe for concurrent use.
package redact

import "strings"

// Mark stands for a redacted query value.
const Mark = "redacted"

// Query replaces each value of a raw query by Mark, in place: the order of the parameters and
// the spelling of their keys stay as they were. A parameter without "=" (?s3cr3t) is replaced
// whole, since it may be the secret itself; an empty value is kept. It splits on "&" alone: a
// value with ";" in it is redacted whole.
func Query(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case p == "":
		case !ok:
			parts[i] = Mark
		case v != "":
			parts[i] = k + "=" + Mark
		}
	}
	return strings.Join(parts, "&")
}

// URL is s with its userinfo replaced by Mark, without its fragment, and with its query values
// redacted (Query). It does not parse, so that a URL net/url refuses loses its secrets too: the
// userinfo is all of the authority (after "://", up to the first "/") up to its last "@", even
// when a password holds a "?" or a "#". An "@" in the path (https://mastodon.example/@bob.rss)
// is no userinfo's.
func URL(s string) string {
	scheme, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+len("://")], s[i+len("://"):]
	}
	authority := rest
	if slash := strings.IndexByte(rest, '/'); slash >= 0 {
		authority = rest[:slash]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		rest = Mark + rest[at:]
	}
	base, query, hasQuery := strings.Cut(rest, "?")
	base, _, _ = strings.Cut(base, "#")
	if !hasQuery {
		return scheme + base
	}
	query, _, _ = strings.Cut(query, "#")
	return scheme + base + "?" + Query(query)
}

// URLs is URL of each of the comma-separated URLs of list, as NATS server lists are written.
func URLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = URL(p)
	}
	return strings.Join(parts, ",")
}
