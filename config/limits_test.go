package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nestedFlow is a top-level key whose value is depth-1 flow sequences, one inside another:
// depth levels in all, the mapping included.
func nestedFlow(depth int) string {
	return "a: " + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + "\n"
}

// nestedBlock is depth block mappings, each key indented one more than the last.
func nestedBlock(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "%sk:\n", strings.Repeat(" ", i))
	}
	return b.String()
}

// nestedItems is depth block sequences, one item dash a line, each indented two more.
func nestedItems(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "%s-\n", strings.Repeat(" ", 2*i))
	}
	return b.String() + strings.Repeat(" ", 2*depth) + "x\n"
}

// oneError parses data and returns its only error, failing the test otherwise.
func oneError(t *testing.T, data []byte) *Error {
	t.Helper()
	cfg, err := Parse("nw.yaml", data)
	var errs Errors
	if cfg != nil || !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Parse: got config %v and error %v, want one error", cfg != nil, err)
	}
	return errs[0]
}

func TestNestingLimit(t *testing.T) {
	deepKey := strings.Repeat("k", 1000)
	tests := []struct {
		name string
		data string
		want string // "LINE:COL: message" of the one error, or "" for no refusal by the limits
	}{
		{"flow 64", nestedFlow(64), ""},
		{"flow 65", nestedFlow(65), "1:67: nested deeper than 64 levels"},
		{"flow maps 65", "a: " + strings.Repeat("{b: ", 64) + "c" + strings.Repeat("}", 64) + "\n", "1:256: nested deeper than 64 levels"},
		{"block mappings 64", nestedBlock(64), ""},
		{"block mappings 65", nestedBlock(65), "65:65: nested deeper than 64 levels"},
		{"block sequences 64", nestedItems(64), ""},
		{"block sequences 65", nestedItems(65), "65:129: nested deeper than 64 levels"},
		{"compact sequences 65", strings.Repeat("- ", 65) + "x\n", "1:129: nested deeper than 64 levels"},
		{"block then flow 65", nestedBlock(60) + strings.Repeat(" ", 60) + "k: [[[[[]]]]]\n", "61:67: nested deeper than 64 levels"},
		{"sequence at its key's indentation", "a:\n- b:\n  - c:\n    - " + strings.Repeat("[", 61) + strings.Repeat("]", 61) + "\n", "4:65: nested deeper than 64 levels"},
		{"brackets in double quotes", "a: [\"" + strings.Repeat("[", 100) + "\"]\n", ""},
		{"brackets in single quotes", "a: ['it''s " + strings.Repeat("{", 100) + "']\n", ""},
		{"brackets in a quoted key", "\"" + strings.Repeat("[", 100) + "\": x\n", ""},
		{"brackets in comments", "a: [x, # " + strings.Repeat("[", 100) + "\n  y]  # " + strings.Repeat("{", 100) + "\n", ""},
		{"brackets in a quoted scalar over lines", "a: [\"x\n  " + strings.Repeat("[", 100) + "\n  \"]\n", ""},
		{"brackets in a block scalar", "a: |\n  " + strings.Repeat("[", 100) + "\n  - " + strings.Repeat("{", 100) + "\nb: c\n", ""},
		{"brackets in a plain scalar", "a: x " + strings.Repeat("[", 100) + "\n", ""},
		{"brackets on a plain scalar's next line", "a: x\n  " + strings.Repeat("[", 100) + "\n", ""},
		{"dashes on a plain scalar's next line", "a: x\n  " + strings.Repeat("- ", 100) + "\n", ""},
		{"brackets after a comment ends a plain scalar", "a: x\n# c\n  " + strings.Repeat("[", 70) + "\n", "3:66: nested deeper than 64 levels"},
		{"brackets after a block scalar ends", "a: |\n    x\n  " + strings.Repeat("[", 70) + "\n", "3:66: nested deeper than 64 levels"},
		{"long key", deepKey + ": x\n", ""},
		{"long keys nested", deepKey + ":\n  " + deepKey[:30] + ": x\n", "2:3: key too long: 1030 bytes with the keys it is nested under, more than 1024"},
		{"long keys nested in flow", "{" + deepKey + ": {" + deepKey[:30] + ": x}}\n", "1:1005: key too long: 1030 bytes with the keys it is nested under, more than 1024"},
		{"long explicit key", "? " + strings.Repeat("k ", 600) + "\n: x\n", "1:2: key too long: 1202 bytes with the keys it is nested under, more than 1024"},
		{"long quoted key over lines", "a:\n  \"" + deepKey + "\n   " + deepKey[:30] + "\": x\n", "2:3: key too long: 1037 bytes with the keys it is nested under, more than 1024"},
		{"long flow key over lines", "a: {\n  '" + deepKey + "\n   " + deepKey[:30] + "': x}\n", "2:3: key too long: 1037 bytes with the keys it is nested under, more than 1024"},
		{"long keys one after another", deepKey + ": x\n" + deepKey + "y: x\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := checkNesting("nw.yaml", []byte(tt.data))
			got := ""
			if e != nil {
				got = fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			// Parse refuses the text with that error, its line quoted.
			pe := oneError(t, []byte(tt.data))
			if *pe != *e {
				t.Errorf("Parse: got %+v, want %+v", pe, e)
			}
			if wantSrc := strings.Split(tt.data, "\n")[e.Line-1]; pe.Source != wantSrc {
				t.Errorf("source: got %q, want %q", pe.Source, wantSrc)
			}
		})
	}
}

