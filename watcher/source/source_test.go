package source

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// want is what a test checks of an item; zero fields are not checked, except Link.
type want struct {
	Title, Link, GUID, Content, Description string
	Published                               string // RFC 3339, UTC
	Authors, Categories                     []string
}

func checkItems(t *testing.T, f *gofeed.Feed, wants []want) {
	t.Helper()
	if len(f.Items) != len(wants) {
		for i, it := range f.Items {
			t.Logf("item %d: %q %q", i, it.Title, it.Link)
		}
		t.Fatalf("got %d items, want %d", len(f.Items), len(wants))
	}
	for i, w := range wants {
		it := f.Items[i]
		if it.Link != w.Link {
			t.Errorf("item %d: link %q, want %q", i, it.Link, w.Link)
		}
		check := func(field, got, want string) {
			if want != "" && got != want {
				t.Errorf("item %d: %s %q, want %q", i, field, got, want)
			}
		}
		check("title", it.Title, w.Title)
		check("guid", it.GUID, w.GUID)
		check("content", it.Content, w.Content)
		check("description", it.Description, w.Description)
		if w.Published != "" {
			if it.PublishedParsed == nil {
				t.Errorf("item %d: no publication date, want %s", i, w.Published)
			} else if got := it.PublishedParsed.Format(time.RFC3339); got != w.Published {
				t.Errorf("item %d: published %s, want %s", i, got, w.Published)
			}
		}
		if w.Authors != nil {
			var got []string
			for _, a := range it.Authors {
				got = append(got, a.Name)
			}
			if !reflect.DeepEqual(got, w.Authors) {
				t.Errorf("item %d: authors %q, want %q", i, got, w.Authors)
			}
		}
		if w.Categories != nil && !reflect.DeepEqual(it.Categories, w.Categories) {
			t.Errorf("item %d: categories %q, want %q", i, it.Categories, w.Categories)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for no date
	}{
		{"2026-12-03T09:12:00+00:00", "2026-12-03T09:12:00Z"},
		{"2026-12-03T10:15:00+02:00", "2026-12-03T08:15:00Z"},
		{"2026-12-03T09:44:11.402Z", "2026-12-03T09:44:11Z"},
		{"2026-12-03", "2026-12-03T00:00:00Z"},
		{"2026-12-03 07:30", "2026-12-03T07:30:00Z"},
		{"Thu, 03 Dec 2026 09:12:00 +0100", "2026-12-03T08:12:00Z"},
		{"Thu, 03 Dec 2026 09:12:00 GMT", "2026-12-03T09:12:00Z"},
		{"3 December 2026", "2026-12-03T00:00:00Z"},
		{"December 3, 2026", "2026-12-03T00:00:00Z"},
		{"Dec 3, 2026 4:05 PM", "2026-12-03T16:05:00Z"},
		{"03.12.2026", "2026-12-03T00:00:00Z"},
		{"2026/12/03", "2026-12-03T00:00:00Z"},
		{"  3   December\n 2026 ", "2026-12-03T00:00:00Z"},
		{"1796288400", "2026-12-03T09:00:00Z"},
		{"yesterday", ""},
		{"0001-01-01", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseDate(tt.in)
			switch {
			case tt.want == "" && ok:
				t.Fatalf("got %v, want no date", got)
			case tt.want != "" && !ok:
				t.Fatalf("got no date, want %s", tt.want)
			case ok && got.Format(time.RFC3339) != tt.want:
				t.Fatalf("got %s, want %s", got.Format(time.RFC3339), tt.want)
			}
		})
	}
}

func TestTitleFrom(t *testing.T) {
	long := "word "
	for len(long) < 400 {
		long += "word "
	}
	tests := []struct{ name, in, want string }{
		{"first line", "\n  Air-raid   alert\nsecond", "Air-raid alert"},
		{"escaped", "a <b> & c", "a &lt;b&gt; &amp; c"},
		{"cut at a word", long, func() string {
			s := long[:140]
			return s[:len(s)-1] + "…"
		}()},
		{"blank", " \n\t", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := titleFrom(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNilPage: a parser given no address still parses (links are then absolute or dropped).
func TestNilPage(t *testing.T) {
	if f, _, err := Sitemap(fixture(t, "news-sitemap.xml"), nil); err != nil || len(f.Items) != 2 {
		t.Errorf("sitemap: got %v, %v; want the 2 absolute links", f, err)
	}
	if f, err := HTML(fixture(t, "ministry.html"), nil, ministrySelectors); err != nil || len(f.Items) != 3 {
		t.Errorf("html: got %v, %v; want 3 items resolved by <base href>", f, err)
	}
	if f, err := Telegram(fixture(t, "telegram.html"), nil); err != nil || len(f.Items) != 3 {
		t.Errorf("telegram: got %v, %v", f, err)
	}
	if f, err := Mastodon(fixture(t, "mastodon-tag.json"), nil); err != nil || len(f.Items) != 3 {
		t.Errorf("mastodon: got %v, %v", f, err)
	}
	if f, err := Bluesky(fixture(t, "bluesky.json"), nil, false); err != nil || len(f.Items) != 2 {
		t.Errorf("bluesky: got %v, %v", f, err)
	}
}
