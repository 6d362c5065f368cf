// Package feedsim simulates any number of news feeds over HTTP, for tests and benchmarks.
//
// Every feed is a function of time: feed n gets a new item every period of its own (spread
// around Config.Period, with a phase of its own), now and then a burst of several, and serves
// its newest Config.Items items as RSS 2.0 with an ETag, answering 304 to a request that
// names the current one. Nothing is stored, so a simulator of a million feeds costs no more
// memory than one of ten, and a test can ask which items a feed held at any instant. Item text
// is news in several languages, and some items are about North Korean troops near Kursk, so
// that the example rules match them.
package feedsim

import (
	"fmt"
	"hash/fnv"
	"html"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Config shapes the simulated feeds. Zero fields take the defaults named.
type Config struct {
	// Feeds is how many feeds there are, numbered from 0; required.
	Feeds int
	// Period is the mean time between two new items of a feed (default 5m); each feed's own
	// period lies in [Period/2, 3*Period/2).
	Period time.Duration
	// Items is how many items a document holds, newest first (default 20).
	Items int
	// MatchEvery makes every MatchEvery-th item a story about Kursk or North Korean troops
	// (default 10; 1: every item).
	MatchEvery int
	// BurstEvery and BurstSize: every BurstEvery-th period of a feed brings BurstSize items
	// instead of one (default: no bursts).
	BurstEvery, BurstSize int
	// Latency is added to every answer.
	Latency time.Duration
	// ErrorRate is the fraction of requests answered 500.
	ErrorRate float64
	// Epoch is the instant from which feeds count their periods (default 2026-01-01 UTC).
	Epoch time.Time
}

// Sim serves the feeds of a Config on /feeds/<n>.xml. It is an http.Handler, safe for
// concurrent use.
type Sim struct {
	cfg     Config
	stats   struct{ requests, ok, notModified, errors atomic.Int64 }
	perFeed []atomic.Int32
}

// New returns a simulator of cfg's feeds.
func New(cfg Config) *Sim {
	if cfg.Period <= 0 {
		cfg.Period = 5 * time.Minute
	}
	if cfg.Items <= 0 {
		cfg.Items = 20
	}
	if cfg.MatchEvery <= 0 {
		cfg.MatchEvery = 10
	}
	if cfg.BurstEvery <= 0 || cfg.BurstSize <= 1 {
		cfg.BurstEvery, cfg.BurstSize = 0, 1
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Sim{cfg: cfg, perFeed: make([]atomic.Int32, cfg.Feeds)}
}

// Path is the path of feed n.
func Path(n int) string { return "/feeds/" + strconv.Itoa(n) + ".xml" }

// Item is one item of a simulated feed.
type Item struct {
	Feed, Index int
	GUID        string
	Title       string
	Description string
	Link        string
	Published   time.Time
}

// hash is a stable 64-bit hash of a feed number and a salt.
func hash(n int, salt string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", n, salt)
	return h.Sum64()
}

// feedPeriod and feedPhase are feed n's own period and the offset of its periods.
func (s *Sim) feedPeriod(n int) time.Duration {
	p := int64(s.cfg.Period)
	return time.Duration(p/2 + int64(hash(n, "period")%uint64(p)))
}

func (s *Sim) feedPhase(n int) time.Duration {
	return time.Duration(hash(n, "phase") % uint64(s.feedPeriod(n)))
}

// itemsAfter is how many items feed n has published once its period q has begun (q >= 0).
func (s *Sim) itemsAfter(q int64) int64 {
	n := q + 1
	if s.cfg.BurstEvery > 0 {
		n += (q / int64(s.cfg.BurstEvery)) * int64(s.cfg.BurstSize-1)
	}
	return n
}

// period is feed n's period number at t, -1 before its first.
func (s *Sim) period(n int, t time.Time) int64 {
	d := t.Sub(s.cfg.Epoch) - s.feedPhase(n)
	if d < 0 {
		return -1
	}
	return int64(d / s.feedPeriod(n))
}

// Latest is the index of feed n's newest item at t, -1 when it has none yet.
func (s *Sim) Latest(n int, t time.Time) int64 {
	q := s.period(n, t)
	if q < 0 {
		return -1
	}
	return s.itemsAfter(q) - 1
}

// published is when item k of feed n appeared: the start of the period that brought it.
func (s *Sim) published(n int, k int64) time.Time {
	lo, hi := int64(0), k // itemsAfter(q) > k holds for q = k
	for lo < hi {
		mid := (lo + hi) / 2
		if s.itemsAfter(mid) > k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return s.cfg.Epoch.Add(s.feedPhase(n) + time.Duration(lo)*s.feedPeriod(n))
}

// ItemsAt returns the items feed n serves at t, newest first.
func (s *Sim) ItemsAt(n int, t time.Time) []Item {
	latest := s.Latest(n, t)
	var items []Item
	for k := latest; k >= 0 && k > latest-int64(s.cfg.Items); k-- {
		items = append(items, s.item(n, k))
	}
	return items
}

func (s *Sim) item(n int, k int64) Item {
	lang := languages[hash(n, "lang")%uint64(len(languages))]
	pick := hash(n, "item"+strconv.FormatInt(k, 10))
	stories := lang.other
	if pick%uint64(s.cfg.MatchEvery) == 0 {
		stories = lang.matching
	}
	story := stories[(pick/7)%uint64(len(stories))]
	guid := fmt.Sprintf("sim-%d-%d", n, k)
	return Item{
		Feed: n, Index: int(k), GUID: guid,
		Title:       fmt.Sprintf("%s (%d/%d)", story[0], n, k),
		Description: story[1],
		Link:        "https://sim.example/" + guid,
		Published:   s.published(n, k),
	}
}

// ServeHTTP serves feed documents on Path(n).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	rest, ok := strings.CutPrefix(r.URL.Path, "/feeds/")
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ".xml"))
	if !ok || err != nil || n < 0 || n >= s.cfg.Feeds {
		http.NotFound(w, r)
		return
	}
	s.perFeed[n].Add(1)
	if s.cfg.Latency > 0 {
		select {
		case <-time.After(s.cfg.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if s.cfg.ErrorRate > 0 && rand.Float64() < s.cfg.ErrorRate {
		s.stats.errors.Add(1)
		http.Error(w, "simulated failure", http.StatusInternalServerError)
		return
	}
	now := time.Now()
	etag := fmt.Sprintf(`"%d-%d"`, n, s.Latest(n, now))
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		s.stats.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.stats.ok.Add(1)
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<rss version="2.0"><channel><title>Simulated feed %d</title><link>https://sim.example/%d</link><description>feedsim</description>`, n, n)
	for _, it := range s.ItemsAt(n, now) {
		fmt.Fprintf(&b, "\n<item><guid isPermaLink=\"false\">%s</guid><title>%s</title><link>%s</link><description>%s</description><pubDate>%s</pubDate></item>",
			it.GUID, html.EscapeString(it.Title), it.Link, html.EscapeString(it.Description), it.Published.Format(time.RFC1123Z))
	}
	b.WriteString("\n</channel></rss>\n")
	w.Write([]byte(b.String()))
}

// Stats counts the answers given so far.
type Stats struct {
	Requests, OK, NotModified, Errors int64
}

// Stats returns the counts of the answers given so far.
func (s *Sim) Stats() Stats {
	return Stats{s.stats.requests.Load(), s.stats.ok.Load(), s.stats.notModified.Load(), s.stats.errors.Load()}
}

// Requests is how many requests feed n has had.
func (s *Sim) Requests(n int) int { return int(s.perFeed[n].Load()) }
