package delivery

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/newswatch/newswatch/matcher"
)

// The replay of a real news corpus through every delivery setting. By default it replays the
// sample under testdata (the first 6,366 headlines of the UCI News Aggregator data set, 36 hours
// of March 2014); -corpus replays a whole copy of the data set instead:
//
//	go test -run '^TestReplayCorpus$' -v -timeout 60m ./delivery/ -args -corpus /path/to/newsCorpora.csv
var corpusPath = flag.String("corpus", "", "a copy of the UCI News Aggregator data set to replay (newsCorpora.csv, tab-separated; or the comma-separated uci-news-aggregator.csv with a header; gzipped or not)")

const samplePath = "testdata/uci-news-aggregator-sample.tsv.gz"

type headline struct {
	id, title, url, publisher, category, story string
	t                                          time.Time
}

// readCorpus reads the data set's tab-separated form (ID TITLE URL PUBLISHER CATEGORY STORY
// HOSTNAME TIMESTAMP, no header, no quoting) or the comma-separated form with a header line.
func readCorpus(path string) ([]headline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r = gz
	}
	r2 := bufio.NewReaderSize(r, 1<<20)
	first, _ := r2.Peek(64)
	var rows [][]string
	if bytes.HasPrefix(first, []byte("ID,TITLE,")) {
		cr := csv.NewReader(r2)
		cr.FieldsPerRecord = 8
		cr.ReuseRecord = false
		all, err := cr.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = all[1:]
	} else {
		sc := bufio.NewScanner(r2)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 8 {
				return nil, fmt.Errorf("%s:%d: %d fields, want 8", path, n, len(f))
			}
			rows = append(rows, f)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]headline, 0, len(rows))
	for i, f := range rows {
		ms, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: timestamp %q", path, i+1, f[7])
		}
		out = append(out, headline{id: f[0], title: f[1], url: f[2], publisher: f[3], category: f[4], story: f[5], t: time.UnixMilli(ms).UTC()})
	}
	slices.SortStableFunc(out, func(a, b headline) int { return a.t.Compare(b.t) })
	return out, nil
}

// corpusRules are the rules replayed: one a category of the data set, and keyword rules of the
// news of 2014 over the titles, in the rule language of the matcher.
var corpusRules = []matcher.Rule{
	{ID: "business", Query: "tag:b"},
	{ID: "tech", Query: "tag:t"},
	{ID: "entertainment", Query: "tag:e"},
	{ID: "health", Query: "tag:m"},
	{ID: "fed", Query: `=Fed OR "federal reserve" OR yellen`},
	{ID: "mh370", Query: `mh370 OR "flight 370" OR (malaysia* NEAR/5 (plane OR jet OR flight OR airline*))`},
	{ID: "gm-recall", Query: `(=GM OR "general motors") recall*`},
	{ID: "apple", Query: `apple OR iphone* OR ipad*`},
	{ID: "ukraine", Query: `ukrain* OR crimea* OR putin`},
	{ID: "ebola", Query: `ebola`},
	{ID: "bitcoin", Query: `bitcoin* OR "mt gox"`},
}

var corpusSettings = []struct {
	name string
	opts Options
}{
	{"immediate", Options{}},
	{"digest 1h", Options{Mode: ModeDigest, Every: time.Hour}},
	{"digest daily", Options{Mode: ModeDigest, Cron: "0 8 * * *", TimeZone: "America/New_York"}},
	{"budget 10/h", Options{Mode: ModeBudget, Max: 10}},
}

// replayStats is what one setting did for one rule.
type replayStats struct {
	matches, delivered, held, digests, notices, spikes int
	unlisted                                           int // held items of stories past MaxStories
	surfaced, matched                                  map[string]bool
	spikeTimes                                         []time.Time
	spikeList                                          []*Spike
	deliveredPerHour, noticesPerHour                   map[int64]int
	periods                                            map[string]bool // periods that held something
}

func (s *replayStats) messages() int { return s.delivered + s.digests + s.notices }

