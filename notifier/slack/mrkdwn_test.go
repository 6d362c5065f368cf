package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextLenCountsUTF16Units(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"abc", 3},
		{"Курск", 5},           // 10 bytes
		{"북한군", 3},             // 9 bytes
		{"😀", 2},               // outside the BMP: a surrogate pair
		{"🇰🇷", 4},              // two regional indicators
		{"e\u0301", 2},         // e and a combining accent
		{"\xff", 1},            // an invalid byte, sent as U+FFFD
		{"&amp;", 5},           // an entity counts as written
		{"👨\u200d👩\u200d👧", 8}, // a family: three emoji, two joiners
	}
	for _, tt := range tests {
		if got := textLen(tt.s); got != tt.want {
			t.Errorf("textLen(%q): got %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestTruncateCutsWhereAReaderSeesACharacterEnd(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"fits", "North Korea", 11, "North Korea"},
		{"latin", "North Korea", 6, "North…"},
		{"trailing space dropped", "North Korea", 7, "North…"},
		{"russian", "Войска КНДР в Курске", 8, "Войска…"},
		{"korean", "북한군 쿠르스크 파병", 5, "북한군…"},
		{"emoji not split in its surrogates", "ab😀cd", 4, "ab…"},
		{"emoji fits", "ab😀cd", 5, "ab😀…"},
		{"skin tone kept with its emoji", "a👍🏽b", 4, "a…"},
		{"skin tone whole", "a👍🏽bc", 6, "a👍🏽…"},
		{"flags cut between pairs", "🇰🇷🇷🇺🇺🇦", 7, "🇰🇷…"},
		{"flags, an odd budget", "🇰🇷🇷🇺🇺🇦", 10, "🇰🇷🇷🇺…"},
		{"combining accent kept", "cafe\u0301s", 5, "caf…"},
		{"joined family kept whole", "x👨\u200d👩\u200d👧y", 8, "x…"},
		{"variation selector kept", "a❤\ufe0fb", 3, "a…"},
		{"hangul jamo kept together", "a\u1100\u1161\u11a8b", 4, "a…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.s, tt.n)
			if got != tt.want {
				t.Errorf("truncate(%q, %d): got %q, want %q", tt.s, tt.n, got, tt.want)
			}
			if textLen(got) > tt.n || !utf8.ValidString(got) {
				t.Errorf("truncate(%q, %d): got %q, %d characters, want at most %d, valid UTF-8", tt.s, tt.n, got, textLen(got), tt.n)
			}
		})
	}
}

func TestMrkdwnFitKeepsMarkupWhole(t *testing.T) {
	type part struct{ kind, s string } // kind: markup, text, bold, code
	tests := []struct {
		name  string
		parts []part
		n     int
		want  string
	}{
		{"fits exactly", []part{{"markup", "<https://a.example/|Read>"}, {"text", " a&b"}}, 33, "<https://a.example/|Read> a&amp;b"},
		{"a link is kept whole or left out", []part{{"text", "see "}, {"markup", "<https://a.example/x|Read the article>"}}, 30, "see…"},
		{"an entity is kept whole or left out", []part{{"text", "AT&T"}}, 5, "AT…"},
		{"an entity that fits", []part{{"text", "AT&T!"}}, 8, "AT&amp;…"},
		{"escaping: no forged link or mention", []part{{"text", "<!channel> <https://evil|x>"}}, 100, "&lt;!channel&gt; &lt;https://evil|x&gt;"},
		{"bold is closed after the ellipsis", []part{{"markup", "Feed: "}, {"bold", "World News Today"}}, 14, "Feed: *World…*"},
		{"bold cut before its text is left out", []part{{"markup", "Feed: "}, {"bold", "World"}}, 9, "Feed:…"},
		{"code is closed", []part{{"markup", "Rule "}, {"code", "north-korea-troops"}}, 14, "Rule `north-…`"},
		{"text after a closed span", []part{{"bold", "ab"}, {"text", " cdefgh"}}, 8, "*ab* cd…"},
		{"the entity inside bold", []part{{"bold", "a&b"}}, 6, "*a…*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m mrkdwn
			for _, p := range tt.parts {
				switch p.kind {
				case "markup":
					m.markup(p.s)
				case "text":
					m.text(p.s)
				case "bold":
					m.styled("*", p.s)
				case "code":
					m.styled("`", p.s)
				}
			}
			got := m.fit(tt.n)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if textLen(got) > tt.n {
				t.Errorf("got %d characters, want at most %d", textLen(got), tt.n)
			}
			if err := checkMrkdwn(got); err != nil {
				t.Errorf("%q: %v", got, err)
			}
		})
	}
}

func TestSnippetCutKeepsBoldSpansInside(t *testing.T) {
	text := strings.Repeat("Войска КНДР ", 400) // 4,800 characters, 400 hits
	got, spans := snippet(eventData(text, "КНДР", "войска"))
	if n := textLen(got); n > maxSnippet || !strings.HasSuffix(got, ellipsis) {
		t.Fatalf("snippet: got %d characters, want at most %d ending in …", n, maxSnippet)
	}
	if len(spans) != maxBold {
		t.Errorf("bold spans: got %d, want %d", len(spans), maxBold)
	}
	for _, s := range spans {
		if s.end > len(got)-len(ellipsis) || !utf8.ValidString(got[s.start:s.end]) {
			t.Errorf("span %v: outside the kept text or not at characters", s)
		}
	}
}
