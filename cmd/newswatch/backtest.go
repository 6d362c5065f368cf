package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/internal/logging"
	"github.com/newswatch/newswatch/matcher"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

type backtestCmd struct {
	ruleFlags
	All bool `name:"all" help:"Match every rule of the configuration; the summary lists them all, the noisiest first."`
	archiveFlags
	Feed  []string `name:"feed" env:"NEWSWATCH_BACKTEST_FEED" help:"Only the archived items of this feed (repeatable)."`
	JSON  bool     `name:"json" help:"Print one JSON object a line for each (item, rule) match, and the summary as one JSON object on stderr."`
	Limit int      `name:"limit" help:"Print at most this many matches; all are counted. 0: all."`
	// Deliveries previews the noise of each delivery setting over the archive read.
	Deliveries bool `name:"deliveries" help:"After the summary, print for each rule how many messages (alerts at once, digests, budget notices, spikes) each delivery setting would have sent over the items read."`
}

// archiveSource is the source name of archived items in the output of test and backtest.
const archiveSource = "archive"

// Run prints the matches of the archive, then the summary on stderr. It exits like test: 0
// when something matched, 1 when nothing did, 2 on an error.
func (c backtestCmd) Run(e *env) error {
	fail := func(err error) error {
		fmt.Fprintf(e.stderr, "newswatch: backtest: %v\n", err)
		return exitError{2}
	}
	given := 0
	for _, g := range []bool{len(c.Rule) > 0, c.Query != "", c.All} {
		if g {
			given++
		}
	}
	if given != 1 {
		return fail(errors.New("give one of --rule, --query or --all"))
	}
	if c.Limit < 0 {
		return fail(errors.New("--limit must not be negative"))
	}
	l, err := c.load()
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{2}
	}
	if err := c.checkRules(l); err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bt, err := c.archiveFlags.backtest(l, c.Rule, c.Feed, time.Now())
	if err != nil {
		return fail(err)
	}
	r, closeReader, err := c.archiveFlags.open(l.cfg)
	if err != nil {
		return fail(err)
	}
	defer closeReader()
	defer lessGC()()

	out := matchPrinter{w: e.stdout, json: c.JSON, color: logging.IsTerminal(e.stdout)}
	printed := 0
	nz := newNoise(l)
	sum, err := bt.run(ctx, r, func(m console.BacktestMatch, it watcher.Item, hit matcher.Match) error {
		if c.Deliveries {
			nz.add(m)
		}
		if c.Limit > 0 && printed == c.Limit {
			return nil
		}
		printed++
		return out.print(archiveFound(m, it), hit)
	})
	if err != nil {
		return fail(err)
	}
	if c.JSON {
		b, err := json.Marshal(sum)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s\n", b)
	} else {
		if printed < sum.Matches {
			fmt.Fprintf(e.stderr, "newswatch: %d of %d matches printed (--limit)\n", printed, sum.Matches)
		}
		printBacktestSummary(e.stderr, sum)
	}
	if c.Deliveries {
		if err := nz.print(e.stderr); err != nil {
			return fail(err)
		}
	}
	if sum.Matches == 0 {
		return exitError{1}
	}
	return nil
}

// ruleFlags select the rules that test and backtest match.
type ruleFlags struct {
	Config string            `short:"c" type:"path" help:"Configuration file; optional with --query."`
	Rule   []string          `name:"rule" help:"Match only this rule (repeatable)."`
	Query  string            `name:"query" help:"Match this query instead of the configuration's rules (as rule \"query\"), with the configuration's lists and those of --list."`
	List   map[string]string `name:"list" mapsep:";" help:"A list for --query, NAME=term,term (repeatable); it replaces a list of the same name of the configuration."`
}

// queryRuleID is the id of the rule of --query.
const queryRuleID = "query"

