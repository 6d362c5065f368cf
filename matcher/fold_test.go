package matcher

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/newswatch/newswatch/matcher/internal/ucd"
)

// TestFoldTableMatchesUCD checks the generated table against its definition, rune by rune. It
// fails when fold_table.go is stale: run `go generate ./matcher`.
func TestFoldTableMatchesUCD(t *testing.T) {
	step := rune(1)
	if testing.Short() || raceEnabled {
		step = 7 // the reference is slow under the race detector; a stride still covers every block
	}
	bad := 0
	for r := rune(0); r <= unicode.MaxRune && bad < 10; r += step {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		e := foldEntry(r)
		want := ucd.Fold(r)
		var got string
		var cls uint32
		switch {
		case e&4 != 0:
			got = foldedExpansion(e)
			cls = 4
		case e&3 == clsDrop:
			got = ""
			cls = clsDrop
		default:
			got = string(foldedRune(r, e))
			cls = e & 3
		}
		if got != want {
			t.Errorf("fold %U: got %q, want %q", r, got, want)
			bad++
			continue
		}
		if cls < 3 {
			c, _ := utf8.DecodeRuneInString(want)
			if wc := uint32(ucd.ClassOf(c)); wc != cls {
				t.Errorf("class of %U: got %d, want %d", r, cls, wc)
				bad++
			}
		}
	}
}

func TestASCIIFastPathMatchesTable(t *testing.T) {
	for c := range rune(0x80) {
		e := foldEntry(c)
		want := byte(0)
		if e&3 == clsWord {
			want = byte(foldedRune(c, e))
		}
		if got := asciiFold[c]; got != want {
			t.Errorf("asciiFold[%q]: got %q, want %q", c, got, want)
		}
	}
}
