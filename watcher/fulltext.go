package watcher

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/temoto/robotstxt"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/watcher/article"
)

// FullTextMode says when a feed's items are read from their articles.
type FullTextMode string

// Full text modes. The zero value means FullTextNever.
const (
	// FullTextNever matches what the feed carries.
	FullTextNever FullTextMode = "never"
	// FullTextAuto fetches the article of a new item whose title, summary and content are
	// short together (under FullTextShort characters): a headline and a line.
	FullTextAuto FullTextMode = "auto"
	// FullTextAlways fetches the article of every new item.
	FullTextAlways FullTextMode = "always"
)

// Bounds of full text.
const (
	// FullTextShort is the length in characters of an item's title, summary and content
	// together under which FullTextAuto fetches its article.
	FullTextShort = 500
	// ArticleTimeout is the deadline of the articles of one poll's items (robots.txt, the
	// wait for their host, the fetch and the extraction), from the time the poll has parsed
	// its feed: past it, an item whose article is not read is matched with what its feed
	// carries.
	ArticleTimeout = 10 * time.Second
	// MaxArticlesPerPoll is how many articles one poll fetches: those of its first new items
	// to alert. The rest are matched with what the feed carries.
	MaxArticlesPerPoll = 20
	// DefaultArticleInterval is the least time between two article requests to one host.
	DefaultArticleInterval = time.Second
	// MaxHostWait is the longest an article waits for its turn at its host. A host asked for
	// more articles than its pace allows (one outlet's many section feeds) would otherwise hold
	// the polls of its feeds, and with them the workers every feed needs, up to ArticleTimeout
	// each; past it, the item is matched with what its feed carries.
	MaxHostWait = 2 * time.Second
	// UserAgentToken is the name robots.txt rules address newswatch by.
	UserAgentToken = "newswatch"

	articleWorkers   = 4               // articles of one poll fetched at once
	articleCacheSize = 32 << 20        // bytes of extracted text kept by canonical link
	robotsEntries    = 4096            // hosts whose robots.txt is kept
	robotsTTL        = time.Hour       // how long a robots.txt is kept
	robotsErrorTTL   = 5 * time.Minute // and a failure to fetch one
	robotsMaxBody    = 512 << 10       // what of a robots.txt is read (Google reads 500 KiB)
	maxHostsPaced    = 10000           // hosts whose next request time is remembered
	articleMaxBody   = article.MaxInputBytes
)

var (
	errRobots         = errors.New("disallowed by robots.txt")
	errArticleTimeout = errors.New("article deadline passed")
	errHostBusy       = errors.New("the host's turn comes too late")
)

// articles fetches and extracts the articles of new items for full text, politely: through
// the feeds' fetcher (the same address guard and per-host concurrency), at most one request
// to a host every interval, robots.txt honoured and cached per host, the text cached by
// canonical link. The zero value is ready; it is safe for concurrent use.
type articles struct {
	once     sync.Once
	interval time.Duration // DefaultArticleInterval when zero at first use
	deadline time.Duration // of one article; ArticleTimeout when zero at first use
	hostWait time.Duration // the longest wait for a host's turn; MaxHostWait when zero at first use

	mu     sync.Mutex
	next   map[string]time.Time // host -> when its next request may start
	texts  *lru[string]         // canonical link -> extracted text ("" for a page without one)
	robots *lru[*robotsEntry]   // scheme://host -> its robots.txt
}

type robotsEntry struct {
	ready   chan struct{}         // closed once data and expires are set
	data    *robotstxt.RobotsData // nil when it could not be fetched
	expires time.Time
}

func (a *articles) init() {
	a.once.Do(func() {
		if a.interval == 0 {
			a.interval = DefaultArticleInterval
		}
		if a.deadline == 0 {
			a.deadline = ArticleTimeout
		}
		if a.hostWait == 0 {
			a.hostWait = MaxHostWait
		}
		a.next = make(map[string]time.Time)
		a.texts = newLRU[string](articleCacheSize, func(s string) int { return len(s) + 64 })
		a.robots = newLRU[*robotsEntry](robotsEntries, func(*robotsEntry) int { return 1 })
	})
}

// wantsArticle reports whether the feed's mode fetches the article of it.
func wantsArticle(mode FullTextMode, it Item) bool {
	switch mode {
	case FullTextAlways:
		return true
	case FullTextAuto:
		n := utf8.RuneCountInString(it.Title) + utf8.RuneCountInString(it.Summary) + utf8.RuneCountInString(it.Content)
		return n < FullTextShort
	}
	return false
}