// load loads the configuration, or with --query and no configuration an empty one, and replaces
// its rules with the query when one is given.
func (c ruleFlags) load() (*loaded, error) {
	var cfg *config.Config
	if c.Query != "" && len(c.Rule) > 0 {
		return nil, errors.New("--rule selects rules of the configuration; --query replaces them: give one of them")
	}
	switch {
	case c.Config != "":
		l, err := load(c.Config)
		if err != nil || c.Query == "" {
			return l, err
		}
		cfg = l.cfg
	case c.Query == "":
		return nil, errors.New("give -c FILE, or --query")
	default:
		var err error
		if cfg, err = config.Parse("(no configuration)", nil); err != nil {
			return nil, err
		}
	}
	lists := maps.Clone(cfg.Lists)
	for name, terms := range c.List {
		lists[name] = strings.Split(terms, ",")
	}
	ix, rules, err := compileQuery(c.Query, lists)
	if err != nil {
		var qe *matcher.QueryError
		if errors.As(err, &qe) {
			if qe.List != "" {
				return nil, fmt.Errorf("--list %s, term %d: %s", qe.List, qe.Term+1, qe.Msg)
			}
			return nil, fmt.Errorf("--query:%d: %s\n  %s\n  %s^", qe.Column, qe.Msg, c.Query, strings.Repeat(" ", qe.Column-1))
		}
		return nil, fmt.Errorf("--query: %w", err)
	}
	return &loaded{cfg: cfg, rules: rules, index: ix}, nil
}

// compileQuery compiles an ad-hoc query as the one rule "query".
func compileQuery(q string, lists map[string][]string) (*matcher.Index, []matcher.Rule, error) {
	rules := []matcher.Rule{{ID: queryRuleID, Query: q}}
	ix, err := matcher.Compile(rules, lists)
	return ix, rules, err
}

// checkRules refuses a --rule that the configuration does not have.
func (c ruleFlags) checkRules(l *loaded) error {
	for _, id := range c.Rule {
		if !slices.ContainsFunc(l.rules, func(r matcher.Rule) bool { return r.ID == id }) {
			return fmt.Errorf("no rule %q in %s", id, c.Config)
		}
	}
	return nil
}

// ruleCount is how many rules are matched.
func (c ruleFlags) ruleCount(l *loaded) int {
	if len(c.Rule) > 0 {
		return len(c.Rule)
	}
	return len(l.rules)
}

// archiveFlags say where the item archive is and which part of it to read, for backtest and
// test --archive. The server, the credentials, the stream and the subject prefix default to the
// configuration's.
type archiveFlags struct {
	Server string `short:"s" env:"NEWSWATCH_SERVER,NATS_URL" help:"NATS server URL(s), comma-separated."`
	Creds  string `name:"creds" type:"path" env:"NEWSWATCH_CREDS,NATS_CREDS" help:"NATS credentials file: the daemon's <store_dir>/credentials/subscriber.creds for its embedded server."`
	Since  string `name:"since" env:"NEWSWATCH_ARCHIVE_SINCE" help:"Only archived items first seen within this long: 90m, 24h, 7d. Default: the whole archive."`
	From   string `name:"from" env:"NEWSWATCH_ARCHIVE_FROM" help:"Only archived items first seen at or after this time: RFC 3339 or a date (2026-12-01, UTC)."`
	To     string `name:"to" env:"NEWSWATCH_ARCHIVE_TO" help:"Only archived items first seen before this time: RFC 3339 or a date (2026-12-01, UTC)."`
}

// backtest is the backtest that the flags ask for: only the rules named (none: every rule of
// l), only the feeds named (none: every feed).
func (a archiveFlags) backtest(l *loaded, rules, feeds []string, now time.Time) (archiveBacktest, error) {
	from, to, err := console.ParseWindow(a.Since, a.From, a.To, now)
	if err != nil {
		return archiveBacktest{}, fmt.Errorf("--%s", err)
	}
	return newArchiveBacktest(l, rules, event.ArchiveQuery{From: from, To: to, Feeds: feeds}), nil
}

