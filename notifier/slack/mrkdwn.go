package slack

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// ellipsis ends every text that was cut.
const ellipsis = "…"

// textLen is the length of s as Slack measures it against its limits. Slack counts characters,
// not bytes, without saying whether a character is a code point or a UTF-16 code unit; this
// counts UTF-16 code units, as JavaScript's String.length does (and with it Slack's Block Kit
// Builder and its SDKs' validators), an emoji outside the BMP counting 2. That is never less
// than the count of code points, so a text within a limit by this count is within it either
// way, at the price of a few characters of emoji-heavy text.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r) // an invalid byte ranges as U+FFFD, which JSON sends as one unit
	}
	return n
}

// cutAt is the length in bytes of the longest prefix of s at most n characters long (textLen)
// that ends where a reader sees a character end: never inside a UTF-8 sequence, nor before a
// combining mark, a joiner, a variation selector or an emoji modifier, nor between the two
// regional indicators of a flag.
func cutAt(s string, n int) int {
	units, best := 0, 0
	prev, indicators := rune(-1), 0
	for i, r := range s {
		if units > n {
			return best
		}
		if i > 0 && breakable(prev, r, indicators) {
			best = i
		}
		if isRegionalIndicator(r) {
			indicators++
		} else {
			indicators = 0
		}
		units += utf16.RuneLen(r)
		prev = r
	}
	if units <= n {
		return len(s)
	}
	return best
}

// breakable reports whether text may be cut between prev and next; indicators is the number of
// regional indicators that end the text up to prev.
func breakable(prev, next rune, indicators int) bool {
	switch {
	case prev == zwj, next == zwj,
		unicode.In(next, unicode.Mn, unicode.Me, unicode.Mc),
		unicode.Is(unicode.Variation_Selector, next),
		next >= 0x1F3FB && next <= 0x1F3FF, // emoji skin tones
		next >= 0xE0020 && next <= 0xE007F, // emoji tag sequences
		next >= 0x1160 && next <= 0x11FF,   // Hangul vowel and final jamo
		isRegionalIndicator(prev) && isRegionalIndicator(next) && indicators%2 == 1:
		return false
	}
	return true
}

const zwj = '\u200d'

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// truncate cuts plain text to at most n characters, ending with "…" when it cut.
func truncate(s string, n int) string {
	if textLen(s) <= n {
		return s
	}
	return strings.TrimRightFunc(s[:cutAt(s, n-textLen(ellipsis))], unicode.IsSpace) + ellipsis
}

// mrkdwn builds mrkdwn text that fit cuts to a length without breaking its markup: a link, a
// date or an entity is kept whole or left out, and a span in bold or in code is closed.
type mrkdwn struct {
	pieces []piece
	n      int // length of the pieces, in characters
}

type pieceKind int

const (
	textPiece  pieceKind = iota // escaped feed text without entities: may be cut at a character
	atomPiece                   // markup or an entity: whole or not at all
	openPiece                   // opens a span; s is its marker
	closePiece                  // closes the span last opened
)

type piece struct {
	kind pieceKind
	s    string
	n    int
}

func (m *mrkdwn) add(kind pieceKind, s string) {
	if s == "" {
		return
	}
	n := textLen(s)
	m.pieces = append(m.pieces, piece{kind, s, n})
	m.n += n
}

// markup appends s as it is, never cut: a link, a date, punctuation of our own.
func (m *mrkdwn) markup(s string) { m.add(atomPiece, s) }

// text appends feed text, escaped: Slack reads "<…>" as links and mentions and requires &, <
// and > as entities.
func (m *mrkdwn) text(s string) {
	for s != "" {
		i := strings.IndexAny(s, "&<>")
		if i < 0 {
			m.add(textPiece, s)
			return
		}
		m.add(textPiece, s[:i])
		m.add(atomPiece, entities[s[i]])
		s = s[i+1:]
	}
}

var entities = map[byte]string{'&': "&amp;", '<': "&lt;", '>': "&gt;"}

// styled appends feed text between marker and marker: "*" for bold, "`" for code.
func (m *mrkdwn) styled(marker, s string) {
	if s == "" {
		return
	}
	m.add(openPiece, marker)
	m.text(s)
	m.add(closePiece, marker)
}

// fit is the text, cut to at most n characters when it is longer: at a character of feed text
// or before a piece of markup, with "…" and the markers of the spans still open.
func (m *mrkdwn) fit(n int) string {
	var b strings.Builder
	if m.n <= n {
		for _, p := range m.pieces {
			b.WriteString(p.s)
		}
		return b.String()
	}
	var kept []piece
	var open []string
	used, closing := 0, 0 // closing: length of the markers open
	reserve := textLen(ellipsis)
	for _, p := range m.pieces {
		after := closing
		switch p.kind {
		case openPiece:
			after += p.n
		case closePiece:
			after -= textLen(open[len(open)-1])
		}
		if used+p.n+reserve+after <= n {
			kept = append(kept, p)
			used += p.n
			switch p.kind {
			case openPiece:
				open = append(open, p.s)
			case closePiece:
				open = open[:len(open)-1]
			}
			closing = after
			continue
		}
		if p.kind == textPiece {
			if i := cutAt(p.s, n-used-reserve-closing); i > 0 {
				kept = append(kept, piece{textPiece, p.s[:i], 0})
			}
		}
		break
	}
	// A span cut before any of its text is left out rather than shown empty.
	for len(kept) > 0 && kept[len(kept)-1].kind == openPiece {
		kept = kept[:len(kept)-1]
		open = open[:len(open)-1]
	}
	for _, p := range kept {
		b.WriteString(p.s)
	}
	out := strings.TrimRightFunc(b.String(), unicode.IsSpace) + ellipsis
	for i := len(open) - 1; i >= 0; i-- {
		out += open[i]
	}
	return out
}

// String is the whole text, uncut.
func (m *mrkdwn) String() string { return m.fit(m.n) }
