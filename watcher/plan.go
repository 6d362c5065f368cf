package watcher

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/newswatch/newswatch/matcher"
)

// Feed is one feed to watch.
type Feed struct {
	ID  string
	URL string // http or https; userinfo is allowed and never logged; see SourceURL
	Settings
	Tags []string
	// Source is the kind of document the feed is; the zero value is RSS, Atom or JSON Feed.
	Source Source
}

// Settings is how a feed is polled. Feeds with equal settings share one copy in the watcher:
// 100,000 feeds usually have a handful.
type Settings struct {
	// Schedule is a 5-field cron expression, a descriptor (@hourly), "@every D" or "auto"; see
	// ValidateSchedule. "@every D" fires at the Unix epoch + a per-feed offset + k*D.
	Schedule string
	// AutoMin and AutoMax bound the interval of the "auto" schedule; 0 means DefaultAutoMin and
	// DefaultAutoMax. An auto feed's slots come every AutoMin, and a slot before the feed is due
	// again is acknowledged without a request. It is due again after half the median gap
	// between its items' dates, but not before its RSS <ttl> or its Cache-Control max-age ask,
	// and never sooner than AutoMin or later than AutoMax after its last poll.
	AutoMin, AutoMax time.Duration
	// FloodGuard is the least number of new items of one poll that may be a flood rather than
	// news; 0 turns the guard off. A poll whose new items number more than FloodGuard and more
	// than five times as many as the feed's polls usually find, and are mostly dated before
	// the feed's previous successful poll (a feed that changed the GUIDs of its items, say),
	// alerts nothing: its items are recorded as seen and one flood event is reported.
	FloodGuard int
	// MaxAlertsPerPoll is the most alerts one poll publishes; 0 means DefaultMaxAlertsPerPoll.
	// The items beyond them are recorded as seen without alerting, and reported once.
	MaxAlertsPerPoll int
	Timeout          time.Duration // positive
	MaxBody          int64         // bytes after decompression, positive
	FirstPoll        FirstPoll
	AllowPrivate     bool // skip the address guard (Config.AddressPolicy) for this feed
	// FullText says when the articles of the feed's new items are fetched and their text
	// matched as the items' content; the zero value is FullTextNever.
	FullText FullTextMode
}

// FirstPollMode says what the first successful poll of a feed alerts.
type FirstPollMode string

// First poll modes. The zero value means FirstPollBaseline.
const (
	// FirstPollBaseline records every item present without alerting.
	FirstPollBaseline FirstPollMode = "baseline"
	// FirstPollAll alerts every item present.
	FirstPollAll FirstPollMode = "all"
	// FirstPollWindow alerts the items published (else updated) within Window before the poll;
	// items without a date are recorded without alerting.
	FirstPollWindow FirstPollMode = "window"
)

// FirstPoll is a feed's first poll policy.
type FirstPoll struct {
	Mode   FirstPollMode
	Window time.Duration // for FirstPollWindow, positive
}

