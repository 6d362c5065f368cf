package story

import (
	"unicode"
	"unicode/utf8"
)

// Kinds of feature. The kind is hashed with the feature's text, so a number and a word with the
// same letters never meet.
const (
	kindWord    = 'w' // a word's first letters after folding and transliteration
	kindNumber  = 'n' // a run of digits without leading zeros
	kindDate    = 'd' // a day and month
	kindConcept = 'c' // a term list of the configuration that the item matches
	kindCJK     = 'k' // two Han or Kana characters, or a Hangul word's first two syllables
)

// feature is one hashed key of an item. indep marks the keys that do not depend on the item's
// language (names, numbers, dates, concepts): they alone can tie two items in different
// languages.
type feature struct {
	h     uint32
	indep bool
	// weak marks dates and years: the same few values fill a day's news, so they count only
	// among the language-independent keys, never alone for a story in the same language.
	weak bool
}

type script uint8

const (
	scriptNone script = iota
	scriptLatin
	scriptCyrillic
	scriptGreek
	scriptHangul
	scriptKana
	scriptHan
	scriptOther
)

func scriptOfRune(r rune) script {
	switch {
	case r < 0x80:
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return scriptLatin
		}
		return scriptNone
	case unicode.Is(unicode.Latin, r):
		return scriptLatin
	case unicode.Is(unicode.Cyrillic, r):
		return scriptCyrillic
	case unicode.Is(unicode.Greek, r):
		return scriptGreek
	case unicode.Is(unicode.Hangul, r):
		return scriptHangul
	case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
		return scriptKana
	case unicode.Is(unicode.Han, r):
		return scriptHan
	case unicode.IsLetter(r):
		return scriptOther
	}
	return scriptNone
}

// maxText bounds the bytes of an item's text that are read, so one huge summary costs no more
// than a normal one.
const maxText = 1200

// extractor turns an item's text into features. It is one goroutine's scratch space: its slices
// are reused from item to item.
type extractor struct {
	feats   []feature
	seen    [dedupSize]uint32 // see dedup
	used    []uint32
	buf     []byte
	counts  [scriptOther + 1]int
	langVot [4]int // en, de, fr, es
	ukr     bool
	// the last token, for dates
	prevNum  int // the value of the previous token when it was a number of at most two digits, else -1
	prevMon  int // the month of the previous token when it was a month name, else 0
	prevCJK  rune
	sentence bool // the next word starts a sentence
}

var voteWords = map[string]int{
	"the": 0, "and": 0, "of": 0, "to": 0, "is": 0, "for": 0, "with": 0, "says": 0, "on": 0,
	"der": 1, "die": 1, "das": 1, "und": 1, "nicht": 1, "mit": 1, "fur": 1, "auf": 1, "ist": 1, "den": 1,
	"le": 2, "les": 2, "des": 2, "du": 2, "et": 2, "une": 2, "pour": 2, "dans": 2, "est": 2, "aux": 2,
	"el": 3, "los": 3, "las": 3, "del": 3, "y": 3, "una": 3, "por": 3, "para": 3, "con": 3, "tras": 3,
}

var voteLang = [4]string{"en", "de", "fr", "es"}

// extract fills e.feats with the sorted, distinct features of the text fields, and returns the
// language guessed from their scripts and function words.
func (e *extractor) extract(fields ...string) string {
	buildRuneTables()
	e.feats = e.feats[:0]
	e.counts = [scriptOther + 1]int{}
	e.langVot = [4]int{}
	e.ukr = false
	budget := maxText
	for _, f := range fields {
		if budget <= 0 {
			break
		}
		if len(f) > budget {
			f = f[:budget]
		}
		budget -= len(f)
		e.field(f)
	}
	e.dedup()
	return e.guess()
}

// dedupSize is the size of the table that finds repeated keys: a power of two above the most
// keys maxText bytes can make (a key needs a byte and a separator, or a CJK character).
const dedupSize = 1024

// dedup keeps one of each key, in the order of first occurrence, language-independent if any
// occurrence was.
func (e *extractor) dedup() {
	for _, h := range e.used {
		e.seen[h] = 0
	}
	e.used = e.used[:0]
	n := 0
	for _, f := range e.feats {
		h := (f.h * 2654435761) >> 22 // Fibonacci hashing to 10 bits
		for {
			v := e.seen[h]
			if v == 0 {
				e.feats[n] = f
				n++
				e.seen[h] = uint32(n)
				e.used = append(e.used, h)
				break
			}
			if g := &e.feats[v-1]; g.h == f.h {
				g.indep = g.indep || f.indep
				break
			}
			h = (h + 1) & (dedupSize - 1)
		}
	}
	e.feats = e.feats[:n]
}

