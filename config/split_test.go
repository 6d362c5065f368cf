package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// parseBothWays parses data whole and in batches of two feeds, and fails the test unless both
// give the same configuration and the same errors. It returns the configuration, and whether
// the file has the shape that batches are tried for.
func parseBothWays(t *testing.T, data string) (cfg *Config, split bool) {
	t.Helper()
	defer func(above, per int) { splitAbove, itemsPerBatch = above, per }(splitAbove, itemsPerBatch)
	splitAbove, itemsPerBatch = 1<<62, 1000
	whole, wholeErr := Parse("c.yaml", []byte(data))
	splitAbove, itemsPerBatch = 0, 2
	pieces, piecesErr := Parse("c.yaml", []byte(data))
	if !reflect.DeepEqual(whole, pieces) {
		t.Errorf("the configuration decoded in batches differs from the whole one:\nwhole:   %+v\nbatches: %+v", whole, pieces)
	}
	if fmt.Sprint(wholeErr) != fmt.Sprint(piecesErr) {
		t.Errorf("errors decoded in batches differ from the whole ones:\nwhole:   %v\nbatches: %v", wholeErr, piecesErr)
	}
	_, _, _, split = splitFeeds([]byte(data))
	return whole, split
}

const splitRules = `
lists:
  dprk: [North Korea, Pyongyang]
rules:
  - id: kursk
    query: kursk
    feeds: [a, b]
  - id: dprk
    query: '@dprk'
`

// TestParseInBatches: a large file's feeds decoded a batch at a time give what the whole file
// gives, errors and their positions included, whatever the items look like; files the batches
// cannot decode exactly are decoded whole.
func TestParseInBatches(t *testing.T) {
	items := `  - {id: a, url: "http://example.com/a"}
  # a comment between items

  - id: b
    url: http://example.com/b?x=1&y=2
    tags: [world, "en"]
    schedule: "@every 10m"
  -   id: c
      url: >-
        http://example.com/c
  - id: d
    url: "http://example.com/d"
    schedule: "*/10 * * *
      *"
  - id: e
    url: !!str http://example.com/e
  - {id: f,
     url: 'http://example.com/f'}
`
	for _, tt := range []struct {
		name  string
		data  string
		split bool // the batches are used, not the whole file
	}{
		{"feeds first", "feeds:\n" + items + splitRules, true},
		{"feeds last, after a comment", "# top\ndefaults:\n  timeout: 5s\nfeeds:   # the list\n" + items, true},
		{"feeds at column 0", "feeds:\n" + strings.ReplaceAll(strings.ReplaceAll(items, "\n  ", "\n"), "  - {id: a", "- {id: a") + splitRules, false},
		{"comments before the next key", "feeds:\n" + items + "# rules follow\n\n" + splitRules, true},
		// With CRLF the parser counts a line too many after each comment: parsed whole.
		{"CRLF", strings.ReplaceAll("# top\nfeeds:  # x\n  - {id: a, url: http://x/a}\n\n  - id: b\n    url: http://x/b\n  - {id: c, url: ftp://x/c, bogus: 1}\n"+splitRules, "\n", "\r\n"), false},
		{"a feeds line inside a quoted scalar", "feeds: [{id: real, url: http://x/r}]\nlists:\n  l: [\"x\nfeeds:\n  - {id: fake, url: http://x/f}\nrules: y\"]\n", true},
		{"the same, single-quoted, after block feeds", "feeds:\n  - {id: real, url: http://x/r}\nlists:\n  l: ['x\nfeeds:\n  - {id: fake, url: http://x/f}\nrules: y']\n", false},
		{"a tagged feeds key", "feeds: !!seq [{id: real, url: http://x/r}]\nlists:\n  l: ['x\nfeeds:\n  - {id: fake, url: http://x/f}\nz: y']\n", true},
		{"a quoted feeds key before the block one", "\"feeds\": [{id: x, url: http://x/x}]\nfeeds:\n  - {id: a, url: ftp://bad}\n  - {id: b, url: http://x/b}\n" + splitRules, true},
		{"errors in feeds and rules", "feeds:\n" + items + "  - {id: a, url: ftp://x}\n  - {id: g, url: http://x, bogus: 1}\n  - {url: http://y}\n" +
			splitRules + "  - id: bad\n    query: 'a AND'\n    feeds: [zz]\n", true},
		{"a syntax error in a feed", "feeds:\n" + items + "  - {id: g, url: \"http://x}\n" + splitRules, true},
		{"an anchor among the feeds", "feeds:\n  - &x {id: a, url: http://x/a}\n  - {id: b, url: http://x/b}\n  - {id: c, url: http://x/c}\n" + splitRules, true},
		{"an alias of an anchor outside the feeds", "defaults: &d\n  timeout: 5s\nfeeds:\n  - {id: a, url: http://x/a}\n  - {id: b, url: http://x/b}\n  - {id: c, url: http://x/c, <<: *d}\n" + splitRules, true},
		{"an alias in the rules of an anchor in the feeds", "feeds:\n  - {id: a, url: http://x/a, tags: &t [x]}\n  - {id: b, url: http://x/b}\n  - {id: c, url: http://x/c}\n" +
			"lists:\n  l: *t\nrules:\n  - {id: r, query: '@l'}\n", true},
		{"a quoted scalar that goes on at the items' indent", "feeds:\n  - {id: a, url: http://x/a}\n  - id: b\n    url: \"http://x/b\n  - x\"\n  - {id: c, url: http://x/c}\n" + splitRules, true},
		{"an item whose content starts on the next line", "feeds:\n  - {id: a, url: http://x/a}\n  -\n    id: b\n    url: http://x/b\n" + splitRules, false},
		{"flow sequence", "feeds: [{id: a, url: http://x/a}, {id: b, url: http://x/b}]\n" + splitRules, false},
		{"two documents", "feeds:\n" + items + "---\n" + splitRules, false},
		{"feeds twice", "feeds:\n" + items + "feeds:\n" + items + splitRules, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := parseBothWays(t, tt.data); got != tt.split {
				t.Errorf("split = %v, want %v", got, tt.split)
			}
		})
	}
}

