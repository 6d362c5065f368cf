package matcher

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tAnd
	tOr
	tNot   // NOT
	tMinus // - directly before a term
	tNear  // NEAR/n or ONEAR/n
	tWord  // a bare term, maybe ending in *
	tPhrase
	tRegex
	tList  // @name
	tField // title: and the other text fields
	tAttr  // feed:ID or tag:NAME
)

// lexeme is one token of a query.
type lexeme struct {
	kind    tokKind
	pos     int    // byte offset of its first character
	text    string // term text, phrase contents, pattern, list name, field name or attribute value
	exact   bool   // = before a word or phrase
	attr    string // "feed" or "tag" for tAttr
	n       int    // NEAR distance
	ordered bool   // ONEAR
}

// Field bits, in the order hits are sorted.
const (
	fTitle uint8 = 1 << iota
	fSummary
	fContent
	fAuthor
	fCategory
	fLink
	fDefault = fTitle | fSummary | fContent
)

var fieldBits = map[string]uint8{
	"title": fTitle, "summary": fSummary, "content": fContent,
	"author": fAuthor, "category": fCategory, "link": fLink,
}

// maxRegexp is the longest regular expression a query may hold, in bytes.
const maxRegexp = 1000

type lexer struct {
	q       string
	i       int
	peeked  bool
	peekVal lexeme
	// soft holds the errors that do not stop parsing (a NEAR distance out of range), so that
	// one pass reports them with the rest.
	soft []*syntaxError
}

func isSpace(c rune) bool { return unicode.IsSpace(c) }

// termEnd reports whether c ends a bare term.
func termEnd(c rune) bool { return c == '(' || c == ')' || c == '"' || isSpace(c) }

func (l *lexer) skipSpace() {
	for l.i < len(l.q) {
		r, n := utf8.DecodeRuneInString(l.q[l.i:])
		if !isSpace(r) {
			return
		}
		l.i += n
	}
}

// scanTerm returns the end of the bare term that starts at i.
func (l *lexer) scanTerm(i int) int {
	for i < len(l.q) {
		r, n := utf8.DecodeRuneInString(l.q[i:])
		if termEnd(r) {
			break
		}
		i += n
	}
	return i
}

func (l *lexer) peekTok() (*lexeme, error) {
	if !l.peeked {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		l.peekVal, l.peeked = t, true
	}
	return &l.peekVal, nil
}

func (l *lexer) take() (lexeme, error) {
	if l.peeked {
		l.peeked = false
		return l.peekVal, nil
	}
	return l.next()
}

func (l *lexer) next() (lexeme, error) {
	l.skipSpace()
	start := l.i
	if l.i >= len(l.q) {
		return lexeme{kind: tEOF, pos: start}, nil
	}
	switch c := l.q[l.i]; c {
	case '(':
		l.i++
		return lexeme{kind: tLParen, pos: start}, nil
	case ')':
		l.i++
		return lexeme{kind: tRParen, pos: start}, nil
	case '"':
		return l.phrase(start, false)
	case '/':
		return l.regex(start)
	case '@':
		end := l.scanTerm(start + 1)
		name := l.q[start+1 : end]
		if name == "" {
			return lexeme{}, errAt(start, "@ needs a list name")
		}
		l.i = end
		return lexeme{kind: tList, pos: start, text: name}, nil
	case '-':
		if l.i+1 >= len(l.q) || l.q[l.i+1] == ')' || isSpace(rune(l.q[l.i+1])) {
			return lexeme{}, errAt(start, "dangling operator -: put it right before a term, as in -word")
		}
		l.i++
		return lexeme{kind: tMinus, pos: start}, nil
	case '=':
		if l.i+1 < len(l.q) && l.q[l.i+1] == '"' {
			return l.phrase(start+1, true)
		}
		end := l.scanTerm(start + 1)
		if end == start+1 {
			return lexeme{}, errAt(start, "= needs a word right after it, as in =US")
		}
		l.i = end
		return l.word(start+1, end, true)
	}
	end := l.scanTerm(start)
	w := l.q[start:end]
	switch w {
	case "AND":
		l.i = end
		return lexeme{kind: tAnd, pos: start}, nil
	case "OR":
		l.i = end
		return lexeme{kind: tOr, pos: start}, nil
	case "NOT":
		l.i = end
		return lexeme{kind: tNot, pos: start}, nil
	}
	if op, ok := strings.CutPrefix(w, "NEAR"); ok && (op == "" || op[0] == '/') {
		l.i = end
		return l.nearOp(start, op, false)
	}
	if op, ok := strings.CutPrefix(w, "ONEAR"); ok && (op == "" || op[0] == '/') {
		l.i = end
		return l.nearOp(start, op, true)
	}
	if k := strings.IndexByte(w, ':'); k > 0 && asciiLetters(w[:k]) {
		return l.field(start, w[:k])
	}
	l.i = end
	return l.word(start, end, false)
}

