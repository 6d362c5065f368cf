package notifier

import "strings"

// RedactURL replaces the user information (user, password or token) of each of the comma-separated
// server URLs by "redacted", so that the URLs can be logged. It does not parse: a URL that
// net/url would reject still loses its secret.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		start := 0
		if s := strings.Index(p, "://"); s >= 0 && s < at {
			start = s + len("://")
		}
		parts[i] = p[:start] + "redacted@" + p[at+1:]
	}
	return strings.Join(parts, ",")
}
