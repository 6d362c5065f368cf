package watcher

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Bounds of the pauses of a failing feed.
const (
	// backoffBase is the pause after a first failure; it doubles with each further one.
	backoffBase = time.Minute
	// minRetryAfter and maxRetryAfter clamp a server's Retry-After.
	minRetryAfter = time.Minute
	maxRetryAfter = 24 * time.Hour
)

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date, relative to now; it
// returns 0 when the value is absent or does not parse. A date in the past is 0 as well.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the pause before the next poll of a feed after its failures-th consecutive failure
// with err: a server's Retry-After within [minRetryAfter, maxRetryAfter] when a 429 or 503 gave
// one, else backoffBase doubled per failure up to ceiling, the upper half of it jittered so that
// feeds that failed together do not retry together.
func backoff(err error, failures int, ceiling time.Duration) time.Duration {
	if he, ok := errors.AsType[*HTTPError](err); ok && he.RetryAfter > 0 {
		return min(max(he.RetryAfter, minRetryAfter), maxRetryAfter)
	}
	d := backoffBase
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	d = max(min(d, ceiling), 2)
	half := d / 2
	return half + rand.N(half+1)
}

// ErrorClass names the kind of a feed failure, with a small fixed set of values, for the feed's
// state, its logs and its health events.
type ErrorClass string

// Error classes.
const (
	ClassTimeout        ErrorClass = "timeout"
	ClassNetwork        ErrorClass = "network"          // DNS, connection refused or reset, TLS
	ClassPrivateAddress ErrorClass = "private_address"  // refused by the address guard
	ClassRedirect       ErrorClass = "redirect"         // too many redirects, or to another scheme
	ClassRateLimited    ErrorClass = "rate_limited"     // 429
	ClassUnavailable    ErrorClass = "unavailable"      // 503
	ClassGone           ErrorClass = "gone"             // 410
	ClassHTTPClient     ErrorClass = "http_client"      // other 4xx
	ClassHTTPServer     ErrorClass = "http_server"      // other 5xx
	ClassHTTPOther      ErrorClass = "http_other"       // 1xx, an unfollowed 3xx
	ClassBodyTooLarge   ErrorClass = "body_too_large"   // after decompression
	ClassEncoding       ErrorClass = "content_encoding" // unsupported or corrupt compression
	ClassEmptyBody      ErrorClass = "empty_body"
	ClassNotAFeed       ErrorClass = "not_a_feed" // HTML, say
	ClassMalformedFeed  ErrorClass = "malformed_feed"
	ClassParseTimeout   ErrorClass = "parse_timeout" // a document that took longer than ParseTimeout
	ClassNoItems        ErrorClass = "no_items"      // a page where the item markup matches nothing
	ClassAPIError       ErrorClass = "api_error"     // an API's error object (Mastodon, Bluesky)
	ClassUnsupportedURL ErrorClass = "unsupported_url"
	ClassOther          ErrorClass = "other"
)

// ClassifyError returns the class of a fetch or parse error; nil has the class "".
func ClassifyError(err error) ErrorClass {
	if err == nil {
		return ""
	}
	if he, ok := errors.AsType[*HTTPError](err); ok {
		switch s := he.StatusCode; {
		case s == http.StatusTooManyRequests:
			return ClassRateLimited
		case s == http.StatusServiceUnavailable:
			return ClassUnavailable
		case s == http.StatusGone:
			return ClassGone
		case s >= 400 && s < 500:
			return ClassHTTPClient
		case s >= 500:
			return ClassHTTPServer
		default:
			return ClassHTTPOther
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrParseTimeout): // before the deadline it wraps
		return ClassParseTimeout
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, ErrPrivateAddress):
		return ClassPrivateAddress
	case errors.Is(err, ErrTooManyRedirects):
		return ClassRedirect
	case errors.Is(err, ErrUnsupportedScheme):
		return ClassUnsupportedURL
	case errors.Is(err, ErrBodyTooLarge):
		return ClassBodyTooLarge
	case errors.Is(err, ErrUnsupportedEncoding), errors.Is(err, errBadGzip):
		return ClassEncoding
	case errors.Is(err, ErrEmptyBody):
		return ClassEmptyBody
	case errors.Is(err, ErrNotAFeed):
		return ClassNotAFeed
	case errors.Is(err, ErrMalformedFeed):
		return ClassMalformedFeed
	case errors.Is(err, ErrNoItems):
		return ClassNoItems
	case errors.Is(err, ErrAPI):
		return ClassAPIError
	case errors.As(err, &ne):
		if ne.Timeout() {
			return ClassTimeout
		}
		return ClassNetwork
	}
	return ClassOther
}