// nearOp reads the distance of NEAR/n; one out of range is reported and parsing goes on as if
// it were in range.
func (l *lexer) nearOp(start int, op string, ordered bool) (lexeme, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(op, "/"))
	if op == "" || err != nil || n < 1 || n > 100 {
		name := "NEAR"
		if ordered {
			name = "ONEAR"
		}
		l.soft = append(l.soft, errAt(start, "%s/n needs a number from 1 to 100", name))
		n = min(max(n, 1), 100)
	}
	return lexeme{kind: tNear, pos: start, n: n, ordered: ordered}, nil
}

func asciiLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// field lexes `name:`; for feed: and tag: it takes the value too.
func (l *lexer) field(start int, name string) (lexeme, error) {
	after := start + len(name) + 1
	switch name {
	case "feed", "tag":
		end := l.scanTerm(after)
		if end == after {
			return lexeme{}, errAt(start, "%s: needs a value right after it, as in %s:world", name, name)
		}
		l.i = end
		return lexeme{kind: tAttr, pos: start, attr: name, text: l.q[after:end]}, nil
	}
	if _, ok := fieldBits[name]; !ok {
		return lexeme{}, errAt(start, "unknown field %q: fields are title, summary, content, author, category, link, feed and tag", name)
	}
	l.i = after
	return lexeme{kind: tField, pos: start, text: name}, nil
}

// word checks a bare term: * may only end it.
func (l *lexer) word(start, end int, exact bool) (lexeme, error) {
	w := l.q[start:end]
	if k := strings.IndexByte(w, '*'); k >= 0 && k != len(w)-1 {
		return lexeme{}, errAt(start+k, "* may only end a word")
	}
	return lexeme{kind: tWord, pos: start, text: w, exact: exact}, nil
}

// phrase lexes a quoted phrase whose opening quote is at q[open].
func (l *lexer) phrase(open int, exact bool) (lexeme, error) {
	end := strings.IndexByte(l.q[open+1:], '"')
	pos := open
	if exact {
		pos = open - 1
	}
	if end < 0 {
		return lexeme{}, errAt(open, "unclosed quote")
	}
	text := l.q[open+1 : open+1+end]
	l.i = open + end + 2
	for _, f := range strings.Fields(text) {
		if k := strings.IndexByte(f, '*'); k >= 0 && k != len(f)-1 {
			return lexeme{}, errAt(open+1+strings.Index(text, f)+k, "* may only end a word")
		}
	}
	return lexeme{kind: tPhrase, pos: pos, text: text, exact: exact}, nil
}

// regex lexes /pattern/; \/ stands for a slash inside the pattern.
func (l *lexer) regex(open int) (lexeme, error) {
	var b strings.Builder
	for i := open + 1; i < len(l.q); i++ {
		switch c := l.q[i]; {
		case c == '\\' && i+1 < len(l.q) && l.q[i+1] == '/':
			b.WriteByte('/')
			i++
		case c == '\\' && i+1 < len(l.q):
			b.WriteByte(c)
			b.WriteByte(l.q[i+1])
			i++
		case c == '/':
			l.i = i + 1
			if b.Len() == 0 {
				return lexeme{}, errAt(open, "empty regular expression")
			}
			if b.Len() > maxRegexp {
				return lexeme{}, errAt(open, "regular expression too long: %d bytes, at most %d", b.Len(), maxRegexp)
			}
			return lexeme{kind: tRegex, pos: open, text: b.String()}, nil
		default:
			b.WriteByte(c)
		}
	}
	return lexeme{}, errAt(open, "unclosed regular expression: end it with /")
}