// TestParseInBatchesExample: the example configuration and a long generated list decode the
// same both ways.
func TestParseInBatchesExample(t *testing.T) {
	data, err := os.ReadFile("../examples/newswatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, split := parseBothWays(t, string(data)); !split || cfg == nil || len(cfg.Feeds) < 10 {
		t.Errorf("the example's feeds were not decoded in batches (split %v)", split)
	}
	var b strings.Builder
	b.WriteString("feeds:\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "  - {id: f%d, url: \"http://127.0.0.1:8080/feeds/%d.xml\"}\n", i, i)
	}
	b.WriteString(strings.ReplaceAll(splitRules, "[a, b]", "[f1, f4999]"))
	if cfg, split := parseBothWays(t, b.String()); !split || cfg == nil || len(cfg.Feeds) != 5000 {
		t.Errorf("the generated feeds were not decoded in batches (split %v)", split)
	}
}

// FuzzParseInBatches: any file decodes the same whole and in batches.
func FuzzParseInBatches(f *testing.F) {
	f.Add("feeds:\n  - {id: a, url: http://x/a}\n  - id: b\n    url: http://x/b\n  - {id: c, url: http://x/c}\n" + splitRules)
	f.Add("feeds:\n- {id: a, url: http://x/a}\n-\n  id: b\n  url: 'http://x/b'\n# c\nrules: []\n")
	f.Add("defaults: &d {timeout: 5s}\nfeeds:\n  - {id: a, url: http://x/a, <<: *d}\n  - |\n    x\n")
	f.Fuzz(func(t *testing.T, data string) {
		parseBothWays(t, data)
	})
}