// replay feeds the matches of the corpus through one setting; the state of each rule goes
// through JSON every 64 events, as a store would keep it.
func replay(t *testing.T, hs []headline, ix *matcher.Index, o Options) map[string]*replayStats {
	t.Helper()
	policies := map[string]*Policy{}
	states := map[string]*State{}
	stats := map[string]*replayStats{}
	for _, r := range corpusRules {
		p, err := New(r.ID, o)
		if err != nil {
			t.Fatal(err)
		}
		policies[r.ID], states[r.ID] = p, &State{}
		stats[r.ID] = &replayStats{surfaced: map[string]bool{}, matched: map[string]bool{},
			deliveredPerHour: map[int64]int{}, noticesPerHour: map[int64]int{}, periods: map[string]bool{}}
	}
	due := func(rule string, now time.Time) {
		p, st, s := policies[rule], states[rule], stats[rule]
		for _, d := range p.Due(st, now) {
			s.digests++
			s.unlisted += d.MoreItems
			for _, story := range d.Stories {
				s.surfaced[story.ID] = true
			}
			if !p.Done(st, d.ID) {
				t.Fatalf("%s: Done(%s) found nothing", rule, d.ID)
			}
		}
	}
	m := ix.NewMatcher()
	n := 0
	for _, h := range hs {
		it := &matcher.Item{FeedID: "uci", Tags: []string{h.category}, Title: h.title}
		for _, match := range m.Match(it) {
			rule := match.Rule
			p, s := policies[rule], stats[rule]
			due(rule, h.t)
			d := p.Decide(states[rule], Event{ID: h.id, Story: h.story, Title: h.title, Link: h.url, Publisher: h.publisher, Time: h.t})
			s.matches++
			s.matched[h.story] = true
			hour := h.t.Unix() / 3600
			switch d.Action {
			case Deliver:
				s.delivered++
				s.surfaced[h.story] = true
				s.deliveredPerHour[hour]++
			case Hold:
				s.held++
				s.periods[d.Period.ID] = true
			default:
				t.Fatalf("%s: event %s decided %s", rule, h.id, d.Action)
			}
			if d.Notice != nil {
				s.notices++
				s.noticesPerHour[hour]++
			}
			if d.Spike != nil {
				s.spikes++
				s.spikeTimes = append(s.spikeTimes, d.Spike.End)
				s.spikeList = append(s.spikeList, d.Spike)
			}
			if n++; n%64 == 0 {
				states[rule] = roundTrip(t, states[rule])
			}
		}
	}
	end := hs[len(hs)-1].t.Add(40 * 24 * time.Hour)
	for _, r := range corpusRules {
		due(r.ID, end)
	}
	return stats
}

