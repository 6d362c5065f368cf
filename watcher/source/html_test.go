package source

import (
	"errors"
	"strings"
	"testing"
)

var ministrySelectors = Selectors{
	Item:    "li.news-item",
	Title:   ".news-title",
	Link:    ".news-title a",
	Date:    ".news-date",
	Summary: ".news-lead",
}

func TestHTML(t *testing.T) {
	page := mustURL(t, "https://www.mod.example.gov/en/press/")
	f, err := HTML(fixture(t, "ministry.html"), page, ministrySelectors)
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Press releases | Ministry of Defence" {
		t.Errorf("feed title %q", f.Title)
	}
	checkItems(t, f, []want{
		{
			// relative to <base href>, not to the page
			Title:       "Statement on the border incident near Sumy",
			Link:        "https://www.mod.example.gov/en/press/2026/12/03/statement-on-border-incident",
			Published:   "2026-12-03T08:15:00Z",
			Description: "The Ministry confirms that <b>two drones</b> crossed the border at 04:10.",
		},
		{
			Title:     "Minister visits &amp; inspects air-defence units",
			Link:      "https://www.mod.example.gov/en/press/2026/12/02/minister-visit",
			Published: "2026-12-02T00:00:00Z",
		},
		{
			Title:     "Daily briefing",
			Link:      "https://www.mod.example.gov/en/press/2026/12/01/briefing",
			Published: "2026-12-01T00:00:00Z",
		},
		// the empty item has neither title nor link: skipped
	})
}

func TestHTMLDefaults(t *testing.T) {
	// Only the item selector: the link is the item's first a[href], the title its text.
	page := mustURL(t, "https://news.example/list")
	data := []byte(`<ul><li><a href="/a">First &lt;story&gt;</a> <a href="/other">x</a></li><li><a href="b">Second</a></li></ul>` +
		`<div class="cards"><a class="card" href="https://news.example/c"> Card  title </a></div>`)
	f, err := HTML(data, page, Selectors{Item: "li, a.card"})
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, f, []want{
		{Title: "First &lt;story&gt;", Link: "https://news.example/a"},
		{Title: "Second", Link: "https://news.example/b"},
		{Title: "Card title", Link: "https://news.example/c"},
	})
}

func TestSelectorsValidate(t *testing.T) {
	tests := []struct {
		name string
		sel  Selectors
		ok   bool
	}{
		{"item only", Selectors{Item: "article"}, true},
		{"all", ministrySelectors, true},
		{"no item", Selectors{Title: "h2"}, false},
		{"blank item", Selectors{Item: "  "}, false},
		{"bad item", Selectors{Item: "li[["}, false},
		{"bad date", Selectors{Item: "li", Date: ":nth-child("}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sel.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrOptions) {
				t.Fatalf("got %v, want ErrOptions", err)
			}
		})
	}
}

func TestHTMLHostile(t *testing.T) {
	page := mustURL(t, "https://a.example/")
	many := strings.Repeat(`<li><a href="/x">t</a></li>`, MaxItems+100)
	tests := []struct {
		name    string
		data    string
		sel     Selectors
		wantErr error
		items   int
	}{
		{"empty", "", Selectors{Item: "li"}, ErrEmpty, 0},
		{"too large", strings.Repeat(" ", MaxPageBytes+1), Selectors{Item: "li"}, ErrTooLarge, 0},
		{"bad selector", "<li>x</li>", Selectors{Item: "li[["}, ErrOptions, 0},
		{"no match", "<p>x</p>", Selectors{Item: "li"}, ErrNoItems, 0},
		{"matches without title or link", "<li> </li><li></li>", Selectors{Item: "li"}, ErrNoItems, 0},
		{"not html at all", "\x00\x01\x02 binary \xff\xfe", Selectors{Item: "li"}, ErrNoItems, 0},
		{"many items", "<ul>" + many + "</ul>", Selectors{Item: "li"}, nil, MaxItems},
		{"deep nesting", strings.Repeat("<div>", 100000) + `<li><a href="/x">t</a></li>`, Selectors{Item: "li"}, ErrMalformed, 0},
		{"nesting the parser takes", strings.Repeat("<div>", 400) + `<li><a href="/x">t</a></li>`, Selectors{Item: "li"}, nil, 1},
		{"unclosed everything", `<li><a href="/x">t<li><a href="/y">u`, Selectors{Item: "li"}, nil, 2},
		{"javascript link", `<li><a href="javascript:alert(1)">t</a></li>`, Selectors{Item: "li"}, nil, 1},
		{"huge title", `<li><a href="/x">` + strings.Repeat("word ", MaxFieldBytes) + `</a></li>`, Selectors{Item: "li"}, nil, 1},
		{"invalid utf-8", "<li><a href=\"/x\">a\xffb</a></li>", Selectors{Item: "li"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := HTML([]byte(tt.data), page, tt.sel)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || f != nil {
					t.Fatalf("got %v (feed %v), want %v", err, f != nil, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if len(f.Items) != tt.items {
				t.Fatalf("got %d items, want %d", len(f.Items), tt.items)
			}
			checkFeed(t, f)
		})
	}
}

func FuzzHTML(f *testing.F) {
	f.Add(fixtureF(f, "ministry.html"), "li.news-item", ".news-title a", ".news-date")
	f.Add([]byte(`<li><a href="/a">x</a></li>`), "li", "", "")
	f.Add([]byte(`<base href="//evil"><li><a href="a">x</a></li>`), "li", "a", "time")
	page := mustURL(f, "https://a.example/dir/page.html")
	f.Fuzz(func(t *testing.T, data []byte, item, link, date string) {
		feed, err := HTML(data, page, Selectors{Item: item, Link: link, Date: date})
		if err != nil {
			if feed != nil {
				t.Fatalf("got a feed with error %v", err)
			}
			return
		}
		checkFeed(t, feed)
	})
}
