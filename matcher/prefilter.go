package matcher

import (
	"slices"
	"sync"
	"unicode/utf8"
)

// prefilterMax is the most anchors (words, prefixes and pairs that the presearcher looks up)
// an index may have for Match to look for them in an item's raw text before tokenizing it.
// With a handful of rules, as a backtest or a playground query has, most items hold none of
// their anchors, and reading the bytes for a few characters costs a fraction of tokenizing
// them (BENCHMARKS.md). With many, nearly every item holds some anchor, and the tokenizer's
// lookups are the cheaper test.
const prefilterMax = 32

// prefilterSameStart is the most anchors that may start with one character. Each place where
// the text holds that character is compared with each of them: past eight, in English text,
// reading the bytes so costs more than tokenizing them (BENCHMARKS.md).
const prefilterSameStart = 8

// prefilter tells, from an item's raw text, that no anchor of an index can occur in its words.
// It rests on the tokenizer folding each character on its own (fold.go): a word is a run of
// the folded characters of its source, with dropped characters left out. So a word that is an
// anchor, or starts with a prefix anchor, is a run of the text's folded characters, which
// starts in a character whose folding holds the anchor's first character; two characters that
// form a pair have only separators and dropped characters between them. The prefilter finds
// those starting characters by their first byte, and folds the text only from them on.
type prefilter struct {
	lead    [256]bool    // first bytes of the UTF-8 of the characters in starts
	bmp     [1024]uint64 // characters below 0x10000 whose folding holds an anchor's first character
	astral  []rune       // the same above, sorted
	anchors []anchor
	// byASCII, by an ASCII letter or digit as it folds, the anchors that start with it.
	byASCII [128][]int32
}

// anchor is one key of the presearcher, folded.
type anchor struct {
	runes []rune
	text  string // the runes, in UTF-8
	pair  bool   // two characters of a pair: separators and dropped characters may lie between
}

// newPrefilter returns the prefilter for anchors, the keys the presearcher looks up by kind
// ('w', 'p' or 'b') and folded text, or nil when they are too many or one can't be told from
// raw text.
func newPrefilter(kinds []byte, texts []string) *prefilter {
	if len(texts) == 0 || len(texts) > prefilterMax {
		return nil
	}
	p := &prefilter{}
	starting := make(map[rune]int) // anchors by first character
	unfold := foldSources()
	for i, t := range texts {
		switch kinds[i] {
		case 'w', 'p', 'b': // words, prefixes and pairs are runs of folded characters
		default:
			return nil
		}
		a := anchor{runes: []rune(t), text: t, pair: kinds[i] == 'b'}
		if len(a.runes) == 0 || a.pair && len(a.runes) != 2 {
			return nil
		}
		first := a.runes[0]
		if starting[first]++; starting[first] > prefilterSameStart {
			return nil
		}
		switch foldEntry(first) & 3 {
		case clsSep, clsDrop:
			return nil
		}
		srcs := unfold[first]
		if e := foldEntry(first); e&4 == 0 && foldedRune(first, e) == first {
			srcs = append(slices.Clip(srcs), first)
		}
		for _, r := range srcs {
			if r == utf8.RuneError { // also what an invalid byte reads as
				return nil
			}
			var b [utf8.UTFMax]byte
			utf8.EncodeRune(b[:], r)
			p.lead[b[0]] = true
			if r < 0x10000 {
				p.bmp[r>>6] |= 1 << (r & 63)
			} else if !slices.Contains(p.astral, r) {
				p.astral = append(p.astral, r)
			}
		}
		if first < 0x80 {
			p.byASCII[first] = append(p.byASCII[first], int32(len(p.anchors)))
		}
		p.anchors = append(p.anchors, a)
	}
	slices.Sort(p.astral)
	return p
}