// fullText reads the articles of the new items of a poll of f that its mode asks for, and
// puts their text in the items' content, to be matched and archived. An article that fails
// (robots.txt, the guard, a timeout, a page without article text) leaves the item as its feed
// has it; nothing here fails the poll. The articles have ArticleTimeout; the poll's alerts
// wait for them, so a poll is held up by at most that much.
func (w *Watcher) fullText(ctx context.Context, f *feedPlan, s *step) {
	if f.FullText == "" || f.FullText == FullTextNever || len(s.alerting) == 0 {
		return
	}
	w.articles.init()
	var picked []int
	for i, it := range s.alerting {
		if len(picked) == MaxArticlesPerPoll {
			break
		}
		if wantsArticle(f.FullText, it) && isHTTP(it.Link) {
			picked = append(picked, i)
		}
	}
	if len(picked) == 0 {
		return
	}
	texts := make([]string, len(picked))
	sem := make(chan struct{}, articleWorkers)
	// Every article of the poll has the same deadline, from now: the poll's alerts wait for
	// them that long at most.
	dctx, cancel := context.WithTimeoutCause(ctx, w.articles.deadline, errArticleTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for j, i := range picked {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-dctx.Done():
				w.metrics.articles.WithLabelValues("failed").Inc()
				return
			}
			defer func() { <-sem }()
			text, result, err := w.articles.text(dctx, w, f, s.alerting[i])
			w.metrics.articles.WithLabelValues(result).Inc()
			if err != nil && ctx.Err() == nil {
				w.log.Debug("article not read; matching the feed's text", zap.String("feed", f.ID), zap.String("result", result), zap.Error(err))
			}
			texts[j] = text
		})
	}
	wg.Wait()
	byKey := make(map[string]string, len(picked))
	for j, i := range picked {
		if texts[j] != "" {
			s.alerting[i].Content = texts[j]
			byKey[s.alerting[i].Key] = texts[j]
		}
	}
	// The archive keeps what was matched.
	for i := range s.fresh {
		if text, ok := byKey[s.fresh[i].Key]; ok {
			s.fresh[i].Content = text
		}
	}
}

func isHTTP(link string) bool {
	return strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://")
}

// text returns the article text of it (empty when there is none to use) and the result to
// count: fetched, cached, denied (robots.txt), busy (the host's turn comes too late) or failed.
func (a *articles) text(ctx context.Context, w *Watcher, f *feedPlan, it Item) (string, string, error) {
	key := it.canonLink
	if key == "" {
		key = canonicalLink(it.Link)
	}
	a.mu.Lock()
	text, ok := a.texts.get(key)
	a.mu.Unlock()
	if ok {
		return text, "cached", nil
	}
	u, err := url.Parse(it.Link)
	if err != nil || u.Host == "" {
		return "", "failed", fmt.Errorf("article link: %w", err)
	}
	opts := f.fetchOptions(w.userAgent)
	opts.MaxBody = min(opts.MaxBody, articleMaxBody)
	allowed, err := a.allowed(ctx, w, opts, u)
	if err != nil {
		return "", "failed", err
	}
	if !allowed {
		a.put(key, "")
		return "", "denied", errRobots
	}
	if err := a.wait(ctx, strings.ToLower(u.Host)); errors.Is(err, errHostBusy) {
		return "", "busy", err
	} else if err != nil {
		return "", "failed", err
	}
	opts.raw = true // Extract reads the charset of the answer, else of the page
	res, err := w.fetcher.fetch(ctx, it.Link, opts, validators{})
	if err != nil {
		return "", "failed", err
	}
	art, err := article.Extract(res.Body, u, article.Options{ContentType: res.ContentType, MaxText: MaxFieldBytes})
	if errors.Is(err, article.ErrNoArticle) {
		a.put(key, "")
		return "", "failed", err
	}
	if err != nil {
		return "", "failed", fmt.Errorf("extract %s: %w", redactURL(it.Link), err)
	}
	a.put(key, art.Text)
	return art.Text, "fetched", nil
}

func (a *articles) put(key, text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.texts.put(key, text)
}

// allowed reports whether the robots.txt of u's host lets newswatch fetch u. It is fetched
// once per host for the items that need it at the same time, and kept for robotsTTL. One
// that cannot be fetched (a network error, a timeout) allows nothing, for robotsErrorTTL; one
// that is absent (4xx) allows everything; a 5xx allows nothing, as Google reads them.
func (a *articles) allowed(ctx context.Context, w *Watcher, opts FetchOptions, u *url.URL) (bool, error) {
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	a.mu.Lock()
	e, ok := a.robots.get(origin)
	if !ok || e.stale(time.Now()) {
		e = &robotsEntry{ready: make(chan struct{})}
		a.robots.put(origin, e)
		a.mu.Unlock()
		e.fetch(ctx, w, opts, origin)
	} else {
		a.mu.Unlock()
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return false, fmt.Errorf("wait for the robots.txt of %s: %w", origin, context.Cause(ctx))
	}
	if e.data == nil {
		return false, fmt.Errorf("robots.txt of %s could not be fetched", origin)
	}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return e.data.TestAgent(path, UserAgentToken), nil
}

