package config

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// Error is one problem in the configuration file, at a 1-based line and byte
// column. Line 0 means the position is unknown.
type Error struct {
	File         string
	Line, Column int
	Msg          string
	Source       string // the source line, without its line break
}

// Error returns "FILE:LINE:COL: message".
func (e *Error) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Excerpt returns the source line and a caret under the column, both indented
// by four spaces and without a final line break, or "" when the position is
// unknown. The caret is aligned for a terminal: tabs are kept, wide characters
// count two cells and combining marks none.
func (e *Error) Excerpt() string {
	if e.Line <= 0 {
		return ""
	}
	var pad strings.Builder
	prefix := e.Source
	if n := e.Column - 1; n >= 0 && n < len(prefix) {
		prefix = prefix[:n]
	}
	for _, r := range prefix {
		pad.WriteString(cells(r))
	}
	if extra := e.Column - 1 - len(e.Source); extra > 0 {
		pad.WriteString(strings.Repeat(" ", extra))
	}
	return "    " + e.Source + "\n    " + pad.String() + "^"
}

// cells returns the blank that takes the room of r on a terminal.
func cells(r rune) string {
	switch {
	case r == '\t':
		return "\t"
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return ""
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return "  "
	}
	return " "
}

// Errors is every problem found in a file, in file order. Load and Parse
// return it as their error when the file is invalid.
type Errors []*Error

// Error returns one error a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
