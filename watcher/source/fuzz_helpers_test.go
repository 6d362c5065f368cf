package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
)

func fixtureF(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// checkFeed holds the invariants of every parser's feed: bounded, valid UTF-8 fields, and
// every item addressable by a link or a title.
func checkFeed(t *testing.T, f *gofeed.Feed) {
	t.Helper()
	if len(f.Items) > MaxItems {
		t.Fatalf("got %d items, over %d", len(f.Items), MaxItems)
	}
	for i, it := range f.Items {
		if it == nil {
			t.Fatalf("item %d is nil", i)
		}
		if it.Link == "" && it.Title == "" {
			t.Fatalf("item %d has neither link nor title", i)
		}
		if it.Link != "" && !strings.HasPrefix(it.Link, "http://") && !strings.HasPrefix(it.Link, "https://") {
			t.Fatalf("item %d: link %q is no http(s) address", i, it.Link)
		}
		for _, s := range []string{it.Title, it.Content, it.Description} {
			if len(s) > MaxFieldBytes {
				t.Fatalf("item %d: field of %d bytes", i, len(s))
			}
			if !utf8.ValidString(s) && s != "" {
				// gofeed's fields are UTF-8 strings the watcher repairs; ours are valid.
				t.Fatalf("item %d: invalid UTF-8 %q", i, s)
			}
		}
	}
}
