package matcher

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"ascii", "North Korea's troops", []string{"north", "korea", "s", "troops"}},
		{"hyphen", "north-korean", []string{"north", "korean"}},
		{"digits", "G7, 2024: 3.5%", []string{"g7", "2024", "3", "5"}},
		{"sharp s", "Straße STRASSE", []string{"strasse", "strasse"}},
		{"final sigma", "ΟΔΟΣ οδός", []string{"οδοσ", "οδοσ"}},
		{"greek tonos", "Αθήνα", []string{"αθηνα"}},
		{"cyrillic yo", "Ёлка КНДР", []string{"елка", "кндр"}},
		{"latin accents", "Café naïve École", []string{"cafe", "naive", "ecole"}},
		{"combining", "e\u0301cole", []string{"ecole"}},
		{"full width", "ＵＳＡ　１２３", []string{"usa", "123"}},
		{"ligatures", "ﬁnance ﬂow", []string{"finance", "flow"}},
		{"hangul", "북한 군대가", []string{"북한", "군대가"}},
		{"han", "北朝鮮", []string{"北", "朝", "鮮"}},
		{"kana", "ミサイルを", []string{"ミ", "サ", "イ", "ル", "を"}},
		{"half width kana", "ﾐｻｲﾙ", []string{"ミ", "サ", "イ", "ル"}},
		{"latin then han", "iPhone手机", []string{"iphone", "手", "机"}},
		{"soft hyphen", "news\u00adpaper", []string{"newspaper"}},
		{"punctuation only", "—…!?", nil},
		{"fraction", "a½b", []string{"a1", "2b"}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Words(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Words(%q): got %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestTokenOffsets(t *testing.T) {
	text := "ＵＳＡ: Straße e\u0301cole 北朝"
	var tk tokenizer
	tk.add(text, 3)
	want := []string{"ＵＳＡ", "Straße", "e\u0301cole", "北", "朝"}
	if len(tk.toks) != len(want) {
		t.Fatalf("got %d tokens, want %d", len(tk.toks), len(want))
	}
	for i, tok := range tk.toks {
		if got := text[tok.start:tok.end]; got != want[i] || tok.inst != 3 {
			t.Errorf("token %d: got %q in %d, want %q in 3", i, got, tok.inst, want[i])
		}
	}
}

func TestTokenizerIdempotent(t *testing.T) {
	for _, s := range []string{"Straße ＵＳＡ ﬁ ½ ǅ İ ΐ ﷺ ㈱ ᏸ", "north-korea's 北朝鮮 북한 Курск"} {
		once := Words(s)
		var again []string
		for _, w := range once {
			again = append(again, Words(w)...)
		}
		if !slices.Equal(once, again) {
			t.Errorf("Words not idempotent on %q: got %q then %q", s, once, again)
		}
	}
}