// open connects to the archive's server as the flags and cfg say; close ends the connection.
func (a archiveFlags) open(cfg *config.Config) (r notifier.ArchiveReader, close func(), err error) {
	url, creds, err := a.endpoint(cfg)
	if err != nil {
		return r, nil, err
	}
	opts := []nats.Option{nats.Name("newswatch-archive")}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := notifier.Connect(url, opts...)
	if err != nil {
		return r, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return r, nil, fmt.Errorf("jetstream: %w", err)
	}
	return notifier.ArchiveReader{JS: js, Prefix: cfg.NATS.SubjectPrefix, Stream: cfg.Archive.Stream}, nc.Close, nil
}

// endpoint is the server and credentials file of the flags, else of the configuration: its
// nats.url and nats.creds_file, or its embedded server's address and subscriber credentials.
func (a archiveFlags) endpoint(cfg *config.Config) (url, creds string, err error) {
	url, creds = a.Server, a.Creds
	if cfg.NATS.URL != "" {
		return cmp.Or(url, cfg.NATS.URL), cmp.Or(creds, cfg.NATS.CredsFile), nil
	}
	if url == "" {
		if cfg.NATS.Embedded.Listen == "" {
			return "", "", errors.New("nats.embedded.listen is empty: the daemon's server takes no connections; give -s URL")
		}
		url = "nats://" + cfg.NATS.Embedded.Listen
	}
	if creds == "" {
		// The daemon's own server needs them; a server named by -s may not.
		path := notifier.CredsFile(cfg.NATS.Embedded.StoreDir, notifier.RoleSubscriber)
		_, err := os.Stat(path)
		switch {
		case err == nil:
			creds = path
		case a.Server == "":
			return "", "", fmt.Errorf("no credentials for the daemon's server: %w; give --creds FILE", err)
		}
	}
	return url, creds, nil
}

// backtestGCPercent is the garbage collector's target while a command reads the archive: every
// item decoded is garbage a moment later, and the heap is a few chunks, so collecting at 400 %
// rather than 100 % takes a third less CPU per item at the cost of a few MiB (BENCHMARKS.md).
const backtestGCPercent = 400

