// Package source turns documents that are not feeds into feeds: Google News sitemaps, web pages
// read by CSS selectors, the web preview of a public Telegram channel, and the public JSON APIs
// of Mastodon and Bluesky. Each parser is a pure function from the bytes of one fetched document
// (and the address it was fetched from, to resolve links) to a *gofeed.Feed, the value the
// watcher already reads RSS, Atom and JSON Feed into, so that the same keys, seen set and
// matcher apply.
//
// Fetching is the caller's: the address guard, size and time limits, retries and politeness
// stay with it. The parsers bound what they do themselves all the same: a document over
// MaxDocBytes (a web page over MaxPageBytes) is ErrTooLarge, at most MaxItems items are
// returned, and every text field is cut to MaxFieldBytes. A document of the wrong kind, or that does not parse, is an error wrapping
// one of the sentinels below, never a panic, and never both a feed and an error.
//
// Every function is safe to call concurrently; none retries.
package source

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
)

// Limits of what one document yields.
const (
	// MaxDocBytes is the largest document a parser reads (after gunzip for a sitemap).
	MaxDocBytes = 16 << 20
	// MaxPageBytes is the largest web page HTML and Telegram read: the whole page becomes a
	// tree in memory, about fifteen times its size (a listing page is seldom over 2 MiB).
	MaxPageBytes = 5 << 20
	// MaxItems is how many items a document yields: the first ones in document order.
	MaxItems = 1000
	// MaxFieldBytes is the longest text (or HTML) of one field of an item, cut at a rune
	// boundary. The watcher reduces it further to its own bound on plain text.
	MaxFieldBytes = 256 << 10
	// MaxChildren is how many child sitemaps of a sitemap index are returned.
	MaxChildren = 100
)

// Feed types set in gofeed.Feed.FeedType, for logs and the status API.
const (
	TypeSitemap  = "sitemap"
	TypeHTML     = "html"
	TypeTelegram = "telegram"
	TypeMastodon = "mastodon"
	TypeBluesky  = "bluesky"
)

var (
	// ErrEmpty is a document with nothing but white space in it.
	ErrEmpty = errors.New("source: empty document")
	// ErrTooLarge is a document over MaxDocBytes.
	ErrTooLarge = errors.New("source: document too large")
	// ErrWrongType is a document that parses but is not of the kind asked for (an HTML page
	// where a sitemap was expected, a JSON object where a list of statuses was).
	ErrWrongType = errors.New("source: not a document of this type")
	// ErrMalformed is a document of the right kind that does not parse.
	ErrMalformed = errors.New("source: malformed document")
	// ErrNoItems is a page where the item selector (or the Telegram message markup) matches
	// nothing: most often a site that changed its markup.
	ErrNoItems = errors.New("source: no items found")
	// ErrOptions is an invalid option: a selector that does not compile, a missing name.
	ErrOptions = errors.New("source: invalid options")
)

// APIError is an error object returned by an API (Mastodon's {"error": ...}, Bluesky's
// {"error": ..., "message": ...}) in place of the expected document.
type APIError struct {
	Source  string // TypeMastodon or TypeBluesky
	Code    string // Bluesky's error name; empty for Mastodon
	Message string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s api error %s: %s", e.Source, e.Code, e.Message)
	}
	return fmt.Sprintf("%s api error: %s", e.Source, e.Message)
}

// checkSize is ErrEmpty or ErrTooLarge for data that no parser should read.
func checkSize(data []byte) error {
	return checkSizeOf(data, MaxDocBytes)
}

func checkSizeOf(data []byte, limit int) error {
	if len(data) > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), limit)
	}
	if isBlank(data) {
		return ErrEmpty
	}
	return nil
}

func isBlank(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n', '\f', '\v':
		default:
			return false
		}
	}
	return true
}

// cut cuts s to MaxFieldBytes without splitting a rune, and repairs invalid UTF-8.
func cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return cutTo(s, MaxFieldBytes)
}

func cutTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// resolve returns ref resolved against base, when the result is an http or https address;
// otherwise "".
func resolve(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 8<<10 {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return u.String()
}

// newFeed is a feed of the given type, read from page (which may be nil), with room for its
// items.
func newFeed(typ, title string, page *url.URL, n int) *gofeed.Feed {
	var link string
	if page != nil {
		link = page.String()
	}
	return &gofeed.Feed{
		Title:       cut(title),
		Link:        link,
		FeedLink:    link,
		FeedType:    typ,
		FeedVersion: "1",
		Items:       make([]*gofeed.Item, 0, min(n, MaxItems)),
	}
}
