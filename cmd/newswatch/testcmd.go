package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/internal/logging"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/watcher"
)

type testCmd struct {
	ruleFlags
	JSON         bool   `name:"json" help:"Print one JSON object a line for each (item, rule) match."`
	Feed         string `name:"feed" help:"Match items of URLs, files and stdin as items of this feed of the configuration (for rules scoped to feeds or tags); with --archive, only the archive's items of this feed."`
	AllowPrivate bool   `name:"allow-private" help:"Fetch URLs that resolve to loopback, private or link-local addresses (run refuses them unless the feed says allow_private)."`
	FullText     string `name:"fulltext" enum:",never,auto,always" default:"" help:"Read the articles of the items (auto: of those whose text is short) and match their text as content, as run does; default: the feed's own fulltext for a feed id, never otherwise."`
	Type         string `name:"type" enum:"rss,sitemap,telegram,mastodon,bluesky" default:"rss" help:"Read URLs, files and stdin as this type of document (${enum}); a feed id of the configuration is read as its own type. An html page needs selectors: test its feed id."`
	Archive      bool   `name:"archive" help:"Match the items of the daemon's item archive too (see --since, --from, --to), as source \"archive\"."`
	archiveFlags
	Sources []string `arg:"" optional:"" name:"source" help:"A feed id of the configuration, a feed URL, a feed file, or - for standard input."`
}

// testMatch is one line of `newswatch test --json` and `newswatch backtest --json`. An archived
// item also says its feed, when it was first seen and the id of the alert event of the match.
type testMatch struct {
	Source    string        `json:"source"`
	Rule      string        `json:"rule"`
	Item      testItem      `json:"item"`
	Hits      []matcher.Hit `json:"hits"`
	Feed      string        `json:"feed,omitempty"`
	FirstSeen *time.Time    `json:"first_seen,omitempty"`
	EventID   string        `json:"event_id,omitempty"`
	// Story is the item's story over the items read, as an alert carries it.
	Story *console.BacktestStory `json:"story,omitempty"`
}

type testItem struct {
	GUID  string `json:"guid"`
	Link  string `json:"link"`
	Title string `json:"title"`
}

// Run exits like grep: 0 when something matched, 1 when nothing did, 2 on an error. It ends with
// a summary on stderr, so that "nothing matched" and "nothing was read" are told apart.
func (c testCmd) Run(e *env) error {
	l, err := c.load()
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{2}
	}
	if c.Feed != "" && !slices.ContainsFunc(l.cfg.Feeds, func(f config.Feed) bool { return f.ID == c.Feed }) {
		fmt.Fprintf(e.stderr, "newswatch: no feed %q in %s\n", c.Feed, c.Config)
		return exitError{2}
	}
	if err := c.checkRules(l); err != nil {
		fmt.Fprintf(e.stderr, "newswatch: %v\n", err)
		return exitError{2}
	}
	windowed := c.Since != "" || c.From != "" || c.To != ""
	switch {
	case len(c.Sources) == 0 && !c.Archive:
		fmt.Fprintln(e.stderr, "newswatch: test needs a source: a feed id, a URL, a file, - or --archive")
		return exitError{2}
	case windowed && !c.Archive:
		fmt.Fprintln(e.stderr, "newswatch: --since, --from and --to select archived items: add --archive")
		return exitError{2}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	out := matchPrinter{w: e.stdout, json: c.JSON, color: logging.IsTerminal(e.stdout)}
	sum := testSummary{rules: map[string]bool{}}
	stories, err := newStoryTeller(l)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: stories: %v\n", err)
		return exitError{2}
	}
	failed := false
	var read []sourceItem
	for _, src := range c.Sources {
		feedID, tags, items, err := c.readSource(ctx, e, l, src)
		shown := src
		if isURL(src) {
			// A URL typed on the command line may carry a credential, as a feed's may.
			shown = watcher.RedactURL(src)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "newswatch: %s: %v\n", shown, err)
			if errors.Is(err, watcher.ErrPrivateAddress) {
				fmt.Fprintf(e.stderr, "newswatch: hint: %s\n", privateHint(l, src))
			}
			failed = true
			continue
		}
		sum.sources++
		sum.items += len(items)
		for _, it := range items {
			read = append(read, sourceItem{source: shown, feed: feedID, tags: tags, item: it})
		}
	}
	// Every item gets its story over the items of every source in the order they were
	// published, as the daemon would have given them; the matches print in the sources' order.
	c.matchAndTell(l, read, stories)
	for _, r := range read {
		for i, m := range r.matches {
			sum.matches++
			sum.rules[m.Rule] = true
			if err := out.print(found{source: r.source, item: r.item, story: r.stories[i]}, m); err != nil {
				return err
			}
		}
		if len(r.matches) > 0 {
			sum.matched++
		}
	}
	given := len(c.Sources)
	if c.Archive {
		given++
		if err := c.testArchive(ctx, l, out, &sum); err != nil {
			fmt.Fprintf(e.stderr, "newswatch: %s: %v\n", archiveSource, err)
			failed = true
		}
	}
	fmt.Fprintf(e.stderr, "newswatch: %s\n", sum.String(given, c.ruleCount(l)))
	switch {
	case failed:
		return exitError{2}
	case sum.matches == 0:
		return exitError{1}
	}
	return nil
}

