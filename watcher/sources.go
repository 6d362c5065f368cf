package watcher

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mmcdole/gofeed"
	htmlcharset "golang.org/x/net/html/charset"

	"github.com/newswatch/newswatch/watcher/source"
)

// SourceType names the kind of document a feed is read from.
type SourceType string

// Source types. The zero value means SourceRSS.
const (
	SourceRSS      SourceType = "rss" // RSS, Atom or JSON Feed
	SourceSitemap  SourceType = source.TypeSitemap
	SourceHTML     SourceType = source.TypeHTML
	SourceTelegram SourceType = source.TypeTelegram
	SourceMastodon SourceType = source.TypeMastodon
	SourceBluesky  SourceType = source.TypeBluesky
)

// Bounds of a sitemap index.
const (
	// MaxSitemapChildren is how many child sitemaps of a sitemap index one poll fetches: the
	// first ones, which indexes list newest first.
	MaxSitemapChildren = 20
	// SitemapChildrenTimeout bounds the fetches of the children of one index together (each
	// is bounded by the feed's timeout too).
	SitemapChildrenTimeout = time.Minute
)

var errSitemapChildrenTimeout = fmt.Errorf("%w: child sitemaps not fetched within %s", ErrTimeout, SitemapChildrenTimeout)

// Source is the kind of document a feed is and the options of that kind. A feed of type
// telegram, mastodon or bluesky may leave its URL empty: it is derived from the options (see
// SourceURL). The value is comparable.
type Source struct {
	Type SourceType
	// Selectors say where the items of a page of type html are.
	Selectors source.Selectors
	// Channel is a public Telegram channel's name.
	Channel string
	// Instance is a Mastodon server's address, Tag a hashtag of its public timeline, Account an
	// account of it (user or user@domain) or, for bluesky, a handle or a DID.
	Instance, Tag, Account string
	// ExcludeReplies leaves the replies out of a Mastodon account's statuses.
	ExcludeReplies bool
	// Replies includes a Bluesky account's replies; SkipReposts leaves its reposts out.
	Replies, SkipReposts bool
}

// SourceURL is the address a feed of src is polled at: rawURL when given, else the one its
// type derives from its options (a Telegram channel's web preview, a Mastodon tag's timeline
// or account lookup, a Bluesky author feed).
func SourceURL(rawURL string, src Source) (string, error) {
	if rawURL != "" {
		return rawURL, nil
	}
	var (
		u   string
		err error
	)
	switch src.Type {
	case SourceTelegram:
		u, err = source.TelegramURL(src.Channel)
	case SourceMastodon:
		inst, perr := url.Parse(src.Instance)
		if perr != nil {
			return "", fmt.Errorf("mastodon instance: %w", stripURLError(perr))
		}
		switch {
		case src.Tag != "" && src.Account != "":
			return "", errors.New("mastodon: give tag or account, not both")
		case src.Tag != "":
			u, err = source.MastodonTagURL(inst, src.Tag)
		case src.Account != "":
			u, err = source.MastodonLookupURL(inst, src.Account)
		default:
			return "", errors.New("mastodon: give url, or instance and tag or account")
		}
	case SourceBluesky:
		u, err = source.BlueskyURL("", src.Account, src.Replies)
	default:
		return "", errors.New("url is empty")
	}
	if err != nil {
		return "", err
	}
	return u, nil
}

// validate checks the options of the feed's type.
func (s Source) validate() error {
	switch s.Type {
	case "", SourceRSS, SourceSitemap, SourceTelegram, SourceMastodon, SourceBluesky:
	case SourceHTML:
		return s.Selectors.Validate()
	default:
		return fmt.Errorf("source type %q: want rss, sitemap, html, telegram, mastodon or bluesky", s.Type)
	}
	return nil
}

// getFunc fetches one more document of a poll, with the feed's guard and limits.
type getFunc func(ctx context.Context, rawURL string) ([]byte, error)

// sourceReader is what a source type implements. A poll of every type is the same (schedule,
// address guard, limits, per-host concurrency, conditional GET, backoff, state, seen set,
// matching, alerts, archive); only where it fetches and how it reads what it fetched differ.
type sourceReader interface {
	// target is the address a poll fetches for the feed's address u: u itself, or one found
	// with get (a Mastodon account's statuses, after a lookup of its id).
	target(ctx context.Context, u string, get getFunc) (string, error)
	// read turns a body fetched from page into a Document, fetching with get the documents it
	// leads to (the children of a sitemap index).
	read(ctx context.Context, body []byte, page string, get getFunc) (Document, error)
	// conditional says whether a poll may skip a document that has not changed (a 304, or
	// the body parsed last time): not for a sitemap, which may be an index whose children
	// change while it does not.
	conditional() bool
	// page says whether the document is a web page, whose charset its <meta charset> may
	// name: it is fetched as it comes and decoded by decodePage.
	page() bool
}

