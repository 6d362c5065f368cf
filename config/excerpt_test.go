package config

import "testing"

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{
			name: "caret under the column",
			err:  Error{Line: 1, Column: 8, Source: "  url: ftp://x"},
			want: "      url: ftp://x\n           ^",
		},
		{
			name: "tabs are kept so the caret lines up",
			err:  Error{Line: 1, Column: 9, Source: "a: \"x\ty\" bad"},
			want: "    a: \"x\ty\" bad\n         \t  ^",
		},
		{
			name: "wide characters take two cells, combining marks none",
			err:  Error{Line: 1, Column: 18, Source: "[北朝鮮, e\u0301, x]"},
			want: "    [北朝鮮, e\u0301, x]\n                ^",
		},
		{
			name: "column past the end of the line",
			err:  Error{Line: 1, Column: 4, Source: "ab"},
			want: "    ab\n       ^",
		},
		{
			name: "empty line",
			err:  Error{Line: 1, Column: 1},
			want: "    \n    ^",
		},
		{
			name: "no position",
			err:  Error{Msg: "x"},
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Excerpt(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestErrorsError(t *testing.T) {
	errs := Errors{
		{File: "a.yaml", Line: 1, Column: 2, Msg: "one"},
		{File: "a.yaml", Line: 3, Column: 4, Msg: "two"},
		{File: "a.yaml", Msg: "three"},
	}
	if got, want := errs.Error(), "a.yaml:1:2: one\na.yaml:3:4: two\na.yaml: three"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
