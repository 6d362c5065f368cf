package watcher

import (
	"bytes"
	"fmt"
	"strings"
)

// Hostile documents: each fits in the default max_body (10 MiB) and cost the parser far more
// than its size before parsing was bounded. They are built here rather than kept as files.

// hostileSize is the size the generators fill: the default max_body.
const hostileSize = 10 << 20

// hostileDoc is one generated document and what a parse of it must give.
type hostileDoc struct {
	name  string
	build func() []byte
	items int // items ParseDocument returns
}

var hostileDocs = []hostileDoc{
	{"atom-xmlbase-xhtml", hostileAtom, hostileAtomEntries},
	{"rss-empty-items", hostileRSSEmpty, MaxItems},
	{"json-items", hostileJSON, MaxItems},
	{"rss-cdata-html", hostileRSSCDATA, hostileCDATAItems},
}

// hostileAtomEntries is how many entries hostileAtom writes; each is about 500 KB.
const hostileAtomEntries = 20

// hostileAtom is an Atom document of 10 MiB in which every element carries an xml:base, and
// every entry a title of escaped nested HTML and a summary and content of inline XHTML nested
// up to 375 deep, full of relative links: the parser used to resolve every link against the bases
// and parse and re-render the HTML of every field.
func hostileAtom() []byte {
	var b bytes.Buffer
	b.Grow(hostileSize)
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.org/base/">
<title xml:base="t/">Hostile Atom</title><id xml:base="i/">urn:hostile</id><updated xml:base="u/">2026-11-26T15:00:00Z</updated>
`)
	per := (hostileSize - 1024) / hostileAtomEntries
	for i := range hostileAtomEntries {
		start := b.Len()
		fmt.Fprintf(&b, `<entry xml:base="e%d/"><id xml:base="i/">urn:hostile:%d</id>`, i, i)
		fmt.Fprintf(&b, `<title type="html" xml:base="t/">%s Kursk %d%s</title>`,
			strings.Repeat(`&lt;b&gt;&lt;a href="x/"&gt;`, 40), i, strings.Repeat(`&lt;/a&gt;&lt;/b&gt;`, 40))
		fmt.Fprintf(&b, `<link xml:base="l/" rel="alternate" href="a%d.html"/>`, i)
		b.WriteString(`<updated xml:base="u/">2026-11-26T15:00:00Z</updated><published xml:base="p/">2026-11-26T14:00:00Z</published>`)
		b.WriteString(`<author xml:base="a/"><name xml:base="n/">Ann Writer</name><uri xml:base="u/">me</uri></author>`)
		b.WriteString(`<category xml:base="c/" term="war"/>`)
		b.WriteString(`<summary type="xhtml" xml:base="s/"><div xmlns="http://www.w3.org/1999/xhtml" xml:base="d/"><p xml:base="p/">Kursk troops at the front.</p>`)
		nestXHTML(&b, 60)
		b.WriteString(`</div></summary>`)
		b.WriteString(`<content type="xhtml" xml:base="c/"><div xmlns="http://www.w3.org/1999/xhtml" xml:base="d/"><p xml:base="p/">Kursk troops at the front.</p>`)
		for b.Len()-start < per-16<<10 {
			nestXHTML(&b, 250)
		}
		b.WriteString("</div></content></entry>\n")
	}
	b.WriteString("</feed>\n")
	return b.Bytes()
}

// nestXHTML writes depth nested inline elements, each with an xml:base and a relative link,
// around a word.
func nestXHTML(b *bytes.Buffer, depth int) {
	for d := range depth {
		if d%2 == 0 {
			fmt.Fprintf(b, `<span xml:base="s%d/"><a href="r%d.html">`, d, d)
		} else {
			fmt.Fprintf(b, `<b xml:base="b%d/"><img src="i%d.png"/>`, d, d)
		}
	}
	b.WriteString("Kursk troops ")
	for d := depth - 1; d >= 0; d-- {
		if d%2 == 0 {
			b.WriteString("</a></span>")
		} else {
			b.WriteString("</b>")
		}
	}
}

// hostileRSSEmpty is an RSS document of 700,000 empty items.
func hostileRSSEmpty() []byte {
	var b bytes.Buffer
	b.Grow(hostileSize)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Empty</title><link>https://example.org/</link><description>d</description>
`)
	for range 700_000 {
		b.WriteString("<item></item>")
	}
	b.WriteString("\n</channel></rss>\n")
	return b.Bytes()
}

// hostileJSON is a JSON Feed of 1,000,000 items, the first MaxItems with an id; its title
// comes after them.
func hostileJSON() []byte {
	var b bytes.Buffer
	b.Grow(hostileSize)
	b.WriteString(`{"version":"https://jsonfeed.org/version/1.1","items":[`)
	for i := range 1_000_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		if i < MaxItems {
			fmt.Fprintf(&b, `{"id":"%x"}`, i)
		} else {
			b.WriteString(`{"id":""}`)
		}
	}
	b.WriteString(`],"title":"JSON flood"}`)
	return b.Bytes()
}

// hostileCDATAItems is how many items hostileRSSCDATA writes.
const hostileCDATAItems = 5

// hostileRSSCDATA is an RSS document of 10 MiB in five items, each with a description and a
// content:encoded of 1 MiB or so of HTML in CDATA.
func hostileRSSCDATA() []byte {
	var b bytes.Buffer
	b.Grow(hostileSize)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>CDATA</title><link>https://example.org/</link><description>d</description>
`)
	field := cdataHTML(1<<20 - 8<<10)
	for i := range hostileCDATAItems {
		fmt.Fprintf(&b, "<item><guid>c%d</guid><title>Item %d</title><link>https://example.org/%d</link>", i, i, i)
		fmt.Fprintf(&b, "<description><![CDATA[%s]]></description><content:encoded><![CDATA[%s]]></content:encoded></item>\n", field, field)
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}

// cdataHTML is n bytes or so of paragraphs of HTML.
func cdataHTML(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(`<p>Troops near <b>Kursk</b> <a href="/x">moved</a> at dawn &amp; dusk.</p><div><span><i>nested</i></span></div>`)
	}
	return b.String()
}