// lessGC sets the collector's target to backtestGCPercent, unless $GOGC says otherwise, and
// returns what restores it.
func lessGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(backtestGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// archiveBacktest matches rules of a configuration against the item archive and counts what it
// reads and matches: the backtest of the backtest command, of test --archive and of the API.
type archiveBacktest struct {
	index *matcher.Index
	only  []string // rules kept; empty: every rule of index
	tried []string // the ids of the rules tried, in configuration order
	query event.ArchiveQuery
	l     *loaded // for the stories: their window and lists
}

func newArchiveBacktest(l *loaded, only []string, q event.ArchiveQuery) archiveBacktest {
	tried := only
	if len(tried) == 0 {
		tried = make([]string, len(l.rules))
		for i, r := range l.rules {
			tried[i] = r.ID
		}
	}
	return archiveBacktest{index: l.index, only: only, tried: tried, query: q, l: l}
}

// run reads the archive through r and calls found with every match, in the archive's order,
// on the caller's goroutine. It never publishes.
func (b archiveBacktest) run(ctx context.Context, r watcher.ArchiveReader, found func(console.BacktestMatch, watcher.Item, matcher.Match) error) (console.BacktestSummary, error) {
	t := newTally(b.tried)
	stories, err := newStoryTeller(b.l)
	if err != nil {
		return console.BacktestSummary{}, fmt.Errorf("stories: %w", err)
	}
	st, err := watcher.Backtest(ctx, storyReader{countingReader{r, t}, stories}, watcher.BacktestQuery{Archive: b.query, Index: b.index, Rules: b.only},
		func(f watcher.BacktestFound) error {
			a := f.Item
			it := watcher.Item{Item: a.Item, Content: a.Content}
			story, told := stories.latest[itemRef{a.FeedID, a.Item.Key}]
			for _, m := range f.Matches {
				t.match(a, m.Rule)
				bm := console.BacktestMatch{
					Rule: m.Rule, Feed: a.FeedID, FirstSeen: a.FirstSeen.UTC(),
					EventID: notifier.EventID(m.Rule, a.FeedID, a.Item.Key),
					Item:    console.BacktestItem{GUID: a.Item.GUID, Link: a.Item.Link, Title: a.Item.Title},
					Hits:    m.Hits,
				}
				if told {
					bm.Story = stories.ref(story, m.Rule)
				}
				if err := found(bm, it, m); err != nil {
					return err
				}
			}
			return nil
		})
	if errors.Is(err, notifier.ErrArchiveDisabled) {
		err = fmt.Errorf("%w: %w", console.ErrNoArchive, err)
	}
	if err != nil {
		return console.BacktestSummary{}, err
	}
	sum := t.summary(st)
	if !b.query.From.IsZero() {
		sum.From = &b.query.From
	}
	if !b.query.To.IsZero() {
		sum.To = &b.query.To
	}
	return sum, nil
}

// archiveFound is a match of the archive as test and backtest print it.
func archiveFound(m console.BacktestMatch, it watcher.Item) found {
	return found{source: archiveSource, item: it, feed: m.Feed, firstSeen: m.FirstSeen, eventID: m.EventID, story: m.Story}
}

// countingReader counts the items of every day and feed that its reader passes on: in the
// work of each chunk, on the reader's goroutines, then into a tally in the archive's order.
type countingReader struct {
	r watcher.ArchiveReader
	t *tally
}

func (c countingReader) ReadArchive(ctx context.Context, q event.ArchiveQuery, work func([]event.Archived) func() error) error {
	return c.r.ReadArchive(ctx, q, func(items []event.Archived) func() error {
		days, feeds := countItems(items)
		then := work(items)
		return func() error {
			c.t.items(days, feeds)
			return then()
		}
	})
}

// dayCount is how many items of a chunk were first seen on a UTC day (days since 1970).
type dayCount struct {
	day   int64
	items int
}

func countItems(items []event.Archived) ([]dayCount, map[string]int) {
	var days []dayCount
	feeds := map[string]int{}
	for _, a := range items {
		d := dayOf(a.FirstSeen)
		if n := len(days); n > 0 && days[n-1].day == d {
			days[n-1].items++
		} else {
			days = append(days, dayCount{d, 1})
		}
		feeds[a.FeedID]++
	}
	return days, feeds
}

func dayOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s+1)/86400 - 1
	}
	return s / 86400
}

// tally counts a backtest's items and matches by day, feed and rule.
type tally struct {
	tried []string
	rules map[string]int
	days  map[int64]*console.BucketCount
	feeds map[string]*console.BucketCount
}

func newTally(tried []string) *tally {
	t := &tally{tried: tried, rules: map[string]int{}, days: map[int64]*console.BucketCount{}, feeds: map[string]*console.BucketCount{}}
	for _, id := range tried {
		t.rules[id] = 0
	}
	return t
}

func (t *tally) items(days []dayCount, feeds map[string]int) {
	for _, d := range days {
		b := t.days[d.day]
		if b == nil {
			b = &console.BucketCount{Day: time.Unix(d.day*86400, 0).UTC().Format(time.DateOnly), Rules: map[string]int{}}
			t.days[d.day] = b
		}
		b.Items += d.items
	}
	for id, n := range feeds {
		b := t.feeds[id]
		if b == nil {
			// A copy: the item's feed id points into the body of its message (ReadArchive).
			id = strings.Clone(id)
			b = &console.BucketCount{Feed: id, Rules: map[string]int{}}
			t.feeds[id] = b
		}
		b.Items += n
	}
}

func (t *tally) match(a event.Archived, rule string) {
	t.rules[rule]++
	for _, b := range []*console.BucketCount{t.days[dayOf(a.FirstSeen)], t.feeds[a.FeedID]} {
		b.Matches++
		b.Rules[rule]++
	}
}

