package slack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	slackapi "github.com/slack-go/slack"
)

// WebhookConfig configures a WebhookPoster.
type WebhookConfig struct {
	// URL is the incoming webhook's URL; it is a secret and never logged.
	URL string
	// HTTPClient is used for the requests; optional.
	HTTPClient *http.Client
}

// WebhookPoster posts through an incoming webhook. A webhook posts to the one channel it was
// created for: the route's channel is sent as "channel", which only legacy webhooks honour, and
// is what the bridge rate-limits and de-duplicates by. It does not retry: the bridge does. Safe
// for concurrent use.
type WebhookPoster struct {
	url    string
	client *http.Client
}

// NewWebhookPoster validates cfg and returns a WebhookPoster.
func NewWebhookPoster(cfg WebhookConfig) (*WebhookPoster, error) {
	raw := strings.TrimSpace(cfg.URL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is a secret: the message does not quote it.
		return nil, fmt.Errorf("%w: the webhook URL is not an http(s) URL", ErrInvalidConfig)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &WebhookPoster{url: raw, client: hc}, nil
}

// Post sends m to the webhook. A webhook cannot reply in a thread: a message for a thread is
// refused for good.
func (p *WebhookPoster) Post(ctx context.Context, channel string, m Message) (Receipt, error) {
	if m.ThreadTS != "" {
		return Receipt{}, fmt.Errorf("webhook post for %s: a webhook cannot reply in a thread: %w", channel, ErrPermanent)
	}
	unfurl := false
	msg := &slackapi.WebhookMessage{
		Channel:     channel,
		Text:        m.Text,
		Blocks:      &slackapi.Blocks{BlockSet: m.Blocks},
		UnfurlLinks: &unfurl,
	}
	if err := slackapi.PostWebhookCustomHTTPContext(ctx, p.url, p.client, msg); err != nil {
		return Receipt{}, fmt.Errorf("webhook post for %s: %w", channel, redactErr(classify(err), p.url, "<webhook url>"))
	}
	return Receipt{}, nil
}
