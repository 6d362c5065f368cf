package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

func header(text string) map[string]any {
	return map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": text}}
}

func section(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

func contextBlock(n int, text string) map[string]any {
	elems := make([]any, n)
	for i := range elems {
		elems[i] = map[string]any{"type": "mrkdwn", "text": text}
	}
	return map[string]any{"type": "context", "elements": elems}
}

func richText(text string) map[string]any {
	return map[string]any{"type": "rich_text", "elements": []any{map[string]any{
		"type": "rich_text_section", "elements": []any{map[string]any{"type": "text", "text": text}},
	}}}
}

func TestCheckBlocks(t *testing.T) {
	many := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = section("x")
		}
		return out
	}
	fields := func(n, size int) map[string]any {
		f := make([]any, n)
		for i := range f {
			f[i] = map[string]any{"type": "mrkdwn", "text": strings.Repeat("f", size)}
		}
		return map[string]any{"type": "section", "fields": f}
	}
	tests := []struct {
		name   string
		blocks any
		want   string // "" for accepted; else the error and its first reason
	}{
		{"within every limit", []any{header(strings.Repeat("h", 150)), section(strings.Repeat("s", 3000)), richText("snippet"), contextBlock(10, "c")}, ""},
		{"header of 151", []any{header(strings.Repeat("h", 151))}, "invalid_blocks: must be less than 151 characters [json-pointer:/blocks/0/text/text]"},
		{"header of 75 emoji: 150 UTF-16 units", []any{header(strings.Repeat("😀", 75))}, ""},
		{"header of 76 emoji", []any{header(strings.Repeat("😀", 76))}, "invalid_blocks: must be less than 151 characters [json-pointer:/blocks/0/text/text]"},
		{"header of 150 Korean syllables", []any{header(strings.Repeat("북", 150))}, ""},
		{"header in mrkdwn", []any{map[string]any{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "h"}}}, "invalid_blocks: must be plain_text [json-pointer:/blocks/0/text/type]"},
		{"empty header", []any{header("")}, "invalid_blocks: must be more than 0 characters [json-pointer:/blocks/0/text/text]"},
		{"section of 3001", []any{header("h"), section(strings.Repeat("s", 3001))}, "invalid_blocks: must be less than 3001 characters [json-pointer:/blocks/1/text/text]"},
		{"section of 3000 Cyrillic letters (6000 bytes)", []any{section(strings.Repeat("ы", 3000))}, ""},
		{"10 fields of 1000", []any{fields(10, 1000)}, ""},
		{"fields of 2000", []any{fields(2, 2000)}, ""},
		{"11 fields", []any{fields(11, 1)}, "invalid_blocks: no more than 10 items allowed [json-pointer:/blocks/0/fields]"},
		{"a field of 2001", []any{fields(1, 2001)}, "invalid_blocks: must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"},
		{"section without text", []any{map[string]any{"type": "section"}}, "invalid_blocks: must provide text or fields [json-pointer:/blocks/0]"},
		{"11 context elements", []any{contextBlock(11, "c")}, "invalid_blocks: no more than 10 items allowed [json-pointer:/blocks/0/elements]"},
		{"a context element of 3001", []any{contextBlock(1, strings.Repeat("c", 3001))}, "invalid_blocks: must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]"},
		{"50 blocks", many(50), ""},
		{"51 blocks", many(51), "invalid_blocks: no more than 50 items allowed [json-pointer:/blocks]"},
		{"an unknown block", []any{map[string]any{"type": "marquee"}}, "invalid_blocks: unsupported type: marquee [json-pointer:/blocks/0/type]"},
		{"texts over 12,000 together", []any{section(strings.Repeat("s", 3000)), section(strings.Repeat("s", 3000)), section(strings.Repeat("s", 3000)), richText(strings.Repeat("r", 3001))}, "msg_blocks_too_long"},
		{"not an array", map[string]any{"type": "section"}, "invalid_blocks_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.blocks)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if r := fakeslack.CheckBlocks(raw); r != nil {
				got = r.Err
				if len(r.Errors) > 0 {
					got += ": " + r.Errors[0]
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The server answers a message that breaks a limit as Slack does, and cuts a text over 40,000
// characters.
func TestServerRefusesBlocksOverTheLimits(t *testing.T) {
	s := fakeslack.New(fakeslack.Config{Token: "xoxb-t", Channels: map[string]string{"#news": "C0NEWS"}, WebhookChannel: "C0HOOK", Interval: time.Nanosecond})
	defer s.Close()
	ctx, cancel := contextWithTimeout(t)
	defer cancel()
	api := slackapi.New("xoxb-t", slackapi.OptionAPIURL(s.APIURL()), slackapi.OptionHTTPClient(&http.Client{Transport: bearer("xoxb-t")}))

	long := slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, strings.Repeat("Ж", 151), false, false))
	_, _, err := api.PostMessageContext(ctx, "#news", slackapi.MsgOptionText("fallback", false), slackapi.MsgOptionBlocks(long))
	var se slackapi.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_blocks" {
		t.Fatalf("chat.postMessage of a 151-character header: got %v, want invalid_blocks", err)
	}
	if want := "[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"; len(se.ResponseMetadata.Messages) != 1 || se.ResponseMetadata.Messages[0] != want {
		t.Errorf("messages: got %q, want [%q]", se.ResponseMetadata.Messages, want)
	}

	err = slackapi.PostWebhookContext(ctx, s.WebhookURL(), &slackapi.WebhookMessage{Text: "fallback", Blocks: &slackapi.Blocks{BlockSet: []slackapi.Block{long}}})
	var sc slackapi.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 400 {
		t.Errorf("webhook post of a 151-character header: got %v, want a 400", err)
	}
	if got := s.Refusals(); len(got) != 2 || got[0].Err != "invalid_blocks" || got[1].Err != "invalid_blocks" {
		t.Errorf("refusals: got %v, want two invalid_blocks", got)
	}

	text := strings.Repeat("🇰🇷", 10_001) // 40,004 UTF-16 units
	if _, _, err := api.PostMessageContext(ctx, "#news", slackapi.MsgOptionText(text, false)); err != nil {
		t.Fatalf("chat.postMessage of a 40,004-character text: %v", err)
	}
	posts := s.Posts()
	if len(posts) != 1 || fakeslack.Len(posts[0].Text) != 40_000 || !strings.HasPrefix(text, posts[0].Text) {
		t.Errorf("posts: got %d, want one with the text cut to 40,000 characters", len(posts))
	}
	if requests, _, _ := s.Stats(); requests != 3 {
		t.Errorf("requests: got %d, want 3", requests)
	}
}

// bearer sends the token in the Authorization header, as the server wants it.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func contextWithTimeout(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithTimeout(t.Context(), 60*time.Second)
}

func Example() {
	fmt.Println(fakeslack.CheckBlocks([]byte(`[{"type":"header","text":{"type":"plain_text","text":""}}]`)))
	// Output: invalid_blocks: must be more than 0 characters [json-pointer:/blocks/0/text/text]
}
