package notifier

import "strings"

// RedactURL replaces the user information (user, password or token) of each of the comma-separated
// server URLs by "redacted", and the value of each of their query parameters too (keys kept), so
// that the URLs can be logged. It does not parse: a URL that net/url would reject still loses its
// secrets.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if q := strings.IndexByte(p, '?'); q >= 0 {
			p = p[:q+1] + redactQuery(p[q+1:])
		}
		at := strings.LastIndex(p, "@")
		if q := strings.IndexByte(p, '?'); q >= 0 && q < at {
			at = -1 // an "@" in the query, now redacted, is no userinfo's
		}
		if at >= 0 {
			start := 0
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				start = s + len("://")
			}
			p = p[:start] + "redacted@" + p[at+1:]
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// redactQuery replaces each value of a raw query, and its fragment, by "redacted".
func redactQuery(q string) string {
	q, frag, hasFrag := strings.Cut(q, "#")
	params := strings.Split(q, "&")
	for i, p := range params {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case p == "":
		case !ok:
			params[i] = "redacted"
		case v != "":
			params[i] = k + "=redacted"
		}
	}
	q = strings.Join(params, "&")
	if hasFrag && frag != "" {
		q += "#redacted"
	}
	return q
}