func (e *extractor) guess() string {
	c := e.counts
	switch {
	case c[scriptHangul] > 0 && c[scriptHangul] >= c[scriptLatin]:
		return "ko"
	case c[scriptKana] > 0:
		return "ja"
	case c[scriptHan] > 0 && c[scriptHan] >= c[scriptLatin]:
		return "zh"
	case c[scriptCyrillic] > c[scriptLatin]:
		if e.ukr {
			return "uk"
		}
		return "ru"
	case c[scriptGreek] > c[scriptLatin]:
		return "el"
	case c[scriptLatin] > 0:
		best, n, tie := -1, 0, false
		for i, v := range e.langVot {
			if v > n {
				best, n, tie = i, v, false
			} else if v == n && v > 0 {
				tie = true
			}
		}
		if best >= 0 && !tie {
			return voteLang[best]
		}
	}
	return ""
}

// titleCase reports whether most longer words of s start with a capital, as English
// headlines do; capitals then say nothing about names.
func titleCase(s string) bool {
	words, caps := 0, 0
	start := true
	n := 0
	var first rune
	for i := 0; i < len(s); {
		r := rune(s[i])
		var letter bool
		if r < utf8.RuneSelf {
			letter = 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
			i++
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(s[i:])
			letter = isLetter(r)
			i += size
		}
		if letter {
			if start {
				first, n, start = r, 0, false
			}
			n++
			continue
		}
		if !start {
			if n >= 4 {
				words++
				if isUpper(first) {
					caps++
				}
				// The rest of s holds at most more words of four letters; if all of them
				// were capitalised and the share still fell short, the answer is no.
				more := (len(s)-i)/5 + 1
				if (caps+more)*10 < (words+more)*6 {
					return false
				}
			}
			start = true
		}
	}
	if !start && n >= 4 {
		words++
		if isUpper(first) {
			caps++
		}
	}
	return words >= 3 && caps*10 >= words*6
}

// field adds the features of one text field.
func (e *extractor) field(s string) {
	tc := titleCase(s)
	e.prevNum, e.prevMon, e.prevCJK = -1, 0, 0
	e.sentence = true
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		sc := scriptOf(r)
		switch {
		case '0' <= r && r <= '9':
			j := i
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			// A decimal fraction is one number, whichever mark separates it: 3.25, 3,25.
			k := j
			if k+1 < len(s) && (s[k] == '.' || s[k] == ',') && '0' <= s[k+1] && s[k+1] <= '9' {
				k++
				for k < len(s) && '0' <= s[k] && s[k] <= '9' {
					k++
				}
			}
			if k > j && (k-j != 4 || s[j] != ',') { // not 150,000
				e.decimal(s[i:j], s[j+1:k])
				j = k
			} else {
				e.number(s[i:j])
			}
			e.sentence = false
			i = j
			continue
		case sc == scriptHan || sc == scriptKana:
			e.counts[sc]++
			e.cjk(r)
			i += size
			continue
		case sc == scriptNone:
			if r == '.' || r == '!' || r == '?' || r == ':' {
				e.sentence = true
			}
			if r != ' ' && r != '.' && r != ',' && r != '-' {
				e.prevCJK = 0
			}
			i += size
			continue
		}
		// A word of letters of one kind of script.
		j := i
		upper := isUpper(r)
		allUpper := true
		letters := 0
		e.buf = e.buf[:0]
		for j < len(s) {
			r2, sz := utf8.DecodeRuneInString(s[j:])
			sc2 := scriptOf(r2)
			if sc2 == scriptNone || sc2 == scriptHan || sc2 == scriptKana || (sc2 == scriptHangul) != (sc == scriptHangul) {
				if r2 == '\'' || r2 == '’' {
					// possessives and elisions end the word: "Korea's", "l'armée"
					break
				}
				if !isMark(r2) {
					break
				}
			}
			if !isUpper(r2) {
				allUpper = false
			}
			switch r2 {
			case 'і', 'ї', 'є', 'ґ', 'І', 'Ї', 'Є', 'Ґ':
				e.ukr = true
			}
			e.counts[sc2]++
			e.appendFolded(r2)
			letters++
			j += sz
		}
		e.prevCJK = 0
		if sc == scriptHangul {
			e.hangul(s[i:j])
		} else {
			name := false
			if tc {
				name = allUpper && letters >= 2 && letters <= 6
			} else {
				name = upper && !e.sentence
			}
			e.word(name)
		}
		e.sentence = false
		i = j
	}
}

