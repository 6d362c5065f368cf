package matcher

import "testing"

func TestPlainText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain unchanged", "North Korea  troops\n", "North Korea  troops\n"},
		{"tags", "<p>North <b>Korea</b></p><p>troops</p>", "North Korea troops"},
		{"inline joins", "<b>Kor</b>ea", "Korea"},
		{"block separates", "Kor<br>ea", "Kor ea"},
		{"entities", "Kim &amp; Moon &quot;met&quot; &#233;t&eacute;", `Kim & Moon "met" été`},
		{"nbsp collapses", "a&nbsp;&nbsp;b", "a b"},
		{"script dropped", "a<script>var x = '<b>';</script> b<style>p{}</style>", "a b"},
		{"comment dropped", "a<!-- hidden -->b", "ab"},
		{"whitespace collapsed", "<div>\n  a \t b\n</div>", "a b"},
		{"ampersand text", "AT&T < expected", "AT&T < expected"},
		{"attributes ignored", `<a href="https://x.org/kursk" title="kursk">link</a>`, "link"},
		{"cyrillic entity", "&#1050;&#1091;&#1088;&#1089;&#1082;", "Курск"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlainText(tc.in); got != tc.want {
				t.Errorf("PlainText(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	text := "Officials said on Tuesday that North Korea confirmed for the first time that it had sent troops to Russia."
	hit := func(s string) Hit {
		for i := 0; i+len(s) <= len(text); i++ {
			if text[i:i+len(s)] == s {
				return Hit{Field: "content", Start: i, End: i + len(s), Text: s}
			}
		}
		t.Fatalf("%q not in text", s)
		return Hit{}
	}
	for _, tc := range []struct {
		name  string
		hit   Hit
		width int
		want  string
	}{
		{"middle", hit("North Korea"), 40, "… Tuesday that North Korea confirmed for …"},
		{"start", hit("Officials"), 30, "Officials said on Tuesday that …"},
		{"end", hit("Russia."), 25, "… sent troops to Russia."},
		{"whole", hit("troops"), 500, text},
		{"hit wider than width", hit("North Korea confirmed"), 5, "… North Korea confirmed …"},
		{"bad hit", Hit{Start: 5, End: 1000}, 40, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Snippet(text, tc.hit, tc.width); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	cyr := "Войска КНДР находятся в Курской области уже несколько месяцев"
	h := Hit{Start: len("Войска КНДР находятся в "), End: len("Войска КНДР находятся в Курской")}
	if got, want := Snippet(cyr, h, 60), "… находятся в Курской области уже …"; got != want {
		t.Errorf("cyrillic: got %q, want %q", got, want)
	}
}

func TestItemField(t *testing.T) {
	it := &Item{Title: "t", Summary: "s", Content: "c", Link: "l", Authors: []string{"a0", "a1"}, Categories: []string{"c0"}}
	for _, tc := range []struct {
		name  string
		index int
		want  string
	}{
		{"title", 0, "t"}, {"summary", 0, "s"}, {"content", 0, "c"}, {"link", 0, "l"},
		{"author", 1, "a1"}, {"category", 0, "c0"}, {"author", 2, ""}, {"nope", 0, ""},
	} {
		if got := it.Field(tc.name, tc.index); got != tc.want {
			t.Errorf("Field(%q, %d): got %q, want %q", tc.name, tc.index, got, tc.want)
		}
	}
}