// newReader returns the reader of a feed's source; the feed's URL (derived or given) is u.
func newReader(src Source, u string) sourceReader {
	switch src.Type {
	case SourceSitemap:
		return sitemapReader{}
	case SourceHTML:
		return pageReader{func(b []byte, p *url.URL) (*gofeed.Feed, error) { return source.HTML(b, p, src.Selectors) }}
	case SourceTelegram:
		return pageReader{source.Telegram}
	case SourceMastodon:
		if src.Account != "" && strings.Contains(u, "/api/v1/accounts/lookup") {
			return &mastodonAccount{excludeReplies: src.ExcludeReplies}
		}
		return parserReader(source.Mastodon)
	case SourceBluesky:
		skip := src.SkipReposts
		return parserReader(func(b []byte, p *url.URL) (*gofeed.Feed, error) { return source.Bluesky(b, p, skip) })
	default:
		return rssReader{}
	}
}

// rssReader reads RSS, Atom and JSON Feed.
type rssReader struct{}

func (rssReader) conditional() bool { return true }
func (rssReader) page() bool        { return false }

func (rssReader) target(_ context.Context, u string, _ getFunc) (string, error) { return u, nil }

func (rssReader) read(ctx context.Context, body []byte, _ string, _ getFunc) (Document, error) {
	pctx, cancel := context.WithTimeoutCause(ctx, ParseTimeout, ErrParseTimeout)
	defer cancel()
	return ParseDocument(pctx, body)
}

// parserReader reads a document with one of the parsers of package source.
type parserReader func(data []byte, page *url.URL) (*gofeed.Feed, error)

func (parserReader) conditional() bool { return true }
func (parserReader) page() bool        { return false }

func (parserReader) target(_ context.Context, u string, _ getFunc) (string, error) { return u, nil }

func (p parserReader) read(_ context.Context, body []byte, page string, _ getFunc) (Document, error) {
	pu, err := url.Parse(page)
	if err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrMalformedFeed, stripURLError(err))
	}
	f, err := p(body, pu)
	if err != nil {
		return Document{}, sourceError(err)
	}
	return documentOf(f), nil
}

// pageReader reads a web page (html, telegram) with a parser of package source.
type pageReader struct{ parserReader }

func (pageReader) page() bool { return true }

// decodePage decodes a web page to UTF-8 from the charset its answer's Content-Type names,
// else its byte-order mark or <meta charset>, else UTF-8 (windows-1252 for bytes that are not),
// as browsers do.
func decodePage(body []byte, contentType string) []byte {
	enc, _, _ := htmlcharset.DetermineEncoding(body, contentType)
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return toUTF8(body, contentType)
	}
	return out
}

// sitemapReader reads a sitemap, or a sitemap index and its first MaxSitemapChildren children.
type sitemapReader struct{}

func (sitemapReader) conditional() bool { return false }
func (sitemapReader) page() bool        { return false }

func (sitemapReader) target(_ context.Context, u string, _ getFunc) (string, error) { return u, nil }

func (sitemapReader) read(ctx context.Context, body []byte, page string, get getFunc) (Document, error) {
	pu, err := url.Parse(page)
	if err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrMalformedFeed, stripURLError(err))
	}
	f, children, err := source.Sitemap(body, pu)
	if err != nil {
		return Document{}, sourceError(err)
	}
	if f == nil {
		f = &gofeed.Feed{FeedType: source.TypeSitemap}
	}
	// The children of an index are fetched in turn, each with the feed's guard and limits; a
	// child that fails fails the poll, lest its items, missing from one poll, be forgotten as
	// seen and alerted again by the next. An index in an index is not followed.
	if len(children) > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, SitemapChildrenTimeout, errSitemapChildrenTimeout)
		defer cancel()
	}
	for _, child := range children[:min(len(children), MaxSitemapChildren)] {
		if len(f.Items) >= MaxItems {
			break
		}
		data, err := get(ctx, child)
		if err != nil {
			return Document{}, fmt.Errorf("child sitemap: %w", err)
		}
		cu, err := url.Parse(child)
		if err != nil {
			return Document{}, fmt.Errorf("%w: %w", ErrMalformedFeed, stripURLError(err))
		}
		cf, _, err := source.Sitemap(data, cu)
		if err != nil {
			return Document{}, fmt.Errorf("child sitemap %s: %w", redactURL(child), sourceError(err))
		}
		if cf != nil {
			f.Items = append(f.Items, cf.Items...)
		}
	}
	return documentOf(f), nil
}