// sourceItem is an item test read from a source, with its matches and their stories.
type sourceItem struct {
	source, feed string
	tags         []string
	item         watcher.Item
	matches      []matcher.Match
	stories      []*console.BacktestStory // of each match
}

// matchAndTell matches the items read, keeping the rules asked for, and gives each match its
// story, telling the stories over the items in the order they were published (those without a
// date in the order read, after the dated ones).
func (c testCmd) matchAndTell(l *loaded, read []sourceItem, stories *storyTeller) {
	order := make([]int, len(read))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := read[a].item.Published, read[b].item.Published
		switch {
		case pa.IsZero() || pb.IsZero():
			return cmp.Compare(btoi(pa.IsZero()), btoi(pb.IsZero()))
		default:
			return pa.Compare(pb)
		}
	})
	now := time.Now()
	for _, i := range order {
		r := &read[i]
		mi := r.item.MatcherItem(r.feed, r.tags)
		at := r.item.Published
		if at.IsZero() || at.After(now) {
			at = now
		}
		st := stories.assign(r.feed, r.item, at)
		for _, m := range l.index.Match(&mi) {
			if len(c.Rule) > 0 && !slices.Contains(c.Rule, m.Rule) {
				continue
			}
			matcher.Units(m.Hits, &mi)
			r.matches = append(r.matches, m)
			r.stories = append(r.stories, stories.ref(st, m.Rule))
		}
	}
}

// btoi is 1 for true.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// testArchive matches the archive's items as one more source.
func (c testCmd) testArchive(ctx context.Context, l *loaded, out matchPrinter, sum *testSummary) error {
	var feeds []string
	if c.Feed != "" {
		feeds = []string{c.Feed}
	}
	bt, err := c.archiveFlags.backtest(l, c.Rule, feeds, time.Now())
	if err != nil {
		return err
	}
	r, closeReader, err := c.archiveFlags.open(l.cfg)
	if err != nil {
		return err
	}
	defer closeReader()
	defer lessGC()()
	s, err := bt.run(ctx, r, func(m console.BacktestMatch, it watcher.Item, hit matcher.Match) error {
		sum.rules[m.Rule] = true
		return out.print(archiveFound(m, it), hit)
	})
	if err != nil {
		return err
	}
	sum.sources++
	sum.items += s.ItemsScanned
	sum.matched += s.ItemsMatched
	sum.matches += s.Matches
	return nil
}

// testSummary counts what test read and matched.
type testSummary struct {
	sources, items, matched, matches int
	rules                            map[string]bool // that matched
}

// String is the summary line: sources read of those given, items parsed and matched, rules that
// matched of those tried.
func (s testSummary) String(given, rules int) string {
	return fmt.Sprintf("sources: %d of %d read; items: %d parsed, %d matched; rules: %d of %d matched; %d matches",
		s.sources, given, s.items, s.matched, len(s.rules), rules, s.matches)
}

// privateHint says how to test a source the address guard refused.
func privateHint(l *loaded, src string) string {
	if isURL(src) {
		return "the URL resolves to a loopback, private or link-local address, which run refuses too; pass --allow-private to test it (and give the feed allow_private: true to poll it)"
	}
	return fmt.Sprintf("feed %s resolves to a loopback, private or link-local address; set allow_private: true on it in %s to poll it", src, l.cfg.File)
}

