package source

import (
	"html"
	"strings"

	xhtml "golang.org/x/net/html"
)

// titleRunes is the length of a title made from a post's first line (posts have no title).
const titleRunes = 140

// textOf is the text of an HTML fragment, a line break for <br> and between blocks, entities
// decoded; at most limit bytes are read.
func textOf(fragment string, limit int) string {
	z := xhtml.NewTokenizer(strings.NewReader(cutTo(fragment, limit)))
	var b strings.Builder
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return b.String()
		case xhtml.TextToken:
			b.Write(z.Text())
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken, xhtml.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "br", "p", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6":
				b.WriteByte('\n')
			}
		}
	}
}

// titleFrom is a title for a post without one: its first non-blank line of text, cut to
// titleRunes at a word boundary with an ellipsis, HTML-escaped (item fields are HTML).
func titleFrom(text string) string {
	var line string
	for l := range strings.SplitSeq(strings.ToValidUTF8(text, "\uFFFD"), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			line = l
			break
		}
	}
	if r := []rune(line); len(r) > titleRunes {
		s := string(r[:titleRunes])
		if i := strings.LastIndexByte(s, ' '); i > titleRunes/2 {
			s = s[:i]
		}
		line = s + "…"
	}
	return html.EscapeString(line)
}
