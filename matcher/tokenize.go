package matcher

import (
	"unicode/utf8"
	"unsafe"
)

// token is one word of an item or a query term: its normal form and where it came from.
type token struct {
	word  string // folded; points into the source text or the tokenizer's buffer
	start int32  // byte offsets of the word in the source text
	end   int32
	inst  int32 // field instance (see Matcher); 0 for query terms
	// single is set for a character of a script written without spaces: phrases of those
	// are anchored on pairs of characters, since one character is a poor anchor.
	single bool
	// wide is set when the eight bytes from the start of word lie in the memory of its source
	// text or of the tokenizer's buffer, so that the matcher may read them in one load.
	wide bool
}

// tokenizer turns text into normalised words. Its buffers are reused from one call of reset to
// the next, so that a warm tokenizer does not allocate.
type tokenizer struct {
	toks []token
	buf  []byte // folded words that differ from their source bytes
}

func (t *tokenizer) reset() {
	t.toks = t.toks[:0]
	t.buf = t.buf[:0]
}

// add appends the words of s, tagged with inst. A word is a run of letters and digits after
// folding; characters of Han, Hiragana and Katakana are words by themselves.
func (t *tokenizer) add(s string, inst int32) {
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

// wordState is the word being built by the slow path.
type wordState struct {
	in         bool
	start, end int // source offsets
	b0         int // start in buf
}

// slow tokenizes from s[i] character by character through the fold table, until it is back at
// an ASCII byte outside a word, and returns that index.
func (t *tokenizer) slow(s string, i int, inst int32) int {
	var w wordState
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
func (t *tokenizer) step(w *wordState, r rune, cls uint32, from, to int, inst int32) {
	switch cls {
	case clsWord:
		if !w.in {
			*w = wordState{in: true, start: from, b0: len(t.buf)}
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

func (t *tokenizer) finish(w *wordState, inst int32) {
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
func (t *tokenizer) bufString(b0 int) string {
	if b0 == len(t.buf) {
		return ""
	}
	return unsafe.String(&t.buf[b0], len(t.buf)-b0)
}

// Words returns the normalised words of s, as the matcher sees them: NFKC, full case folding,
// combining marks removed, split at every character that is not a letter or a digit, one word
// per Han, Hiragana or Katakana character.
func Words(s string) []string {
	var t tokenizer
	t.add(s, 0)
	out := make([]string, len(t.toks))
	for i, tk := range t.toks {
		out[i] = tk.word
	}
	return out
}
