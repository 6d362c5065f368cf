package config

import (
	"strings"
	"testing"
)

// positionsYAML holds one rule or list term per way of writing a scalar.
var positionsYAML = yamlLines(
	"lists:", // 1
	`  l: [курск OR, 'it''s x', "\tb\u00e9c"]`, // 2
	"rules:",        // 3
	"  - id: plain", // 4
	"    query: kursk OR курск OR x   # note", // 5
	"  - id: single",                    // 6
	"    query: 'it''s NEAR/0 x'",       // 7
	"  - id: double",                    // 8
	`    query: "\u00e9t\u00e9 AND (x"`, // 9
	"  - id: block",                     // 10
	"    query: |",                      // 11
	"      a AND (",                     // 12
	"  - id: multi-line",                // 13
	`    query: "two`,                   // 14
	`      lines ("`,                    // 15
	"  - {id: flow, query: 'x OR (y'}",  // 16
	"  - id: alias",                     // 17
	"    query: &q 'a AND'",             // 18
	"  - {id: aliased, query: *q}",      // 19
)

// end is a column just past the end of the decoded value.
const end = -1

func TestQueryError(t *testing.T) {
	cfg := mustParse(t, positionsYAML)
	tests := []struct {
		name   string
		rule   int
		from   string // the column given is where this starts in the query (end: past its end)
		column int    // or this column, when from is ""
		line   int
		at     string // what the file shows at the position wanted
		last   bool   // and it is the last byte of the line
	}{
		{name: "plain", rule: 0, from: "OR x", line: 5, at: "OR x"},
		{name: "plain after multi-byte", rule: 0, from: "x", line: 5, at: "x   #"},
		{name: "plain first byte", rule: 0, from: "kursk", line: 5, at: "kursk"},
		{name: "plain end", rule: 0, column: end, line: 5, at: "   #"},
		{name: "single quoted after ''", rule: 1, from: "NEAR", line: 7, at: "NEAR"},
		{name: "single quoted at ''", rule: 1, from: "'s", line: 7, at: "''s"},
		{name: "single quoted end", rule: 1, column: end, line: 7, at: "'", last: true},
		{name: "double quoted after escapes", rule: 2, from: "AND", line: 9, at: "AND"},
		{name: "double quoted inside an escape", rule: 2, column: 5, line: 9, at: `\u00e9 AND`},
		{name: "double quoted end", rule: 2, column: end, line: 9, at: `"`, last: true},
		{name: "block scalar", rule: 3, from: "(", line: 11, at: "|"},
		{name: "multi-line double quoted", rule: 4, from: "lines", line: 14, at: `"two`},
		{name: "flow mapping", rule: 5, from: "(y", line: 16, at: "(y"},
		{name: "anchored", rule: 6, from: "AND", line: 18, at: "AND"},
		{name: "alias points at its use", rule: 7, from: "AND", line: 19, at: "*q"},
		{name: "column past the end", rule: 1, column: 99, line: 7, at: "'it''s"},
		{name: "column zero", rule: 1, column: 0, line: 7, at: "'it''s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			column := columnOf(t, cfg.Rules[tt.rule].Query, tt.from, tt.column)
			e := cfg.QueryError(tt.rule, column, "boom")
			assertAt(t, e, tt.line, tt.at)
			if tt.last && e.Column != len(e.Source) {
				t.Errorf("got column %d, want the last one, %d", e.Column, len(e.Source))
			}
		})
	}
	t.Run("unknown rule", func(t *testing.T) {
		e := cfg.QueryError(99, 1, "boom")
		if got, want := e.Error(), "nw.yaml: boom"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got := e.Excerpt(); got != "" {
			t.Errorf("excerpt: got %q, want empty", got)
		}
	})
}

func TestListTermError(t *testing.T) {
	cfg := mustParse(t, positionsYAML)
	tests := []struct {
		name   string
		term   int
		from   string
		column int
		at     string
	}{
		{name: "plain multi-byte", term: 0, from: "OR", at: "OR,"},
		{name: "single quoted", term: 1, from: "x", at: "x'"},
		{name: "double quoted tab escape", term: 2, column: 1, at: `\tb`},
		{name: "double quoted after escapes", term: 2, from: "b", at: `b\u00e9c`},
		{name: "double quoted after unicode escape", term: 2, from: "c", at: `c"`},
		{name: "double quoted end", term: 2, column: end, at: `"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			column := columnOf(t, cfg.Lists["l"][tt.term], tt.from, tt.column)
			e := cfg.ListTermError("l", tt.term, column, "boom")
			assertAt(t, e, 2, tt.at)
		})
	}
	for _, bad := range []struct {
		list string
		term int
	}{{"l", 3}, {"l", -1}, {"nope", 0}} {
		if e := cfg.ListTermError(bad.list, bad.term, 1, "boom"); e.Line != 0 {
			t.Errorf("ListTermError(%q, %d): got line %d, want 0", bad.list, bad.term, e.Line)
		}
	}
}

// columnOf returns the 1-based byte column where from starts in value, or
// column (end: just past the value) when from is "".
func columnOf(t *testing.T, value, from string, column int) int {
	t.Helper()
	if from == "" {
		if column == end {
			return len(value) + 1
		}
		return column
	}
	i := strings.Index(value, from)
	if i < 0 {
		t.Fatalf("%q not in %q", from, value)
	}
	return i + 1
}

// assertAt checks an error's position, message and that the file shows at
// there.
func assertAt(t *testing.T, e *Error, line int, at string) {
	t.Helper()
	if e.Line != line {
		t.Errorf("got line %d, want %d", e.Line, line)
	}
	if e.Msg != "boom" || e.File != "nw.yaml" {
		t.Errorf("got file %q msg %q, want nw.yaml and boom", e.File, e.Msg)
	}
	if e.Column < 1 || e.Column > len(e.Source) || !strings.HasPrefix(e.Source[e.Column-1:], at) {
		t.Errorf("source %q at column %d: want it to start with %q", e.Source, e.Column, at)
	}
}
