package main

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"html"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/newswatch/newswatch/internal/feedsim"
)

// Full-text feeds: their items carry a headline alone and link to an article page that the
// simulator serves on the feed's own host, so that the daemon's `fulltext: auto` reads them.

// articlePrefix is the path of the article pages; an item's page is articlePrefix + its guid.
const articlePrefix = "/articles/"

// simLinkPrefix is how feedsim's item links begin; a full-text feed's document has them point
// at articlePrefix on the host the document was asked of.
const simLinkPrefix = "https://sim.example/"

// robotsTxt allows every agent everything but the control endpoints.
const robotsTxt = "User-agent: *\nDisallow: /-/\nAllow: /\n"

// fullTextFeeds picks the feeds of share (0 to 1) that are headline-only, by a hash of the feed
// number: a pick spread evenly over the numbers would put every one of them on the same few
// listeners (feed n is on listener n mod --hosts).
func fullTextFeeds(feeds int, share float64) []bool {
	picked := make([]bool, feeds)
	if share <= 0 {
		return picked
	}
	for n := range picked {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/fulltext", n)
		picked[n] = float64(h.Sum64()>>11)/(1<<53) < share
	}
	return picked
}

// headlineOnly makes a feed document of feedsim headline-only: its items lose their
// descriptions, and their links point at their article pages on host.
func headlineOnly(doc []byte, host string) []byte {
	i := bytes.Index(doc, []byte("<item>"))
	if i < 0 {
		return doc
	}
	out := make([]byte, 0, len(doc)+len(doc)/8)
	out = append(out, doc[:i]...)
	rest := bytes.ReplaceAll(doc[i:], []byte("<link>"+simLinkPrefix), []byte("<link>http://"+html.EscapeString(host)+articlePrefix))
	for {
		j := bytes.Index(rest, []byte("<description>"))
		if j < 0 {
			break
		}
		k := bytes.Index(rest[j:], []byte("</description>"))
		if k < 0 {
			break
		}
		out = append(out, rest[:j]...)
		rest = rest[j+k+len("</description>"):]
	}
	return append(out, rest...)
}

// guidItem is feed n and item k of a guid "sim-<n>-<k>".
func guidItem(guid string) (n int, k int64, ok bool) {
	rest, ok := strings.CutPrefix(guid, "sim-")
	if !ok {
		return 0, 0, false
	}
	ns, ks, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(ns)
	k, err2 := strconv.ParseInt(ks, 10, 64)
	return n, k, err1 == nil && err2 == nil && n >= 0 && k >= 0
}

// itemOf returns item k of feed n once it is published (at now or before): the newest item of
// the first instant at which the feed's latest item is k or later, found by bisection on time.
func itemOf(sim *feedsim.Sim, n int, k int64, now time.Time) (feedsim.Item, bool) {
	if sim.Latest(n, now) < k {
		return feedsim.Item{}, false
	}
	lo, hi := time.Unix(0, 0), now // Latest(lo) < k <= Latest(hi)
	if sim.Latest(n, lo) >= k {
		hi = lo
	}
	for hi.Sub(lo) > time.Nanosecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if sim.Latest(n, mid) >= k {
			hi = mid
		} else {
			lo = mid
		}
	}
	for _, it := range sim.ItemsAt(n, hi) {
		if int64(it.Index) == k {
			return it, true
		}
	}
	return feedsim.Item{}, false
}

// page is an article page: the article, and the site around it that an extractor leaves out.
type page struct {
	Feed      int
	Title     string
	Byline    string
	Published time.Time
	Lede      string   // the feed's own description of the item, in its language
	Body      []string // paragraphs
	Related   []string // headlines of the related list
	RelatedTo []string // and their paths
}

// articleOf is the page of item it: deterministic, the same every time it is asked for.
func articleOf(it feedsim.Item) page {
	g := newWords(uint64(it.Feed), uint64(it.Index))
	p := page{
		Feed: it.Feed, Title: it.Title, Published: it.Published, Lede: it.Description,
		Byline: g.name() + " and " + g.name(),
	}
	for range 5 + g.r.IntN(5) {
		p.Body = append(p.Body, g.paragraph())
	}
	for i := range 6 {
		p.Related = append(p.Related, g.headline())
		p.RelatedTo = append(p.RelatedTo, articlePrefix+fmt.Sprintf("sim-%d-%d", it.Feed, max(0, it.Index-1-i)))
	}
	return p
}

// sections are the site's navigation.
var sections = []string{"World", "Europe", "Asia", "Politics", "Business", "Markets", "Technology", "Science", "Climate", "Sport", "Culture", "Opinion"}

