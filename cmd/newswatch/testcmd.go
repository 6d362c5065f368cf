package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/internal/logging"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/watcher"
)

type testCmd struct {
	Config  string   `short:"c" required:"" type:"path" help:"Configuration file."`
	Rule    []string `name:"rule" help:"Match only this rule (repeatable)."`
	JSON    bool     `name:"json" help:"Print one JSON object a line for each (item, rule) match."`
	Feed    string   `name:"feed" help:"Match items of URLs, files and stdin as items of this feed of the configuration (for rules scoped to feeds or tags)."`
	Sources []string `arg:"" name:"source" help:"A feed id of the configuration, a feed URL, a feed file, or - for standard input."`
}

// testMatch is one line of `newswatch test --json`.
type testMatch struct {
	Source string        `json:"source"`
	Rule   string        `json:"rule"`
	Item   testItem      `json:"item"`
	Hits   []matcher.Hit `json:"hits"`
}

type testItem struct {
	GUID  string `json:"guid"`
	Link  string `json:"link"`
	Title string `json:"title"`
}

// Run exits like grep: 0 when something matched, 1 when nothing did, 2 on an error.
func (c testCmd) Run(e *env) error {
	l, err := load(c.Config)
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{2}
	}
	if c.Feed != "" && !slices.ContainsFunc(l.cfg.Feeds, func(f config.Feed) bool { return f.ID == c.Feed }) {
		fmt.Fprintf(e.stderr, "newswatch: no feed %q in %s\n", c.Feed, c.Config)
		return exitError{2}
	}
	for _, id := range c.Rule {
		if !slices.ContainsFunc(l.rules, func(r matcher.Rule) bool { return r.ID == id }) {
			fmt.Fprintf(e.stderr, "newswatch: no rule %q in %s\n", id, c.Config)
			return exitError{2}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	out := matchPrinter{w: e.stdout, json: c.JSON, color: logging.IsTerminal(e.stdout)}
	matched, failed := false, false
	for _, src := range c.Sources {
		feedID, tags, items, err := c.readSource(ctx, e, l, src)
		shown := src
		if isURL(src) {
			// A URL typed on the command line may carry a credential, as a feed's may.
			shown = watcher.RedactURL(src)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "newswatch: %s: %v\n", shown, err)
			failed = true
			continue
		}
		for _, it := range items {
			mi := it.MatcherItem(feedID, tags)
			for _, m := range l.index.Match(&mi) {
				if len(c.Rule) > 0 && !slices.Contains(c.Rule, m.Rule) {
					continue
				}
				matched = true
				if err := out.print(shown, it, m); err != nil {
					return err
				}
			}
		}
	}
	switch {
	case failed:
		return exitError{2}
	case !matched:
		return exitError{1}
	}
	return nil
}

// readSource reads the items of one source: a feed id of the configuration, a URL, a file or "-".
// Items of a URL, a file or "-" belong to the feed named by --feed, else to no feed.
func (c testCmd) readSource(ctx context.Context, e *env, l *loaded, src string) (feedID string, tags []string, items []watcher.Item, err error) {
	if i := slices.IndexFunc(l.cfg.Feeds, func(f config.Feed) bool { return f.ID == c.Feed }); i >= 0 {
		feedID, tags = l.cfg.Feeds[i].ID, l.cfg.Feeds[i].Tags
	}
	var data []byte
	d := l.cfg.Defaults
	switch {
	case src == "-":
		data, err = readLimit(e.stdin, "standard input", d.MaxBody)
	case isURL(src):
		// A URL typed on the command line is fetched wherever it points.
		data, err = watcher.FetchOnce(ctx, src, fetchOptions(d.Timeout, d.MaxBody, true))
	default:
		if i := slices.IndexFunc(l.cfg.Feeds, func(f config.Feed) bool { return f.ID == src }); i >= 0 {
			f := l.cfg.Feeds[i]
			feedID, tags = f.ID, f.Tags
			data, err = watcher.FetchOnce(ctx, f.URL, fetchOptions(f.Timeout, f.MaxBody, f.AllowPrivate))
			break
		}
		var f *os.File
		if f, err = os.Open(src); err == nil {
			data, err = readLimit(f, src, d.MaxBody)
			f.Close()
		}
	}
	if err != nil {
		return "", nil, nil, err
	}
	_, items, err = watcher.ParseItems(data)
	return feedID, tags, items, err
}

// isURL reports whether a source of `newswatch test` is a URL to fetch.
func isURL(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
}

// readLimit reads r whole, refusing more than limit bytes.
func readLimit(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than max_body (%d bytes)", name, limit)
	}
	return data, err
}

// matchPrinter prints matches as JSON lines or as readable blocks, with hits highlighted on a terminal.
type matchPrinter struct {
	w     io.Writer
	json  bool
	color bool
}

func (p matchPrinter) print(src string, it watcher.Item, m matcher.Match) error {
	if p.json {
		b, err := json.Marshal(testMatch{
			Source: src, Rule: m.Rule,
			Item: testItem{GUID: it.GUID, Link: it.Link, Title: it.Title},
			Hits: m.Hits,
		})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	fmt.Fprintf(p.w, "%s  %s\n", p.bold(m.Rule), it.Title)
	fmt.Fprintf(p.w, "  %-8s %s\n", "source:", src)
	if it.Link != "" {
		fmt.Fprintf(p.w, "  %-8s %s\n", "link:", it.Link)
	}
	mi := it.MatcherItem("", nil)
	for _, field := range hitFields(m.Hits) {
		text := mi.Field(field.name, field.index)
		fmt.Fprintf(p.w, "  %-8s %s\n", field.name+":", p.highlight(text, field.hits))
	}
	_, err := fmt.Fprintln(p.w)
	return err
}

// fieldHits are the hits in one value of one field.
type fieldHits struct {
	name  string
	index int
	hits  []matcher.Hit
}

// hitFields groups hits by field value, in the order they come (sorted by field, then offset).
func hitFields(hits []matcher.Hit) []fieldHits {
	var out []fieldHits
	for _, h := range hits {
		if n := len(out); n > 0 && out[n-1].name == h.Field && out[n-1].index == h.Index {
			out[n-1].hits = append(out[n-1].hits, h)
			continue
		}
		out = append(out, fieldHits{name: h.Field, index: h.Index, hits: []matcher.Hit{h}})
	}
	return out
}

// highlight shows a snippet of text around the first hit with every hit in it marked: bold red on a
// terminal, else between [ and ].
func (p matchPrinter) highlight(text string, hits []matcher.Hit) string {
	const width = 160
	start, end := matcher.SnippetBounds(text, hits[0], width)
	open, closing := "[", "]"
	if p.color {
		open, closing = "\x1b[1;31m", "\x1b[0m"
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("… ")
	}
	pos := start
	for _, h := range hits {
		if h.Start < pos || h.End > end {
			continue
		}
		b.WriteString(text[pos:h.Start])
		b.WriteString(open + text[h.Start:h.End] + closing)
		pos = h.End
	}
	b.WriteString(text[pos:end])
	if end < len(text) {
		b.WriteString(" …")
	}
	return strings.TrimSpace(b.String())
}

func (p matchPrinter) bold(s string) string {
	if p.color {
		return "\x1b[1m" + s + "\x1b[0m"
	}
	return s
}
