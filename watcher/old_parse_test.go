package watcher

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	gofeedrss "github.com/mmcdole/gofeed/rss"
)

// parseDocumentGofeed is ParseDocument as it was before parsing was bounded: gofeed's universal
// parser on the whole document. The hostile-document benchmarks compare against it.
func parseDocumentGofeed(data []byte) (Document, error) {
	data = toUTF8(data, "")
	if len(bytes.TrimSpace(data)) == 0 {
		return Document{}, ErrEmptyBody
	}
	p := gofeed.NewParser()
	p.KeepOriginalFeed = true
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	f, err := p.Parse(bytes.NewReader(data))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return Document{}, ErrNotAFeed
	}
	if err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrMalformedFeed, err)
	}
	doc := Document{Title: plain(f.Title), Items: make([]Item, 0, min(len(f.Items), MaxItems))}
	for _, it := range f.Items {
		if len(doc.Items) == MaxItems {
			break
		}
		if it != nil {
			doc.Items = append(doc.Items, newItem(it))
		}
	}
	assignKeys(doc.Items)
	if rf, ok := f.OriginalFeed().(*gofeedrss.Feed); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(rf.TTL)); err == nil && n > 0 {
			doc.TTL = time.Duration(min(n, 7*24*60)) * time.Minute
		}
	}
	return doc, nil
}