func (t *tally) summary(st watcher.BacktestStats) console.BacktestSummary {
	sum := console.BacktestSummary{
		Rules:        make([]console.RuleCount, 0, len(t.tried)),
		Days:         make([]console.BucketCount, 0, len(t.days)),
		Feeds:        []console.BucketCount{},
		ItemsScanned: st.Items, ItemsMatched: st.Matched, Matches: st.Matches,
		TookSeconds: st.Took.Seconds(),
	}
	if st.Took > 0 {
		sum.ItemsPerSec = float64(st.Items) / st.Took.Seconds()
	}
	for _, id := range t.tried {
		sum.Rules = append(sum.Rules, console.RuleCount{Rule: id, Matches: t.rules[id]})
	}
	slices.SortStableFunc(sum.Rules, func(a, b console.RuleCount) int { return cmp.Compare(b.Matches, a.Matches) })
	for _, d := range slices.Sorted(maps.Keys(t.days)) {
		sum.Days = append(sum.Days, *t.days[d])
	}
	for _, f := range t.feeds {
		if f.Matches > 0 {
			sum.Feeds = append(sum.Feeds, *f)
		}
	}
	slices.SortFunc(sum.Feeds, func(a, b console.BucketCount) int {
		return cmp.Or(cmp.Compare(b.Matches, a.Matches), cmp.Compare(a.Feed, b.Feed))
	})
	return sum
}

// maxRuleColumns is how many rules the day and feed tables give a column each: the noisiest;
// the others are counted in the total.
const maxRuleColumns = 6

// maxFeedRows bounds the rows of the feed table (--json has them all).
const maxFeedRows = 20

// printBacktestSummary writes the summary as tables: matches by rule, then by day and by feed
// with a column for each of the noisiest rules.
func printBacktestSummary(w io.Writer, s console.BacktestSummary) {
	window := "the whole archive"
	switch {
	case s.From != nil && s.To != nil:
		window = fmt.Sprintf("the items first seen from %s to %s", s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	case s.From != nil:
		window = "the items first seen since " + s.From.UTC().Format(time.RFC3339)
	case s.To != nil:
		window = "the items first seen before " + s.To.UTC().Format(time.RFC3339)
	}
	rules := "rules"
	if len(s.Rules) == 1 {
		rules = "rule"
	}
	fmt.Fprintf(w, "newswatch: backtest of %d %s over %s: %d items scanned in %s (%.0f items/s); %d items matched, %d matches\n",
		len(s.Rules), rules, window, s.ItemsScanned, time.Duration(s.TookSeconds*float64(time.Second)).Round(time.Millisecond),
		s.ItemsPerSec, s.ItemsMatched, s.Matches)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...any) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw)
	row("RULE", "MATCHES")
	for _, r := range s.Rules {
		row(r.Rule, r.Matches)
	}
	cols := make([]string, 0, maxRuleColumns)
	for _, r := range s.Rules[:min(len(s.Rules), maxRuleColumns)] {
		if r.Matches > 0 {
			cols = append(cols, r.Rule)
		}
	}
	table := func(head string, rows []console.BucketCount, name func(console.BucketCount) string) {
		fmt.Fprintln(tw)
		cells := []any{head, "ITEMS", "MATCHES"}
		for _, c := range cols {
			cells = append(cells, c)
		}
		row(cells...)
		for i, b := range rows {
			if i == maxFeedRows {
				row(fmt.Sprintf("(%d more)", len(rows)-i))
				break
			}
			cells := []any{name(b), b.Items, b.Matches}
			for _, c := range cols {
				cells = append(cells, b.Rules[c])
			}
			row(cells...)
		}
	}
	days := s.Days
	if len(days) > maxFeedRows {
		// Only the last days: a daily table of a long window would hide the rest.
		fmt.Fprintf(tw, "\n(the last %d days of %d)\n", maxFeedRows, len(days))
		days = days[len(days)-maxFeedRows:]
	}
	table("DAY (UTC)", days, func(b console.BucketCount) string { return b.Day })
	if len(s.Feeds) > 0 {
		table("FEED", s.Feeds, func(b console.BucketCount) string { return b.Feed })
	}
	tw.Flush()
}
