package web

import (
	"html/template"
	"slices"
	"strings"
	"unicode/utf8"
)

// span is a matched byte range of a text.
type span struct{ Start, End int }

// highlight escapes text and wraps each span in <mark>. Spans are byte offsets into text, as the
// hits of an alert or a backtest give them; a span out of range or not on a rune boundary is
// left out (the text shows, unmarked), overlapping ones are merged.
func highlight(text string, spans []span) template.HTML {
	spans = cleanSpans(text, spans)
	var b strings.Builder
	at := 0
	for _, s := range spans {
		b.WriteString(template.HTMLEscapeString(text[at:s.Start]))
		b.WriteString("<mark>")
		b.WriteString(template.HTMLEscapeString(text[s.Start:s.End]))
		b.WriteString("</mark>")
		at = s.End
	}
	b.WriteString(template.HTMLEscapeString(text[at:]))
	return template.HTML(b.String())
}

// cleanSpans drops the spans that do not fit text, sorts and merges the rest.
func cleanSpans(text string, spans []span) []span {
	ok := make([]span, 0, len(spans))
	for _, s := range spans {
		if s.Start < 0 || s.End > len(text) || s.Start >= s.End || !boundary(text, s.Start) || !boundary(text, s.End) {
			continue
		}
		ok = append(ok, s)
	}
	slices.SortFunc(ok, func(a, b span) int { return a.Start - b.Start })
	out := ok[:0]
	for _, s := range ok {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

func boundary(text string, i int) bool {
	return i == len(text) || utf8.RuneStart(text[i])
}

// excerpt cuts a long text to about width bytes around its first span, with ellipses, and
// shifts the spans to match.
func excerpt(text string, spans []span, width int) (string, []span) {
	if len(text) <= width {
		return text, spans
	}
	spans = cleanSpans(text, spans)
	from := 0
	if len(spans) > 0 {
		from = max(0, spans[0].Start-width/4)
	}
	for from > 0 && !utf8.RuneStart(text[from]) {
		from--
	}
	to := min(len(text), from+width)
	for to < len(text) && !utf8.RuneStart(text[to]) {
		to++
	}
	cut := text[from:to]
	prefix, suffix := "", ""
	if from > 0 {
		prefix = "… "
	}
	if to < len(text) {
		suffix = " …"
	}
	var out []span
	for _, s := range spans {
		if s.Start >= from && s.End <= to {
			out = append(out, span{s.Start - from + len(prefix), s.End - from + len(prefix)})
		}
	}
	return prefix + cut + suffix, out
}