// foldSources maps each character to the other characters whose folding holds it: ‘K’ and
// ‘K’ (the Kelvin sign) to ‘k’, ‘ﬁ’ to ‘f’ and ‘i’. It is made once, from the fold table.
var foldSources = sync.OnceValue(func() map[rune][]rune {
	m := make(map[rune][]rune)
	for r := range rune(utf8.MaxRune + 1) {
		if 0xd800 <= r && r <= 0xdfff {
			continue // no text decodes to a surrogate
		}
		e := foldEntry(r)
		if e&4 != 0 {
			for _, x := range foldedExpansion(e) {
				if !slices.Contains(m[x], r) {
					m[x] = append(m[x], r)
				}
			}
			continue
		}
		if f := foldedRune(r, e); f != r {
			m[f] = append(m[f], r)
		}
	}
	return m
})

// starts reports whether the folding of r may hold the first character of an anchor.
func (p *prefilter) starts(r rune) bool {
	if r < 0x10000 {
		return p.bmp[r>>6]>>(r&63)&1 != 0
	}
	_, ok := slices.BinarySearch(p.astral, r)
	return ok
}

// mayHold reports whether some anchor may occur in the words of s: false only when none can.
func (p *prefilter) mayHold(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if !p.lead[c] {
			i++ // a continuation byte is never a lead, and an invalid byte reads as one byte
			continue
		}
		if c < 0x80 {
			if p.holdsASCII(s, i) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if p.starts(r) && p.holdsAt(r, s[i+size:]) {
			return true
		}
		i += size
	}
	return false
}

// holdsASCII reports whether an anchor starts at s[i], an ASCII byte that folds to the first
// character of some anchor. It compares ASCII bytes as they fold, and hands the anchor to
// follows at the first byte that is not ASCII.
func (p *prefilter) holdsASCII(s string, i int) bool {
	for _, ai := range p.byASCII[asciiFold[s[i]]] {
		a := &p.anchors[ai]
		j, k := i+1, 1
		for ; k < len(a.text) && j < len(s) && s[j] < 0x80 && !a.pair; j, k = j+1, k+1 {
			if asciiFold[s[j]] != a.text[k] {
				break
			}
		}
		switch {
		case k == len(a.text):
			return true
		case j < len(s) && (s[j] >= 0x80 || a.pair) && a.follows(foldReader{s: s[i+1:]}):
			return true
		}
	}
	return false
}

// holdsAt reports whether an anchor starts in the folding of r, which rest follows.
func (p *prefilter) holdsAt(r rune, rest string) bool {
	e := foldEntry(r)
	if e&4 == 0 {
		return p.holdsFrom(foldedRune(r, e), e&3, foldReader{s: rest})
	}
	exp := foldedExpansion(e)
	for j, x := range exp {
		if p.holdsFrom(x, foldEntry(x)&3, foldReader{exp: exp[j+utf8.RuneLen(x):], s: rest}) {
			return true
		}
	}
	return false
}

// holdsFrom reports whether an anchor starts with the folded character f of class cls, the text
// going on as next reads.
func (p *prefilter) holdsFrom(f rune, cls uint32, next foldReader) bool {
	if cls == clsDrop || cls == clsSep {
		return false
	}
	for _, a := range p.anchors {
		if a.runes[0] == f && a.follows(next) {
			return true
		}
	}
	return false
}

// follows reports whether the rest of a's characters come next in the folded text.
func (a anchor) follows(next foldReader) bool {
	for k := 1; k < len(a.runes); {
		f, cls, ok := next.read()
		switch {
		case !ok:
			return false
		case cls == clsDrop, cls == clsSep && a.pair:
			continue
		case cls == clsSep || f != a.runes[k]:
			return false
		}
		k++
	}
	return true
}

// foldReader reads text folded character by character, as the tokenizer folds it.
type foldReader struct {
	exp string // the rest of an expansion being read
	s   string
}

// read returns the next folded character and its class; ok is false at the text's end.
func (fr *foldReader) read() (f rune, cls uint32, ok bool) {
	for fr.exp == "" {
		if fr.s == "" {
			return 0, 0, false
		}
		r, size := utf8.DecodeRuneInString(fr.s)
		fr.s = fr.s[size:]
		e := foldEntry(r)
		if e&4 == 0 {
			return foldedRune(r, e), e & 3, true
		}
		fr.exp = foldedExpansion(e)
	}
	x, size := utf8.DecodeRuneInString(fr.exp)
	fr.exp = fr.exp[size:]
	return x, foldEntry(x) & 3, true
}
