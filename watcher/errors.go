package watcher

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors of a poll. Fetch and parse failures wrap one of these (or *HTTPError), so
// callers tell them apart with errors.Is / errors.As.
var (
	// ErrNotAFeed is a body that is neither RSS, Atom nor JSON Feed (an HTML page, say).
	ErrNotAFeed = errors.New("watcher: not a feed")
	// ErrMalformedFeed is a body recognised as a feed that does not parse.
	ErrMalformedFeed = errors.New("watcher: malformed feed")
	// ErrBodyTooLarge is a body, after decompression, longer than the feed's MaxBody.
	ErrBodyTooLarge = errors.New("watcher: body too large")
	// ErrTooManyRedirects is a chain of more than maxRedirects redirects.
	ErrTooManyRedirects = errors.New("watcher: too many redirects")
	// ErrUnsupportedScheme is a URL, or a redirect target, that is not http or https.
	ErrUnsupportedScheme = errors.New("watcher: unsupported URL scheme")
	// ErrUnsupportedEncoding is a Content-Encoding other than gzip or identity.
	ErrUnsupportedEncoding = errors.New("watcher: unsupported content encoding")
	// ErrTimeout is a fetch that did not complete within the feed's Timeout.
	ErrTimeout = errors.New("watcher: fetch timed out")
	// ErrPrivateAddress is a connection refused by the address guard: the feed's host, or a
	// redirect's, resolved to a loopback, private, link-local or otherwise internal address.
	ErrPrivateAddress = errors.New("watcher: address not allowed")
	// ErrParseTimeout is a document whose parse did not complete within ParseTimeout.
	ErrParseTimeout = errors.New("watcher: parse timed out")
	// ErrEmptyBody is a 2xx answer with nothing but white space in its body.
	ErrEmptyBody = errors.New("watcher: empty body")
	// ErrNoItems is a web page (a source of type html or telegram) where nothing matches the
	// markup items are read from: most often a site that changed its markup.
	ErrNoItems = errors.New("watcher: no items found")
	// ErrAPI is an error object an API (Mastodon's, Bluesky's) answered in place of a timeline.
	ErrAPI = errors.New("watcher: api error")
	// ErrRunning is a second call of Run.
	ErrRunning = errors.New("watcher: already run")
)

// HTTPError is a final answer whose status is neither 2xx nor 304.
type HTTPError struct {
	StatusCode int
	// RetryAfter is the delay a 429 or 503 asked for in its Retry-After header, as sent
	// (not yet clamped); zero when there was none or it did not parse.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("watcher: HTTP status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}
