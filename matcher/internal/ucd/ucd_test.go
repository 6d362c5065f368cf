package ucd

import "testing"

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want string
	}{
		{'A', "a"}, {'ß', "ss"}, {'ς', "σ"}, {'é', "e"}, {'ё', "е"}, {'ά', "α"}, {'Ａ', "a"},
		{'ﬁ', "fi"}, {'İ', "i"}, {'\u0301', ""}, {'ｱ', "ア"}, {'가', "가"}, {'²', "2"},
		{0x13A0, "\u13a0"}, {0xAB70, "\u13a0"}, // Cherokee folds back and forth in x/text; the smaller wins
	} {
		if got := Fold(tc.r); got != tc.want {
			t.Errorf("Fold(%U): got %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want Class
	}{
		{'a', Word}, {'7', Word}, {'-', Sep}, {' ', Sep}, {'\'', Sep}, {'北', Single}, {'の', Single},
		{'ミ', Single}, {'ー', Single}, {'가', Word}, {'\u0301', Drop}, {'\u00ad', Drop}, {'\u200b', Sep},
	} {
		if got := ClassOf(tc.r); got != tc.want {
			t.Errorf("ClassOf(%U): got %d, want %d", tc.r, got, tc.want)
		}
	}
}
