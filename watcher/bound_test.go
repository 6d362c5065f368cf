package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestParseMatchesGofeed parses every file of gofeed's test data twice, bounded and with gofeed
// alone on the whole document (parseDocumentGofeed, the parser before bounds): the documents, or
// the error classes, must be the same.
func TestParseMatchesGofeed(t *testing.T) {
	root := gofeedTestdata(t)
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		want, wantErr := parseDocumentGofeed(data)
		got, err := ParseDocument(t.Context(), data)
		if ClassifyError(err) != ClassifyError(wantErr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %d items, %v; want %d items, %v", path[len(root):], len(got.Items), err, len(want.Items), wantErr)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("%d files under %s, want gofeed's corpus", files, root)
	}
}

// TestParseHostileDocuments parses each hostile document: it must finish (its time is in
// BenchmarkParseHostile) with the first MaxItems items and their fields whole.
func TestParseHostileDocuments(t *testing.T) {
	checks := map[string]func(t *testing.T, doc Document){
		"atom-xmlbase-xhtml": func(t *testing.T, doc Document) {
			for i, it := range doc.Items {
				link := fmt.Sprintf("https://example.org/base/e%d/l/a%d.html", i, i)
				if it.Key != fmt.Sprintf("urn:hostile:%d", i) || it.Title != fmt.Sprintf("Kursk %d", i) || it.Link != link ||
					!strings.HasPrefix(it.Content, "Kursk troops at the front.") || !strings.HasPrefix(it.Summary, "Kursk troops at the front.") ||
					!slices.Equal(it.Authors, []string{"Ann Writer"}) || !slices.Equal(it.Categories, []string{"war"}) ||
					!it.Published.Equal(utc("2026-11-26T14:00:00Z")) {
					t.Fatalf("entry %d: got %+v, want key, title, link %s (resolved against xml:base), text, author, category, date", i, it.Item, link)
				}
			}
		},
		"rss-empty-items": func(t *testing.T, doc Document) {
			if doc.Title != "Empty" || doc.Items[0].Key == "" {
				t.Errorf("got title %q, first key %q; want Empty and a hash", doc.Title, doc.Items[0].Key)
			}
		},
		"json-items": func(t *testing.T, doc Document) {
			if doc.Title != "JSON flood" {
				t.Errorf("title %q, want the one after the items", doc.Title)
			}
			for i, it := range doc.Items {
				if it.Key != fmt.Sprintf("%x", i) {
					t.Fatalf("item %d: key %q, want %x", i, it.Key, i)
				}
			}
		},
		"rss-cdata-html": func(t *testing.T, doc Document) {
			const text = "Troops near Kursk moved at dawn & dusk. nested Troops near Kursk"
			for i, it := range doc.Items {
				if it.Key != fmt.Sprintf("c%d", i) || it.Title != fmt.Sprintf("Item %d", i) {
					t.Errorf("item %d: key %q title %q", i, it.Key, it.Title)
				}
				for name, s := range map[string]string{"summary": it.Summary, "content": it.Content} {
					if !strings.HasPrefix(s, text) || len(s) > MaxFieldBytes || len(s) < MaxFieldBytes-200 || !utf8.ValidString(s) {
						t.Errorf("item %d %s: %d bytes starting %.80q; want %d bytes or so of %q…", i, name, len(s), s, MaxFieldBytes, text)
					}
				}
			}
		},
	}
	for _, d := range hostileDocs {
		t.Run(d.name, func(t *testing.T) {
			data := d.build()
			if len(data) > hostileSize {
				t.Fatalf("document of %d bytes, want at most max_body (%d)", len(data), hostileSize)
			}
			doc, err := ParseDocument(t.Context(), data)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Items) != d.items {
				t.Fatalf("got %d items, want %d", len(doc.Items), d.items)
			}
			checks[d.name](t, doc)
		})
	}
}

