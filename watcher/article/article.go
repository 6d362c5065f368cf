// Package article extracts the main text of an article page: the body a reader sees, without
// the navigation, related-headline lists, cookie notices and footers around it. It is the pure
// half of full-text matching: the watcher fetches the page (with its address guard, limits and
// politeness) and hands the bytes here.
//
// The extractor is readeck's fork of go-readability, a port of Mozilla's Readability.js (the
// reader view of Firefox). On the ScrapingHub article-extraction benchmark it scores a body
// F1 of 0.945 at a median of under 10 ms of CPU per page; go-trafilatura scores 0.960 at a
// similar cost but holds 31 MB of heap from the moment it is linked in (its date parser's
// tables), in every newswatch process whether full text is on or not. See BENCHMARKS.md.
//
// Extract is safe to call concurrently; it never retries.
package article

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// Bounds of one extraction.
const (
	// MaxInputBytes is the largest page Extract reads: a news article's HTML is rarely over
	// 1 MiB; what is larger is ErrTooLarge rather than seconds of CPU.
	MaxInputBytes = 5 << 20
	// MaxElements is the most elements a page may have; more is ErrTooLarge. News pages
	// have a few thousand.
	MaxElements = 50000
	// MinWords is the fewest words an article has: less is what the extractor finds on a
	// page without one (a menu, a caption), and the feed's own text is as good.
	MinWords = 15
	// DefaultMaxText is the longest text Extract returns when asked for no other bound.
	DefaultMaxText = 256 << 10
)

var (
	// ErrEmpty is a page with nothing but white space.
	ErrEmpty = errors.New("article: empty page")
	// ErrTooLarge is a page over MaxInputBytes or MaxElements.
	ErrTooLarge = errors.New("article: page too large")
	// ErrMalformed is a page the HTML parser gives up on (elements nested hundreds deep).
	ErrMalformed = errors.New("article: malformed page")
	// ErrNoArticle is a page without a body of text to extract: an index, a video, a login
	// wall. The caller falls back on the feed's own text.
	ErrNoArticle = errors.New("article: no article text")
)

// Article is what Extract finds in a page.
type Article struct {
	// Title is the article's headline, from its metadata or its heading.
	Title string
	// Text is the article's body as plain text, paragraphs separated by blank lines, cut to
	// the bound asked for.
	Text string
	// Truncated says that Text was cut.
	Truncated bool
}

// Options bound one extraction.
type Options struct {
	// ContentType is the Content-Type of the answer, whose charset (if any) decides how the
	// page is read; without one, a byte-order mark or <meta charset> does, else UTF-8 (or
	// windows-1252 for bytes that are not UTF-8), as browsers do.
	ContentType string
	// MaxText is the longest text returned, in bytes; DefaultMaxText when <= 0.
	MaxText int
}

// Extract returns the title and main text of the HTML page data fetched from page (whose
// address resolves the page's links and helps tell the article from the site around it). The
// text is cut at a rune boundary to opts.MaxText bytes.
//
// A page over MaxInputBytes or MaxElements is ErrTooLarge; one the HTML parser rejects,
// ErrMalformed; one without article text, ErrNoArticle.
func Extract(data []byte, page *url.URL, opts Options) (Article, error) {
	maxText := opts.MaxText
	if maxText <= 0 {
		maxText = DefaultMaxText
	}
	if len(data) > MaxInputBytes {
		return Article{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxInputBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Article{}, ErrEmpty
	}
	enc, _, _ := charset.DetermineEncoding(data, opts.ContentType)
	doc, err := html.Parse(transform.NewReader(bytes.NewReader(data), enc.NewDecoder()))
	if err != nil {
		return Article{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if n := countElements(doc, MaxElements+1); n > MaxElements {
		return Article{}, fmt.Errorf("%w: over %d elements", ErrTooLarge, MaxElements)
	}
	p := readability.NewParser()
	a, err := p.ParseAndMutate(doc, page)
	if err != nil {
		return Article{}, fmt.Errorf("%w: %w", ErrNoArticle, err)
	}
	if a.Node == nil {
		return Article{}, ErrNoArticle
	}
	var b strings.Builder
	if err := a.RenderText(&b); err != nil {
		return Article{}, fmt.Errorf("%w: %w", ErrNoArticle, err)
	}
	text := tidy(b.String())
	if n := len(strings.Fields(text)); n < MinWords {
		return Article{}, fmt.Errorf("%w: %d words", ErrNoArticle, n)
	}
	out := Article{Title: cutTo(strings.Join(strings.Fields(a.Title()), " "), 4<<10)}
	if len(text) > maxText {
		out.Text, out.Truncated = cutTo(text, maxText), true
	} else {
		out.Text = text
	}
	return out, nil
}

// tidy trims each line and keeps at most one blank line between paragraphs.
func tidy(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return b.String()
}

// cutTo cuts s to at most n bytes without splitting a rune.
func cutTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// countElements counts the elements of the tree under n, stopping at limit.
func countElements(n *html.Node, limit int) int {
	count := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && count < limit; c = c.NextSibling {
			if c.Type == html.ElementNode {
				count++
			}
			walk(c)
		}
	}
	walk(n)
	return count
}
