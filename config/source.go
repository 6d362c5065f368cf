package config

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// source is the text of a file split into lines, to turn the parser's
// positions into byte columns and to quote lines in errors.
type source struct {
	file  string
	lines []string
}

func newSource(file string, data []byte) source {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return source{file: file, lines: lines}
}

// line returns line n (1-based), or "" when there is none.
func (s source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// byteColumn converts the parser's 1-based column, which counts characters,
// into a 1-based byte column of line n.
func (s source) byteColumn(n, runeCol int) int {
	if runeCol < 1 {
		return 1
	}
	l := s.line(n)
	off := 0
	for i := 1; i < runeCol; i++ {
		if off >= len(l) {
			return len(l) + runeCol - i + 1
		}
		_, size := utf8.DecodeRuneInString(l[off:])
		off += size
	}
	return off + 1
}

// errorAt builds an *Error at a 1-based line and byte column.
func (s source) errorAt(line, col int, msg string) *Error {
	if line < 1 {
		return &Error{File: s.file, Msg: msg}
	}
	if col < 1 {
		col = 1
	}
	return &Error{File: s.file, Line: line, Column: col, Msg: msg, Source: maskUserinfo(s.line(line))}
}

// userinfoRE finds the user information of URLs written in a line: scheme://USERINFO@.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@\s'"]+)@`)

// queryRE finds the query of URLs written in a line: scheme://…?QUERY, up to a blank, a quote,
// a fragment or a YAML flow indicator.
var queryRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s'"?#]*\?)([^\s'"#,\]}]*)`)

// maskUserinfo replaces every character of the user information and of the query values of the
// URLs in a source line with '*', so that an excerpt never shows a user name, a password or a
// token (?apikey=…) and its caret still points at the same column. Query keys are kept.
func maskUserinfo(line string) string {
	line = userinfoRE.ReplaceAllStringFunc(line, func(m string) string {
		sub := userinfoRE.FindStringSubmatch(m)
		return sub[1] + strings.Repeat("*", utf8.RuneCountInString(sub[2])) + "@"
	})
	return queryRE.ReplaceAllStringFunc(line, func(m string) string {
		sub := queryRE.FindStringSubmatch(m)
		params := strings.Split(sub[2], "&")
		for i, p := range params {
			if k, v, ok := strings.Cut(p, "="); ok {
				params[i] = k + "=" + strings.Repeat("*", utf8.RuneCountInString(v))
			} else {
				params[i] = strings.Repeat("*", utf8.RuneCountInString(p))
			}
		}
		return sub[1] + strings.Join(params, "&")
	})
}
