package story

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The properties the extractor asks of a rune, looked up in tables for the runes below
// tableRunes (Latin, Greek, Cyrillic and their neighbours, most of the text it reads) and
// computed by the unicode package above. The tables are built from the same functions, so
// they answer as those do; they spare the binary searches of the unicode package's range
// tables, which took a fifth of the extraction of Cyrillic text.
const tableRunes = 0x3000

const (
	propScript = 7 // the low bits: the script
	propUpper  = 1 << 3
	propLetter = 1 << 4
	propMark   = 1 << 5
	propWord   = 1 << 6 // a letter, a digit or a mark: part of a word of a title
)

var (
	runeProps [tableRunes]uint8
	// runeFold is appendFolded's answer for the runes from 0x80 below tableRunes: the offset
	// of its bytes in foldBytes shifted left by 8, or'ed with their length.
	runeFold  [tableRunes]uint32
	foldBytes []byte
)

// buildRuneTables fills the tables, once, when the first Assigner is made or the first text
// extracted: a package init would cost every command that links the package (newswatch
// version included) 5 ms and 800 kB at start, stories or not.
var buildRuneTables = sync.OnceFunc(func() {
	for r := rune(0); r < tableRunes; r++ {
		p := uint8(scriptOfRune(r))
		if unicode.IsUpper(r) {
			p |= propUpper
		}
		if unicode.IsLetter(r) {
			p |= propLetter
		}
		if unicode.IsMark(r) {
			p |= propMark
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			p |= propWord
		}
		runeProps[r] = p
		if r >= 0x80 {
			n := len(foldBytes)
			foldBytes = foldRune(foldBytes, r)
			runeFold[r] = uint32(n)<<8 | uint32(len(foldBytes)-n)
		}
	}
})

func scriptOf(r rune) script {
	if uint32(r) < tableRunes {
		return script(runeProps[r] & propScript)
	}
	return scriptOfRune(r)
}

func isUpper(r rune) bool {
	if uint32(r) < tableRunes {
		return runeProps[r]&propUpper != 0
	}
	return unicode.Is(unicode.Upper, r) // as unicode.IsUpper above Latin-1, and inlined

}

func isLetter(r rune) bool {
	if uint32(r) < tableRunes {
		return runeProps[r]&propLetter != 0
	}
	return unicode.Is(unicode.Letter, r) // as unicode.IsLetter above Latin-1, and inlined

}

func isMark(r rune) bool {
	if uint32(r) < tableRunes {
		return runeProps[r]&propMark != 0
	}
	return unicode.IsMark(r)
}

// isWordRune reports whether r is a letter, a digit or a mark.
func isWordRune(r rune) bool {
	if uint32(r) < tableRunes {
		return runeProps[r]&propWord != 0
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// appendFolded appends r to e.buf, folded as foldRune does.
func (e *extractor) appendFolded(r rune) {
	switch {
	case r < 0x80:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		e.buf = append(e.buf, byte(r))
	case r < tableRunes:
		f := runeFold[r]
		e.buf = append(e.buf, foldBytes[f>>8:f>>8+f&0xff]...)
	default:
		e.buf = foldRune(e.buf, r)
	}
}

// foldRune appends r folded: lower case, marks dropped, Cyrillic and Greek transliterated.
func foldRune(b []byte, r rune) []byte {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(b, byte(r))
	}
	if s, ok := latinOf[r]; ok {
		return append(b, s...)
	}
	if unicode.IsMark(r) {
		return b
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}
