package config

import (
	"strings"
	"testing"
)

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

func TestExcerptMasksUserinfo(t *testing.T) {
	src := newSource("nw.yaml", []byte("feeds:\n  - {id: a, url: 'ftp://reader:s3cret@news.example/rss', x: 1}\n"))
	e := src.errorAt(2, 58, "unknown key") // at x
	want := "      - {id: a, url: 'ftp://*************@news.example/rss', x: 1}\n    " + strings.Repeat(" ", 57) + "^"
	if got := e.Excerpt(); got != want {
		t.Errorf("excerpt:\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(e.Source, "s3cret") || strings.Contains(e.Source, "reader") {
		t.Errorf("source %q shows the user information", e.Source)
	}
}
