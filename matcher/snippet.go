package matcher

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Snippet returns about width bytes of text around hit h: the hit with as much of its context
// on both sides as fits, cut at white space, with "… " or " …" where text was cut. text is the
// text of h's field (see Item.Field).
func Snippet(text string, h Hit, width int) string {
	if h.Start < 0 || h.End > len(text) || h.Start > h.End {
		return ""
	}
	start, end := SnippetBounds(text, h, width)
	s := strings.TrimSpace(text[start:end])
	if start > 0 {
		s = "… " + s
	}
	if end < len(text) {
		s += " …"
	}
	return s
}

// SnippetBounds returns the byte range of text that Snippet shows, before trimming white space and
// adding ellipses: for callers that mark the hits inside it.
func SnippetBounds(text string, h Hit, width int) (start, end int) {
	if h.Start < 0 || h.End > len(text) || h.Start > h.End || len(text) <= width {
		return 0, len(text)
	}
	room := max(width-(h.End-h.Start), 0)
	start, end = h.Start-room/2, h.End+(room-room/2)
	if start < 0 {
		end, start = end-start, 0
	}
	if end > len(text) {
		start, end = max(start-(end-len(text)), 0), len(text)
	}
	if start > 0 && !spaceBefore(text, start) {
		if i := strings.IndexFunc(text[start:h.Start], unicode.IsSpace); i >= 0 {
			start += i
		} else {
			start = h.Start
		}
	}
	if end < len(text) && !spaceAt(text, end) {
		if i := strings.LastIndexFunc(text[h.End:end], unicode.IsSpace); i >= 0 {
			end = h.End + i
		} else {
			end = h.End
		}
	}
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	for end < len(text) && !utf8.RuneStart(text[end]) {
		end++
	}
	return start, end
}

func spaceBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}

func spaceAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// Field returns the text of a field of the item, by the name and value index a Hit carries:
// the text Snippet needs for that hit.
func (it *Item) Field(name string, index int) string {
	switch name {
	case "title":
		return it.Title
	case "summary":
		return it.Summary
	case "content":
		return it.Content
	case "link":
		return it.Link
	case "author":
		if index >= 0 && index < len(it.Authors) {
			return it.Authors[index]
		}
	case "category":
		if index >= 0 && index < len(it.Categories) {
			return it.Categories[index]
		}
	}
	return ""
}
