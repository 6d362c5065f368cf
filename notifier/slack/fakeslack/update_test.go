package fakeslack_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/newswatch/newswatch/notifier/slack/fakeslack"
)

// chat.update replaces a message's text, blocks and metadata, within the same limits as
// chat.postMessage, and refuses a message that is not there.
func TestServerUpdatesMessages(t *testing.T) {
	s := fakeslack.New(fakeslack.Config{Token: "xoxb-t", Channels: map[string]string{"#news": "C0NEWS"}, Interval: time.Nanosecond})
	defer s.Close()
	ctx, cancel := contextWithTimeout(t)
	defer cancel()
	api := slackapi.New("xoxb-t", slackapi.OptionAPIURL(s.APIURL()), slackapi.OptionHTTPClient(&http.Client{Transport: bearer("xoxb-t")}))
	md := func(id string) slackapi.MsgOption {
		return slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: "newswatch_alert", EventPayload: map[string]any{"event_id": id, "item_key": "k"}})
	}
	ch, ts, err := api.PostMessageContext(ctx, "#news", slackapi.MsgOptionText("first", false), md("e1"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		channel string
		ts      string
		blocks  []slackapi.Block
		wantErr string
	}{
		{name: "over the limits", channel: ch, ts: ts, wantErr: "invalid_blocks",
			blocks: []slackapi.Block{slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, strings.Repeat("Ж", 151), false, false))}},
		{name: "unknown ts", channel: ch, ts: "1.000001", wantErr: "message_not_found"},
		{name: "unknown channel", channel: "C0NONE", ts: ts, wantErr: "channel_not_found"},
		{name: "updated", channel: ch, ts: ts,
			blocks: []slackapi.Block{slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, "second", false, false))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []slackapi.MsgOption{slackapi.MsgOptionText("second", false), md("e2")}
			if tt.blocks != nil {
				opts = append(opts, slackapi.MsgOptionBlocks(tt.blocks...))
			}
			_, gotTS, _, err := api.UpdateMessageContext(ctx, tt.channel, tt.ts, opts...)
			var se slackapi.SlackErrorResponse
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("chat.update: %v", err)
			case tt.wantErr == "" && gotTS != ts:
				t.Errorf("ts: got %q, want %q", gotTS, ts)
			case tt.wantErr != "" && (!errors.As(err, &se) || se.Err != tt.wantErr):
				t.Errorf("chat.update: got %v, want %s", err, tt.wantErr)
			}
		})
	}
	posts := s.Posts()
	if len(posts) != 1 {
		t.Fatalf("messages: got %d, want 1", len(posts))
	}
	p := posts[0]
	if p.Text != "second" || !strings.Contains(string(p.Blocks), `"second"`) || p.EventID != "e2" || p.Payload["item_key"] != "k" || p.Updates != 1 {
		t.Errorf("message: got text %q blocks %s event %q payload %v updates %d, want the update's", p.Text, p.Blocks, p.EventID, p.Payload, p.Updates)
	}
	if got := s.Updates(); got != 1 {
		t.Errorf("updates: got %d, want 1", got)
	}
	if got := s.Refusals(); len(got) != 1 || got[0].Err != "invalid_blocks" {
		t.Errorf("refusals: got %v, want one invalid_blocks", got)
	}
}
