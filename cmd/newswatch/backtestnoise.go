package main

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/delivery"
)

// noise replays the matches of a backtest through delivery policies offline: for each rule, how
// many messages each delivery setting would have sent over the archive read (backtest
// --deliveries), a preview of the noise before choosing.
type noise struct {
	rules  []string                    // in the order of their first match
	events map[string][]delivery.Event // by rule, in the archive's order
	own    map[string]delivery.Options // each rule's configured delivery
}

func newNoise(l *loaded) *noise {
	n := &noise{events: map[string][]delivery.Event{}, own: map[string]delivery.Options{}}
	for _, r := range l.cfg.Rules {
		n.own[r.ID] = deliveryOptions(r)
	}
	return n
}

// add records a match as the deliverer would see its alert; its time is when the item was first
// seen.
func (n *noise) add(m console.BacktestMatch) {
	story := m.Item.GUID
	if m.Story != nil {
		story = m.Story.ID
	}
	pub := m.Feed
	if u, err := url.Parse(m.Item.Link); err == nil && u.Hostname() != "" {
		pub = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	}
	if _, ok := n.events[m.Rule]; !ok {
		n.rules = append(n.rules, m.Rule)
	}
	n.events[m.Rule] = append(n.events[m.Rule], delivery.Event{ID: m.EventID, Story: story, Title: m.Item.Title,
		Link: m.Item.Link, Publisher: pub, Time: m.FirstSeen})
}

// noiseRow is what one setting would have sent for one rule.
type noiseRow struct {
	setting                          string
	immediate, digests, notices, spk int
}

func (r noiseRow) messages() int { return r.immediate + r.digests + r.notices + r.spk }

// settings are the delivery settings previewed besides the rule's own, with the rule's spikes.
func settings(own delivery.Options) []struct {
	name string
	o    delivery.Options
} {
	with := func(o delivery.Options) delivery.Options { o.Spike = own.Spike; return o }
	return []struct {
		name string
		o    delivery.Options
	}{
		{"configured (" + string(own.WithDefaults().Mode) + ")", own},
		{"immediate", with(delivery.Options{Mode: delivery.ModeImmediate})},
		{"digest every 1h", with(delivery.Options{Mode: delivery.ModeDigest, Every: time.Hour})},
		{"digest every 24h", with(delivery.Options{Mode: delivery.ModeDigest, Every: 24 * time.Hour})},
		{"budget 10 an hour", with(delivery.Options{Mode: delivery.ModeBudget, Max: 10})},
	}
}

// replay runs the events of one rule through one setting.
func replay(rule string, o delivery.Options, events []delivery.Event) (noiseRow, error) {
	p, err := delivery.New(rule, o)
	if err != nil {
		return noiseRow{}, err
	}
	st := &delivery.State{}
	var row noiseRow
	due := func(now time.Time) {
		for _, d := range p.Due(st, now) {
			row.digests++
			p.Done(st, d.ID)
		}
	}
	ordered := slices.Clone(events)
	slices.SortStableFunc(ordered, func(a, b delivery.Event) int { return a.Time.Compare(b.Time) })
	for _, ev := range ordered {
		due(ev.Time)
		d := p.Decide(st, ev)
		if d.Action == delivery.Deliver {
			row.immediate++
		}
		if d.Notice != nil {
			row.notices++
		}
		if d.Spike != nil {
			row.spk++
		}
	}
	if len(ordered) > 0 {
		due(ordered[len(ordered)-1].Time.Add(32 * 24 * time.Hour)) // the periods still open
	}
	return row, nil
}

// print writes the preview: for each rule, each setting's alerts sent at once, digests, budget
// notices, spikes, and messages in all.
func (n *noise) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rule\tdelivery\tat once\tdigests\tnotices\tspikes\tmessages")
	for _, rule := range n.rules {
		for _, s := range settings(n.own[rule]) {
			row, err := replay(rule, s.o, n.events[rule])
			if err != nil {
				return fmt.Errorf("rule %s: %w", rule, err)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", rule, s.name, row.immediate, row.digests, row.notices, row.spk, row.messages())
		}
	}
	return tw.Flush()
}