// word adds the folded word in e.buf: its first five letters (a cheap stem that also absorbs
// the case endings of transliterated names: Курской, Курске → kursk), or a date with the number
// before it.
func (e *extractor) word(name bool) {
	w := e.buf
	var lex uint8
	looked := false
	if len(w) >= 2 && len(w) <= 5 {
		lex, looked = lexOf(w), true
		if v := lex & lexVote; v != 0 {
			e.langVot[v-1]++
		}
	}
	mon := 0
	if len(w) >= 3 && mayBeMonth(w) {
		k := w
		if len(k) > 4 {
			k = k[:4]
		}
		mon = months[string(k)]
		if mon == 0 && len(w) >= 5 && string(k) == "list" {
			mon = months[string(w[:5])]
		}
	}
	if mon != 0 && e.prevNum > 0 && e.prevNum <= 31 {
		e.date(mon, e.prevNum)
	}
	e.prevMon, e.prevNum = mon, -1
	if mon != 0 || len(w) < 3 && !(name && len(w) == 2) {
		return
	}
	if !looked && len(w) <= maxStop {
		lex = lexOf(w)
	}
	if lex&lexStop != 0 {
		return
	}
	if len(w) > 5 {
		w = w[:5]
	}
	e.add(kindWord, w, name)
}

// decimal adds a number with a fraction, whose mark differs by language.
func (e *extractor) decimal(whole, frac string) {
	for len(whole) > 1 && whole[0] == '0' {
		whole = whole[1:]
	}
	e.buf = append(append(append(e.buf[:0], whole...), '.'), frac...)
	e.feats = append(e.feats, feature{h: hash32(kindNumber, e.buf), indep: true})
	e.prevNum, e.prevMon = -1, 0
}

// number adds a number of two digits or more; one digit says too little, but it can still
// be the day of a date.
func (e *extractor) number(d string) {
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	if len(d) >= 2 {
		year := len(d) == 4 && (d[:2] == "19" || d[:2] == "20")
		e.feats = append(e.feats, feature{h: hash32(kindNumber, d), indep: true, weak: year})
	}
	v := -1
	if len(d) <= 2 {
		v = 0
		for i := 0; i < len(d); i++ {
			v = v*10 + int(d[i]-'0')
		}
		if e.prevMon != 0 && v >= 1 && v <= 31 {
			e.date(e.prevMon, v)
		}
	}
	e.prevNum, e.prevMon = v, 0
}

func (e *extractor) date(month, day int) {
	e.feats = append(e.feats, feature{h: hash32(kindDate, []byte{byte(month), byte(day)}), indep: true, weak: true})
}

// cjk adds a feature per pair of Han or Kana characters, and reads "11月4日" as a date.
func (e *extractor) cjk(r rune) {
	switch r {
	case '月':
		if e.prevNum >= 1 && e.prevNum <= 12 {
			e.prevMon = e.prevNum
		}
		e.prevNum = -1
		e.prevCJK = 0
		return
	case '日':
		if e.prevMon != 0 && e.prevNum >= 1 && e.prevNum <= 31 {
			e.date(e.prevMon, e.prevNum)
		}
		e.prevNum, e.prevMon = -1, 0
		e.prevCJK = 0
		return
	}
	if e.prevCJK != 0 {
		var b [8]byte
		n := utf8.EncodeRune(b[:], e.prevCJK)
		n += utf8.EncodeRune(b[n:], r)
		e.add(kindCJK, b[:n], false)
	}
	e.prevCJK = r
	e.prevNum, e.prevMon = -1, 0
}

// hangul adds a Hangul word's first two syllables (Korean attaches particles to the noun:
// 북한이, 북한군 → 북한) and reads "11월 4일" as a date.
func (e *extractor) hangul(w string) {
	switch w {
	case "월":
		if e.prevNum >= 1 && e.prevNum <= 12 {
			e.prevMon = e.prevNum
		}
		e.prevNum = -1
		return
	case "일":
		if e.prevMon != 0 && e.prevNum >= 1 && e.prevNum <= 31 {
			e.date(e.prevMon, e.prevNum)
		}
		e.prevNum, e.prevMon = -1, 0
		return
	}
	e.prevNum, e.prevMon = -1, 0
	n, k := 0, 0
	for k < len(w) && n < 2 {
		_, sz := utf8.DecodeRuneInString(w[k:])
		k += sz
		n++
	}
	if n < 2 {
		return
	}
	e.feats = append(e.feats, feature{h: hash32(kindCJK, w[:k])})
}

func (e *extractor) add(kind byte, b []byte, indep bool) {
	e.feats = append(e.feats, feature{h: hash32(kind, b), indep: indep})
}

// hash32 is FNV-1a over the kind and the bytes.
func hash32[T string | []byte](kind byte, b T) uint32 {
	h := uint32(2166136261)
	h ^= uint32(kind)
	h *= 16777619
	for i := 0; i < len(b); i++ {
		h ^= uint32(b[i])
		h *= 16777619
	}
	return h
}

// hash64 is FNV-1a 64 over the strings, each followed by a zero byte.
func hash64(parts ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0
		h *= 1099511628211
	}
	return h
}
