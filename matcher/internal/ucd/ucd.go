// Package ucd is the reference definition of newswatch's text normalisation for one character,
// taken from golang.org/x/text (NFKC, full case folding) and the standard unicode tables. It is
// slow; the matcher uses a table generated from it (see ../gen_fold.go) and its tests check that
// table against this package rune by rune.
package ucd

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Class is how the tokenizer treats a character after folding.
type Class uint8

const (
	// Sep separates words.
	Sep Class = iota
	// Word is part of a word (letters, digits, spacing marks).
	Word
	// Single is a character of a script written without spaces (Han, Hiragana, Katakana): a
	// word by itself.
	Single
	// Drop is removed without separating words (combining marks, format characters).
	Drop
)

var folder = cases.Fold()

// Fold returns the normal form of one character: NFKC, full case folding, combining marks and
// format characters removed, recomposed (so Hangul syllables stay whole). It may return several
// characters ("ß" is "ss", "ﬁ" is "fi") or none (a combining mark).
func Fold(r rune) string {
	if r >= 0xD800 && r <= 0xDFFF || r > unicode.MaxRune {
		return string(utf8.RuneError)
	}
	// Folding is applied until it no longer changes the text. x/text folds a few characters
	// (Cherokee) back and forth; the smallest form of such a cycle is the normal form.
	cur := fold1(string(r))
	best := cur
	for range 8 {
		n := fold1(cur)
		if n == cur {
			return cur
		}
		best = min(best, n)
		cur = n
	}
	return best
}

func fold1(s string) string {
	s = norm.NFKC.String(s)
	s = folder.String(s)
	s = norm.NFKC.String(s)
	d := norm.NFD.String(s)
	var b strings.Builder
	for _, c := range d {
		if removed(c) {
			continue
		}
		b.WriteRune(c)
	}
	return norm.NFC.String(b.String())
}

func removed(c rune) bool {
	if c == 0x200B { // zero width space separates words (Thai, Khmer)
		return false
	}
	return unicode.In(c, unicode.Mn, unicode.Me, unicode.Cf)
}

// ClassOf classifies a character that is already folded (Fold(r) == string(r)).
func ClassOf(r rune) Class {
	switch {
	case removed(r):
		return Drop
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana),
		r == 0x30FC, r == 0x3005: // prolonged sound mark and iteration mark belong to the script
		return Single
	case unicode.In(r, unicode.L, unicode.N, unicode.Mc):
		return Word
	}
	return Sep
}
