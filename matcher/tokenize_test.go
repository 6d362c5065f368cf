package matcher

import (
	"slices"
	"strings"
	"testing"
	"unsafe"
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

// tokenizeSeeds are texts that exercise every branch of the tokenizer's slow path: words that
// fold to themselves and words that do not, expansions, combining marks inside and around
// words, invalid and truncated UTF-8, surrogates and overlong forms, four-byte characters.
var tokenizeSeeds = []string{
	"North Korea's troops", "north-korean", "G7, 2024: 3.5%", "Straße STRASSE", "ΟΔΟΣ οδός", "Αθήνα",
	"Ёлка КНДР", "Café naïve École", "e\u0301cole", "ＵＳＡ　１２３", "ﬁnance ﬂow", "북한 군대가", "北朝鮮",
	"ミサイルを", "ﾐｻｲﾙ", "iPhone手机", "news\u00adpaper", "—…!?", "a½b", "",
	"ＵＳＡ: Straße e\u0301cole 北朝", "Straße ＵＳＡ ﬁ ½ ǅ İ ΐ ﷺ ㈱ ᏸ", "north-korea's 北朝鮮 북한 Курск",
	"北朝鮮のミサイル 북한", "e\u0301cole Ёлка ΟΔΟΣ", "a½b ①", "\xff\xfe bad utf8",
	"курск курсК Курск курск\u0301 ку\u0301рск", "войска\u0301", "\u0301курск", "οδός οδοσ ΟΔΟΣ",
	"straße maßnahme ß ﬁ ﬂ ﬃ ǆ", "αβγ\xffδεζ", "мир\xc0\xafмир", "\xe0\x80\xaf \xed\xa0\x80 \xed\x9f\xbf \xee\x80\x80",
	"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \xf4\x90\x80\x80",
	"жж\xe2\x82", "жж\xd0", "ж\xe2\x82ж", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚 😀x", "한국어\u200b문장", "한국어\u0301", "ｶﾞｷﾞ ガギ",
	"汉字abc漢字", "abc汉字", "αβγδεζηθικλμνξοπρστυφχψω", "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
	"\xe0\x81\xa1bc \xc1\xa1bc \xe0\xa0\x80bc жж\xe0\x81\xa1", "ABCDEFGHabcdefgh1234567", "x\u0301y\u0301z", "\u0301\u0301", "Ωmega ωmega Ωμέγα", "İstanbul ıi",
}

// checkTokensAgree tokenizes s with the tokenizer and with refTokenizer, twice over (so that
// the second pass sees a buffer that is not empty), and fails at the first token that differs
// in word, offsets, instance or single. wide may differ, since a word may now lie in the source
// text where it was in the buffer: it must be set exactly when the eight bytes from the word's
// start lie in the memory that holds the word.
func checkTokensAgree(t *testing.T, s string) {
	t.Helper()
	for _, presize := range []bool{false, true} {
		var ref refTokenizer
		var tk tokenizer
		if presize { // no reallocation, so that wide is checked against the buffer's one array
			ref.buf = make([]byte, 0, 32*len(s)+64)
			tk.buf = make([]byte, 0, 32*len(s)+64)
		}
		for inst := range int32(2) {
			ref.add(s, inst)
			tk.add(s, inst)
		}
		if len(tk.toks) != len(ref.toks) {
			t.Fatalf("%q: got %d tokens %v, want %d %v", s, len(tk.toks), tk.toks, len(ref.toks), ref.toks)
		}
		src := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		buf := uintptr(unsafe.Pointer(unsafe.SliceData(tk.buf)))
		for i, got := range tk.toks {
			want := ref.toks[i]
			if got.word != want.word || got.start != want.start || got.end != want.end || got.inst != want.inst ||
				got.single != want.single {
				t.Fatalf("%q: token %d: got %+v, want %+v", s, i, got, want)
			}
			p := uintptr(unsafe.Pointer(unsafe.StringData(got.word)))
			switch {
			case p >= src && p < src+uintptr(len(s)):
				if w := p-src+8 <= uintptr(len(s)); got.wide != w {
					t.Fatalf("%q: token %d %+v in the source text at %d: got wide %v, want %v", s, i, got, p-src, got.wide, w)
				}
			case p >= buf && p < buf+uintptr(cap(tk.buf)):
				if w := p-buf+8 <= uintptr(cap(tk.buf)); got.wide != w {
					t.Fatalf("%q: token %d %+v in the buffer at %d of %d: got wide %v, want %v", s, i, got, p-buf, cap(tk.buf), got.wide, w)
				}
			case presize:
				t.Fatalf("%q: token %d %+v lies neither in the source text nor in the buffer", s, i, got)
			}
		}
	}
}

func TestTokenizeAgrees(t *testing.T) {
	for _, s := range tokenizeSeeds {
		for n := range 9 { // words ending up to eight bytes before the end of the text
			checkTokensAgree(t, s+strings.Repeat(".", n))
		}
	}
	for _, c := range corpus(300, languages()) {
		for _, s := range []string{c.item.Title, c.item.Summary, c.item.Content} {
			checkTokensAgree(t, s)
		}
	}
}

// FuzzTokenizeAgrees: the tokenizer gives the words, offsets and flags of refTokenizer for
// every text, valid UTF-8 or not.
func FuzzTokenizeAgrees(f *testing.F) {
	for _, s := range tokenizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkTokensAgree(t, s)
	})
}
