package matcher

import (
	"testing"
	"unicode/utf16"
)

func TestUnits(t *testing.T) {
	it := &Item{
		Title:   "North Korea",
		Summary: "Бои под Курском 🇺🇦 и 북한군 near Kursk",
		Authors: []string{"A", "Ж😀 Kursk"},
	}
	// span returns the hit of the first occurrence of s in the field's text.
	span := func(field string, index int, s string) Hit {
		text := it.Field(field, index)
		for i := 0; i+len(s) <= len(text); i++ {
			if text[i:i+len(s)] == s {
				return Hit{Field: field, Index: index, Start: i, End: i + len(s), Text: s}
			}
		}
		t.Fatalf("%q not in %s[%d]", s, field, index)
		return Hit{}
	}
	hits := []Hit{
		span("title", 0, "Korea"),
		span("summary", 0, "Курском"),
		span("summary", 0, "북한군"),
		span("summary", 0, "Kursk"),
		span("summary", 0, "Бои"), // out of order: counted again from the start
		span("author", 1, "Kursk"),
	}
	Units(hits, it)
	for _, h := range hits {
		text := it.Field(h.Field, h.Index)
		// What JavaScript and Python would slice with the offsets.
		u16 := utf16.Encode([]rune(text))
		if got := string(utf16.Decode(u16[h.Start16:h.End16])); got != h.Text {
			t.Errorf("%s %q: UTF-16 [%d:%d] gives %q", h.Field, h.Text, h.Start16, h.End16, got)
		}
		if got := string([]rune(text)[h.StartCP:h.EndCP]); got != h.Text {
			t.Errorf("%s %q: code points [%d:%d] give %q", h.Field, h.Text, h.StartCP, h.EndCP, got)
		}
	}
	// The flag is two code points of two UTF-16 units each, so after it the two counts differ.
	if h := hits[3]; h.Start16 != h.StartCP+2 {
		t.Errorf("after an astral character: start_utf16 %d, start_codepoint %d, want them 2 apart", h.Start16, h.StartCP)
	}
}
