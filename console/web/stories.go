package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/console"
)

// Bounds of the stories pages.
const (
	storiesPerRule = 20
	alertsRead     = 1000 // the most alerts a page reads
	// liveOverlap is how far before the last alert shown a live poll reads again, so that an
	// alert stored a little after a later one is not missed.
	liveOverlap = 10 * time.Second
)

// sinceChoices are the windows the stories page offers.
var sinceChoices = []struct{ Value, Label string }{
	{"1h", "last hour"}, {"6h", "last 6 hours"}, {"24h", "last day"}, {"168h", "last week"},
}

// alertEvent is the part of an alert's CloudEvent that the pages show.
type alertEvent struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	Data struct {
		Rule struct {
			ID string `json:"id"`
		} `json:"rule"`
		Feed struct {
			ID    string `json:"id"`
			URL   string `json:"url"`
			Title string `json:"title"`
		} `json:"feed"`
		Item struct {
			Key     string `json:"key"`
			Link    string `json:"link"`
			Title   string `json:"title"`
			Summary string `json:"summary"`
		} `json:"item"`
		Hits []struct {
			Field string `json:"field"`
			Index int    `json:"index"`
			Start int    `json:"start"`
			End   int    `json:"end"`
		} `json:"hits"`
		// Story, when the daemon groups items into stories, names the item's story; read by
		// readStory, leniently, so that a story of another shape never hides the alert.
		Story json.RawMessage `json:"story"`
	} `json:"data"`

	storyID   string
	languages []string
}

// readStory reads the story's id and languages, when the alert has a story.
func (e *alertEvent) readStory() {
	if len(e.Data.Story) == 0 {
		return
	}
	var s struct {
		ID        json.RawMessage `json:"id"`
		Languages json.RawMessage `json:"languages"`
	}
	if json.Unmarshal(e.Data.Story, &s) != nil {
		return
	}
	if json.Unmarshal(s.ID, &e.storyID) != nil {
		var n json.Number
		if json.Unmarshal(s.ID, &n) == nil {
			e.storyID = n.String()
		}
	}
	_ = json.Unmarshal(s.Languages, &e.languages)
}

// group is the story an alert belongs to: its story id when it has one, else its item's key,
// so that the same item in several feeds or under several rules shows once.
func (e *alertEvent) group() string {
	if e.storyID != "" {
		return e.storyID
	}
	sum := sha256.Sum256([]byte(e.Data.Item.Key))
	return "item-" + hex.EncodeToString(sum[:8])
}

// spans returns the hits in field (title, summary) as spans.
func (e *alertEvent) spans(field string) []span {
	var out []span
	for _, h := range e.Data.Hits {
		if h.Field == field && h.Index == 0 {
			out = append(out, span{h.Start, h.End})
		}
	}
	return out
}

// source is one alert of a story: a feed that carried the item, when, and where it links.
type source struct {
	Rule, Feed, FeedTitle string
	Link                  string
	Time                  time.Time
	Title, Summary        template.HTML
}

// story is alerts grouped, newest first.
type story struct {
	ID        string
	Title     template.HTML
	Summary   template.HTML
	Link      string
	Latest    time.Time
	Rules     []string
	Languages []string
	Sources   []source
}

// ruleStories is a rule's latest stories.
type ruleStories struct {
	Rule    string
	Stories []story
	More    int // stories left out
}

func newSource(e *alertEvent) source {
	sum, sp := excerpt(e.Data.Item.Summary, e.spans("summary"), 400)
	return source{
		Rule: e.Data.Rule.ID, Feed: e.Data.Feed.ID, FeedTitle: e.Data.Feed.Title, Link: safeLink(e.Data.Item.Link),
		Time: e.Time, Title: highlight(e.Data.Item.Title, e.spans("title")), Summary: highlight(sum, sp),
	}
}

// safeLink is link when it is http(s), else "": a feed's link must not become a javascript: URL
// (html/template would neutralise it too; this keeps the page free of dead links).
func safeLink(link string) string {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	return link
}

// decodeAlerts decodes the events, newest first; one that does not decode is logged and left out.
func (c *Console) decodeAlerts(alerts []console.Alert) []*alertEvent {
	out := make([]*alertEvent, 0, len(alerts))
	for i := len(alerts) - 1; i >= 0; i-- {
		e := new(alertEvent)
		if err := json.Unmarshal(alerts[i].Event, e); err != nil {
			c.log.Debug("an alert does not decode", zap.String("subject", alerts[i].Subject), zap.Error(err))
			continue
		}
		e.readStory()
		out = append(out, e)
	}
	return out
}

// groupStories groups events (newest first) into stories; each story's sources newest first.
func groupStories(events []*alertEvent) []*story {
	byID := map[string]*story{}
	var order []*story
	for _, e := range events {
		id := e.group()
		s := byID[id]
		if s == nil {
			src := newSource(e)
			s = &story{ID: id, Title: src.Title, Summary: src.Summary, Link: src.Link, Latest: e.Time}
			byID[id] = s
			order = append(order, s)
		}
		if !slices.Contains(s.Rules, e.Data.Rule.ID) {
			s.Rules = append(s.Rules, e.Data.Rule.ID)
		}
		for _, l := range e.languages {
			if !slices.Contains(s.Languages, l) {
				s.Languages = append(s.Languages, l)
			}
		}
		s.Sources = append(s.Sources, newSource(e))
	}
	return order
}

