package watcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	gofeedrss "github.com/mmcdole/gofeed/rss"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// Item is one parsed feed item: its key, the fields an alert carries, and its content. Text
// fields are plain text (matcher.PlainText), the text that hit offsets refer to.
type Item struct {
	event.Item
	Content string

	// Set by ParseItems from the whole document; see assignKeys.
	rawTitle, rawPublished string
	canonLink              string
	ids                    []string // Key first
}

// MatcherItem returns the item as the matcher sees it, for a feed and its tags.
func (it Item) MatcherItem(feedID string, tags []string) matcher.Item {
	return matcher.Item{
		FeedID:     feedID,
		Tags:       tags,
		Title:      it.Title,
		Summary:    it.Summary,
		Content:    it.Content,
		Link:       it.Link,
		Authors:    it.Authors,
		Categories: it.Categories,
	}
}

// date is the item's publication date, else its update date, else zero.
func (it Item) date() time.Time {
	if !it.Published.IsZero() {
		return it.Published
	}
	return it.Updated
}

// Limits of what one poll hands to the matcher.
const (
	// MaxItems is how many items of a document ParseItems returns: the first ones, which feeds
	// keep newest.
	MaxItems = 1000
	// MaxFieldBytes is the longest text of one field of an item, cut at a rune boundary.
	MaxFieldBytes = 64 << 10
)

// Document is a parsed feed document.
type Document struct {
	Title string
	Items []Item
	// TTL is the RSS <ttl>: how long the publisher asks readers to wait between polls; 0 when
	// absent.
	TTL time.Duration
}

// ParseTimeout bounds the parse of one document by a poll (and by ParseItems): a parse that
// runs past it fails with ErrParseTimeout. A document within max_body parses in under a second
// on two cores, hostile ones included (see BENCHMARKS.md); the bound, ten times that, is for
// what no one foresaw, with room for a loaded machine, where a tighter one would fail feeds
// that are fine.
const ParseTimeout = 10 * time.Second

// ParseItems parses an RSS, Atom or JSON Feed document within ParseTimeout and returns the
// feed's title and its first MaxItems items in document order, each with its key; see
// ParseDocument.
func ParseItems(data []byte) (title string, items []Item, err error) {
	ctx, cancel := context.WithTimeoutCause(context.Background(), ParseTimeout, ErrParseTimeout)
	defer cancel()
	doc, err := ParseDocument(ctx, data)
	return doc.Title, doc.Items, err
}

// ParseDocument parses an RSS, Atom or JSON Feed document: its title, its <ttl>, and its first
// MaxItems items in document order, every text field cut to MaxFieldBytes, each with its key
// (see assignKeys). The document is read as UTF-8 unless a BOM or its XML prolog says
// otherwise (FetchOnce has already applied the charset of the answer's Content-Type); invalid
// UTF-8 is repaired. A body that is empty is ErrEmptyBody, one that is no feed is ErrNotAFeed,
// one that does not parse (truncated, say) is ErrMalformedFeed. Entities declared in the
// document are never expanded.
//
// Parsing stops at the MaxItems-th item and reads at most a few hundred KiB of any one field
// (see boundXML and boundJSON): what follows is never parsed, so a document whose first items
// are well formed parses even if it breaks further on. A parse still running when ctx is done
// fails with its cause; a deadline passed is ErrParseTimeout.
func ParseDocument(ctx context.Context, data []byte) (Document, error) {
	data = toUTF8(data, "")
	if len(bytes.TrimSpace(data)) == 0 {
		return Document{}, ErrEmptyBody
	}
	var bounded []byte
	var err error
	// gofeed detects the type from the first 4 KiB alone.
	switch gofeed.DetectFeedType(bytes.NewReader(data[:min(len(data), 4096)])) {
	case gofeed.FeedTypeRSS, gofeed.FeedTypeAtom:
		bounded, err = boundXML(ctx, data)
	case gofeed.FeedTypeJSON:
		bounded, err = boundJSON(ctx, data)
	default:
		return Document{}, ErrNotAFeed
	}
	if err != nil {
		return Document{}, parseFailure(ctx, err)
	}
	p := gofeed.NewParser()
	p.KeepOriginalFeed = true
	// Items carry no image: skip the HTML parse of every description that looks for one, a
	// tenth of the CPU of a poll that parses.
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	f, err := p.Parse(ctxReader{ctx, bytes.NewReader(bounded)})
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return Document{}, ErrNotAFeed
	}
	if err != nil {
		return Document{}, parseFailure(ctx, fmt.Errorf("%w: %w", ErrMalformedFeed, err))
	}
	doc := documentOf(f)
	if ctx.Err() != nil {
		return Document{}, parseFailure(ctx, ctx.Err())
	}
	if rf, ok := f.OriginalFeed().(*gofeedrss.Feed); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(rf.TTL)); err == nil && n > 0 {
			doc.TTL = time.Duration(min(n, 7*24*60)) * time.Minute
		}
	}
	return doc, nil
}

// documentOf is the Document of a parsed feed: its title and its first MaxItems items, keyed.
func documentOf(f *gofeed.Feed) Document {
	doc := Document{Title: plain(f.Title), Items: make([]Item, 0, min(len(f.Items), MaxItems))}
	for _, it := range f.Items {
		if len(doc.Items) == MaxItems {
			break
		}
		if it != nil {
			doc.Items = append(doc.Items, newItem(it))
		}
	}
	assignKeys(doc.Items)
	return doc
}

// parseFailure is err, or when ctx is done the reason it is: ErrParseTimeout for a deadline.
func parseFailure(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, ErrParseTimeout) {
		return fmt.Errorf("%w: %w", ErrParseTimeout, cause)
	}
	return cause
}

// ctxReader stops reading when ctx is done: gofeed reads its input as it parses, so the
// deadline stops it too.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if r.ctx.Err() != nil {
		return 0, context.Cause(r.ctx)
	}
	return r.r.Read(p)
}

// plain is matcher.PlainText cut to MaxFieldBytes at a rune boundary. The input is cut first,
// generously, so that a huge field costs no more than a small one to convert.
func plain(s string) string {
	return truncateUTF8(matcher.PlainText(truncateUTF8(s, 4*MaxFieldBytes)), MaxFieldBytes)
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func newItem(it *gofeed.Item) Item {
	link := strings.TrimSpace(it.Link)
	if link == "" && len(it.Links) > 0 {
		link = strings.TrimSpace(it.Links[0])
	}
	published := timeOf(it.PublishedParsed)
	return Item{
		Item: event.Item{
			GUID:       strings.TrimSpace(it.GUID),
			Link:       link,
			Title:      plain(it.Title),
			Summary:    plain(it.Description),
			Published:  published,
			Updated:    timeOf(it.UpdatedParsed),
			Authors:    authors(it.Authors),
			Categories: nonEmpty(it.Categories),
		},
		Content:      plain(it.Content),
		rawTitle:     it.Title,
		rawPublished: it.Published,
	}
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func authors(ps []*gofeed.Person) []string {
	var out []string
	for _, p := range ps {
		if p == nil {
			continue
		}
		name := p.Name
		if strings.TrimSpace(name) == "" {
			name = p.Email
		}
		if s := plain(name); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if t := plain(s); strings.TrimSpace(t) != "" {
			out = append(out, t)
		}
	}
	return out
}
