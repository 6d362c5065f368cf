package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// QueryError returns an error at the column of rules[rule].query (0-based rule
// index, 1-based byte column inside the decoded query), mapped to the file:
// exactly for one-line plain, single- and double-quoted scalars, at the
// scalar's start otherwise. Column len(query)+1 means the end of the query.
// An unknown rule gives an error without a position.
func (c *Config) QueryError(rule, column int, msg string) *Error {
	if rule < 0 || rule >= len(c.queries) {
		return c.src.errorAt(0, 0, msg)
	}
	line, col := c.queries[rule].locate(c.src.line(c.queries[rule].line), column)
	return c.src.errorAt(line, col, msg)
}

// ListTermError is QueryError for lists[list][term] (0-based term index).
func (c *Config) ListTermError(list string, term, column int, msg string) *Error {
	terms := c.terms[list]
	if term < 0 || term >= len(terms) {
		return c.src.errorAt(0, 0, msg)
	}
	line, col := terms[term].locate(c.src.line(terms[term].line), column)
	return c.src.errorAt(line, col, msg)
}

// locate maps a 1-based byte column of the decoded value to the file's line
// and byte column. text is the source line where the scalar starts.
func (s scalar) locate(text string, column int) (line, col int) {
	if s.col < 1 || s.col > len(text)+1 {
		return s.line, s.col
	}
	raw := text[s.col-1:]
	var offsets []int // offsets[i]: where byte i of the value is written in raw
	switch s.quoting {
	case plain:
		if !strings.HasPrefix(raw, s.value) {
			return s.line, s.col
		}
		offsets = make([]int, len(s.value)+1)
		for i := range offsets {
			offsets[i] = i
		}
	case singleQuoted:
		offsets = unquoteSingle(raw, s.value)
	case doubleQuoted:
		offsets = unquoteDouble(raw, s.value)
	}
	if offsets == nil || column < 1 || column > len(offsets) {
		return s.line, s.col
	}
	return s.line, s.col + offsets[column-1]
}

// unquoteSingle decodes the single-quoted scalar at the start of raw, which
// must end on this line and decode to want. It returns where each byte of the
// value is written, plus the closing quote, or nil.
func unquoteSingle(raw, want string) []int {
	if !strings.HasPrefix(raw, "'") {
		return nil
	}
	var got []byte
	var offsets []int
	for i := 1; i < len(raw); i++ {
		if raw[i] == '\'' {
			if i+1 < len(raw) && raw[i+1] == '\'' {
				got = append(got, '\'')
				offsets = append(offsets, i)
				i++
				continue
			}
			if string(got) != want {
				return nil
			}
			return append(offsets, i)
		}
		got = append(got, raw[i])
		offsets = append(offsets, i)
	}
	return nil // continues on the next line
}

// unquoteDouble is unquoteSingle for a double-quoted scalar. Every byte an
// escape decodes to is placed at its backslash.
func unquoteDouble(raw, want string) []int {
	if !strings.HasPrefix(raw, `"`) {
		return nil
	}
	var got []byte
	var offsets []int
	for i := 1; i < len(raw); {
		switch raw[i] {
		case '"':
			if string(got) != want {
				return nil
			}
			return append(offsets, i)
		case '\\':
			dec, n := unescape(raw[i:])
			if n == 0 {
				return nil
			}
			got = append(got, dec...)
			for range len(dec) {
				offsets = append(offsets, i)
			}
			i += n
		default:
			got = append(got, raw[i])
			offsets = append(offsets, i)
			i++
		}
	}
	return nil
}

// simpleEscapes are YAML's one-character escapes.
var simpleEscapes = map[byte]string{
	'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v",
	'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': `"`, '/': "/", '\\': `\`,
	'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}

// unescape decodes the escape at the start of s and returns its value and
// length, or 0 when it is not one this line can hold.
func unescape(s string) (string, int) {
	if len(s) < 2 {
		return "", 0
	}
	if v, ok := simpleEscapes[s[1]]; ok {
		return v, 2
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[1]]
	if digits == 0 || len(s) < 2+digits {
		return "", 0
	}
	r, err := strconv.ParseUint(s[2:2+digits], 16, 32)
	if err != nil || !utf8.ValidRune(rune(r)) {
		return "", 0
	}
	return string(rune(r)), 2 + digits
}

// ErrorAt returns an error at pos in the file, with its source line, for a problem found by a
// caller rather than by the loader (a warning); the zero Position gives one without a position.
func (c *Config) ErrorAt(pos Position, msg string) *Error {
	return c.src.errorAt(pos.Line, pos.Column, msg)
}
