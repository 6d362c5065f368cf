package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/newswatch/newswatch/internal/feedsim"
	"github.com/newswatch/newswatch/watcher"
)

// Modes of the simulator; see the package comment.
const (
	modeLive      = "live"
	modeUnchanged = "unchanged"
	modeChanged   = "changed"
)

// control serves the simulator's feeds in the current mode, its control endpoints, and
// records how late each request comes after its feed's slot.
type control struct {
	sim       *feedsim.Sim
	every     time.Duration // the feeds' "@every" interval; 0: lateness is not recorded
	mode      atomic.Value  // string
	unchanged atomic.Int64  // 304s given by the unchanged mode
	late      lateness
	perFeed   []atomic.Int32 // requests since the last reset, by feed
	last      []atomic.Int64 // Unix nanoseconds of the last request, by feed
	fullText  []bool         // the headline-only feeds, whose items link to article pages
	articles  struct{ pages, robots, notFound atomic.Int64 }
}

// newControl returns the control of sim's feeds; fullText marks the headline-only ones (nil:
// none).
func newControl(sim *feedsim.Sim, feeds int, every time.Duration, fullText []bool) *control {
	if fullText == nil {
		fullText = make([]bool, feeds)
	}
	c := &control{sim: sim, every: every, perFeed: make([]atomic.Int32, feeds), last: make([]atomic.Int64, feeds), fullText: fullText}
	c.mode.Store(modeLive)
	return c
}

func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/-/mode" && r.Method == http.MethodPost:
		switch m := r.URL.Query().Get("set"); m {
		case modeLive, modeUnchanged, modeChanged:
			c.mode.Store(m)
		default:
			http.Error(w, "set: want live, unchanged or changed", http.StatusBadRequest)
		}
		return
	case r.URL.Path == "/-/stats/reset" && r.Method == http.MethodPost:
		c.late.reset()
		for i := range c.perFeed {
			c.perFeed[i].Store(0)
		}
		return
	case r.URL.Path == "/-/stats":
		c.stats(w)
		return
	case r.URL.Path == "/-/last":
		n, err := strconv.Atoi(r.URL.Query().Get("feed"))
		if err != nil || n < 0 || n >= len(c.last) {
			http.Error(w, "feed: want a feed number", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, c.last[n].Load())
		return
	case r.URL.Path == "/robots.txt":
		c.articles.robots.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, robotsTxt)
		return
	case strings.HasPrefix(r.URL.Path, articlePrefix):
		c.serveArticle(w, r)
		return
	}
	edit := &editWriter{ResponseWriter: w}
	n, ok := feedNumber(r.URL.Path)
	if ok && n < len(c.perFeed) {
		if c.fullText[n] {
			edit.edits = append(edit.edits, func(doc []byte) []byte { return headlineOnly(doc, r.Host) })
		}
		c.last[n].Store(time.Now().UnixNano())
		c.perFeed[n].Add(1)
		if c.every > 0 {
			c.late.record(time.Since(watcher.EverySlot(feedID(n), c.every, time.Now())))
		}
	}
	switch c.mode.Load() {
	case modeUnchanged:
		if etag := r.Header.Get("If-None-Match"); etag != "" {
			c.unchanged.Add(1)
			w.Header().Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	case modeChanged:
		r.Header.Del("If-None-Match")
		edit.edits = append(edit.edits, stamp)
	}
	if len(edit.edits) == 0 {
		c.sim.ServeHTTP(w, r)
		return
	}
	c.sim.ServeHTTP(edit, r)
	_ = edit.flush()
}

// editWriter holds the body of an answer and writes it edited once the handler is done.
type editWriter struct {
	http.ResponseWriter
	buf   bytes.Buffer
	edits []func([]byte) []byte
}

func (e *editWriter) Write(p []byte) (int, error) { return e.buf.Write(p) }

func (e *editWriter) flush() error {
	if e.buf.Len() == 0 {
		return nil
	}
	doc := e.buf.Bytes()
	for _, edit := range e.edits {
		doc = edit(doc)
	}
	_, err := e.ResponseWriter.Write(doc)
	return err
}

// stamp puts the time of the answer into a feed document as its lastBuildDate, so that no two
// documents of the changed mode are the same bytes.
func stamp(doc []byte) []byte {
	i := bytes.Index(doc, []byte("<channel>"))
	if i < 0 {
		return doc
	}
	date := "<channel><lastBuildDate>" + time.Now().UTC().Format(time.RFC1123Z) + "</lastBuildDate>"
	return slices.Concat(doc[:i], []byte(date), doc[i+len("<channel>"):])
}

// feedNumber is n of a path /feeds/<n>.xml.
func feedNumber(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "/feeds/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ".xml"))
	return n, err == nil && n >= 0
}

func (c *control) stats(w http.ResponseWriter) {
	s := c.sim.Stats()
	doc := feedsim.StatsDoc{
		Mode: c.mode.Load().(string), Requests: s.Requests, OK: s.OK, NotModified: s.NotModified,
		Errors: s.Errors, Unchanged: c.unchanged.Load(), Lateness: c.late.stat(),
		Articles: c.articles.pages.Load(), ArticlesNotFound: c.articles.notFound.Load(), Robots: c.articles.robots.Load(),
	}
	for _, ft := range c.fullText {
		if ft {
			doc.FullTextFeeds++
		}
	}
	counts := make([]int32, len(c.perFeed))
	for i := range c.perFeed {
		counts[i] = c.perFeed[i].Load()
		if counts[i] == 0 {
			doc.PerFeed.Zero++
		}
	}
	if len(counts) > 0 {
		slices.Sort(counts)
		doc.PerFeed.Min, doc.PerFeed.P50, doc.PerFeed.Max = counts[0], counts[len(counts)/2], counts[len(counts)-1]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// lateness is a histogram of request lateness at millisecond resolution up to latenessMax, and
// the largest value seen.
type lateness struct {
	ms    [latenessMax / time.Millisecond]atomic.Int64
	over  atomic.Int64
	count atomic.Int64
	max   atomic.Int64 // ns
}

const latenessMax = 2 * time.Minute

func (l *lateness) record(d time.Duration) {
	d = max(d, 0)
	l.count.Add(1)
	if i := int(d / time.Millisecond); i < len(l.ms) {
		l.ms[i].Add(1)
	} else {
		l.over.Add(1)
	}
	for {
		m := l.max.Load()
		if int64(d) <= m || l.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (l *lateness) reset() {
	for i := range l.ms {
		l.ms[i].Store(0)
	}
	l.over.Store(0)
	l.count.Store(0)
	l.max.Store(0)
}

func (l *lateness) stat() feedsim.LatenessDoc {
	counts := make([]int64, len(l.ms))
	var total int64
	for i := range l.ms {
		counts[i] = l.ms[i].Load()
		total += counts[i]
	}
	total += l.over.Load()
	s := feedsim.LatenessDoc{Count: total, Max: float64(l.max.Load()) / 1e6}
	quantile := func(q float64) float64 {
		if total == 0 {
			return 0
		}
		rank := int64(q * float64(total))
		var seen int64
		for i, c := range counts {
			if seen += c; seen > rank {
				return float64(i) + 1 // the bucket's upper bound, in ms
			}
		}
		return -1
	}
	s.P50, s.P90, s.P99, s.P999 = quantile(.5), quantile(.9), quantile(.99), quantile(.999)
	return s
}
