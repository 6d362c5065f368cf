package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier"
)

func TestSnippetBoldsTheHits(t *testing.T) {
	tests := []struct {
		name string
		data notifier.EventData
		want string // bold parts in [brackets]
	}{
		{
			name: "snippet, every occurrence, any case",
			data: notifier.EventData{Snippet: "North Korea and north korea troops", Hits: []notifier.EventHit{{Text: "North Korea"}, {Text: "troops"}}},
			want: "[North Korea] and [north korea] [troops]",
		},
		{
			name: "overlapping hits merge",
			data: notifier.EventData{Snippet: "the north korean army", Hits: []notifier.EventHit{{Text: "north korea"}, {Text: "korean army"}}},
			want: "the [north korean army]",
		},
		{
			name: "without a snippet, the summary's hits at their offsets",
			data: notifier.EventData{Item: notifier.EventItem{Summary: "Курск: войска КНДР"}, Hits: []notifier.EventHit{
				{Field: "summary", Start: 0, End: 10, Text: "Курск"},
				{Field: "summary", Start: 25, End: 33, Text: "КНДР"},
				{Field: "title", Start: 0, End: 5, Text: "other"},
				{Field: "summary", Start: 1, End: 3, Text: "broken offsets"},
			}},
			want: "[Курск]: войска [КНДР]",
		},
		{
			name: "a hit not in the snippet is not bold",
			data: notifier.EventData{Snippet: "Kursk region", Hits: []notifier.EventHit{{Text: "Pyongyang"}}},
			want: "Kursk region",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, spans := snippet(tt.data)
			var b strings.Builder
			pos := 0
			for _, s := range spans {
				b.WriteString(text[pos:s.start] + "[" + text[s.start:s.end] + "]")
				pos = s.end
			}
			b.WriteString(text[pos:])
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatEscapesFeedText(t *testing.T) {
	ev := notifier.Event{ID: "e1", Time: "2026-11-26T15:37:26Z", Data: notifier.EventData{
		Rule: notifier.EventRule{ID: "r"},
		Feed: notifier.EventFeed{ID: "f", Title: "<!channel> & co"},
		Item: notifier.EventItem{Title: strings.Repeat("x", 200), Link: "javascript:alert(1)", Authors: []string{"<@U123>"}},
		Hits: []notifier.EventHit{{Text: "<b>"}},
	}}
	m := Format(ev)
	raw, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	blocks := string(raw)
	for _, bad := range []string{"<!channel>", "<@U123>", "|Read the article"} {
		if strings.Contains(blocks, bad) || strings.Contains(m.Text, bad) {
			t.Errorf("message carries %q unescaped: %s / %s", bad, blocks, m.Text)
		}
	}
	for _, want := range []string{"&lt;!channel&gt; &amp; co", "&lt;@U123&gt;", "javascript:alert(1)", "Matched “&lt;b&gt;”", "Matched <!date^"} {
		if !strings.Contains(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(blocks, `\u003c`, "<"), `\u003e`, ">"), `\u0026`, "&"), want) {
			t.Errorf("blocks: got %s, want them to contain %s", blocks, want)
		}
	}
	header := m.Blocks[0].(*slackapi.HeaderBlock).Text.Text
	if n := len([]rune(header)); n != maxHeader || !strings.HasSuffix(header, "…") {
		t.Errorf("header: got %d characters %q, want %d ending in …", n, header, maxHeader)
	}
	if m.EventID != "e1" {
		t.Errorf("event id: got %q, want e1", m.EventID)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
		retry     time.Duration // > 0: a rate limit
	}{
		{"429 with Retry-After", &slackapi.RateLimitedError{RetryAfter: 7 * time.Second}, false, 7 * time.Second},
		{"429 without", slackapi.StatusCodeError{Code: 429}, false, defaultRetryAfter},
		{"500", slackapi.StatusCodeError{Code: 500}, false, 0},
		{"404 webhook", slackapi.StatusCodeError{Code: http.StatusNotFound}, true, 0},
		{"channel_not_found", slackapi.SlackErrorResponse{Err: "channel_not_found"}, true, 0},
		{"invalid_auth", slackapi.SlackErrorResponse{Err: "invalid_auth"}, true, 0},
		{"internal_error", slackapi.SlackErrorResponse{Err: "internal_error"}, false, 0},
		{"ratelimited", slackapi.SlackErrorResponse{Err: "ratelimited"}, false, defaultRetryAfter},
		{"network", fmt.Errorf("dial: %w", errors.New("connection refused")), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.err)
			if got := errors.Is(err, ErrPermanent); got != tt.permanent {
				t.Errorf("permanent: got %v, want %v (%v)", got, tt.permanent, err)
			}
			var rl *RateLimitError
			got := time.Duration(0)
			if errors.As(err, &rl) {
				got = rl.RetryAfter
			}
			if got != tt.retry {
				t.Errorf("retry after: got %s, want %s", got, tt.retry)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := &Bridge{cfg: Config{RetryMin: time.Second, RetryMax: 10 * time.Second}}
	for _, tt := range []struct {
		delivered uint64
		want      time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {1000, 10 * time.Second}} {
		if got := b.backoff(tt.delivered); got != tt.want {
			t.Errorf("backoff(%d): got %s, want %s", tt.delivered, got, tt.want)
		}
	}
}
