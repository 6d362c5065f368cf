package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/internal/opml"
)

// importCmd groups the commands that bring feed lists in from other tools.
type importCmd struct {
	OPML importOPMLCmd `cmd:"" name:"opml" help:"Print the feeds of an OPML file (a feed reader's export) as entries of the configuration's feeds list."`
}

type importOPMLCmd struct {
	File string `arg:"" type:"path" help:"The OPML file; - for standard input." default:"-"`
}

// Run prints a feeds: list: one entry a feed, its title as a comment, its folders and categories
// as tags, ids made from the titles, valid and unique.
func (c importOPMLCmd) Run(e *env) error {
	var r io.Reader = e.stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	feeds, err := opml.Parse(r)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: import opml %s: %v\n", c.File, err)
		return exitError{1}
	}
	_, err = io.WriteString(e.stdout, feedsYAML(feeds))
	return err
}

// feedsYAML is the feeds: list of feeds. URLs are quoted as Go quotes strings, whose escapes
// YAML's double-quoted style reads the same; ids and tags need no quotes.
func feedsYAML(feeds []opml.Feed) string {
	var b strings.Builder
	b.WriteString("feeds:\n")
	ids := map[string]bool{}
	for _, f := range feeds {
		if title := oneLine(f.Title); title != "" {
			fmt.Fprintf(&b, "  # %s\n", title)
		}
		fmt.Fprintf(&b, "  - id: %s\n    url: %s\n", uniqueID(feedID(f), ids), strconv.Quote(f.URL))
		var tags []string
		seen := map[string]bool{}
		for _, c := range f.Categories {
			if t := slug(c); t != "" && !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
		if len(tags) > 0 {
			fmt.Fprintf(&b, "    tags: [%s]\n", strings.Join(tags, ", "))
		}
	}
	return b.String()
}

// feedID is a feed's id made from its title, else from its URL's host and path.
func feedID(f opml.Feed) string {
	if id := slug(f.Title); id != "" {
		return id
	}
	if u, err := url.Parse(f.URL); err == nil && u.Host != "" {
		if id := slug(strings.TrimPrefix(u.Hostname(), "www.") + " " + u.Path); id != "" {
			return id
		}
	}
	return "feed"
}

// maxIDLen is the longest id the configuration accepts.
const maxIDLen = 64

// uniqueID is id, or id with the first free suffix -2, -3, …, recorded in taken.
func uniqueID(id string, taken map[string]bool) string {
	cand := id
	for n := 2; taken[cand]; n++ {
		suffix := "-" + strconv.Itoa(n)
		cand = strings.TrimRight(id[:min(len(id), maxIDLen-len(suffix))], "-_") + suffix
	}
	taken[cand] = true
	return cand
}

// foldMarks removes combining marks after decomposition: "Café" -> "Cafe".
var foldMarks = transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// validID matches the ids and tags of the configuration.
var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// slug turns a name into an id or a tag ([a-z0-9][a-z0-9_-]{0,63}): a name that is one already
// stays as it is (so that an exported list comes back the same), else lower case ASCII letters
// and digits, every run of anything else one '-'. A name in another script gives "".
func slug(name string) string {
	if validID.MatchString(name) {
		return name
	}
	folded, _, err := transform.String(foldMarks, name)
	if err != nil {
		folded = name
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(folded) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= maxIDLen {
			break
		}
	}
	return strings.TrimRight(b.String()[:min(b.Len(), maxIDLen)], "-")
}

// oneLine is s with every run of white space, line breaks included, one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// exportCmd groups the commands that give the configuration's feeds to other tools.
type exportCmd struct {
	OPML exportOPMLCmd `cmd:"" name:"opml" help:"Print the configuration's feeds as an OPML 2.0 file, for feed readers."`
}

type exportOPMLCmd struct {
	Config string `short:"c" required:"" type:"path" help:"Configuration file."`
}

// Run prints the feeds of the configuration as OPML: the id as the title, the tags as the
// categories (the first one the folder). The URLs are those of the file, credentials included,
// since the list is for subscribing elsewhere.
func (c exportOPMLCmd) Run(e *env) error {
	cfg, err := config.Load(c.Config)
	if err != nil {
		printLoadError(e.stderr, err)
		return exitError{1}
	}
	feeds := make([]opml.Feed, 0, len(cfg.Feeds))
	var skipped []string
	for _, f := range cfg.Feeds {
		if f.Type != "" && f.Type != config.TypeRSS {
			// A feed reader reads feeds, not sitemaps, pages or APIs.
			skipped = append(skipped, f.ID+" ("+f.Type+")")
			continue
		}
		feeds = append(feeds, opml.Feed{Title: f.ID, URL: f.URL, Categories: f.Tags})
	}
	if len(skipped) > 0 {
		fmt.Fprintf(e.stderr, "newswatch: feeds of other types than rss left out: %s\n", strings.Join(skipped, ", "))
	}
	return opml.Write(e.stdout, "newswatch feeds of "+filepath.Base(c.Config), feeds)
}
