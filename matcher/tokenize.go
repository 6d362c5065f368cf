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

// wordState is the word being built by the slow path. A word whose characters all fold to
// themselves, one after the other in the source, is the source text itself, as in the ASCII
// path; it is copied into buf only at its first character that does not.
type wordState struct {
	in         bool
	src        bool // the word so far is s[start:srcEnd]
	start, end int  // source offsets
	srcEnd     int
	b0         int // start in buf, when not src
}

// slow tokenizes from s[i] character by character through the fold table, until it is at an
// ASCII letter or digit outside a word, which the ASCII path takes on, and returns its index.
// Separators, and words whose characters all fold to themselves, take no call and no copy.
func (t *tokenizer) slow(s string, i int, inst int32) int {
	var w wordState
	first := i
	for i < len(s) {
		c := s[i]
		var e uint32 // clsSep for an ASCII separator
		size := 1
		if c < 0x80 {
			if f := asciiFold[c]; f != 0 {
				switch {
				case !w.in && i != first:
					return i
				case w.in && w.src && f == c && i == w.srcEnd:
					w.srcEnd, w.end = i+1, i+1
				default:
					t.step(&w, s, rune(f), clsWord, f == c, i, i+1, inst)
				}
				i++
				continue
			}
		} else {
			// The two- and three-byte forms of Cyrillic, Greek, Hangul, Han and Kana are
			// decoded here; the rest, and every invalid byte, by utf8.
			var r rune
			size = 0
			if c < 0xe0 {
				if c >= 0xc2 && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
					r, size = rune(c&0x1f)<<6|rune(s[i+1]&0x3f), 2
				}
			} else if c < 0xf0 && i+2 < len(s) && s[i+1]&0xc0 == 0x80 && s[i+2]&0xc0 == 0x80 {
				r = rune(c&0x0f)<<12 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
				if r >= 0x800 && (r < 0xd800 || r > 0xdfff) { // not overlong, not a surrogate
					size = 3
				}
			}
			if size == 0 {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			e = foldEntry(r)
			// An invalid byte decodes to RuneError of size 1, which is not its source.
			same := e>>8 == 0 && size > 1
			switch {
			case e&4 != 0:
				for _, x := range foldedExpansion(e) {
					t.step(&w, s, x, foldEntry(x)&3, false, i, i+size, inst)
				}
				i += size
				continue
			case e&3 == clsWord && w.in && w.src && same && i == w.srcEnd:
				w.srcEnd, w.end = i+size, i+size
				i += size
				continue
			case e&3 == clsWord && w.in && !w.src:
				// A word already copied into buf, as a capitalised or accented word is.
				if f := foldedRune(r, e); 0x80 <= f && f < 0x800 {
					t.buf = append(t.buf, byte(0xc0|f>>6), byte(0x80|f&0x3f))
				} else {
					t.buf = utf8.AppendRune(t.buf, f)
				}
				w.end = i + size
				i += size
				continue
			case e&3 == clsSep, e&3 == clsSingle && same:
			default:
				t.step(&w, s, foldedRune(r, e), e&3, same, i, i+size, inst)
				i += size
				continue
			}
		}
		// A separator, or a character of its own that is its source bytes: the end of a word.
		if w.in {
			if w.src {
				t.toks = append(t.toks, token{word: s[w.start:w.srcEnd], start: int32(w.start), end: int32(w.end),
					inst: inst, wide: w.start+8 <= len(s)})
				w.in = false
			} else {
				t.finish(&w, s, inst)
			}
		}
		if e&3 == clsSingle {
			t.toks = append(t.toks, token{word: s[i : i+size], start: int32(i), end: int32(i + size), inst: inst,
				single: true, wide: i+8 <= len(s)})
		}
		i += size
	}
	t.finish(&w, s, inst)
	return i
}

// step feeds one folded character of class cls, which came from s[from:to]; same says that the
// character is its source bytes.
func (t *tokenizer) step(w *wordState, s string, r rune, cls uint32, same bool, from, to int, inst int32) {
	switch cls {
	case clsWord:
		if !w.in {
			*w = wordState{in: true, src: true, start: from, srcEnd: from}
		}
		if w.src {
			if same && from == w.srcEnd {
				w.srcEnd, w.end = to, to
				return
			}
			w.src, w.b0 = false, len(t.buf)
			t.buf = append(t.buf, s[w.start:w.srcEnd]...)
		}
		t.buf = utf8.AppendRune(t.buf, r)
		w.end = to
	case clsDrop:
		if w.in {
			w.end = to
		}
	case clsSingle:
		t.finish(w, s, inst)
		if same {
			t.toks = append(t.toks, token{word: s[from:to], start: int32(from), end: int32(to), inst: inst, single: true,
				wide: from+8 <= len(s)})
			return
		}
		b0 := len(t.buf)
		t.buf = utf8.AppendRune(t.buf, r)
		t.toks = append(t.toks, token{word: t.bufString(b0), start: int32(from), end: int32(to), inst: inst, single: true,
			wide: b0+8 <= cap(t.buf)})
	default:
		t.finish(w, s, inst)
	}
}

func (t *tokenizer) finish(w *wordState, s string, inst int32) {
	if !w.in {
		return
	}
	tok := token{start: int32(w.start), end: int32(w.end), inst: inst}
	if w.src {
		tok.word, tok.wide = s[w.start:w.srcEnd], w.start+8 <= len(s)
	} else {
		tok.word, tok.wide = t.bufString(w.b0), w.b0+8 <= cap(t.buf)
	}
	t.toks = append(t.toks, tok)
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