// TestParseBounds checks each bound on a small document.
func TestParseBounds(t *testing.T) {
	nested := strings.Repeat("<span>deep ", 100) + strings.Repeat("</span>", 100)
	escaped := strings.Repeat("Kursk &amp; Orel ", 20_000)
	tests := []struct {
		name  string
		doc   string
		items int
		check func(t *testing.T, doc Document)
	}{
		{
			name:  "broken after the item cap",
			doc:   strings.TrimSuffix(rss("Feed", numbered(MaxItems+5)...), "</channel></rss>\n") + "<item><title>x</broken",
			items: MaxItems,
		},
		{
			name: "field nested past the depth bound",
			doc: `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>T</title>` +
				`<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">` + nested + `</div></content></entry></feed>`,
			items: 1,
			check: func(t *testing.T, doc Document) {
				it := doc.Items[0]
				if n := strings.Count(it.Content, "deep"); n < 20 || n > fieldDepth || it.Title != "T" {
					t.Errorf("content %q (%d words), title %q; want the words above depth %d and the title", it.Content, n, it.Title, fieldDepth)
				}
			},
		},
		{
			name:  "start tag of huge attributes",
			doc:   hugeAttrRSS(),
			items: 2,
			check: func(t *testing.T, doc Document) {
				if doc.Items[0].Title != "Kursk" || doc.Items[0].Link != "" || doc.Items[1].Title != "Orel" {
					t.Errorf("got %+v, want the field with the huge attribute dropped, the rest kept", doc.Items)
				}
			},
		},
		{
			name:  "escaped text cut before an entity",
			doc:   rss("Feed", rssItem{GUID: "1", Title: "T", Description: escaped}),
			items: 1,
			check: func(t *testing.T, doc Document) {
				s := doc.Items[0].Summary
				if len(s) != MaxFieldBytes && len(s) < MaxFieldBytes-utf8.UTFMax || strings.Contains(s, "&amp") || !strings.HasPrefix(s, "Kursk & Orel") {
					t.Errorf("summary of %d bytes ending %q, want %d bytes of decoded text", len(s), s[max(0, len(s)-30):], MaxFieldBytes)
				}
			},
		},
		{
			name:  "JSON Feed with null items",
			doc:   `{"version":"https://jsonfeed.org/version/1.1","title":"T","items":null}`,
			items: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ParseDocument(t.Context(), []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Items) != tt.items {
				t.Fatalf("got %d items, want %d", len(doc.Items), tt.items)
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
		})
	}
}

func TestParseBoundsMalformed(t *testing.T) {
	for name, doc := range map[string]string{
		"json after the feed":    `{"version":"https://jsonfeed.org/version/1.1","items":[]} {}`,
		"json items not a list":  `{"version":"https://jsonfeed.org/version/1.1","items":"x"}`,
		"json broken in items":   `{"version":"https://jsonfeed.org/version/1.1","items":[{"id":1},{"id":]}`,
		"rss broken before cap":  strings.TrimSuffix(rss("Feed", numbered(5)...), "</channel></rss>\n") + "<item><title>x</broken",
		"atom never closed":      `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id></entry>`,
		"rss cut inside a field": rss("Feed", rssItem{GUID: "1", Title: strings.Repeat("x", fieldBudget+10)})[:fieldBudget],
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := ParseDocument(t.Context(), []byte(doc))
			if !errors.Is(err, ErrMalformedFeed) || doc.Items != nil {
				t.Errorf("got %d items, %v; want ErrMalformedFeed", len(doc.Items), err)
			}
		})
	}
}

// TestParseDeadline parses under a context already past its deadline, as a poll's parse that
// ran past ParseTimeout: the error is ErrParseTimeout, of its own class, for each format.
func TestParseDeadline(t *testing.T) {
	docs := map[string]string{"rss": rss("Feed", numbered(3)...), "atom": atomDoc, "json": jsonDoc}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithDeadlineCause(t.Context(), time.Now().Add(-time.Second), ErrParseTimeout)
			defer cancel()
			got, err := ParseDocument(ctx, []byte(doc))
			if !errors.Is(err, ErrParseTimeout) || ClassifyError(err) != ClassParseTimeout || got.Items != nil {
				t.Errorf("got %d items, %v (class %q); want ErrParseTimeout, class %q", len(got.Items), err, ClassifyError(err), ClassParseTimeout)
			}
			// A deadline of the caller's own, without a cause, is a parse timeout as well.
			ctx, cancel = context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			defer cancel()
			if _, err := ParseDocument(ctx, []byte(doc)); !errors.Is(err, ErrParseTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("own deadline: got %v, want ErrParseTimeout wrapping context.DeadlineExceeded", err)
			}
		})
	}
	// A deadline that passes while gofeed reads stops it at its next read.
	ctx, cancel := context.WithCancelCause(t.Context())
	r := ctxReader{ctx, strings.NewReader("abc")}
	buf := make([]byte, 1)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel(ErrParseTimeout)
	if _, err := r.Read(buf); !errors.Is(err, ErrParseTimeout) {
		t.Errorf("read after the deadline: %v, want ErrParseTimeout", err)
	}
}

// numbered is n items with GUIDs 0 to n-1.
func numbered(n int) []rssItem {
	its := make([]rssItem, n)
	for i := range its {
		its[i] = rssItem{GUID: fmt.Sprint(i), Title: "t"}
	}
	return its
}

// hugeAttrRSS is two items, the first with a link whose start tag is larger than fieldBudget.
func hugeAttrRSS() string {
	return `<rss version="2.0"><channel><title>F</title>` +
		`<item><guid>1</guid><title>Kursk</title><link rel="` + strings.Repeat("x", fieldBudget) + `">https://example.org/1</link></item>` +
		`<item><guid>2</guid><title>Orel</title></item></channel></rss>`
}
