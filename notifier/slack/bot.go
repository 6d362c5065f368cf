package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	slackapi "github.com/slack-go/slack"
)

// DefaultAPIURL is the base URL of Slack's Web API.
const DefaultAPIURL = slackapi.APIURL

// BotConfig configures a BotPoster.
type BotConfig struct {
	// Token is the bot token (xoxb-…); it is sent as "Authorization: Bearer" and never logged.
	Token string
	// APIURL is the base URL of the Web API; optional, DefaultAPIURL. Tests point it at a local server.
	APIURL string
	// HTTPClient is used for the requests; optional, a client without a timeout (each post has its
	// own deadline).
	HTTPClient *http.Client
}

// BotPoster posts with chat.postMessage, and finds its messages again with conversations.history
// (see Find). It does not retry: the bridge does. Safe for concurrent use.
type BotPoster struct {
	client *slackapi.Client

	mu  sync.Mutex
	ids map[string]string // channel as routed ("#news") -> channel id, learnt from answers
}

// NewBotPoster validates cfg and returns a BotPoster.
func NewBotPoster(cfg BotConfig) (*BotPoster, error) {
	token := strings.TrimSpace(cfg.Token)
	if token == "" {
		return nil, fmt.Errorf("%w: bot token is empty", ErrInvalidConfig)
	}
	api := cfg.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: API URL %q is not an http(s) URL", ErrInvalidConfig, api)
	}
	if !strings.HasSuffix(api, "/") {
		api += "/" // slack-go appends the method name
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	bearer := *hc
	bearer.Transport = bearerTransport{token: token, next: transportOf(hc)}
	return &BotPoster{
		client: slackapi.New(token, slackapi.OptionAPIURL(api), slackapi.OptionHTTPClient(&bearer)),
		ids:    map[string]string{},
	}, nil
}

// Post sends m to channel (an id or a #name), in the thread of m.ThreadTS when it is set. The
// message carries the event id, the feed id, the item key and the story id as metadata of type
// newswatch_alert, so that it can be found again in the channel's history or the thread.
func (p *BotPoster) Post(ctx context.Context, channel string, m Message) (Receipt, error) {
	ch, ts, err := p.client.PostMessageContext(ctx, channel, messageOptions(m)...)
	if err != nil {
		return Receipt{}, fmt.Errorf("chat.postMessage to %s: %w", channel, classify(err))
	}
	if ts == "" {
		return Receipt{}, errors.New("chat.postMessage to " + channel + ": answer without a message ts")
	}
	p.learn(channel, ch)
	return Receipt{Channel: ch, TS: ts}, nil
}

// Update replaces the message at r (a channel id and a ts) with m, through chat.update. Its
// errors are classified as Post's are; a message that is gone is a permanent refusal
// (message_not_found).
func (p *BotPoster) Update(ctx context.Context, r Receipt, m Message) error {
	if r.Channel == "" || r.TS == "" {
		return fmt.Errorf("chat.update: no channel id or ts to update: %w", ErrPermanent)
	}
	if _, _, _, err := p.client.UpdateMessageContext(ctx, r.Channel, r.TS, messageOptions(m)...); err != nil {
		return fmt.Errorf("chat.update of %s in %s: %w", r.TS, r.Channel, classify(err))
	}
	return nil
}

// messageOptions are the parts of m that chat.postMessage and chat.update send.
func messageOptions(m Message) []slackapi.MsgOption {
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(m.Text, false), // already escaped
		slackapi.MsgOptionBlocks(m.Blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
	}
	if m.ThreadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(m.ThreadTS))
	}
	if m.EventID != "" {
		payload := map[string]any{"event_id": m.EventID}
		if m.ItemKey != "" {
			payload["feed"], payload["item_key"] = m.Feed, m.ItemKey
		}
		if m.Story != "" {
			payload["story"] = m.Story
		}
		opts = append(opts, slackapi.MsgOptionMetadata(slackapi.SlackMetadata{
			EventType:    metadataEventType,
			EventPayload: payload,
		}))
	}
	return opts
}

// metadataEventType is the type of the metadata attached to every message.
const metadataEventType = "newswatch_alert"

// bearerTransport authenticates every request with the token in the Authorization header, the
// way Slack prefers it.
type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (t bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}
