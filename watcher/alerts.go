package watcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// snippetWidth is the width handed to matcher.Snippet for an alert's snippet.
const snippetWidth = 200

// Bounds of one poll's alerts, so that neither an alert nor a poll grows with what a feed
// serves: a feed of 1,000 items of 8 KB that 50 rules all match would otherwise make 50,000
// alerts of every hit each, gigabytes before the first one is published.
const (
	// alertBatch is how many alerts are built and published at a time.
	alertBatch = 256
	// maxAlertHits is how many hits an alert carries; HitCount says how many there were.
	maxAlertHits = 20
	// The longest texts of an alert, in bytes, cut at a rune boundary. Hits' offsets still
	// refer to the field's full text, and the snippet is cut from it.
	maxAlertTitle    = 1 << 10 // the item's title and the feed's
	maxAlertSummary  = 4 << 10
	maxAlertID       = 2 << 10 // GUID, link and key
	maxAlertName     = 256     // an author, a category, the text of a hit
	maxAlertSnippet  = 1 << 10 // a snippet is snippetWidth wide unless its hit is wider
	maxAlertAuthors  = 20
	maxAlertCategory = 50
)

// alertTally is what the alerts of one poll came to.
type alertTally struct {
	published int
	// dropped is how many matches made no alert because the poll had published its feed's
	// MaxAlertsPerPoll, and droppedItems how many items had some of their matches dropped.
	dropped, droppedItems int
	byRule                map[string]int // alerts published, by rule
}

// publishAlerts matches items against the plan's index and publishes one Alert per (item,
// rule), alertBatch at a time, at most the feed's MaxAlertsPerPoll; the matches beyond them are
// counted, not published. It returns when every alert is acknowledged, or the first error of
// the publisher (see Watcher.publish).
func (w *Watcher) publishAlerts(ctx context.Context, p *plan, f *feedPlan, in alertInput, now time.Time) (alertTally, error) {
	t := alertTally{byRule: make(map[string]int)}
	limit := orDefault(f.MaxAlertsPerPoll, DefaultMaxAlertsPerPoll)
	feedURL, feedTitle := redactURL(f.URL), truncateUTF8(in.title, maxAlertTitle)
	items := in.items
	var batch []event.Alert
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.publish(ctx, f, batch); err != nil {
			return err
		}
		t.published += len(batch)
		batch = nil // the publisher may keep the slice: never reuse it
		return nil
	}
	for _, it := range items {
		mi := it.MatcherItem(f.ID, f.Tags)
		matches := p.index.Match(&mi)
		if len(matches) == 0 {
			continue
		}
		src := alertSource{feedID: f.ID, feedURL: feedURL, feedTitle: feedTitle, it: it, mi: &mi, story: in.stories[archivedKey(it)]}
		dropped := false
		for _, m := range matches {
			if t.published+len(batch) >= limit {
				t.dropped++
				dropped = true
				continue
			}
			batch = append(batch, src.alert(m, p.rules[m.Rule].Query, now))
			t.byRule[m.Rule]++
			if len(batch) == alertBatch {
				if err := flush(); err != nil {
					return t, err
				}
			}
		}
		if dropped {
			t.droppedItems++
		}
	}
	return t, flush()
}

// alertInput is what a poll's alerts are made of: the feed's title, the new items to match,
// and their stories by item key (nil: none known).
type alertInput struct {
	title   string
	items   []Item
	stories map[string]*storyResult
}

// alertSource is an item that matched, and what its alerts say of its feed.
type alertSource struct {
	feedID, feedURL, feedTitle string // the URL redacted, the title bounded
	it                         Item
	mi                         *matcher.Item // it as the matcher saw it
	story                      *storyResult  // nil: not known
	item                       event.Item    // it bounded, once the first alert needs it
	built                      bool
}

// alert is the alert of match m, a match of the rule of query, found at now.
func (s *alertSource) alert(m matcher.Match, query string, now time.Time) event.Alert {
	if !s.built {
		s.item, s.built = boundedItem(s.it.Item), true
	}
	a := event.Alert{
		RuleID:    m.Rule,
		RuleQuery: query,
		FeedID:    s.feedID,
		FeedURL:   s.feedURL,
		FeedTitle: s.feedTitle,
		Item:      s.item,
		Hits:      boundedHits(m.Hits, s.mi),
		HitCount:  len(m.Hits),
		Snippet:   truncateUTF8(snippet(s.it, m.Hits), maxAlertSnippet),
		Time:      now,
	}
	if s.story != nil {
		ref := storyRef(s.story.story, s.story.first[m.Rule])
		a.Story = &ref
	}
	return a
}

// boundedItem is it with every text cut to the bounds of an alert. A key too long to carry is
// replaced by its SHA-256, which identifies the item as well, so that its event id stays stable.
func boundedItem(it event.Item) event.Item {
	if len(it.Key) > maxAlertID {
		sum := sha256.Sum256([]byte(it.Key))
		it.Key = "sha256:" + hex.EncodeToString(sum[:])
	}
	it.GUID = truncateUTF8(it.GUID, maxAlertID)
	it.Link = truncateUTF8(it.Link, maxAlertID)
	it.Title = truncateUTF8(it.Title, maxAlertTitle)
	it.Summary = truncateUTF8(it.Summary, maxAlertSummary)
	it.Authors = boundedNames(it.Authors, maxAlertAuthors)
	it.Categories = boundedNames(it.Categories, maxAlertCategory)
	return it
}

// boundedNames is the first n of names, each cut to maxAlertName bytes; names itself when it is
// within bounds already, else a new slice.
func boundedNames(names []string, n int) []string {
	within := len(names) <= n
	for _, s := range names {
		within = within && len(s) <= maxAlertName
	}
	if within {
		return names
	}
	out := make([]string, min(len(names), n))
	for i := range out {
		out[i] = truncateUTF8(names[i], maxAlertName)
	}
	return out
}

// boundedHits is a copy of the first maxAlertHits hits of item mi, each text cut to
// maxAlertName bytes and its offsets counted in every unit too (matcher.Units); a copy, so that
// an alert does not keep the matcher's array of every hit alive.
func boundedHits(hits []matcher.Hit, mi *matcher.Item) []event.Hit {
	first := make([]matcher.Hit, min(len(hits), maxAlertHits))
	copy(first, hits)
	matcher.Units(first, mi)
	out := make([]event.Hit, len(first))
	for i, h := range first {
		out[i] = event.Hit(h)
		out[i].Text = truncateUTF8(h.Text, maxAlertName)
	}
	return out
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