// stale reports whether the entry is read and has expired.
func (e *robotsEntry) stale(now time.Time) bool {
	select {
	case <-e.ready:
		return now.After(e.expires)
	default:
		return false
	}
}

// fetch reads the robots.txt of origin into e, and closes e.ready.
func (e *robotsEntry) fetch(ctx context.Context, w *Watcher, opts FetchOptions, origin string) {
	defer close(e.ready)
	now := time.Now()
	e.expires = now.Add(robotsTTL)
	opts.MaxBody = robotsMaxBody
	res, err := w.fetcher.fetch(ctx, origin+"/robots.txt", opts, validators{})
	var he *HTTPError
	switch {
	case err == nil:
		if e.data, err = robotstxt.FromBytes(res.Body); err != nil {
			// Lines it cannot read: as if there were none.
			e.data, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
		}
	case errors.As(err, &he):
		if e.data, _ = robotstxt.FromStatusAndBytes(he.StatusCode, nil); e.data == nil {
			// 1xx, an unfollowed 3xx: no robots.txt.
			e.data, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
		}
		if he.StatusCode >= 500 { // a server in trouble: nothing, and asked again soon
			e.expires = now.Add(robotsErrorTTL)
		}
	case ctx.Err() != nil:
		e.expires = now // the item's deadline, not the host's fault: asked again next time
	default:
		e.expires = now.Add(robotsErrorTTL)
	}
}

// wait waits until a request to host may start, and books that start: requests to one host
// start at least interval apart. A request whose turn comes after ctx's deadline or more than
// hostWait from now fails at once with errHostBusy, without booking one.
func (a *articles) wait(ctx context.Context, host string) error {
	now := time.Now()
	a.mu.Lock()
	if len(a.next) >= maxHostsPaced {
		for h, t := range a.next {
			if t.Before(now) {
				delete(a.next, h)
			}
		}
	}
	at := now
	if n := a.next[host]; n.After(now) {
		at = n
	}
	limit := now.Add(a.hostWait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(limit) {
		limit = dl
	}
	if at.After(limit) {
		// Give it up now, and the turn to another.
		a.mu.Unlock()
		return fmt.Errorf("wait for %s: %w (in %s)", host, errHostBusy, at.Sub(now).Round(time.Millisecond))
	}
	a.next[host] = at.Add(a.interval)
	a.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", host, context.Cause(ctx))
		}
	}
	return nil
}

// lru is a cache of values by key bounded by the sum of their sizes, the least recently used
// going first. It is not safe for concurrent use.
type lru[V any] struct {
	limit, used int
	size        func(V) int
	order       *list.List // of *lruEntry, most recent first
	byKey       map[string]*list.Element
}

type lruEntry[V any] struct {
	key   string
	value V
	size  int
}

func newLRU[V any](limit int, size func(V) int) *lru[V] {
	return &lru[V]{limit: limit, size: size, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *lru[V]) get(key string) (V, bool) {
	el, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry[V]).value, true
}

func (c *lru[V]) put(key string, v V) {
	if el, ok := c.byKey[key]; ok {
		c.used -= el.Value.(*lruEntry[V]).size
		c.order.Remove(el)
		delete(c.byKey, key)
	}
	e := &lruEntry[V]{key: key, value: v, size: c.size(v)}
	c.byKey[key] = c.order.PushFront(e)
	c.used += e.size
	for c.used > c.limit && c.order.Len() > 1 {
		old := c.order.Back()
		oe := old.Value.(*lruEntry[V])
		c.order.Remove(old)
		delete(c.byKey, oe.key)
		c.used -= oe.size
	}
}

// ReadFullText reads the articles of items as a poll of f would with mode (f's own when empty),
// and returns the items with their text as content: what a dry run matches. The address guard
// is opts.AddressPolicy unless opts.AllowPrivate; nothing is cached beyond the call. A dry run
// holds up no other feed, so its articles wait for their host's turn up to their deadline, not
// MaxHostWait.
func ReadFullText(ctx context.Context, f Feed, mode FullTextMode, items []Item, opts FetchOptions) []Item {
	if mode == "" {
		mode = f.FullText
	}
	fp := &feedPlan{ID: f.ID, URL: f.URL, Settings: &Settings{FullText: mode, Timeout: opts.Timeout, MaxBody: opts.MaxBody, AllowPrivate: opts.AllowPrivate}}
	w := &Watcher{
		log:       zap.NewNop(),
		metrics:   newMetrics(nil),
		fetcher:   newFetcher(opts.AddressPolicy, 0),
		userAgent: opts.UserAgent,
	}
	w.articles.hostWait = ArticleTimeout
	defer w.fetcher.close()
	s := step{alerting: slices.Clone(items)}
	w.fullText(ctx, fp, &s)
	return s.alerting
}
