package story

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestRuneTables holds the tables to the unicode package's answers, rune by rune.
func TestRuneTables(t *testing.T) {
	buildRuneTables()
	for r := rune(0); r < propRunes; r++ {
		if got, want := scriptOf(r), scriptOfRune(r); got != want {
			t.Fatalf("scriptOf(%U) = %d, want %d", r, got, want)
		}
		if got, want := isUpper(r), unicode.IsUpper(r); got != want {
			t.Fatalf("isUpper(%U) = %v, want %v", r, got, want)
		}
		if got, want := isLetter(r), unicode.IsLetter(r); got != want {
			t.Fatalf("isLetter(%U) = %v, want %v", r, got, want)
		}
		if got, want := isMark(r), unicode.IsMark(r); got != want {
			t.Fatalf("isMark(%U) = %v, want %v", r, got, want)
		}
		if got, want := isWordRune(r), unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r); got != want {
			t.Fatalf("isWordRune(%U) = %v, want %v", r, got, want)
		}
	}
	var e extractor
	for r := rune(0); r < foldRunes; r++ {
		e.buf = e.buf[:0]
		e.appendFolded(r)
		if want := foldRune(nil, r); !bytes.Equal(e.buf, want) {
			t.Fatalf("appendFolded(%U) = %q, want %q", r, e.buf, want)
		}
	}
}

// TestTitleCaseEarlyNo holds titleCase, which stops once the words left cannot make the share,
// to the answer of reading every word, over random texts of capitalised and lower-case words.
func TestTitleCaseEarlyNo(t *testing.T) {
	full := func(s string) bool {
		words, caps := 0, 0
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !isLetter(r) }) {
			if utf8.RuneCountInString(w) >= 4 {
				words++
				if r, _ := utf8.DecodeRuneInString(w); isUpper(r) {
					caps++
				}
			}
		}
		return words >= 3 && caps*10 >= words*6
	}
	buildRuneTables()
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := strings.Fields("Kursk kursk Troops troops of the North north Курск курск Ωμέγα ωμέγα 北朝鲜军队 Ab ab, 2024 -- Éire éire")
	yes := 0
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(20) {
			b.WriteString(vocab[rng.IntN(len(vocab))])
			b.WriteString([]string{" ", ", ", "-", ""}[rng.IntN(4)])
		}
		s := b.String()
		got, want := titleCase(s), full(s)
		if got != want {
			t.Fatalf("titleCase(%q) = %v, want %v", s, got, want)
		}
		if want {
			yes++
		}
	}
	if yes < 100 {
		t.Fatalf("only %d texts of 20000 are title case: the test tries too few", yes)
	}
}