// mastodonAccount reads a Mastodon account's statuses: the feed's URL is the lookup of the
// account, whose id is looked up once and remembered.
type mastodonAccount struct {
	excludeReplies bool

	mu     sync.Mutex
	lookup string // the lookup URL the id was found at
	id     string
}

func (m *mastodonAccount) conditional() bool { return true }
func (m *mastodonAccount) page() bool        { return false }

func (m *mastodonAccount) target(ctx context.Context, u string, get getFunc) (string, error) {
	lu, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("parse URL: %w", stripURLError(err))
	}
	m.mu.Lock()
	id := m.id
	if m.lookup != u {
		id = ""
	}
	m.mu.Unlock()
	if id == "" {
		data, err := get(ctx, u)
		if err != nil {
			return "", fmt.Errorf("account lookup: %w", err)
		}
		if id, err = source.MastodonAccountID(data); err != nil {
			return "", fmt.Errorf("account lookup: %w", sourceError(err))
		}
		m.mu.Lock()
		m.lookup, m.id = u, id
		m.mu.Unlock()
	}
	return source.MastodonAccountURL(lu, id, m.excludeReplies)
}

func (m *mastodonAccount) read(ctx context.Context, body []byte, page string, get getFunc) (Document, error) {
	return parserReader(source.Mastodon).read(ctx, body, page, get)
}

// sourceError maps an error of package source to the watcher's sentinel of its class, so that
// a failing source is classed as a failing feed is.
func sourceError(err error) error {
	var api *source.APIError
	switch {
	case errors.As(err, &api):
		return fmt.Errorf("%w: %w", ErrAPI, err)
	case errors.Is(err, source.ErrEmpty):
		return fmt.Errorf("%w: %w", ErrEmptyBody, err)
	case errors.Is(err, source.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrBodyTooLarge, err)
	case errors.Is(err, source.ErrWrongType):
		return fmt.Errorf("%w: %w", ErrNotAFeed, err)
	case errors.Is(err, source.ErrNoItems):
		return fmt.Errorf("%w: %w", ErrNoItems, err)
	default: // ErrMalformed, ErrOptions
		return fmt.Errorf("%w: %w", ErrMalformedFeed, err)
	}
}

// getter fetches the further documents of a poll of f (a lookup, the children of a sitemap
// index) as the poll fetches the feed: the same guard, limits and per-host concurrency.
func (w *Watcher) getter(f *feedPlan) getFunc {
	return func(ctx context.Context, rawURL string) ([]byte, error) {
		res, err := w.fetcher.fetch(ctx, rawURL, f.fetchOptions(w.userAgent), validators{})
		if err != nil {
			return nil, err
		}
		return res.Body, nil
	}
}

// FetchFeed reads the feed f once as a poll does, whatever its type (the same guard, limits
// and parser, the documents it leads to fetched too), without validators or state, and returns
// its document: what a dry run reads a configured feed with. The address guard is
// opts.AddressPolicy unless opts.AllowPrivate.
func FetchFeed(ctx context.Context, f Feed, opts FetchOptions) (Document, error) {
	u, err := SourceURL(f.URL, f.Source)
	if err != nil {
		return Document{}, err
	}
	if err := f.Source.validate(); err != nil {
		return Document{}, err
	}
	fe := newFetcher(opts.AddressPolicy, 1)
	defer fe.close()
	get := func(ctx context.Context, rawURL string) ([]byte, error) {
		res, err := fe.fetch(ctx, rawURL, opts, validators{})
		return res.Body, err
	}
	r := newReader(f.Source, u)
	target, err := r.target(ctx, u, get)
	if err != nil {
		return Document{}, err
	}
	popts := opts
	popts.raw = r.page()
	res, err := fe.fetch(ctx, target, popts, validators{})
	if err != nil {
		return Document{}, err
	}
	body := res.Body
	if r.page() {
		body = decodePage(body, res.ContentType)
	}
	doc, err := r.read(ctx, body, target, get)
	if err != nil {
		return Document{}, fmt.Errorf("parse %s: %w", redactURL(target), err)
	}
	return doc, nil
}

// ReadDocument reads data, a document of the type of src (from a file, say), as a poll reads
// one fetched from page, which resolves its relative links and may be empty. The documents it
// leads to (the children of a sitemap index, a Mastodon account's statuses) are not fetched.
func ReadDocument(ctx context.Context, data []byte, page string, src Source) (Document, error) {
	if err := src.validate(); err != nil {
		return Document{}, err
	}
	r := newReader(src, "")
	if r.page() {
		data = decodePage(data, "")
	} else {
		data = toUTF8(data, "")
	}
	get := func(context.Context, string) ([]byte, error) {
		return nil, errors.New("a document read from a file leads to no other")
	}
	return r.read(ctx, data, page, get)
}
