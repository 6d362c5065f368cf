package matcher

import "unicode/utf8"

// Character classes of the tokenizer; the values are those of internal/ucd.Class.
const (
	clsSep    = 0 // separates words
	clsWord   = 1 // part of a word
	clsSingle = 2 // a word by itself (Han, Hiragana, Katakana)
	clsDrop   = 3 // removed without separating words (combining marks)
)

// foldEntry returns the table entry of r: bits 0-1 the class of the folded character, bit 2
// set when r folds to several characters.
func foldEntry(r rune) uint32 {
	if uint32(r) > utf8.MaxRune {
		r = utf8.RuneError
	}
	return foldBlocks[int(foldIndex[r>>8])<<8|int(r&0xff)]
}

// foldedRune returns the character that r folds to, for an entry without expansion.
func foldedRune(r rune, e uint32) rune {
	return r + rune(int32(e)>>8)
}

// foldedExpansion returns the characters that r folds to, for an entry with expansion.
func foldedExpansion(e uint32) string {
	off := e >> 9
	return foldExpansions[off : off+(e>>3)&63]
}

// asciiFold is the fast path of the table for bytes below 0x80: the folded byte, or 0 for a
// separator. Bytes from 0x80 are 0 too, which ends an ASCII run.
var asciiFold = func() (t [256]byte) {
	for c := range rune(0x80) {
		e := foldEntry(c)
		if e&3 == clsWord {
			t[c] = byte(foldedRune(c, e))
		}
	}
	return t
}()