func (f Feed) validate() error {
	if f.ID == "" {
		return errors.New("id is empty")
	}
	if err := f.Source.validate(); err != nil {
		return err
	}
	switch f.FullText {
	case "", FullTextNever, FullTextAuto, FullTextAlways:
	default:
		return fmt.Errorf("full text %q: want never, auto or always", f.FullText)
	}
	u, err := url.Parse(f.URL)
	if err != nil {
		return fmt.Errorf("url: %w", stripURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("url %q: want an absolute http or https URL", redactURL(f.URL))
	}
	if f.Timeout <= 0 {
		return fmt.Errorf("timeout must be positive, got %s", f.Timeout)
	}
	if f.MaxBody <= 0 {
		return fmt.Errorf("max body must be positive, got %d", f.MaxBody)
	}
	if f.FloodGuard < 0 {
		return fmt.Errorf("flood guard must not be negative, got %d", f.FloodGuard)
	}
	if f.AutoMin < 0 || f.AutoMax < 0 {
		return fmt.Errorf("auto schedule bounds must not be negative, got %s and %s", f.AutoMin, f.AutoMax)
	}
	if lo, hi := f.autoBounds(); lo < time.Second || hi < lo {
		return fmt.Errorf("auto schedule bounds: want 1s <= min <= max, got %s and %s", lo, hi)
	}
	switch f.FirstPoll.Mode {
	case "", FirstPollBaseline, FirstPollAll:
	case FirstPollWindow:
		if f.FirstPoll.Window <= 0 {
			return fmt.Errorf("first poll window must be positive, got %s", f.FirstPoll.Window)
		}
	default:
		return fmt.Errorf("first poll mode %q: want baseline, all or window", f.FirstPoll.Mode)
	}
	return nil
}

// Defaults of Feed.AutoMin and Feed.AutoMax.
const (
	DefaultAutoMin = 5 * time.Minute
	DefaultAutoMax = time.Hour
)

func (s *Settings) fetchOptions(userAgent string) FetchOptions {
	return FetchOptions{UserAgent: userAgent, Timeout: s.Timeout, MaxBody: s.MaxBody, AllowPrivate: s.AllowPrivate}
}

func (s *Settings) auto() bool { return strings.TrimSpace(s.Schedule) == AutoSchedule }

func (s *Settings) autoBounds() (lo, hi time.Duration) {
	return orDefault(s.AutoMin, DefaultAutoMin), orDefault(s.AutoMax, DefaultAutoMax)
}

// plan is the immutable set of feeds and rules the watcher works with. Update swaps in a new
// one atomically; a poll and a tick each read one plan and use it throughout.
type plan struct {
	feeds  map[string]*feedPlan
	order  []string          // feed ids in configuration order
	groups map[string]*group // by schedule key
	rules  map[string]matcher.Rule
	index  *matcher.Index
}

// feedPlan is one feed of a plan, small since a plan may hold 100,000 of them.
type feedPlan struct {
	ID, URL string
	Tags    []string
	*Settings
	group  *group
	reader sourceReader
}

// group is the feeds that fire at the same instants, and so share one cron entry.
type group struct {
	key   string
	sched slotSchedule
	feeds []string // in configuration order
}

// groupSlot finds a feed's group while a plan is built.
type groupSlot struct {
	spec   string
	offset time.Duration
}

func buildPlan(feeds []Feed, rules []matcher.Rule, ix *matcher.Index, loc *time.Location) (*plan, error) {
	if ix == nil {
		return nil, errors.New("index is nil")
	}
	p := &plan{
		feeds:  make(map[string]*feedPlan, len(feeds)),
		groups: make(map[string]*group),
		rules:  make(map[string]matcher.Rule, len(rules)),
		index:  ix,
	}
	var (
		shared = make(map[Settings]*Settings)
		specs  = make(map[string]parsedSpec)
		// groups by spec and offset, so that a feed joins its group without a key of its own
		bySlot = make(map[groupSlot]*group)
	)
	for i, f := range feeds {
		u, err := SourceURL(f.URL, f.Source)
		if err != nil {
			return nil, fmt.Errorf("feeds[%d] %q: %w", i, f.ID, err)
		}
		f.URL = u
		if err := f.validate(); err != nil {
			return nil, fmt.Errorf("feeds[%d] %q: %w", i, f.ID, err)
		}
		if _, dup := p.feeds[f.ID]; dup {
			return nil, fmt.Errorf("feeds[%d]: duplicate id %q", i, f.ID)
		}
		set := shared[f.Settings]
		if set == nil {
			st := f.Settings
			set = &st
			shared[st] = set
		}
		spec := set.Schedule
		if set.auto() {
			lo, _ := set.autoBounds()
			spec = "@every " + lo.String()
		}
		ps, ok := specs[spec]
		if !ok {
			var err error
			if ps, err = parseSpec(spec, loc); err != nil {
				return nil, fmt.Errorf("feeds[%d] %q: %w", i, f.ID, err)
			}
			specs[spec] = ps
		}
		at := groupSlot{spec: spec, offset: ps.offset(f.ID)}
		g := bySlot[at]
		if g == nil {
			sched, key := ps.forFeed(f.ID)
			if g = p.groups[key]; g == nil {
				g = &group{key: key, sched: sched}
				p.groups[key] = g
			}
			bySlot[at] = g
		}
		g.feeds = append(g.feeds, f.ID)
		p.feeds[f.ID] = &feedPlan{ID: f.ID, URL: f.URL, Tags: slices.Clone(f.Tags), Settings: set, group: g, reader: newReader(f.Source, u)}
		p.order = append(p.order, f.ID)
	}
	for i, r := range rules {
		if r.ID == "" {
			return nil, fmt.Errorf("rules[%d]: id is empty", i)
		}
		if _, dup := p.rules[r.ID]; dup {
			return nil, fmt.Errorf("rules[%d]: duplicate id %q", i, r.ID)
		}
		p.rules[r.ID] = r
	}
	return p, nil
}
