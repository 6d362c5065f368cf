package redact

import "testing"

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.org/rss", "https://example.org/rss"},
		{"https://user:secret@example.org/rss", "https://redacted@example.org/rss"},
		{"https://example.org/rss?apikey=SECRET&lang=en&flag&empty=", "https://example.org/rss?apikey=redacted&lang=redacted&redacted&empty="},
		{"https://user:pa?ss@example.org/feed", "https://redacted@example.org/feed"},
		{"https://user:pa#ss@example.org/feed?t=x", "https://redacted@example.org/feed?t=redacted"},
		{"https://example.org/feed#frag", "https://example.org/feed"},
		{"https://example.org/feed?t=a@b#frag", "https://example.org/feed?t=redacted"},
		{"https://mastodon.example/@bob.rss", "https://mastodon.example/@bob.rss"},
		{"nats://user:pass@127.0.0.1:4222", "nats://redacted@127.0.0.1:4222"},
		{"127.0.0.1:4222", "127.0.0.1:4222"},
		{"tok@host:4222", "redacted@host:4222"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := URL(URL(tt.in)); got != URL(tt.in) {
			t.Errorf("URL(URL(%q)) = %q, want it to change nothing more", tt.in, got)
		}
	}
}
