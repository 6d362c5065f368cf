package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/watcher"
)

// Backtester matches rules over the item archive, as watcher.Backtest does, calling found with
// each item that matched, oldest first.
type Backtester interface {
	Backtest(ctx context.Context, q watcher.BacktestQuery, found func(watcher.BacktestFound) error) (watcher.BacktestStats, error)
}

// Playground bounds.
const (
	playgroundShown   = 100 // the first matches a run shows
	playgroundTimeout = console.BacktestTimeout
	maxQueryBytes     = 16 << 10
)

// windows are the spans of archive the playground matches over.
var windows = map[string]time.Duration{"day": 24 * time.Hour, "week": 7 * 24 * time.Hour}

// queryCheck is a query checked: valid, or its first error with where it is.
type queryCheck struct {
	Query        string
	Empty, Valid bool
	Line, Column int
	Msg          string
	Before, At   string // the error's line: the text before the column and from it
	After        string
	List         string
	compiled     *matcher.Index
}

// check compiles query as rule id with the configuration's lists.
func (c *Console) check(id, query string) queryCheck {
	qc := queryCheck{Query: query}
	if strings.TrimSpace(query) == "" {
		qc.Empty = true
		return qc
	}
	if len(query) > maxQueryBytes {
		qc.Msg = "the query is longer than 16 KiB"
		return qc
	}
	_, lists := c.cfg.Rules.Rules()
	ix, err := matcher.Compile([]matcher.Rule{{ID: id, Query: query}}, lists)
	if err == nil {
		qc.Valid, qc.compiled = true, ix
		return qc
	}
	var qe *matcher.QueryError
	if !errors.As(err, &qe) {
		qc.Msg = err.Error()
		return qc
	}
	qc.Line, qc.Column, qc.Msg, qc.List = qe.Line, qe.Column, qe.Msg, qe.List
	if qe.List == "" {
		lines := strings.Split(query, "\n")
		if qe.Line >= 1 && qe.Line <= len(lines) {
			line := lines[qe.Line-1]
			col := min(max(qe.Column-1, 0), len(line))
			qc.Before, qc.After = line[:col], line[col:]
			if qc.After != "" {
				_, size := utf8.DecodeRuneInString(qc.After)
				qc.At, qc.After = qc.After[:size], qc.After[size:]
			}
		}
	}
	return qc
}

// dayCount is the matches of one day (UTC).
type dayCount struct {
	Day   string
	Count int
}

// playMatch is an archived item that matched, its hits marked, and the clock it is told
// against.
type playMatch struct {
	Now             time.Time
	Feed, FeedTitle string
	Link            string
	Time            time.Time
	Title, Text     template.HTML
}

// deliveryRow is what one delivery would have sent over the matches.
type deliveryRow struct {
	Name       string
	Configured bool
	delivery.Sent
}

// playground is the playground page's data.
type playground struct {
	Now     time.Time
	Check   queryCheck
	ID      string
	Rule    string
	Window  string
	RuleIDs []string
	YAML    string
	Limit   int // the matches a run shows
	// After a run:
	Error      string
	Days       []dayCount
	Stats      watcher.BacktestStats
	Shown      int
	Truncated  bool
	Deliveries []deliveryRow
	Own        bool // the first delivery is the one configured for rule ID
}

func (c *Console) playgroundPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := c.cfg.Now()
	p := playground{Now: now, ID: strings.TrimSpace(q.Get("id")), Rule: q.Get("rule"), Window: q.Get("window"), Limit: playgroundShown}
	if _, ok := windows[p.Window]; !ok {
		p.Window = "day"
	}
	query := q.Get("q")
	rules, _ := c.cfg.Rules.Rules()
	for _, ru := range rules {
		p.RuleIDs = append(p.RuleIDs, ru.ID)
		if ru.ID == p.Rule && query == "" {
			query = ru.Query
			if p.ID == "" {
				p.ID = ru.ID
			}
		}
	}
	if p.ID == "" {
		p.ID = "my-rule"
	}
	p.Check = c.check(p.ID, query)
	if !p.Check.Valid {
		c.render(w, "playground", "layout", page{Title: "Rule playground", Nav: "playground", Data: p})
		return
	}
	if b, err := yaml.Marshal(map[string]any{"rules": []map[string]string{{"id": p.ID, "query": query}}}); err == nil {
		p.YAML = string(b)
	}
	c.streamPlayground(w, r, &p)
}

