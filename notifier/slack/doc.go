// Package slack is the bridge from newswatch's alert stream to Slack: a durable JetStream pull
// consumer reads every alert event, routes it by rule id and feed id to Slack channels, formats it
// with Block Kit within its limits, and posts it through the Web API (chat.postMessage with a bot
// token) or an incoming webhook.
//
// Delivery is at least once towards the stream and, with a bot token, exactly once towards each
// channel: an alert is acknowledged only after every channel it is routed to accepted its message
// or refused it for good, and every message is recorded in a KV bucket keyed by event id and
// channel, "pending" before the post and "posted" after it, so a redelivered alert is not posted
// again to a channel that already has it. A redelivery that finds "pending" (the bridge was
// killed, or Slack's answer was lost, between the post and the record) asks the Poster, when it is
// a Finder, whether the channel has the message: the BotPoster reads conversations.history for
// the event id it attaches as metadata. A WebhookPoster cannot look, and posts such a message
// again: never lost, but repeated. A 429 answer naks the alert with its Retry-After and pauses
// that channel; a 5xx answer or a network error naks it with an exponential backoff, forever; a
// permanent refusal (channel_not_found, invalid_auth, …) sends the alert to the dead-letter stream
// and acknowledges it. Each channel has its own token bucket (golang.org/x/time/rate), and
// channels are served in parallel.
//
// A Bridge is safe for concurrent use; Run may be called once.
package slack
