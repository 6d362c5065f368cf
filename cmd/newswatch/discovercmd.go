package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/watcher"
	"github.com/newswatch/newswatch/watcher/discover"
	"github.com/newswatch/newswatch/watcher/source"
)

type discoverCmd struct {
	URL          string        `arg:"" name:"url" help:"A page of the site: its home page, or any page of it."`
	JSON         bool          `name:"json" help:"Print the feeds found as a JSON array."`
	AllowPrivate bool          `name:"allow-private" env:"NEWSWATCH_DISCOVER_ALLOW_PRIVATE" help:"Fetch addresses that resolve to loopback, private or link-local addresses."`
	Timeout      time.Duration `name:"timeout" default:"30s" env:"NEWSWATCH_DISCOVER_TIMEOUT" help:"The bound of each fetch."`
}

// maxChecked is how many candidates discover fetches to check, the most telling first.
const maxChecked = 40

// discovered is a candidate that was fetched and parsed: a feed to propose.
type discovered struct {
	ID      string `json:"id"`
	URL     string `json:"url"`
	Type    string `json:"type"`             // rss or sitemap
	Format  string `json:"format,omitempty"` // rss, atom, json; sitemap or sitemap_index
	Title   string `json:"title,omitempty"`
	Items   int    `json:"items"`
	FoundBy string `json:"found_by"` // link, anchor, robots, probe
}

// Run exits 0 when it found feeds, 1 when it found none, 2 when the page could not be read.
func (c discoverCmd) Run(e *env) error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(e.stderr, "newswatch: discover: %q is not an http or https URL\n", watcher.RedactURL(c.URL))
		return exitError{2}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := fetchOptions(c.Timeout, config.DefaultMaxBody, c.AllowPrivate)

	page, err := watcher.FetchOnce(ctx, u.String(), opts)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: discover: %v\n", err)
		if errors.Is(err, watcher.ErrPrivateAddress) {
			fmt.Fprintln(e.stderr, "newswatch: hint: the URL resolves to a loopback, private or link-local address; pass --allow-private to read it")
		}
		return exitError{2}
	}
	// A page that is a feed itself is the answer.
	var candidates []discover.Candidate
	if doc, err := watcher.ReadDocument(ctx, page, u.String(), watcher.Source{}); err == nil && len(doc.Items) > 0 {
		candidates = append(candidates, discover.Candidate{URL: u.String(), Kind: discover.KindLink})
	}
	fromPage, _ := discover.Page(page, u)
	robotsURL := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
	var fromRobots []discover.Candidate
	if robots, err := watcher.FetchOnce(ctx, robotsURL.String(), opts); err == nil {
		fromRobots = discover.Robots(robots, robotsURL)
	}
	candidates = discover.Merge(candidates, fromPage, fromRobots, discover.Probes(u))
	if len(candidates) > maxChecked {
		fmt.Fprintf(e.stderr, "newswatch: discover: %d candidates; checking the first %d\n", len(candidates), maxChecked)
		candidates = candidates[:maxChecked]
	}

	results := make([]*discovered, len(candidates))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, cand := range candidates {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = check(ctx, cand, opts)
		})
	}
	wg.Wait()
	var feeds []discovered
	ids := map[string]bool{}
	for _, r := range results {
		if r != nil {
			r.ID = uniqueID(discoveredID(r.URL), ids)
			feeds = append(feeds, *r)
		}
	}
	if ctx.Err() != nil {
		return exitError{2}
	}
	if c.JSON {
		if feeds == nil {
			feeds = []discovered{}
		}
		out, _ := json.MarshalIndent(feeds, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", out)
	} else if len(feeds) > 0 {
		printFound(e.stdout, feeds)
	}
	fmt.Fprintf(e.stderr, "newswatch: discover: %d feeds found, %d addresses checked\n", len(feeds), len(candidates))
	if len(feeds) == 0 {
		return exitError{1}
	}
	return nil
}

// check fetches a candidate and reads it as a feed, else as a sitemap: nil when it is neither,
// or holds nothing.
func check(ctx context.Context, cand discover.Candidate, opts watcher.FetchOptions) *discovered {
	body, err := watcher.FetchOnce(ctx, cand.URL, opts)
	if err != nil {
		return nil
	}
	f := &discovered{URL: cand.URL, FoundBy: string(cand.Kind), Title: oneLine(cand.Title)}
	if doc, err := watcher.ReadDocument(ctx, body, cand.URL, watcher.Source{}); err == nil {
		f.Type, f.Items = config.TypeRSS, len(doc.Items)
		f.Format = string(feedFormat(body))
		if doc.Title != "" {
			f.Title = oneLine(doc.Title)
		}
		return f
	}
	u, _ := url.Parse(cand.URL)
	sm, children, err := source.Sitemap(body, u)
	switch {
	case err != nil:
		return nil
	case len(children) > 0:
		f.Type, f.Format, f.Items = config.TypeSitemap, "sitemap_index", len(children)
	case sm != nil && len(sm.Items) > 0:
		f.Type, f.Format, f.Items = config.TypeSitemap, "sitemap", len(sm.Items)
	default:
		return nil
	}
	return f
}

// feedFormat says whether a document read as a feed is RSS, Atom or JSON Feed.
func feedFormat(body []byte) discover.Format {
	head := strings.TrimSpace(string(body[:min(len(body), 4096)]))
	switch {
	case strings.HasPrefix(head, "{"):
		return discover.FormatJSON
	case strings.Contains(head, "<feed"):
		return discover.FormatAtom
	default:
		return discover.FormatRSS
	}
}

// discoveredID is a feed id made from an address's host and path: www.example.org/feed/ is
// example-org-feed.
func discoveredID(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "feed"
	}
	id := slug(strings.TrimPrefix(u.Hostname(), "www.") + " " + strings.TrimSuffix(u.Path, "/"))
	if id == "" {
		return "feed"
	}
	return id
}

// printFound prints the feeds as entries of the configuration's feeds: list.
func printFound(w io.Writer, feeds []discovered) {
	fmt.Fprintln(w, "feeds:")
	for _, f := range feeds {
		desc := f.Format
		if f.Title != "" {
			desc += ", " + strconv.Quote(f.Title)
		}
		fmt.Fprintf(w, "  # %s, %d %s; found by %s\n", desc, f.Items, map[bool]string{true: "child sitemaps", false: "items"}[f.Format == "sitemap_index"], foundBy(f.FoundBy))
		fmt.Fprintf(w, "  - id: %s\n", f.ID)
		if f.Type != config.TypeRSS {
			fmt.Fprintf(w, "    type: %s\n", f.Type)
		}
		fmt.Fprintf(w, "    url: %s\n", strconv.Quote(f.URL))
	}
}

func foundBy(kind string) string {
	switch discover.Kind(kind) {
	case discover.KindLink:
		return `<link rel="alternate">`
	case discover.KindAnchor:
		return "a link of the page"
	case discover.KindRobots:
		return "robots.txt"
	default:
		return "a common path"
	}
}
