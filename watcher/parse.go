package watcher

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/newswatch/newswatch/matcher"
)

// Item is one parsed feed item: its key, the fields an alert carries, and its content. Text
// fields are plain text (matcher.PlainText), the text that hit offsets refer to.
type Item struct {
	AlertItem
	Content string
}

// MatcherItem returns the item as the matcher sees it, for a feed and its tags.
func (it Item) MatcherItem(feedID string, tags []string) matcher.Item {
	return matcher.Item{
		FeedID:     feedID,
		Tags:       tags,
		Title:      it.Title,
		Summary:    it.Summary,
		Content:    it.Content,
		Link:       it.Link,
		Authors:    it.Authors,
		Categories: it.Categories,
	}
}

// date is the item's publication date, else its update date, else zero.
func (it Item) date() time.Time {
	if !it.Published.IsZero() {
		return it.Published
	}
	return it.Updated
}

// ParseItems parses an RSS, Atom or JSON Feed document and returns the feed's title and its
// items in document order. A body that is no feed is ErrNotAFeed; one that does not parse is
// ErrMalformedFeed.
func ParseItems(data []byte) (title string, items []Item, err error) {
	f, err := gofeed.NewParser().Parse(bytes.NewReader(data))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return "", nil, ErrNotAFeed
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrMalformedFeed, err)
	}
	items = make([]Item, 0, len(f.Items))
	for _, it := range f.Items {
		if it != nil {
			items = append(items, newItem(it))
		}
	}
	return matcher.PlainText(f.Title), items, nil
}

func newItem(it *gofeed.Item) Item {
	link := strings.TrimSpace(it.Link)
	if link == "" && len(it.Links) > 0 {
		link = strings.TrimSpace(it.Links[0])
	}
	published := timeOf(it.PublishedParsed)
	return Item{
		AlertItem: AlertItem{
			Key:        itemKey(it.GUID, link, it.Title, it.Published, published),
			GUID:       strings.TrimSpace(it.GUID),
			Link:       link,
			Title:      matcher.PlainText(it.Title),
			Summary:    matcher.PlainText(it.Description),
			Published:  published,
			Updated:    timeOf(it.UpdatedParsed),
			Authors:    authors(it.Authors),
			Categories: nonEmpty(it.Categories),
		},
		Content: matcher.PlainText(it.Content),
	}
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func authors(ps []*gofeed.Person) []string {
	var out []string
	for _, p := range ps {
		if p == nil {
			continue
		}
		name := p.Name
		if strings.TrimSpace(name) == "" {
			name = p.Email
		}
		if s := matcher.PlainText(name); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if t := matcher.PlainText(s); strings.TrimSpace(t) != "" {
			out = append(out, t)
		}
	}
	return out
}
