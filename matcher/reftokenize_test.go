package matcher

import (
	"unicode/utf8"
	"unsafe"
)

// refTokenizer is the tokenizer as it was before its slow path kept unchanged words in their
// source text and decoded UTF-8 itself: the reference that FuzzTokenizeAgrees compares the
// tokenizer with. Every word goes through the fold table and is copied into buf.
type refTokenizer struct {
	toks []token
	buf  []byte // folded words that differ from their source bytes
}

// add appends the words of s, tagged with inst. A word is a run of letters and digits after
// folding; characters of Han, Hiragana and Katakana are words by themselves.
func (t *refTokenizer) add(s string, inst int32) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x80 {
			i = t.slow(s, i, inst)
			continue
		}
		if asciiFold[c] == 0 {
			i++
			continue
		}
		// An ASCII run, the common case: copy it only when it has upper case letters.
		j, changed := i, byte(0)
		for j < len(s) {
			f := asciiFold[s[j]]
			if f == 0 {
				break
			}
			changed |= f ^ s[j]
			j++
		}
		if j < len(s) && s[j] >= 0x80 {
			i = t.slow(s, i, inst) // the word goes on beyond ASCII
			continue
		}
		w, wide := s[i:j], i+8 <= len(s)
		if changed != 0 {
			b0 := len(t.buf)
			for k := i; k < j; k++ {
				t.buf = append(t.buf, asciiFold[s[k]])
			}
			w, wide = t.bufString(b0), b0+8 <= cap(t.buf)
		}
		t.toks = append(t.toks, token{word: w, start: int32(i), end: int32(j), inst: inst, wide: wide})
		i = j
	}
}

// refWordState is the word being built by the slow path.
type refWordState struct {
	in         bool
	start, end int // source offsets
	b0         int // start in buf
}

// slow tokenizes from s[i] character by character through the fold table, until it is back at
// an ASCII byte outside a word, and returns that index.
func (t *refTokenizer) slow(s string, i int, inst int32) int {
	var w refWordState
	first := i
	for i < len(s) {
		c := s[i]
		if c < 0x80 && !w.in && i != first {
			return i
		}
		r, size := rune(c), 1
		if c >= 0x80 {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		e := foldEntry(r)
		if e&4 != 0 {
			for _, x := range foldedExpansion(e) {
				t.step(&w, x, foldEntry(x)&3, i, i+size, inst)
			}
		} else {
			t.step(&w, foldedRune(r, e), e&3, i, i+size, inst)
		}
		i += size
	}
	t.finish(&w, inst)
	return i
}

// step feeds one folded character of class cls, which came from s[from:to].
func (t *refTokenizer) step(w *refWordState, r rune, cls uint32, from, to int, inst int32) {
	switch cls {
	case clsWord:
		if !w.in {
			*w = refWordState{in: true, start: from, b0: len(t.buf)}
		}
		t.buf = utf8.AppendRune(t.buf, r)
		w.end = to
	case clsDrop:
		if w.in {
			w.end = to
		}
	case clsSingle:
		t.finish(w, inst)
		b0 := len(t.buf)
		t.buf = utf8.AppendRune(t.buf, r)
		t.toks = append(t.toks, token{word: t.bufString(b0), start: int32(from), end: int32(to), inst: inst, single: true,
			wide: b0+8 <= cap(t.buf)})
	default:
		t.finish(w, inst)
	}
}

func (t *refTokenizer) finish(w *refWordState, inst int32) {
	if !w.in {
		return
	}
	t.toks = append(t.toks, token{word: t.bufString(w.b0), start: int32(w.start), end: int32(w.end), inst: inst,
		wide: w.b0+8 <= cap(t.buf)})
	w.in = false
}

// bufString returns buf[b0:] as a string without copying. The bytes are never changed while
// the token lives: buf only grows until the next reset, and a reallocation leaves the old
// array, which the string keeps alive, as it was.
func (t *refTokenizer) bufString(b0 int) string {
	if b0 == len(t.buf) {
		return ""
	}
	return unsafe.String(&t.buf[b0], len(t.buf)-b0)
}
