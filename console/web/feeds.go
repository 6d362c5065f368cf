package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/watcher"
)

// FeedsPerPage is how many feeds a page of the feed list shows.
const FeedsPerPage = 100

// feedIndex is what the feed list filters on, for the configuration's feeds in their order:
// built once per configuration (FeedIDs returns a new slice after a reload), so that a filter
// is a walk of slices and the states are read from the snapshot alone.
type feedIndex struct {
	ids  []string // the FeedIDs slice it was built from
	pos  map[string]int32
	text []string   // lower case id and redacted URL
	tags [][]string // each feed's tags
	all  []string   // every tag, sorted
}

// feedIndex returns the index of the running configuration, building it when that changed.
func (c *Console) feedIndex(now time.Time) *feedIndex {
	ids := c.cfg.Feeds.FeedIDs()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix := c.index; ix != nil && len(ix.ids) == len(ids) && (len(ids) == 0 || &ix.ids[0] == &ids[0]) {
		return ix
	}
	ix := &feedIndex{ids: ids, pos: make(map[string]int32, len(ids)), text: make([]string, len(ids)), tags: make([][]string, len(ids))}
	seen := map[string]bool{}
	for i, id := range ids {
		ix.pos[id] = int32(i)
		s, _ := c.cfg.Feeds.Status(id, watcher.FeedStatus{}, now)
		ix.text[i] = strings.ToLower(id + " " + s.URL)
		ix.tags[i] = s.Tags
		for _, t := range s.Tags {
			if !seen[t] {
				seen[t] = true
				ix.all = append(ix.all, t)
			}
		}
	}
	slices.Sort(ix.all)
	c.index = ix
	return ix
}

// problemRank orders the problems on the list: the feeds failing now first.
var problemRank = map[string]int{"failing": 0, "backing_off": 1, "gone": 2, "stale": 3}

// healthLabel is what the list calls a problem.
var healthLabel = map[string]string{"": "ok", "failing": "failing", "backing_off": "backing off", "gone": "gone", "stale": "stale"}

// feedRow is one feed of the list, its times told in words already: a template's function
// calls cost a reflective call each, and a page has hundreds.
type feedRow struct {
	watcher.FeedStatus
	Health                      string
	LastPollAt, LastNewAt, Next told
}

// told is a time as the page shows it; a zero told is never.
type told struct{ Stamp, Ago string }

func tell(now, t time.Time) told {
	if t.IsZero() {
		return told{}
	}
	return told{stamp(t), ago(now, t)}
}

// feedList is the feed page's data.
type feedList struct {
	Now             time.Time
	Loading         bool
	Q, Tag          string
	Tags            []string
	Rows            []feedRow
	Total, Problems int
	Page, Pages     int
	First, Last     int // 1-based positions of the rows shown
	Prev, Next, End string
	Back            string // this page, for the poll form to come back to
	Polled, PollErr string
}

