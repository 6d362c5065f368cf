package story

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The properties the extractor asks of a rune, looked up in a table for the runes below
// propRunes (the alphabets, Kana, Han and Hangul syllables: most of the text it reads) and
// computed by the unicode package above; and the folds of the runes below foldRunes. The
// tables are built from the unicode package's range tables and functions, so they answer as
// those do (TestRuneTables); they spare the binary searches in the range tables, which took a
// fifth of the extraction of Cyrillic text and of Han, Kana and Hangul.
const (
	propRunes = 0xD7B0 // to the end of the Hangul syllables
	foldRunes = 0x3000 // Latin, Greek, Cyrillic and their neighbours
)

const (
	propScript = 7 // the low bits: the script
	propUpper  = 1 << 3
	propLetter = 1 << 4
	propMark   = 1 << 5
	propWord   = 1 << 6 // a letter, a digit or a mark: part of a word of a title
)

var (
	runeProps [propRunes]uint8
	// runeFold is appendFolded's answer for the runes from 0x80 below foldRunes: the offset
	// of its bytes in foldBytes shifted left by 8, or'ed with their length.
	runeFold  [foldRunes]uint32
	foldBytes []byte
)

// buildRuneTables fills the tables, once, when the first Assigner is made or the first text
// extracted: a package init would cost every command that links the package (newswatch
// version included) 5 ms and 800 kB at start, stories or not.
var buildRuneTables = sync.OnceFunc(func() {
	flag := func(t *unicode.RangeTable, bit uint8) {
		eachRune(t, func(p *uint8) { *p |= bit })
	}
	flag(unicode.Upper, propUpper)
	flag(unicode.Letter, propLetter)
	flag(unicode.Mark, propMark)
	for _, t := range []*unicode.RangeTable{unicode.Letter, unicode.Digit, unicode.Mark} {
		flag(t, propWord)
	}
	// The scripts, as scriptOfRune answers: its cases from the last to the first, each
	// overriding those after it.
	for _, c := range []struct {
		t *unicode.RangeTable
		s script
	}{
		{unicode.Letter, scriptOther}, {unicode.Han, scriptHan}, {unicode.Katakana, scriptKana},
		{unicode.Hiragana, scriptKana}, {unicode.Hangul, scriptHangul}, {unicode.Greek, scriptGreek},
		{unicode.Cyrillic, scriptCyrillic}, {unicode.Latin, scriptLatin},
	} {
		eachRune(c.t, func(p *uint8) { *p = *p&^propScript | uint8(c.s) })
	}
	for r := rune(0x80); r < foldRunes; r++ {
		n := len(foldBytes)
		foldBytes = foldRune(foldBytes, r)
		runeFold[r] = uint32(n)<<8 | uint32(len(foldBytes)-n)
	}
})

// eachRune calls set with the properties of each rune of t below propRunes.
func eachRune(t *unicode.RangeTable, set func(p *uint8)) {
	for _, r := range t.R16 {
		for c := uint32(r.Lo); c <= uint32(r.Hi) && c < propRunes; c += uint32(r.Stride) {
			set(&runeProps[c])
		}
	}
	for _, r := range t.R32 {
		for c := r.Lo; c <= r.Hi && c < propRunes; c += r.Stride {
			set(&runeProps[c])
		}
	}
}

func scriptOf(r rune) script {
	if uint32(r) < propRunes {
		return script(runeProps[r] & propScript)
	}
	return scriptOfRune(r)
}

func isUpper(r rune) bool {
	if uint32(r) < propRunes {
		return runeProps[r]&propUpper != 0
	}
	return unicode.Is(unicode.Upper, r) // as unicode.IsUpper above Latin-1, and inlined

}

func isLetter(r rune) bool {
	if uint32(r) < propRunes {
		return runeProps[r]&propLetter != 0
	}
	return unicode.Is(unicode.Letter, r) // as unicode.IsLetter above Latin-1, and inlined

}

func isMark(r rune) bool {
	if uint32(r) < propRunes {
		return runeProps[r]&propMark != 0
	}
	return unicode.IsMark(r)
}

// isWordRune reports whether r is a letter, a digit or a mark.
func isWordRune(r rune) bool {
	if uint32(r) < propRunes {
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
	case r < foldRunes:
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
