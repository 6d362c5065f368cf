package watcher

import (
	"time"

	"github.com/newswatch/newswatch/matcher"
)

// snippetWidth is the width handed to matcher.Snippet for an alert's snippet.
const snippetWidth = 200

// alertsFor matches items against the plan's index and returns one Alert per (item, rule).
func alertsFor(p *plan, f *feedPlan, feedTitle string, items []Item, now time.Time) []Alert {
	var alerts []Alert
	for _, it := range items {
		mi := it.MatcherItem(f.ID, f.Tags)
		for _, m := range p.index.Match(&mi) {
			alerts = append(alerts, Alert{
				RuleID:    m.Rule,
				RuleQuery: p.rules[m.Rule].Query,
				FeedID:    f.ID,
				FeedURL:   redactURL(f.URL),
				FeedTitle: feedTitle,
				Item:      it.AlertItem,
				Hits:      m.Hits,
				Snippet:   snippet(it, m.Hits),
				Time:      now,
			})
		}
	}
	return alerts
}

// snippet cuts the context of the first hit in the summary or content, where there is context
// to show, else of the first hit.
func snippet(it Item, hits []matcher.Hit) string {
	if len(hits) == 0 {
		return ""
	}
	h := hits[0]
	for _, c := range hits {
		if c.Field == "summary" || c.Field == "content" {
			h = c
			break
		}
	}
	mi := it.MatcherItem("", nil)
	text := mi.Field(h.Field, h.Index)
	if text == "" {
		return ""
	}
	return matcher.Snippet(text, h, snippetWidth)
}
