// Package discover finds the feeds of a web site from what the site says of itself: the
// <link rel="alternate"> of a page, its links that look like feeds, the Sitemap: lines of its
// robots.txt, and the paths where feeds commonly live. It only proposes addresses; fetching
// each to see whether it is a feed (with the watcher's guard and limits) is the caller's.
//
// Every function is pure and safe to call concurrently.
package discover

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// Limits of what one document yields.
const (
	// MaxPageBytes is the largest page read; a page over it is ErrTooLarge.
	MaxPageBytes = 5 << 20
	// MaxCandidates is how many candidates one page or one robots.txt yields at most.
	MaxCandidates = 100
)

// Kind says where a candidate was found, the most telling first.
type Kind string

const (
	// KindLink is a <link rel="alternate"> of a feed type: the site says it is a feed.
	KindLink Kind = "link"
	// KindAnchor is an <a href> whose address looks like a feed's.
	KindAnchor Kind = "anchor"
	// KindRobots is a Sitemap: line of robots.txt.
	KindRobots Kind = "robots"
	// KindProbe is a path where feeds and sitemaps commonly are.
	KindProbe Kind = "probe"
)

// Format is what a candidate is expected to be, when its markup or its address says.
type Format string

const (
	FormatRSS     Format = "rss"
	FormatAtom    Format = "atom"
	FormatJSON    Format = "json" // JSON Feed
	FormatSitemap Format = "sitemap"
	FormatUnknown Format = ""
)

// Candidate is an address that may be a feed or a sitemap.
type Candidate struct {
	URL    string
	Kind   Kind
	Format Format
	// Title is the title the page gives the link, if any.
	Title string
}

// ErrTooLarge is a page over MaxPageBytes.
var ErrTooLarge = fmt.Errorf("discover: page over %d bytes", MaxPageBytes)

// CommonPaths are the paths probed on a site's root, in order.
var CommonPaths = []string{"/feed", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json", "/sitemap.xml", "/news-sitemap.xml"}

// Page returns the candidate feeds of the HTML page data fetched from page: its <link
// rel="alternate"> of a feed type, then its links that look like feeds; resolved against the
// page's address (and its <base href>), http and https only, without fragments, each address
// once (the most telling kind kept), at most MaxCandidates. A page the HTML parser gives up on
// yields none. The whole list for a site is
// Merge(Page(home, u), Robots(robots, robotsURL), Probes(u)).
func Page(data []byte, page *url.URL) ([]Candidate, error) {
	if len(data) > MaxPageBytes {
		return nil, ErrTooLarge
	}
	var c collector
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(data))
	if err == nil {
		base := page
		if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
			if b, err := url.Parse(strings.TrimSpace(href)); err == nil {
				base = page.ResolveReference(b)
			}
		}
		doc.Find("link[rel][href]").Each(func(_ int, s *goquery.Selection) {
			rel, _ := s.Attr("rel")
			if !hasToken(rel, "alternate") && !hasToken(rel, "feed") {
				return
			}
			typ, _ := s.Attr("type")
			href, _ := s.Attr("href")
			f, ok := linkFormat(typ, href)
			if !ok {
				return
			}
			title, _ := s.Attr("title")
			c.add(base, href, KindLink, f, title)
		})
		doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			if f, ok := anchorFormat(base, href); ok {
				c.add(base, href, KindAnchor, f, strings.Join(strings.Fields(s.Text()), " "))
			}
		})
	}
	return c.out, nil
}

// Probes are CommonPaths on the site of page.
func Probes(page *url.URL) []Candidate {
	if page == nil || (page.Scheme != "http" && page.Scheme != "https") || page.Host == "" {
		return nil
	}
	out := make([]Candidate, 0, len(CommonPaths))
	for _, p := range CommonPaths {
		f := FormatUnknown
		switch {
		case strings.Contains(p, "sitemap"):
			f = FormatSitemap
		case strings.HasSuffix(p, ".json"):
			f = FormatJSON
		case strings.HasPrefix(p, "/atom"):
			f = FormatAtom
		case strings.HasPrefix(p, "/rss"):
			f = FormatRSS
		}
		u := url.URL{Scheme: page.Scheme, Host: page.Host, Path: p}
		out = append(out, Candidate{URL: u.String(), Kind: KindProbe, Format: f})
	}
	return out
}