// readSource reads the items of one source: a feed id of the configuration, a URL, a file or "-".
// Items of a URL, a file or "-" belong to the feed named by --feed, else to no feed.
func (c testCmd) readSource(ctx context.Context, e *env, l *loaded, src string) (feedID string, tags []string, items []watcher.Item, err error) {
	if i := slices.IndexFunc(l.cfg.Feeds, func(f config.Feed) bool { return f.ID == c.Feed }); i >= 0 {
		feedID, tags = l.cfg.Feeds[i].ID, l.cfg.Feeds[i].Tags
	}
	var data []byte
	d := l.cfg.Defaults
	typed := watcher.Source{Type: watcher.SourceType(c.Type)}
	switch {
	case src == "-":
		data, err = readLimit(e.stdin, "standard input", d.MaxBody)
	case isURL(src):
		wf := watcher.Feed{URL: src, Source: typed}
		opts := fetchOptions(d.Timeout, d.MaxBody, c.AllowPrivate)
		doc, err := watcher.FetchFeed(ctx, wf, opts)
		return feedID, tags, c.fullText(ctx, wf, doc.Items, opts), err
	default:
		if i := slices.IndexFunc(l.cfg.Feeds, func(f config.Feed) bool { return f.ID == src }); i >= 0 {
			f := l.cfg.Feeds[i]
			feedID, tags = f.ID, f.Tags
			wf := watcherFeeds(l.cfg)[i]
			opts := fetchOptions(f.Timeout, f.MaxBody, f.AllowPrivate)
			doc, err := watcher.FetchFeed(ctx, wf, opts)
			return feedID, tags, c.fullText(ctx, wf, doc.Items, opts), err
		}
		var f *os.File
		if f, err = os.Open(src); err == nil {
			data, err = readLimit(f, src, d.MaxBody)
			f.Close()
		} else if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("not a feed id of the configuration, nor a file, nor a URL (http:// or https://)")
		}
	}
	if err != nil {
		return "", nil, nil, err
	}
	doc, err := watcher.ReadDocument(ctx, data, "", typed)
	return feedID, tags, c.fullText(ctx, watcher.Feed{}, doc.Items, fetchOptions(d.Timeout, d.MaxBody, c.AllowPrivate)), err
}

// fullText reads the articles of items as run would for the feed f (--fulltext, else f's own).
func (c testCmd) fullText(ctx context.Context, f watcher.Feed, items []watcher.Item, opts watcher.FetchOptions) []watcher.Item {
	mode := watcher.FullTextMode(c.FullText)
	if mode == "" {
		mode = f.FullText
	}
	if len(items) == 0 || mode == "" || mode == watcher.FullTextNever {
		return items
	}
	return watcher.ReadFullText(ctx, f, mode, items, opts)
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

// found is where a matched item comes from, as test and backtest print it: a source, and for an
// archived item its feed, when it was first seen and its event id.
type found struct {
	source    string
	item      watcher.Item
	feed      string
	firstSeen time.Time
	eventID   string
	story     *console.BacktestStory
}

func (p matchPrinter) print(f found, m matcher.Match) error {
	it := f.item
	if p.json {
		tm := testMatch{
			Source: f.source, Rule: m.Rule,
			Item: testItem{GUID: it.GUID, Link: it.Link, Title: it.Title},
			Hits: m.Hits, Feed: f.feed, EventID: f.eventID, Story: f.story,
		}
		if !f.firstSeen.IsZero() {
			tm.FirstSeen = &f.firstSeen
		}
		b, err := json.Marshal(tm)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	fmt.Fprintf(p.w, "%s  %s\n", p.bold(m.Rule), it.Title)
	fmt.Fprintf(p.w, "  %-8s %s\n", "source:", f.source)
	if f.feed != "" {
		fmt.Fprintf(p.w, "  %-8s %s\n", "feed:", f.feed)
	}
	if !f.firstSeen.IsZero() {
		fmt.Fprintf(p.w, "  %-8s %s\n", "seen:", f.firstSeen.UTC().Format(time.RFC3339))
	}
	if it.Link != "" {
		fmt.Fprintf(p.w, "  %-8s %s\n", "link:", it.Link)
	}
	if st := f.story; st != nil {
		opened := ""
		if st.First {
			opened = ", opened here for the rule"
		}
		fmt.Fprintf(p.w, "  %-8s %s (%d items, feeds %s, languages %s%s)\n", "story:", st.ID, st.Size,
			strings.Join(st.Feeds, " "), strings.Join(st.Languages, " "), opened)
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
