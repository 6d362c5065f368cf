package delivery

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Sent is what a rule's delivery sent over a run of its alerts: the messages its readers got.
type Sent struct {
	Alerts  int // alerts delivered at once
	Digests int // digests (of mode digest, and of the rest of a budget's windows)
	Notices int // budget notices
	Spikes  int
}

// Messages is every message sent.
func (s Sent) Messages() int { return s.Alerts + s.Digests + s.Notices + s.Spikes }

// Setting is a delivery to preview, named for people.
type Setting struct {
	Name    string
	Options Options
	// Configured is true for the rule's own delivery.
	Configured bool
}

// PreviewBudget is the budget a preview tries: this many alerts an hour at once.
const PreviewBudget = 10

// PreviewSettings are the deliveries a preview compares: the rule's own when own is not nil,
// then immediate, a digest every hour, a digest every day (at midnight UTC) and a budget of
// PreviewBudget an hour, each with own's spike detection (the defaults when own is nil).
func PreviewSettings(own *Options) []Setting {
	var spike SpikeOptions
	var out []Setting
	if own != nil {
		spike = own.Spike
		out = append(out, Setting{Name: "configured (" + describe(own.WithDefaults()) + ")", Options: *own, Configured: true})
	}
	with := func(o Options) Options { o.Spike = spike; return o }
	return append(out,
		Setting{Name: "immediate", Options: with(Options{Mode: ModeImmediate})},
		Setting{Name: "digest every 1h", Options: with(Options{Mode: ModeDigest, Every: time.Hour})},
		Setting{Name: "digest every 24h", Options: with(Options{Mode: ModeDigest, Every: 24 * time.Hour})},
		Setting{Name: fmt.Sprintf("budget %d an hour", PreviewBudget), Options: with(Options{Mode: ModeBudget, Max: PreviewBudget})},
	)
}

// describe names options with defaults filled in: "digest every 1h0m0s", "budget 10 per 1h0m0s".
func describe(o Options) string {
	switch o.Mode {
	case ModeDigest:
		if o.Cron != "" {
			tz := o.TimeZone
			if tz == "" {
				tz = "UTC"
			}
			return fmt.Sprintf("digest at %s %s", o.Cron, tz)
		}
		return "digest every " + shortDuration(o.Every)
	case ModeBudget:
		return fmt.Sprintf("budget %d per %s", o.Max, shortDuration(o.Per))
	}
	return string(o.Mode)
}

// shortDuration is d in whole hours or minutes when it is one: 1h, 24h, 90m.
func shortDuration(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// Replay runs the alerts of rule through a fresh policy of o and state, in the order of their
// times (the order given among equal times), and counts what it sent: the alerts delivered at
// once, the notices and the spikes as they were decided, and the digests of every period that
// held an alert, those still open after the last alert included. It is the offline preview of a
// delivery: what the rule's readers would have got over these alerts.
func Replay(rule string, o Options, events []Event) (Sent, error) {
	p, err := New(rule, o)
	if err != nil {
		return Sent{}, err
	}
	st := &State{}
	var sent Sent
	due := func(now time.Time) {
		for _, d := range p.Due(st, now) {
			sent.Digests++
			p.Done(st, d.ID)
		}
	}
	ordered := slices.Clone(events)
	slices.SortStableFunc(ordered, func(a, b Event) int { return a.Time.Compare(b.Time) })
	for _, ev := range ordered {
		due(ev.Time)
		d := p.Decide(st, ev)
		if d.Action == Deliver {
			sent.Alerts++
		}
		if d.Notice != nil {
			sent.Notices++
		}
		if d.Spike != nil {
			sent.Spikes++
		}
	}
	if n := len(ordered); n > 0 {
		// Longer than any period a schedule can have (a monthly cron's): every one is closed.
		due(ordered[n-1].Time.Add(32 * 24 * time.Hour))
	}
	return sent, nil
}

// Publisher is the publisher of an item as digests and spikes count it: the host of its link
// without "www.", else its feed.
func Publisher(link, feed string) string {
	if u, err := url.Parse(link); err == nil && u.Hostname() != "" {
		return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	}
	return feed
}