// render writes the page's HTML: a few KB, as a news site's article is without its scripts.
func (p page) render(host string) []byte {
	var b strings.Builder
	b.Grow(8 << 10)
	esc := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s | Simulated News %d</title>\n", esc(p.Title), p.Feed)
	fmt.Fprintf(&b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta property=\"og:title\" content=\"%s\">\n<meta property=\"og:type\" content=\"article\">\n", esc(p.Title))
	fmt.Fprintf(&b, "<meta property=\"article:published_time\" content=\"%s\">\n<link rel=\"stylesheet\" href=\"/static/site.css\">\n</head>\n<body>\n", p.Published.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "<header class=\"site-header\"><a class=\"logo\" href=\"http://%s/\">Simulated News</a>\n<nav class=\"main-nav\"><ul>\n", esc(host))
	for _, s := range sections {
		fmt.Fprintf(&b, "<li><a href=\"/%s\">%s</a></li>\n", strings.ToLower(s), s)
	}
	b.WriteString("</ul></nav>\n<form class=\"search\" action=\"/search\"><input name=\"q\" placeholder=\"Search\"><button>Search</button></form></header>\n")
	b.WriteString("<div id=\"cookie-banner\" class=\"gdpr-consent\" role=\"dialog\"><p>We and our partners use cookies and similar technologies to store and access information on your device, " +
		"to measure the audience of our articles and to show you personalised advertising. You can accept all cookies, refuse them, or choose which purposes you allow.</p>" +
		"<button>Accept all</button> <button>Refuse</button> <a href=\"/privacy\">Manage settings</a></div>\n")
	b.WriteString("<main>\n<article>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"byline\">By %s · <time datetime=\"%s\">%s</time></p>\n",
		esc(p.Title), esc(p.Byline), p.Published.UTC().Format(time.RFC3339), p.Published.UTC().Format("2 January 2006, 15:04 UTC"))
	fmt.Fprintf(&b, "<p><strong>%s</strong></p>\n", esc(p.Lede))
	for _, para := range p.Body {
		fmt.Fprintf(&b, "<p>%s</p>\n", esc(para))
	}
	b.WriteString("</article>\n<aside class=\"related\"><h2>Related</h2><ul>\n")
	for i, h := range p.Related {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", p.RelatedTo[i], esc(h))
	}
	b.WriteString("</ul></aside>\n</main>\n<footer class=\"site-footer\"><ul><li><a href=\"/about\">About us</a></li><li><a href=\"/contact\">Contact</a></li>" +
		"<li><a href=\"/privacy\">Privacy</a></li><li><a href=\"/terms\">Terms of use</a></li></ul><p>© 2026 Simulated News. All rights reserved.</p></footer>\n</body>\n</html>\n")
	return []byte(b.String())
}

// serveArticle answers GET /articles/<guid> with the item's page, 404 for an item not (yet)
// published.
func (c *control) serveArticle(w http.ResponseWriter, r *http.Request) {
	n, k, ok := guidItem(strings.TrimPrefix(r.URL.Path, articlePrefix))
	if !ok || n >= len(c.fullText) {
		c.articles.notFound.Add(1)
		http.NotFound(w, r)
		return
	}
	it, ok := itemOf(c.sim, n, k, time.Now())
	if !ok {
		c.articles.notFound.Add(1)
		http.NotFound(w, r)
		return
	}
	c.articles.pages.Add(1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Last-Modified", it.Published.UTC().Format(http.TimeFormat))
	_, _ = w.Write(articleOf(it).render(r.Host))
}

// words makes text of common English news words that none of the example rules match,
// deterministic for its seed.
type words struct{ r *rand.Rand }

func newWords(a, b uint64) words { return words{rand.New(rand.NewPCG(a, b^0x9e3779b97f4a7c15))} }

var vocabulary = strings.Fields(`the a of and to in on for with at by from as that this which was were is are has had
have been will would could said says told officials government minister ministry city council region country
report reports week year month day morning evening night today yesterday statement spokesperson agency
people residents workers families children students teachers doctors nurses farmers drivers voters
plan plans budget tax prices costs energy water power roads bridge railway port airport hospital school
court judge law bill vote election party leader leaders talks meeting summit agreement deal trade market
markets shares bank banks rates inflation growth jobs wages company companies industry factory exports
weather rain storm snow heat flood river coast harbour village town district province capital border
new old major local national international public private first second last several many few more less
early late long short strong weak higher lower rising falling expected announced confirmed denied
approved rejected opened closed started ended continued increased reduced returned remained reached
after before during while since until because although however despite according also still already`)

var names = strings.Fields(`Anna Ben Clara David Eva Felix Grace Hugo Ines Jonas Karin Leo Maria Nils Olga Paul Rosa Sami Tara Viktor`)
var surnames = strings.Fields(`Adler Berg Costa Dahl Engel Fischer Garcia Hansen Ivanova Jensen Keller Lund Moreau Novak Olsen Petrov Quinn Rossi Silva Weber`)

func (g words) name() string {
	return names[g.r.IntN(len(names))] + " " + surnames[g.r.IntN(len(surnames))]
}

func (g words) sentence(least, most int) string {
	n := least + g.r.IntN(most-least+1)
	var b strings.Builder
	for i := range n {
		w := vocabulary[g.r.IntN(len(vocabulary))]
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		if i > 2 && i < n-2 && g.r.IntN(9) == 0 {
			b.WriteByte(',')
		}
	}
	return b.String()
}

func (g words) paragraph() string {
	s := make([]string, 3+g.r.IntN(4))
	for i := range s {
		s[i] = g.sentence(8, 22) + "."
	}
	return strings.Join(s, " ")
}

func (g words) headline() string { return g.sentence(5, 9) }