func TestReplayCorpus(t *testing.T) {
	path := samplePath
	if *corpusPath != "" {
		path = *corpusPath
	}
	hs, err := readCorpus(path)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := matcher.Compile(corpusRules, nil)
	if err != nil {
		t.Fatal(err)
	}
	days := hs[len(hs)-1].t.Sub(hs[0].t).Hours() / 24
	items := map[string]int{}
	for _, h := range hs {
		items[h.story]++
	}
	t.Logf("%s: %d headlines, %d stories, %s to %s (%.2f days)", path, len(hs), len(items),
		hs[0].t.Format(time.RFC3339), hs[len(hs)-1].t.Format(time.RFC3339), days)

	all := map[string]map[string]*replayStats{}
	for _, s := range corpusSettings {
		all[s.name] = replay(t, hs, ix, s.opts)
	}

	// No story lost: every story a rule matched reached its readers in every setting, at once or
	// listed in a digest.
	for _, s := range corpusSettings {
		for _, r := range corpusRules {
			st := all[s.name][r.ID]
			if st.unlisted > 0 {
				t.Errorf("%s %s: %d held items not listed (past max_stories)", s.name, r.ID, st.unlisted)
			}
			for story := range st.matched {
				if !st.surfaced[story] {
					t.Errorf("%s %s: story %s lost", s.name, r.ID, story)
				}
			}
			if st.delivered+st.held != st.matches {
				t.Errorf("%s %s: %d delivered + %d held, want %d matches", s.name, r.ID, st.delivered, st.held, st.matches)
			}
			for i := 1; i < len(st.spikeTimes); i++ {
				if gap := st.spikeTimes[i].Sub(st.spikeTimes[i-1]); gap < DefaultCooldown {
					t.Errorf("%s %s: spikes %s apart, within the cooldown", s.name, r.ID, gap)
				}
			}
			switch s.opts.Mode {
			case ModeImmediate:
				if st.delivered != st.matches || st.digests != 0 {
					t.Errorf("%s %s: %d delivered, %d digests; want %d and 0", s.name, r.ID, st.delivered, st.digests, st.matches)
				}
			case ModeDigest:
				if st.delivered != 0 || st.digests != len(st.periods) {
					t.Errorf("%s %s: %d delivered, %d digests; want 0 and one a period that held something (%d)", s.name, r.ID, st.delivered, st.digests, len(st.periods))
				}
			case ModeBudget:
				for hour, n := range st.deliveredPerHour {
					if n > s.opts.Max {
						t.Errorf("%s %s: %d delivered in hour %d, over the budget", s.name, r.ID, n, hour)
					}
				}
				for hour, n := range st.noticesPerHour {
					if n != 1 {
						t.Errorf("%s %s: %d notices in hour %d, want 1", s.name, r.ID, n, hour)
					}
				}
				if st.digests != len(st.periods) {
					t.Errorf("%s %s: %d digests, want %d", s.name, r.ID, st.digests, len(st.periods))
				}
			}
		}
	}
	// The same spikes in every setting: detection does not depend on delivery.
	for _, r := range corpusRules {
		want := all["immediate"][r.ID].spikeTimes
		for _, s := range corpusSettings {
			if got := all[s.name][r.ID].spikeTimes; !slices.Equal(got, want) {
				t.Errorf("%s %s: spikes at %v, immediate at %v", s.name, r.ID, got, want)
			}
		}
	}

	// The figures of BENCHMARKS.md.
	var b strings.Builder
	fmt.Fprintf(&b, "\n| rule | matches | stories | immediate /day | digest 1h /day | digest daily /day | budget 10/h /day | spikes |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	perDay := func(n int) string { return strconv.FormatFloat(float64(n)/days, 'f', 1, 64) }
	for _, r := range corpusRules {
		im := all["immediate"][r.ID]
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %d |\n", r.ID, im.matches, len(im.matched), perDay(im.messages()),
			perDay(all["digest 1h"][r.ID].messages()), perDay(all["digest daily"][r.ID].messages()),
			perDay(all["budget 10/h"][r.ID].messages()), im.spikes)
	}
	type big struct {
		story string
		n     int
	}
	var bigs []big
	for s, n := range items {
		bigs = append(bigs, big{s, n})
	}
	slices.SortFunc(bigs, func(a, b big) int { return cmpOr(b.n-a.n, strings.Compare(a.story, b.story)) })
	fmt.Fprintf(&b, "\n| largest stories | items | first title | rules | surfaced in every setting |\n|---|---:|---|---|---|\n")
	title := map[string]string{}
	for _, h := range hs {
		if _, ok := title[h.story]; !ok {
			title[h.story] = h.title
		}
	}
	for _, bg := range bigs[:min(10, len(bigs))] {
		var rules []string
		surfaced := true
		for _, r := range corpusRules {
			if all["immediate"][r.ID].matched[bg.story] {
				rules = append(rules, r.ID)
				for _, s := range corpusSettings {
					surfaced = surfaced && all[s.name][r.ID].surfaced[bg.story]
				}
			}
		}
		if len(rules) == 0 {
			surfaced = false
		}
		if !surfaced {
			t.Errorf("largest story %s (%d items) not surfaced everywhere", bg.story, bg.n)
		}
		verdict := "yes"
		if !surfaced {
			verdict = "NO"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", bg.story, bg.n, strings.ReplaceAll(title[bg.story], "|", "/"), strings.Join(rules, ", "), verdict)
	}
	fmt.Fprintf(&b, "\n| spike | new stories | publishers | baseline (days) | ratio | first stories |\n|---|---:|---:|---:|---:|---|\n")
	for _, r := range corpusRules {
		for _, sp := range all["immediate"][r.ID].spikeList {
			var titles []string
			for _, s := range sp.Stories[:min(3, len(sp.Stories))] {
				titles = append(titles, strings.ReplaceAll(s.Title, "|", "/"))
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %.2f (%d) | %.1f | %s |\n", sp.ID, sp.Count, sp.Publishers, sp.Baseline, sp.BaselineDays, sp.Ratio, strings.Join(titles, "; "))
		}
	}
	t.Log(b.String())
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
