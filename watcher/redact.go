package watcher

import "net/url"

// redactURL returns rawURL without its userinfo, for log lines, errors, state and alerts: a feed
// URL may carry credentials (https://user:token@host/feed), and they must never leave the process.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	return u.String()
}
