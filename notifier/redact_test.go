package notifier

import "testing"

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, urls, want string
	}{
		{"plain", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"user and password", "nats://user:s3cret@nats.example:4222", "nats://redacted@nats.example:4222"},
		{"token", "tls://s3cret@nats.example", "tls://redacted@nats.example"},
		{"no scheme", "user:s3cret@nats.example:4222", "redacted@nats.example:4222"},
		{"query", "wss://nats.example/ws?token=s3cret&x=", "wss://nats.example/ws?token=redacted&x="},
		{"bare query value", "wss://nats.example/ws?s3cret", "wss://nats.example/ws?redacted"},
		{"at in the query", "wss://nats.example/ws?user=a@s3cret", "wss://nats.example/ws?user=redacted"},
		{"userinfo and query", "wss://u:s3cret@nats.example/ws?k=s3cret#s3cret", "wss://redacted@nats.example/ws?k=redacted"},
		{"list", "nats://a:s3cret@n1:4222,nats://n2:4222?t=s3cret, nats://b@n3", "nats://redacted@n1:4222,nats://n2:4222?t=redacted, nats://redacted@n3"},
		{"unparsable", "nats://u:s3cret@nats.example:port", "nats://redacted@nats.example:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactURL(tt.urls); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.urls, got, tt.want)
			}
		})
	}
}