// Robots returns the sitemaps named by the Sitemap: lines of a robots.txt fetched from
// robots, resolved, each once, at most MaxCandidates. Lines over 2 KiB are ignored.
func Robots(data []byte, robots *url.URL) []Candidate {
	var c collector
	for raw := range bytes.SplitSeq(data[:min(len(data), MaxPageBytes)], []byte("\n")) {
		if len(raw) > 2048 {
			continue
		}
		line, _, _ := strings.Cut(string(raw), "#")
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(key), "sitemap") {
			c.add(robots, value, KindRobots, FormatSitemap, "")
		}
	}
	return c.out
}

// Merge joins lists of candidates, each address once, the first occurrence kept.
func Merge(lists ...[]Candidate) []Candidate {
	var c collector
	for _, l := range lists {
		c.addAll(l)
	}
	return c.out
}

type collector struct {
	out  []Candidate
	seen map[string]bool
}

func (c *collector) add(base *url.URL, ref string, k Kind, f Format, title string) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 4096 {
		return
	}
	u, err := url.Parse(ref)
	if err != nil {
		return
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	c.push(u, Candidate{Kind: k, Format: f, Title: cut(title, 256)})
}

func (c *collector) addAll(cs []Candidate) {
	for _, cand := range cs {
		if u, err := url.Parse(cand.URL); err == nil {
			c.push(u, cand)
		}
	}
}

func (c *collector) push(u *url.URL, cand Candidate) {
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(c.out) >= MaxCandidates {
		return
	}
	u.Fragment, u.RawFragment = "", ""
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if u.Path == "" {
		u.Path = "/"
	}
	cand.URL = u.String()
	key := strings.ToLower(u.Scheme+"://"+u.Host) + u.RequestURI()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.out = append(c.out, cand)
}

func hasToken(list, token string) bool {
	for _, t := range strings.Fields(list) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

// linkFormat is the format of a <link rel="alternate"> by its type; ok is false for one that
// is no feed (a translation, a print view, WordPress's JSON API of the page).
func linkFormat(typ, href string) (Format, bool) {
	mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(typ)), ";")
	switch strings.TrimSpace(mt) {
	case "application/rss+xml", "application/rdf+xml":
		return FormatRSS, true
	case "application/atom+xml":
		return FormatAtom, true
	case "application/feed+json":
		return FormatJSON, true
	case "application/json":
		// WordPress links its REST API as alternate application/json: a feed only when the
		// address says so.
		if strings.Contains(strings.ToLower(href), "feed") {
			return FormatJSON, true
		}
	case "application/xml", "text/xml":
		return formatOfPath(href), true
	}
	return FormatUnknown, false
}

// anchorFormat says whether a link's address looks like a feed's, and of what format.
func anchorFormat(base *url.URL, href string) (Format, bool) {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return FormatUnknown, false
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return FormatUnknown, false
	}
	host := strings.ToLower(u.Hostname())
	p := strings.ToLower(strings.TrimSuffix(u.Path, "/"))
	q := strings.ToLower(u.RawQuery)
	name := path.Base(p)
	switch {
	case host == "feeds.feedburner.com" || strings.HasPrefix(host, "feeds."):
		return FormatUnknown, true
	case strings.HasSuffix(name, ".rss"), strings.HasSuffix(name, ".rdf"), name == "rss", name == "rss2":
		return FormatRSS, true
	case strings.HasSuffix(name, ".atom"), name == "atom":
		return FormatAtom, true
	case name == "feed.json":
		return FormatJSON, true
	case name == "feed", name == "feeds":
		return FormatUnknown, true
	case strings.HasSuffix(name, ".xml") && (strings.Contains(p, "rss") || strings.Contains(p, "atom") || strings.Contains(p, "feed")):
		return formatOfPath(p), true
	case strings.Contains(q, "feed=rss") || strings.Contains(q, "format=rss") || strings.Contains(q, "type=rss"):
		return FormatRSS, true
	case strings.Contains(q, "feed=atom") || strings.Contains(q, "format=atom"):
		return FormatAtom, true
	}
	return FormatUnknown, false
}

func formatOfPath(p string) Format {
	p = strings.ToLower(p)
	switch {
	case strings.Contains(p, "sitemap"):
		return FormatSitemap
	case strings.Contains(p, "atom"):
		return FormatAtom
	case strings.Contains(p, "rss"):
		return FormatRSS
	}
	return FormatUnknown
}

func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	r := []rune(s[:n])
	return string(r[:len(r)-1])
}