// scratch is a list's working memory, reused: at 100,000 feeds it is 500 KB.
type scratch struct {
	rank    []int8 // 1 + the problem's rank of each feed; 0 for a healthy one
	healthy []int32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// listFeeds selects the page of feeds that q (a substring of id or URL) and tag filter, the
// problems first (failing, backing off, gone, stale; each in configuration order), then the
// rest in configuration order. It reads the state of the feeds that may be problems and of the
// page's feeds alone: a walk of every feed's state would cost a map lookup each.
func (c *Console) listFeeds(q, tag string, pageN int, now time.Time) feedList {
	ix := c.feedIndex(now)
	q = strings.ToLower(strings.TrimSpace(q))
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	if cap(sc.rank) < len(ix.ids) {
		sc.rank = make([]int8, len(ix.ids))
	}
	rank := sc.rank[:len(ix.ids)]
	clear(rank)
	for _, id := range c.cfg.States.MayBeProblems(now) {
		i, ok := ix.pos[id]
		if !ok {
			continue // a feed no longer configured
		}
		st, _ := c.cfg.States.Get(id)
		if s, ok := c.cfg.Feeds.Status(id, st, now); ok && s.Problem != "" {
			rank[i] = int8(1 + problemRank[s.Problem])
		}
	}
	var problems [4][]int32
	healthy := sc.healthy[:0]
	defer func() { sc.healthy = healthy[:0] }()
	for i := range ix.ids {
		if tag != "" && !slices.Contains(ix.tags[i], tag) || q != "" && !strings.Contains(ix.text[i], q) {
			continue
		}
		if r := rank[i]; r > 0 {
			problems[r-1] = append(problems[r-1], int32(i))
			continue
		}
		healthy = append(healthy, int32(i))
	}
	order := make([]int32, 0, len(problems[0])+len(problems[1])+len(problems[2])+len(problems[3]))
	for _, p := range problems {
		order = append(order, p...)
	}
	l := feedList{Now: now, Q: q, Tag: tag, Tags: ix.all, Problems: len(order), Total: len(order) + len(healthy)}
	l.Pages = max(1, (l.Total+FeedsPerPage-1)/FeedsPerPage)
	l.Page = min(max(pageN, 1), l.Pages)
	start, end := (l.Page-1)*FeedsPerPage, min(l.Page*FeedsPerPage, l.Total)
	for k := start; k < end; k++ {
		var i int32
		if k < len(order) {
			i = order[k]
		} else {
			i = healthy[k-len(order)]
		}
		st, _ := c.cfg.States.Get(ix.ids[i])
		s, ok := c.cfg.Feeds.Status(ix.ids[i], st, now)
		if !ok {
			continue // left the configuration since FeedIDs
		}
		l.Rows = append(l.Rows, feedRow{FeedStatus: s, Health: healthLabel[s.Problem],
			LastPollAt: tell(now, s.LastPoll), LastNewAt: tell(now, s.LastNewItem), Next: tell(now, s.NextPoll)})
	}
	if len(l.Rows) > 0 {
		l.First, l.Last = start+1, start+len(l.Rows)
	}
	link := func(p int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if tag != "" {
			v.Set("tag", tag)
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/feeds"
		}
		return "/feeds?" + v.Encode()
	}
	l.Back = link(l.Page)
	if l.Page > 1 {
		l.Prev = link(l.Page - 1)
	}
	if l.Page < l.Pages {
		l.Next, l.End = link(l.Page+1), link(l.Pages)
	}
	return l
}

func (c *Console) feedsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := c.cfg.Now()
	pageN, _ := strconv.Atoi(q.Get("page"))
	var l feedList
	if _, loaded := c.cfg.States.Get(""); !loaded {
		l = feedList{Now: now, Loading: true, Page: 1, Pages: 1}
		w.Header().Set("Retry-After", "2")
	} else {
		l = c.listFeeds(q.Get("q"), q.Get("tag"), pageN, now)
	}
	l.Polled, l.PollErr = q.Get("polled"), q.Get("poll_error")
	c.render(w, "feeds", "layout", page{Title: "Feeds", Nav: "feeds", Data: l})
}

// pollNow has a feed polled at once. A form posted without JavaScript is sent back to the list
// it came from; htmx gets the row's new note alone.
func (c *Console) pollNow(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	err := c.cfg.Poller.PollNow(ctx, id)
	code, note := http.StatusAccepted, "poll queued"
	switch {
	case errors.Is(err, watcher.ErrUnknownFeed):
		code, note = http.StatusNotFound, "no such feed in the configuration"
	case errors.Is(err, watcher.ErrFeedGone):
		code, note = http.StatusConflict, "the feed is gone: change its URL to poll it again"
	case err != nil:
		c.log.Warn("poll now failed", zap.String("feed", id), zap.Error(err))
		code, note = http.StatusServiceUnavailable, "poll failed: "+err.Error()
	}
	if r.Header.Get("HX-Request") == "true" {
		// htmx swaps only 2xx answers: the note, with a 200, says what happened either way.
		c.render(w, "feeds", "poll-note", map[string]any{"OK": code == http.StatusAccepted, "Note": note})
		return
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/feeds") || strings.HasPrefix(back, "/feeds/") {
		back = "/feeds"
	}
	u, err := url.Parse(back)
	if err != nil || u.Host != "" || u.Scheme != "" {
		u = &url.URL{Path: "/feeds"}
	}
	v := u.Query()
	v.Del("polled")
	v.Del("poll_error")
	if code == http.StatusAccepted {
		v.Set("polled", id)
	} else {
		v.Set("poll_error", id+": "+note)
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
