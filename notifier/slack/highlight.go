package slack

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/newswatch/newswatch/notifier"
)

// span is a byte range [start, end) of a text to show in bold.
type span struct{ start, end int }

// snippet returns the text to quote and the spans of it to show in bold. It is the event's
// snippet, with every occurrence of a hit's text in bold (hits carry offsets into their field,
// not into the snippet); without a snippet, the item's summary, with the summary's hits at
// their offsets.
func snippet(d notifier.EventData) (string, []span) {
	if text := strings.TrimSpace(d.Snippet); text != "" {
		text, _ = cutBytes(text, maxSnippet)
		var spans []span
		for _, h := range d.Hits {
			spans = append(spans, occurrences(text, h.Text)...)
		}
		return text, merge(spans)
	}
	text := d.Item.Summary
	if strings.TrimSpace(text) == "" {
		return "", nil
	}
	var spans []span
	for _, h := range d.Hits {
		if h.Field != "summary" || h.Index != 0 || h.Start < 0 || h.End > len(text) || h.Start >= h.End ||
			!utf8.RuneStart(text[h.Start]) || (h.End < len(text) && !utf8.RuneStart(text[h.End])) {
			continue
		}
		spans = append(spans, span{h.Start, h.End})
	}
	cut, kept := cutBytes(text, maxSnippet)
	var out []span
	for _, s := range merge(spans) {
		if s.end <= kept {
			out = append(out, s)
		}
	}
	return cut, out
}

// occurrences finds every occurrence of term in text: exactly, and also ignoring case when
// lower-casing keeps the byte offsets (it does for almost every script).
func occurrences(text, term string) []span {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil
	}
	hay, needle := text, term
	if lt, ln := strings.ToLower(text), strings.ToLower(term); len(lt) == len(text) && len(ln) == len(term) {
		hay, needle = lt, ln
	}
	var out []span
	for from := 0; from <= len(hay)-len(needle); {
		i := strings.Index(hay[from:], needle)
		if i < 0 {
			break
		}
		start := from + i
		out = append(out, span{start, start + len(needle)})
		from = start + len(needle)
	}
	return out
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	out := []span{spans[0]}
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// cutBytes shortens text to at most n bytes of it, at a character boundary, adding "…" when it
// cut; kept is how many bytes of text it kept.
func cutBytes(text string, n int) (cut string, kept int) {
	if len(text) <= n {
		return text, len(text)
	}
	i := n
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	return text[:i] + "…", i
}
