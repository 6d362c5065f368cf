package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(positionsYAML)
	f.Add([]byte("feeds: [{id: a, url: 'https://a.example', schedule: '*/2 * *'}]\nrules: [{id: r, query: x, feeds: [b]}]"))
	f.Add([]byte("a: &a [*a]\nfeeds: &f [{<<: *f}]\n"))
	f.Add([]byte("lists: {l: [\"\\u00e9\\x41'\", 'a''b', |\n  x\n]}\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("got config %v and error %v, want exactly one", cfg != nil, err)
		}
		partial, perr := ParsePartial("f.yaml", data)
		if (perr == nil) != (err == nil) || perr != nil && perr.Error() != err.Error() {
			t.Fatalf("ParsePartial: got error %v, want Parse's %v", perr, err)
		}
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("got %T %v, want a non-empty Errors", err, err)
			}
			for _, e := range errs {
				if e.Msg == "" || e.File != "f.yaml" {
					t.Fatalf("got error %+v, want a message and the file", e)
				}
				_ = e.Excerpt()
			}
			if partial == nil {
				return
			}
			// What decoded in spite of the errors keeps its positions.
			cfg = partial
		}
		for i, r := range cfg.Rules {
			for col := 0; col <= len(r.Query)+2; col++ {
				if e := cfg.QueryError(i, col, "x"); e.Line < 1 {
					t.Fatalf("rules[%d] column %d: got line %d, want a position", i, col, e.Line)
				}
			}
		}
		for name, terms := range cfg.Lists {
			for i, term := range terms {
				if e := cfg.ListTermError(name, i, len(term), "x"); e.Line < 1 {
					t.Fatalf("lists[%s][%d]: got line %d, want a position", name, i, e.Line)
				}
			}
		}
	})
}
