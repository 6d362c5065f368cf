package source

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"strings"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html/charset"
)

// Sitemap parses a sitemap (https://www.sitemaps.org/protocol.html), gzipped or not, fetched
// from base. A <urlset> yields one item per <url>: its <loc> as link and GUID, and, from the
// Google News extension (https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap),
// news:title as title, news:publication_date as publication date, news:keywords as categories
// and news:publication/news:name as author; <lastmod> is the update date (and the publication
// date when there is no news: one). A <sitemapindex> yields no items but the addresses of its
// child sitemaps, at most MaxChildren, for the caller to fetch (with its own bounds).
//
// A <url> without a usable http(s) <loc> is skipped. A document whose root is neither element
// is ErrWrongType; one that does not scan, ErrMalformed.
func Sitemap(data []byte, base *url.URL) (feed *gofeed.Feed, children []string, err error) {
	if err := checkSize(data); err != nil {
		return nil, nil, err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		if data, err = gunzip(data); err != nil {
			return nil, nil, err
		}
	}
	feed, children, err = scanSitemap(data, base)
	if err != nil {
		return nil, nil, err
	}
	return feed, children, nil
}

func gunzip(data []byte) ([]byte, error) {
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	out, err := io.ReadAll(io.LimitReader(z, MaxDocBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	if len(out) > MaxDocBytes {
		return nil, fmt.Errorf("%w: gzipped sitemap over %d bytes", ErrTooLarge, MaxDocBytes)
	}
	if isBlank(out) {
		return nil, ErrEmpty
	}
	return out, nil
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod"`
	News    struct {
		Publication struct {
			Name     string `xml:"name"`
			Language string `xml:"language"`
		} `xml:"publication"`
		PublicationDate string `xml:"publication_date"`
		Title           string `xml:"title"`
		Keywords        string `xml:"keywords"`
	} `xml:"news"`
}

type sitemapChild struct {
	Loc string `xml:"loc"`
}

func scanSitemap(data []byte, base *url.URL) (*gofeed.Feed, []string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = charset.NewReaderLabel
	var feed *gofeed.Feed
	var children []string
	seen := map[string]bool{}
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local == "urlset":
				feed = newFeed(TypeSitemap, "", base, 64)
			case depth == 1 && t.Name.Local == "sitemapindex":
				children = []string{}
			case depth == 1:
				return nil, nil, fmt.Errorf("%w: root element <%s>, want <urlset> or <sitemapindex>", ErrWrongType, t.Name.Local)
			case depth == 2 && feed != nil && t.Name.Local == "url":
				var u sitemapURL
				if err := d.DecodeElement(&u, &t); err != nil {
					return nil, nil, fmt.Errorf("%w: <url>: %w", ErrMalformed, err)
				}
				depth--
				if it := sitemapItem(u, base); it != nil && len(feed.Items) < MaxItems {
					feed.Items = append(feed.Items, it)
				}
			case depth == 2 && children != nil && t.Name.Local == "sitemap":
				var c sitemapChild
				if err := d.DecodeElement(&c, &t); err != nil {
					return nil, nil, fmt.Errorf("%w: <sitemap>: %w", ErrMalformed, err)
				}
				depth--
				if loc := resolve(base, c.Loc); loc != "" && !seen[loc] && len(children) < MaxChildren {
					seen[loc] = true
					children = append(children, loc)
				}
			default:
				if err := d.Skip(); err != nil {
					return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
				}
				depth--
			}
		case xml.EndElement:
			depth--
			if depth == 0 { // the root: what follows is not read
				return sitemapResult(feed, children)
			}
		}
		if feed != nil && len(feed.Items) == MaxItems {
			return feed, nil, nil
		}
	}
	if feed == nil && children == nil {
		if bytes.Contains(bytes.ToLower(data[:min(len(data), 1024)]), []byte("<html")) {
			return nil, nil, fmt.Errorf("%w: an HTML page", ErrWrongType)
		}
		return nil, nil, fmt.Errorf("%w: no <urlset> or <sitemapindex>", ErrWrongType)
	}
	// The document ended without closing its root: a cut transfer.
	return nil, nil, fmt.Errorf("%w: unexpected end of document", ErrMalformed)
}

func sitemapResult(feed *gofeed.Feed, children []string) (*gofeed.Feed, []string, error) {
	if feed == nil {
		return nil, children, nil
	}
	return feed, nil, nil
}

func sitemapItem(u sitemapURL, base *url.URL) *gofeed.Item {
	link := resolve(base, u.Loc)
	if link == "" {
		return nil
	}
	it := &gofeed.Item{
		Title: cut(html.EscapeString(u.News.Title)),
		Link:  link,
		GUID:  link,
	}
	setPublished(&it.Published, &it.PublishedParsed, u.News.PublicationDate)
	setPublished(&it.Updated, &it.UpdatedParsed, u.LastMod)
	if it.PublishedParsed == nil && it.UpdatedParsed != nil {
		it.Published, it.PublishedParsed = it.Updated, it.UpdatedParsed
	}
	for k := range strings.SplitSeq(cutTo(u.News.Keywords, 64<<10), ",") {
		if k = strings.TrimSpace(k); k != "" && len(it.Categories) < 100 {
			it.Categories = append(it.Categories, cut(html.EscapeString(k)))
		}
	}
	if name := strings.TrimSpace(u.News.Publication.Name); name != "" {
		it.Authors = []*gofeed.Person{{Name: cutTo(html.EscapeString(name), 1024)}}
	}
	return it
}
