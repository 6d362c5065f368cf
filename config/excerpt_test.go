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

func TestExcerptMasksQueryValues(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"quoted", "  - {id: a, url: 'https://news.example/rss?apikey=s3cret&lang=en', x: 1}",
			"  - {id: a, url: 'https://news.example/rss?apikey=******&lang=**', x: 1}"},
		{"plain flow scalar", "  - {id: a, url: https://news.example/rss?k=s3cret, x: 1}",
			"  - {id: a, url: https://news.example/rss?k=******, x: 1}"},
		{"block", "    url: https://u:p@news.example/rss?s3cret&t=#top",
			"    url: https://***@news.example/rss?******&t=#top"},
		{"two URLs", "  x: [http://a.example/?t=s3cret, 'http://b.example/?t=s3cret2']",
			"  x: [http://a.example/?t=******, 'http://b.example/?t=*******']"},
		{"no query", "  url: https://news.example/rss # ?s3cret", "  url: https://news.example/rss # ?s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource("nw.yaml", []byte("feeds:\n"+tt.line+"\n"))
			e := src.errorAt(2, len(tt.line), "unknown key")
			if e.Source != tt.want {
				t.Errorf("source\n%s\nwant\n%s", e.Source, tt.want)
			}
		})
	}
}
