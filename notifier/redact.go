package notifier

import "github.com/newswatch/newswatch/internal/redact"

// RedactURL takes the user information (user, password or token) out of each of the
// comma-separated server URLs, and replaces the value of each of their query parameters by
// "redacted" (keys kept), so that the URLs can be logged. It does not parse: a URL that net/url
// would reject still loses its secrets.
func RedactURL(urls string) string { return redact.URLs(urls) }
