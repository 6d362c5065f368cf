package web

import (
	"testing"
)

func TestHighlight(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		spans []span
		want  string
	}{
		{"none", "<b>Kursk</b>", nil, "&lt;b&gt;Kursk&lt;/b&gt;"},
		{"one", "Troops near Kursk", []span{{12, 17}}, "Troops near <mark>Kursk</mark>"},
		{"escaped inside", "a <script> b", []span{{2, 10}}, "a <mark>&lt;script&gt;</mark> b"},
		{"unsorted and overlapping", "abcdefgh", []span{{5, 7}, {0, 2}, {1, 3}}, "<mark>abc</mark>de<mark>fg</mark>h"},
		{"out of range", "abc", []span{{2, 9}, {-1, 1}, {2, 2}}, "abc"},
		{"inside a rune", "née", []span{{2, 4}}, "née"},
		{"multibyte", "Übung Kyiv", []span{{7, 11}}, "Übung <mark>Kyiv</mark>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(highlight(tt.text, tt.spans)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	text := "0123456789 the word kursk comes here and the text goes on for a long while after it"
	got, spans := excerpt(text, []span{{20, 25}}, 30)
	if len(spans) != 1 || got[spans[0].Start:spans[0].End] != "kursk" {
		t.Fatalf("excerpt %q with spans %v: the span does not cover kursk", got, spans)
	}
	if short, s := excerpt("short", []span{{0, 5}}, 30); short != "short" || len(s) != 1 {
		t.Errorf("got %q %v, want the text whole", short, s)
	}
}
