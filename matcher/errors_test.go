package matcher

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestCompileReportsEveryError: one pass gives every error of every rule, within a query the
// errors that do not stop parsing together with the first syntax error.
func TestCompileReportsEveryError(t *testing.T) {
	lists := map[string][]string{"dprk": {"dprk", `"north korea"`}}
	tests := []struct {
		name  string
		query string
		want  []string // "COL: message"
	}{
		{"near and undefined list", `@nolist NEAR/0 troops`, []string{
			"1: undefined list @nolist", "9: NEAR/n needs a number from 1 to 100"}},
		{"regex, wildcard and near", `/(/ AND k* AND a NEAR/101 b`, []string{
			"1: invalid regular expression: error parsing regexp: missing closing ): `(`",
			"9: a wildcard needs at least two letters or digits before *",
			"18: NEAR/n needs a number from 1 to 100"}},
		{"only negative with an undefined list", `-@nolist`, []string{
			"1: a query needs at least one positive part: NOT and - only exclude", "2: undefined list @nolist"}},
		{"soft errors and the first syntax error", `a ONEAR/0 b AND (c`, []string{
			"3: ONEAR/n needs a number from 1 to 100", "17: unclosed parenthesis"}},
		{"one syntax error only", `a AND AND b OR`, []string{"3: dangling operator AND: it needs a term after it"}},
		{"field inside a field and a bad NEAR operand", `title:(summary:x) AND (a AND b) NEAR/3 @dprk`, []string{
			"8: summary: inside another field", "24: NEAR operands are words, phrases, wildcards, lists and OR-groups of those"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]Rule{{ID: "ok", Query: "kursk"}, {ID: "r", Query: tt.query}}, lists)
			if err == nil {
				t.Fatalf("Compile(%q): no error, want %q", tt.query, tt.want)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				qe, ok := errors.AsType[*QueryError](e)
				if !ok || qe.Rule != 1 || qe.RuleID != "r" {
					t.Fatalf("Compile(%q): error %v, want a *QueryError of rule 1", tt.query, e)
				}
				got = append(got, fmt.Sprintf("%d: %s", qe.Column, qe.Msg))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Compile(%q):\ngot  %q\nwant %q", tt.query, got, tt.want)
			}
		})
	}
}

// TestCompileReportsEveryRule: every rule and every list term with errors is reported.
func TestCompileReportsEveryRule(t *testing.T) {
	_, err := Compile([]Rule{
		{ID: "a", Query: "x NEAR/0 y"}, {ID: "b", Query: "fine"}, {ID: "c", Query: "@none"},
	}, map[string][]string{"l": {"k*", "ok", "(("}})
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		got = append(got, e.Error())
	}
	want := []string{
		"lists.l[0]:1:1: a wildcard needs at least two letters or digits before *",
		"lists.l[2]:1:2: unclosed parenthesis",
		"rules[0].query:1:3: NEAR/n needs a number from 1 to 100",
		"rules[2].query:1:1: undefined list @none",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