// TestNestingLimitAcceptsConfigs runs the scan over every configuration the project has and
// over large ordinary ones.
func TestNestingLimitAcceptsConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, "../examples/newswatch.yaml")
	inputs := map[string][]byte{
		"positions":      positionsYAML,
		"100,000 feeds":  manyFeeds(100_000),
		"long flow list": longFlowList(20_000),
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		if e := checkNesting("nw.yaml", data); e != nil {
			t.Errorf("%s: got %v, want no refusal", name, e)
		}
	}
}

// manyFeeds is a configuration with n feeds, as a generator writes it.
func manyFeeds(n int) []byte {
	var b strings.Builder
	b.WriteString("defaults:\n  schedule: '*/5 * * * *'\nfeeds:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: feed-%d\n    url: https://news%d.example/rss?x=[1]\n    tags: [world, 'it''s']  # {\n", i, i)
	}
	b.WriteString("rules:\n  - id: r\n    query: \"ukraine\"\n")
	return []byte(b.String())
}

// longFlowList is a configuration whose one list has n terms written on one line, and whose one
// rule queries them.
func longFlowList(n int) []byte {
	var b strings.Builder
	b.WriteString("feeds:\n  - {id: f, url: 'https://news.example/rss'}\nlists:\n  big: [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "term%d", i)
	}
	b.WriteString("]\nrules:\n  - id: r\n    query: '@big'\n")
	return []byte(b.String())
}

func TestSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		size int
		want string
	}{
		{"at the limit", maxFileSize, ""},
		{"just over", maxFileSize + 1, "file too large: 33554433 bytes, more than the 33554432 (32 MiB) a configuration may hold"},
		{"well over", 3 * maxFileSize, "file too large: 100663296 bytes, more than the 33554432 (32 MiB) a configuration may hold"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A comment, which the parser reads quickly.
			data := []byte("#" + strings.Repeat(" ", tt.size-2) + "\n")
			path := filepath.Join(dir, "big.yaml")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if tt.want == "" {
				if err != nil || cfg == nil {
					t.Fatalf("Load: got %v, want the file loaded", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("Load: got %v, want one error", err)
			}
			e := errs[0]
			if e.File != path || e.Line != 0 || e.Msg != tt.want {
				t.Fatalf("Load: got %+v, want %s: %s", e, path, tt.want)
			}
			if got := e.Error(); got != path+": "+tt.want {
				t.Errorf("got %q", got)
			}
			pe := oneError(t, data)
			if pe.Msg != tt.want || pe.File != "nw.yaml" || pe.Line != 0 {
				t.Errorf("Parse: got %+v, want %q", pe, tt.want)
			}
		})
	}
}

