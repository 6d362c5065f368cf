package slack

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/newswatch/newswatch/notifier"
)

// span is a byte range [start, end) of a text to show in bold.
type span struct{ start, end int }

// snippet returns the text to quote and the spans of it to show in bold. It is the event's
// snippet, with every occurrence of a hit's text in bold (hits carry offsets into their field,
// not into the snippet); without a snippet, the item's summary, with the summary's hits at
// their offsets. The text is cut to maxSnippet characters; a span the cut crosses is bold up to
// it, and only the first maxBold spans are bold.
func snippet(d notifier.EventData) (string, []span) {
	if text := strings.TrimSpace(d.Snippet); text != "" {
		text, kept := cutText(text, maxSnippet)
		var spans []span
		for _, h := range d.Hits {
			spans = append(spans, occurrences(text[:kept], h.Text)...)
		}
		return text, bounded(merge(spans), kept)
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
	text, kept := cutText(text, maxSnippet)
	return text, bounded(merge(spans), kept)
}

// bounded are the first maxBold of the sorted spans, clipped to the first kept bytes.
func bounded(spans []span, kept int) []span {
	var out []span
	for _, s := range spans {
		if s.start >= kept || len(out) == maxBold {
			break
		}
		out = append(out, span{s.start, min(s.end, kept)})
	}
	return out
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

// cutText shortens text to at most n characters (textLen), at a character a reader sees,
// adding "…" when it cut; kept is how many bytes of text it kept.
func cutText(text string, n int) (cut string, kept int) {
	if textLen(text) <= n {
		return text, len(text)
	}
	kept = len(strings.TrimRightFunc(text[:cutAt(text, n-textLen(ellipsis))], unicode.IsSpace))
	return text[:kept] + ellipsis, kept
}
