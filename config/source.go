package config

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// source is the text of a file split into lines, to turn the parser's
// positions into byte columns and to quote lines in errors.
type source struct {
	file  string
	lines []string
	memo  *lineMemo
}

// lineMemo keeps what is worked out once per line, so that the positions of
// the 20,000 terms of a list written on one line cost a scan of that line, not
// 20,000. It is filled as positions are asked for, also after Parse returns,
// hence the lock.
type lineMemo struct {
	mu sync.Mutex
	// starts[n] holds the byte offset of each character of line n, for lines
	// with a byte outside ASCII; nil for ASCII lines, where the two agree.
	starts map[int][]int32
	masked map[int]string // line n as errors quote it
}

func newSource(file string, data []byte) source {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return source{file: file, lines: lines, memo: &lineMemo{starts: map[int][]int32{}, masked: map[int]string{}}}
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
	starts := s.charStarts(n)
	if starts == nil {
		return runeCol
	}
	if runeCol <= len(starts) {
		return int(starts[runeCol-1]) + 1
	}
	// Past the end of the line: one byte a character.
	return len(s.line(n)) + runeCol - len(starts)
}

// charStarts returns the byte offset of each character of line n, or nil
// when the line is ASCII (or absent).
func (s source) charStarts(n int) []int32 {
	l := s.line(n)
	if s.memo == nil {
		return runeStarts(l)
	}
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	starts, ok := s.memo.starts[n]
	if !ok {
		starts = runeStarts(l)
		s.memo.starts[n] = starts
	}
	return starts
}

// runeStarts returns the byte offset of each character of l, as
// utf8.DecodeRuneInString steps through it (an invalid byte is one
// character), or nil when l is ASCII.
func runeStarts(l string) []int32 {
	ascii := true
	for i := 0; i < len(l); i++ {
		if l[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return nil
	}
	starts := make([]int32, 0, len(l))
	for off := 0; off < len(l); {
		starts = append(starts, int32(off))
		_, size := utf8.DecodeRuneInString(l[off:])
		off += size
	}
	return starts
}

// quoted returns line n as errors quote it: with the user information of
// its URLs masked.
func (s source) quoted(n int) string {
	if s.memo == nil {
		return maskUserinfo(s.line(n))
	}
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	q, ok := s.memo.masked[n]
	if !ok {
		q = maskUserinfo(s.line(n))
		s.memo.masked[n] = q
	}
	return q
}

// errorAt builds an *Error at a 1-based line and byte column.
func (s source) errorAt(line, col int, msg string) *Error {
	if line < 1 {
		return &Error{File: s.file, Msg: msg}
	}
	if col < 1 {
		col = 1
	}
	return &Error{File: s.file, Line: line, Column: col, Msg: msg, Source: s.quoted(line)}
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