// streamPlayground matches p's query over the archive's window before p.Now and streams the
// page as it goes: the form at once, each of the first matches as soon as it is found, then how
// many items match a day and what each delivery would have sent. A run over a million items
// takes seconds; its first matches show in the first of them.
func (c *Console) streamPlayground(w http.ResponseWriter, r *http.Request, p *playground) {
	s := c.stream(w, "playground")
	defer s.done(r.Context())
	s.exec("head", page{Title: "Rule playground", Nav: "playground"})
	s.exec("play-top", p)
	s.exec("results-open", p)
	s.flush()

	ctx, cancel := context.WithTimeout(r.Context(), playgroundTimeout)
	defer cancel()
	from := p.Now.Add(-windows[p.Window])
	days := map[string]int{}
	var events []delivery.Event
	st, err := c.cfg.Backtest.Backtest(ctx, watcher.BacktestQuery{
		Archive: event.ArchiveQuery{From: from},
		Index:   p.Check.compiled,
	}, func(f watcher.BacktestFound) error {
		a := f.Item
		days[a.FirstSeen.UTC().Format(time.DateOnly)]++
		// No story: the item is its own (the daemon's stories are not in the archive).
		events = append(events, delivery.Event{ID: a.FeedID + " " + a.Item.Key, Title: a.Item.Title, Link: a.Item.Link,
			Publisher: delivery.Publisher(a.Item.Link, a.FeedID), Time: a.FirstSeen})
		if p.Shown == p.Limit {
			return nil
		}
		p.Shown++
		s.exec("play-match", newPlayMatch(f, p.Now))
		s.flush()
		return s.err // the client is gone: stop reading
	})
	if s.err != nil {
		return
	}
	p.Stats = st
	if err != nil {
		p.Error = "Matching the archive failed: " + err.Error()
	}
	for d := from.UTC(); !d.After(p.Now.UTC()); d = d.Add(24 * time.Hour) {
		day := d.Format(time.DateOnly)
		p.Days = append(p.Days, dayCount{day, days[day]})
	}
	p.Truncated = st.Matched > p.Shown
	if err == nil {
		c.previewDeliveries(p, events)
	}
	s.exec("results-close", p)
	s.exec("foot", nil)
}

// previewDeliveries replays the matches through each delivery a preview compares, the one
// configured for the rule named p.ID first when there is one.
func (c *Console) previewDeliveries(p *playground, events []delivery.Event) {
	var own *delivery.Options
	if o, ok := c.cfg.Rules.Delivery(p.ID); ok {
		own, p.Own = &o, true
	}
	for _, set := range delivery.PreviewSettings(own) {
		sent, err := delivery.Replay(p.ID, set.Options, events)
		if err != nil {
			p.Error = fmt.Sprintf("Previewing the delivery %s failed: %v", set.Name, err)
			p.Deliveries = nil
			return
		}
		p.Deliveries = append(p.Deliveries, deliveryRow{set.Name, set.Configured, sent})
	}
}

func newPlayMatch(f watcher.BacktestFound, now time.Time) playMatch {
	a := f.Item
	var spans = map[string][]span{}
	for _, m := range f.Matches {
		for _, h := range m.Hits {
			if h.Index == 0 {
				spans[h.Field] = append(spans[h.Field], span{h.Start, h.End})
			}
		}
	}
	text, field := a.Item.Summary, "summary"
	if len(spans["summary"]) == 0 && len(spans["content"]) > 0 {
		text, field = a.Content, "content"
	}
	cut, sp := excerpt(text, spans[field], 400)
	return playMatch{
		Now: now, Feed: a.FeedID, FeedTitle: a.FeedTitle, Link: safeLink(a.Item.Link), Time: a.FirstSeen,
		Title: highlight(a.Item.Title, spans["title"]), Text: highlight(cut, sp),
	}
}

// playgroundCheck answers the query box as it is typed: the query's first error, or that it is
// valid.
func (c *Console) playgroundCheck(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := strings.TrimSpace(q.Get("id"))
	if id == "" {
		id = "my-rule"
	}
	c.render(w, "playground", "check", c.check(id, q.Get("q")))
}
