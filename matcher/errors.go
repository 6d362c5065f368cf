package matcher

import (
	"fmt"
	"strings"
)

// Error returns the error as `rules[1].query:1:14: message`, or `lists.dprk[2]:1:3: message`
// for an error inside a term of a list.
func (e *QueryError) Error() string {
	line := max(e.Line, 1)
	if e.List != "" {
		return fmt.Sprintf("lists.%s[%d]:%d:%d: %s", e.List, e.Term, line, e.Column, e.Msg)
	}
	return fmt.Sprintf("rules[%d].query:%d:%d: %s", e.Rule, line, e.Column, e.Msg)
}

// syntaxError is an error at a byte offset of the text being parsed; Compile turns it into a
// *QueryError that names the rule or list term.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func errAt(off int, format string, args ...any) *syntaxError {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

// position returns the 1-based line and byte column of offset off in s.
func position(s string, off int) (line, col int) {
	off = min(max(off, 0), len(s))
	line = 1 + strings.Count(s[:off], "\n")
	return line, off - (strings.LastIndexByte(s[:off], '\n') + 1) + 1
}
