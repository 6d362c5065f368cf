// Package opml reads and writes feed lists in OPML, the format every feed reader imports and
// exports (OPML 1.0 and 2.0: miniflux, FreshRSS, Feedly, Inoreader, NetNewsWire). It knows the
// subscription-list subset: outlines with an xmlUrl are feeds, outlines without one are folders,
// which become the categories of the feeds inside them. It does no I/O of its own and is safe for
// concurrent use.
package opml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Feed is one subscription of a list.
type Feed struct {
	Title string // the outline's title, else its text; may be empty
	URL   string // xmlUrl
	// Categories are the folders the feed sits in (outermost first) and the entries of its
	// category attribute, without repeats.
	Categories []string
}

// document is an OPML file, as far as feed lists use it.
type document struct {
	XMLName xml.Name  `xml:"opml"`
	Version string    `xml:"version,attr"`
	Title   string    `xml:"head>title"`
	Body    []outline `xml:"body>outline"`
}

type outline struct {
	Text     string    `xml:"text,attr"`
	Title    string    `xml:"title,attr,omitempty"`
	Type     string    `xml:"type,attr,omitempty"`
	XMLURL   string    `xml:"xmlUrl,attr,omitempty"`
	HTMLURL  string    `xml:"htmlUrl,attr,omitempty"`
	Category string    `xml:"category,attr,omitempty"`
	Children []outline `xml:"outline"`
}

// maxDepth bounds the nesting of folders; feed lists have one or two levels.
const maxDepth = 32

// ErrNoFeeds is returned by Parse for a valid OPML document without a single feed.
var ErrNoFeeds = errors.New("opml: no feed (no outline with an xmlUrl)")

// Parse reads the feeds of an OPML document in document order. A feed listed twice (in two
// folders, say) is returned once, with the categories of both places.
func Parse(r io.Reader) ([]Feed, error) {
	var doc document
	dec := xml.NewDecoder(r)
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("opml: %w", err)
	}
	var feeds []Feed
	byURL := map[string]int{}
	var walk func(outlines []outline, folders []string, depth int) error
	walk = func(outlines []outline, folders []string, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("opml: folders nested deeper than %d", maxDepth)
		}
		for _, o := range outlines {
			name := strings.TrimSpace(o.Title)
			if name == "" {
				name = strings.TrimSpace(o.Text)
			}
			u := strings.TrimSpace(o.XMLURL)
			if u == "" {
				inner := folders
				if name != "" {
					inner = append(folders[:len(folders):len(folders)], name)
				}
				if err := walk(o.Children, inner, depth+1); err != nil {
					return err
				}
				continue
			}
			cats := append([]string(nil), folders...)
			for c := range strings.SplitSeq(o.Category, ",") {
				// Categories may be paths ("/News/World"); each part is a category.
				for part := range strings.SplitSeq(c, "/") {
					if part = strings.TrimSpace(part); part != "" {
						cats = append(cats, part)
					}
				}
			}
			if i, ok := byURL[u]; ok {
				feeds[i].Categories = appendNew(feeds[i].Categories, cats...)
				continue
			}
			byURL[u] = len(feeds)
			feeds = append(feeds, Feed{Title: name, URL: u, Categories: appendNew(nil, cats...)})
		}
		return nil
	}
	if err := walk(doc.Body, nil, 0); err != nil {
		return nil, err
	}
	if len(feeds) == 0 {
		return nil, ErrNoFeeds
	}
	return feeds, nil
}

// appendNew appends the values of add that list does not hold yet.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// Write writes feeds as an OPML 2.0 document titled title, in their order. A feed's first
// category is its folder, as readers that know only folders expect (feeds in a row with the same
// first category share one); all its categories are in its category attribute, so that nothing
// is lost on the way back.
func Write(w io.Writer, title string, feeds []Feed) error {
	doc := document{Version: "2.0", Title: title}
	folder := -1 // the index in doc.Body of the last feed's folder
	for _, f := range feeds {
		o := outline{Text: f.Title, Title: f.Title, Type: "rss", XMLURL: f.URL, Category: strings.Join(f.Categories, ",")}
		if len(f.Categories) == 0 {
			doc.Body = append(doc.Body, o)
			folder = -1
			continue
		}
		if folder < 0 || doc.Body[folder].Text != f.Categories[0] {
			folder = len(doc.Body)
			doc.Body = append(doc.Body, outline{Text: f.Categories[0], Title: f.Categories[0]})
		}
		doc.Body[folder].Children = append(doc.Body[folder].Children, o)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("opml: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