// TestSizeLimitPipe reads a file whose size is not known beforehand: no more than the limit and
// one byte is read.
func TestSizeLimitPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	go func() {
		defer w.Close()
		chunk := []byte(strings.Repeat(" ", 1<<16))
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the reader stopped
			}
		}
	}()
	path := fmt.Sprintf("/dev/fd/%d", r.Fd())
	_, err = Load(path)
	want := path + ": file too large: more than 33554432 bytes (32 MiB), the most a configuration may hold"
	if err == nil || err.Error() != want {
		t.Fatalf("Load: got %v, want %s", err, want)
	}
}

func TestAliasBudget(t *testing.T) {
	list := func(name string, n int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "  %s: &%s [", name, name)
		for i := range n {
			fmt.Fprintf(&b, "t%d, ", i)
		}
		return b.String() + "x]\n"
	}
	aliases := func(from, to int) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "  l%d: *big\n", i)
		}
		return b.String()
	}
	// A list of 100,000 terms (100,002 nodes with the sequence and its key) named by aliases:
	// nine fit in the million nodes allowed, the tenth does not.
	ok := "lists:\n" + list("big", 99_999) + aliases(0, 9)
	mustParse(t, []byte(ok))
	bad := ok + aliases(9, 200)
	e := oneError(t, []byte(bad))
	if want := "too many aliases: the values they name add up to more than 1000000 nodes"; e.Line != 12 || e.Column != 7 || e.Msg != want {
		t.Fatalf("got %v, want nw.yaml:12:7: %s", e, want)
	}
	if e.Source != "  l9: *big" {
		t.Errorf("source: got %q", e.Source)
	}
}

// FuzzCheckNesting checks that the scan never fails to return and places its errors on a line
// of the text, at a column of that line or just past it.
func FuzzCheckNesting(f *testing.F) {
	f.Add([]byte(nestedFlow(65)))
	f.Add([]byte(nestedBlock(65)))
	f.Add([]byte("a: |2\n   x\n  [\n? \"k\n  k\": [{'a': b}, \"c\\\n\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := checkNesting("f.yaml", data)
		if e == nil {
			return
		}
		lines := strings.Split(string(data), "\n")
		if e.Line < 1 || e.Line > len(lines) {
			t.Fatalf("got line %d, want one of the %d", e.Line, len(lines))
		}
		if l := strings.TrimSuffix(lines[e.Line-1], "\r"); e.Column < 1 || e.Column > len(l)+1 || e.Source != maskUserinfo(l) {
			t.Fatalf("got column %d of %q, want one of %q", e.Column, e.Source, l)
		}
	})
}

// TestLongLinePositions checks the columns of terms far along one line, ASCII and not, also
// when asked for from several goroutines at once (the columns of a line are worked out once).
func TestLongLinePositions(t *testing.T) {
	for _, word := range []string{"term", "тэрм"} {
		t.Run(word, func(t *testing.T) {
			terms := make([]string, 5000)
			for i := range terms {
				terms[i] = fmt.Sprintf("%s%d", word, i)
			}
			line := "  big: [" + strings.Join(terms, ", ") + ", {a: b}]"
			// The last term, a mapping, is an error at its column.
			e := oneError(t, []byte("lists:\n"+line+"\n"))
			if want := strings.LastIndex(line, "{") + 1; e.Line != 2 || e.Column != want {
				t.Fatalf("got %v, want 2:%d", e, want)
			}
			cfg := mustParse(t, []byte("lists:\n  big: ["+strings.Join(terms, ", ")+"]\n"))
			done := make(chan error, 4)
			for g := range 4 {
				go func() {
					for i := g; i < len(terms); i += 4 {
						e := cfg.ListTermError("big", i, 2, "x")
						if want := strings.Index(line, terms[i]+",") + 2; e.Line != 2 || e.Column != want {
							done <- fmt.Errorf("term %d: got %d:%d, want 2:%d", i, e.Line, e.Column, want)
							return
						}
					}
					done <- nil
				}()
			}
			for range 4 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
