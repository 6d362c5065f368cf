package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/delivery"
)

// noise replays the matches of a backtest through delivery policies offline: for each rule, how
// many messages each delivery setting would have sent over the archive read (backtest
// --deliveries), a preview of the noise before choosing. The replay is delivery.Replay, which the
// web console's playground shows too.
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
	if _, ok := n.events[m.Rule]; !ok {
		n.rules = append(n.rules, m.Rule)
	}
	n.events[m.Rule] = append(n.events[m.Rule], delivery.Event{ID: m.EventID, Story: story, Title: m.Item.Title,
		Link: m.Item.Link, Publisher: delivery.Publisher(m.Item.Link, m.Feed), Time: m.FirstSeen})
}

// print writes the preview: for each rule, each setting's alerts sent at once, digests, budget
// notices, spikes, and messages in all.
func (n *noise) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rule\tdelivery\tat once\tdigests\tnotices\tspikes\tmessages")
	for _, rule := range n.rules {
		own := n.own[rule]
		for _, s := range delivery.PreviewSettings(&own) {
			sent, err := delivery.Replay(rule, s.Options, n.events[rule])
			if err != nil {
				return fmt.Errorf("rule %s: %w", rule, err)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", rule, s.Name, sent.Alerts, sent.Digests, sent.Notices, sent.Spikes, sent.Messages())
		}
	}
	return tw.Flush()
}
