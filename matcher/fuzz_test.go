package matcher

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCompile: the parser never panics, and returns either an index or errors that are all
// *QueryError, never both.
func FuzzCompile(f *testing.F) {
	for _, q := range []string{
		`@dprk NEAR/15 (troop* OR soldier* OR "armed forces")`, `kursk OR курск OR курськ`,
		`title:(a OR b) -c`, `=US "north korea*"`, `/kursk(ий|e)?/`, `feed:world tag:en x`,
		`a ONEAR/3 b`, `((a)`, `"`, `-`, `NEAR/0`, `a NEAR/5 (b AND c)`, `北朝鮮*`, `author:"x y"`,
	} {
		f.Add(q)
	}
	lists := map[string][]string{"dprk": {`"north korea*"`, "dprk"}}
	it := &Item{Title: "North Korea's troops near Kursk", Content: "US forces, 北朝鮮 북한", FeedID: "world",
		Tags: []string{"en"}, Authors: []string{"x y"}, Link: "https://x.org/a"}
	f.Fuzz(func(t *testing.T, q string) {
		ix, err := Compile([]Rule{{ID: "r", Query: q}}, lists)
		if (ix == nil) == (err == nil) {
			t.Fatalf("Compile(%q): got index %v and error %v; want exactly one", q, ix != nil, err)
		}
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var qe *QueryError
				if !errors.As(e, &qe) {
					t.Fatalf("Compile(%q): error %T, want *QueryError", q, e)
				}
				if qe.Column < 1 || qe.Offset < 0 || qe.Offset > len(q) {
					t.Fatalf("Compile(%q): position %d:%d (offset %d) outside the query", q, qe.Line, qe.Column, qe.Offset)
				}
			}
			return
		}
		for _, m := range ix.Match(it) {
			for _, h := range m.Hits {
				if text := it.Field(h.Field, h.Index); h.Start < 0 || h.End > len(text) || text[h.Start:h.End] != h.Text {
					t.Fatalf("Compile(%q): hit %+v does not point into its field", q, h)
				}
			}
		}
	})
}

// FuzzMatchText: over arbitrary text, tokens point into the text in order, normalisation is
// idempotent, and the phrase of the text's own words matches the text.
func FuzzMatchText(f *testing.F) {
	for _, s := range []string{
		"North Korea's troops", "Straße ＵＳＡ ﬁnance", "北朝鮮のミサイル 북한", "e\u0301cole Ёлка ΟΔΟΣ",
		"<p>Kim &amp; Moon</p>", "a½b ①", "\xff\xfe bad utf8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text := PlainText(s)
		var tk tokenizer
		tk.add(text, 0)
		prev := int32(0)
		for _, tok := range tk.toks {
			if tok.start < prev || tok.end <= tok.start || int(tok.end) > len(text) || tok.word == "" {
				t.Fatalf("token %+v out of order or bounds in %q", tok, text)
			}
			prev = tok.start
			if w := Words(tok.word); len(w) != 1 || w[0] != tok.word {
				t.Fatalf("word %q folds again to %q", tok.word, w)
			}
		}
		if len(tk.toks) == 0 || len(tk.toks) > 20 {
			return
		}
		words := make([]string, len(tk.toks))
		for i, tok := range tk.toks {
			words[i] = tok.word
		}
		q := `"` + strings.Join(words, " ") + `"`
		if !utf8.ValidString(q) {
			return
		}
		ix, err := Compile([]Rule{{ID: "r", Query: q}}, nil)
		if err != nil {
			t.Fatalf("Compile(%q): %v", q, err)
		}
		got := ix.Match(&Item{Content: text})
		if len(got) != 1 {
			t.Fatalf("phrase %q of its own words does not match %q", q, text)
		}
		h := got[0].Hits[0]
		if h.Start != int(tk.toks[0].start) || h.End != int(tk.toks[len(tk.toks)-1].end) {
			t.Fatalf("hit %+v, want %d..%d", h, tk.toks[0].start, tk.toks[len(tk.toks)-1].end)
		}
	})
}
