package source

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"github.com/mmcdole/gofeed"
)

// Selectors say where the items of a web page are, in CSS selector syntax (as goquery and
// browsers read it). Item is required; the others are looked up inside each item.
type Selectors struct {
	// Item matches one element per item.
	Item string `yaml:"item" json:"item"`
	// Title is the element whose text is the title. Empty: the text of the link element.
	Title string `yaml:"title" json:"title"`
	// Link is the element whose href is the item's address. Empty: the first a[href] of the
	// item, or the item itself when it is a link.
	Link string `yaml:"link" json:"link"`
	// Date is the element that holds the publication date: its datetime attribute (<time>),
	// else its content attribute (<meta>), else its text. Empty: no date.
	Date string `yaml:"date" json:"date"`
	// Summary is the element whose inner HTML is the summary. Empty: none.
	Summary string `yaml:"summary" json:"summary"`
}

// Validate compiles every selector; an invalid or missing one is ErrOptions naming it.
func (s Selectors) Validate() error {
	if strings.TrimSpace(s.Item) == "" {
		return fmt.Errorf("%w: selectors.item is required", ErrOptions)
	}
	for _, f := range []struct{ name, sel string }{
		{"item", s.Item}, {"title", s.Title}, {"link", s.Link}, {"date", s.Date}, {"summary", s.Summary},
	} {
		if f.sel == "" {
			continue
		}
		if _, err := cascadia.ParseGroup(f.sel); err != nil {
			return fmt.Errorf("%w: selectors.%s %q: %w", ErrOptions, f.name, f.sel, err)
		}
	}
	return nil
}

// HTML reads the items of a web page fetched from page by the selectors sel: one item per
// element that sel.Item matches, in document order, with the title, link, date and summary
// found inside it (see Selectors). Links are resolved against the page's address (and its
// <base href>); an item with neither title nor link is skipped. The feed's title is the
// page's <title>.
//
// Invalid selectors are ErrOptions; a page where sel.Item matches nothing, or nothing with a
// title or a link, is ErrNoItems.
func HTML(data []byte, page *url.URL, sel Selectors) (*gofeed.Feed, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if err := checkSizeOf(data, MaxPageBytes); err != nil {
		return nil, err
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	base := baseOf(doc, page)
	items := doc.Find(sel.Item)
	feed := newFeed(TypeHTML, strings.TrimSpace(doc.Find("title").First().Text()), page, items.Length())
	feed.Title = htmlEscapeText(feed.Title)
	items.EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if it := htmlItem(s, base, sel); it != nil {
			feed.Items = append(feed.Items, it)
		}
		return len(feed.Items) < MaxItems
	})
	if len(feed.Items) == 0 {
		return nil, fmt.Errorf("%w: selector %q matched %d elements, none with a title or link", ErrNoItems, sel.Item, items.Length())
	}
	return feed, nil
}

// baseOf is the page's address resolved by its <base href>, if it has one.
func baseOf(doc *goquery.Document, page *url.URL) *url.URL {
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b := resolve(page, href); b != "" {
			if u, err := url.Parse(b); err == nil {
				return u
			}
		}
	}
	return page
}

func htmlItem(s *goquery.Selection, base *url.URL, sel Selectors) *gofeed.Item {
	linkEl := s
	switch {
	case sel.Link != "":
		linkEl = s.Find(sel.Link).First()
	case !s.Is("a[href]"):
		linkEl = s.Find("a[href]").First()
	}
	href, _ := linkEl.Attr("href")
	link := resolve(base, href)
	titleEl := linkEl
	if sel.Title != "" {
		titleEl = s.Find(sel.Title).First()
	}
	title := strings.Join(strings.Fields(cutTo(titleEl.Text(), MaxFieldBytes)), " ")
	if title == "" && link == "" {
		return nil
	}
	it := &gofeed.Item{Title: cut(htmlEscapeText(title)), Link: link, GUID: link}
	if sel.Date != "" {
		d := s.Find(sel.Date).First()
		v, ok := d.Attr("datetime")
		if !ok {
			v, ok = d.Attr("content")
		}
		if !ok {
			v = d.Text()
		}
		setPublished(&it.Published, &it.PublishedParsed, v)
	}
	if sel.Summary != "" {
		if h, err := s.Find(sel.Summary).First().Html(); err == nil {
			it.Description = cut(strings.TrimSpace(h))
		}
	}
	return it
}

// htmlEscapeText escapes text taken out of a page back into the HTML item fields hold.
func htmlEscapeText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
