package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"

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
	playgroundShown   = 100 // the newest matches a run shows
	playgroundTimeout = 60 * time.Second
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

// playMatch is an archived item that matched, its hits marked.
type playMatch struct {
	Feed, FeedTitle string
	Link            string
	Time            time.Time
	Title, Text     template.HTML
}

// playground is the playground page's data.
type playground struct {
	Now       time.Time
	Check     queryCheck
	ID        string
	Rule      string
	Window    string
	RuleIDs   []string
	YAML      string
	Ran       bool
	Error     string
	Days      []dayCount
	Matches   []playMatch
	Stats     watcher.BacktestStats
	Shown     int
	Truncated bool
}

func (c *Console) playgroundPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := c.cfg.Now()
	p := playground{Now: now, ID: strings.TrimSpace(q.Get("id")), Rule: q.Get("rule"), Window: q.Get("window")}
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
	if p.Check.Valid {
		if b, err := yaml.Marshal(map[string]any{"rules": []map[string]string{{"id": p.ID, "query": query}}}); err == nil {
			p.YAML = string(b)
		}
		c.runPlayground(r.Context(), &p, now)
	}
	c.render(w, "playground", "layout", page{Title: "Rule playground", Nav: "playground", Data: p})
}

// runPlayground matches p's query over the archive's window before now: how many items match a
// day, and the newest of them.
func (c *Console) runPlayground(ctx context.Context, p *playground, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, playgroundTimeout)
	defer cancel()
	p.Ran = true
	days := map[string]int{}
	var found []watcher.BacktestFound
	st, err := c.cfg.Backtest.Backtest(ctx, watcher.BacktestQuery{
		Archive: event.ArchiveQuery{From: now.Add(-windows[p.Window])},
		Index:   p.Check.compiled,
	}, func(f watcher.BacktestFound) error {
		days[f.Item.FirstSeen.UTC().Format(time.DateOnly)]++
		found = append(found, f)
		if len(found) > 2*playgroundShown {
			found = slices.Delete(found, 0, len(found)-playgroundShown)
		}
		return nil
	})
	p.Stats = st
	if err != nil {
		p.Error = "Matching the archive failed: " + err.Error()
	}
	for d := now.Add(-windows[p.Window]).UTC(); !d.After(now.UTC()); d = d.Add(24 * time.Hour) {
		day := d.Format(time.DateOnly)
		p.Days = append(p.Days, dayCount{day, days[day]})
	}
	if n := len(found); n > playgroundShown {
		found = found[n-playgroundShown:]
	}
	p.Truncated = st.Matched > len(found)
	for i := len(found) - 1; i >= 0; i-- {
		p.Matches = append(p.Matches, newPlayMatch(found[i]))
	}
	p.Shown = len(p.Matches)
}

func newPlayMatch(f watcher.BacktestFound) playMatch {
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
		Feed: a.FeedID, FeedTitle: a.FeedTitle, Link: safeLink(a.Item.Link), Time: a.FirstSeen,
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