// storyList is the stories page's data.
type storyList struct {
	Now          time.Time
	Rule, Feed   string
	Since        string
	SinceChoices any
	RuleIDs      []string
	Rules        []ruleStories
	Count        int
	Error        string
	Live         string // the live poll's URL
	StoryQuery   string // since= for the story links
}

func (c *Console) storiesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := c.cfg.Now()
	l := storyList{Now: now, Rule: q.Get("rule"), Feed: q.Get("feed"), Since: q.Get("since"), SinceChoices: sinceChoices}
	window, err := time.ParseDuration(l.Since)
	if err != nil || window <= 0 {
		l.Since, window = "24h", 24*time.Hour
	}
	rules, _ := c.cfg.Rules.Rules()
	for _, ru := range rules {
		l.RuleIDs = append(l.RuleIDs, ru.ID)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	alerts, err := c.cfg.Alerts.RecentAlerts(ctx, console.AlertQuery{Rule: l.Rule, Feed: l.Feed, Since: now.Add(-window), Limit: alertsRead})
	after := now.Add(-liveOverlap)
	if err != nil {
		l.Error = "Reading the alerts failed: " + err.Error()
	} else {
		events := c.decodeAlerts(alerts)
		l.Count = len(events)
		if len(events) > 0 {
			after = events[0].Time
		}
		byRule := map[string][]*alertEvent{}
		var ruleOrder []string
		for _, e := range events {
			if _, ok := byRule[e.Data.Rule.ID]; !ok {
				ruleOrder = append(ruleOrder, e.Data.Rule.ID)
			}
			byRule[e.Data.Rule.ID] = append(byRule[e.Data.Rule.ID], e)
		}
		for _, id := range ruleOrder {
			stories := groupStories(byRule[id])
			rs := ruleStories{Rule: id}
			for i, s := range stories {
				if i == storiesPerRule {
					rs.More = len(stories) - i
					break
				}
				rs.Stories = append(rs.Stories, *s)
			}
			l.Rules = append(l.Rules, rs)
		}
	}
	l.Live = liveURL(l.Rule, l.Feed, after)
	c.render(w, "stories", "layout", page{Title: "Stories", Nav: "stories", Data: l})
}

func liveURL(rule, feed string, after time.Time) string {
	v := url.Values{"after": {after.UTC().Format(time.RFC3339Nano)}}
	if rule != "" {
		v.Set("rule", rule)
	}
	if feed != "" {
		v.Set("feed", feed)
	}
	return "/stories/live?" + v.Encode()
}

// storiesLive answers the stories page's poll: the alerts after= the last one it shows, each
// as a story of its own, added at the top of the page's list of new alerts, and the next poll.
func (c *Console) storiesLive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := c.cfg.Now()
	after, err := time.Parse(time.RFC3339Nano, q.Get("after"))
	if err != nil || after.After(now) || now.Sub(after) > 7*24*time.Hour {
		after = now.Add(-liveOverlap)
	}
	rule, feed := q.Get("rule"), q.Get("feed")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	alerts, err := c.cfg.Alerts.RecentAlerts(ctx, console.AlertQuery{Rule: rule, Feed: feed, Since: after.Add(-liveOverlap), Limit: alertsRead})
	var fresh []*alertEvent
	if err != nil {
		c.log.Debug("live alerts failed", zap.Error(err))
	} else {
		for _, e := range c.decodeAlerts(alerts) {
			if e.Time.After(after) {
				fresh = append(fresh, e)
			}
		}
	}
	next := after
	if len(fresh) > 0 {
		next = fresh[0].Time
	}
	var stories []story
	for _, s := range groupStories(fresh) {
		stories = append(stories, *s)
	}
	c.render(w, "stories", "live", map[string]any{"Now": now, "Live": liveURL(rule, feed, next), "Stories": stories})
}

// storyData is a story page's data.
type storyData struct {
	Now   time.Time
	ID    string
	Story *story
	Since string
	Error string
}

// storyPage shows one story, all its alerts of the last week.
func (c *Console) storyPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	now := c.cfg.Now()
	d := storyData{Now: now, ID: id}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	alerts, err := c.cfg.Alerts.RecentAlerts(ctx, console.AlertQuery{Since: now.Add(-7 * 24 * time.Hour), Limit: 10 * alertsRead})
	if err != nil {
		d.Error = "Reading the alerts failed: " + err.Error()
		c.render(w, "story", "layout", page{Title: "Story", Nav: "stories", Data: d})
		return
	}
	var mine []*alertEvent
	for _, e := range c.decodeAlerts(alerts) {
		if e.group() == id {
			mine = append(mine, e)
		}
	}
	if s := groupStories(mine); len(s) > 0 {
		d.Story = s[0]
		c.render(w, "story", "layout", page{Title: "Story", Nav: "stories", Data: d})
		return
	}
	c.renderCode(w, http.StatusNotFound, "story", "layout", page{Title: "Story", Nav: "stories", Data: d})
}
