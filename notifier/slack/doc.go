// Package slack is the bridge from newswatch's alert stream to Slack: a durable JetStream pull
// consumer reads every alert event, routes it by rule id and feed id to Slack channels, formats it
// with Block Kit within its limits, and posts it through the Web API (chat.postMessage with a bot
// token) or an incoming webhook.
//
// An item has one message in each channel, however many rules matched it. The alerts of one
// item for several rules are separate events (each its own event id, the same feed id and item
// key): the first to reach a channel posts the item's message naming its rule; each later one
// updates that message (chat.update, with a bot token: an Updater) to name its rule too, and
// posts nothing. A WebhookPoster cannot update: there the later alerts are recorded as covered
// by the first message, which names the first rule only.
//
// By default (GroupStories) the unit is the story, not the item: the alerts whose data names a
// story (every item of every feed reporting one event, whatever its language) have one message
// in each channel. The first alert of a story routed to a channel posts it, showing its item;
// each later one updates it to count the story's other sources and languages, as the latest
// alert says, to name its rule, and to list the later items that came to the channel; with
// Threads, each later item is instead a reply in the message's thread, posted once. The story's
// ledger record, one per (story, channel), holds the message's ts, the items the channel has
// and the rules the message names; it is "pending" before the message is posted, and a thread
// reply is announced in it before it is sent, so that a post or a reply begun and not recorded
// is looked for in Slack (conversations.history, conversations.replies: a ThreadFinder) before
// it is sent again. Alerts without a story, and every alert with GroupItems, have one message
// per item, as below.
//
// Delivery is at least once towards the stream and, with a bot token, exactly once towards each
// channel: an alert is acknowledged only after every channel it is routed to has it (its item's
// message posted, or updated to name its rule) or refused it for good. A KV bucket, the ledger,
// keeps one record per (event id, channel), written once the channel has the alert, so that a
// redelivered alert is skipped, and one per (feed, item key, channel) for the item's message:
// "pending" before the post, "posted" with its ts and the rules it names after it. A pending
// record found later (the bridge was killed, or Slack's answer was lost, between the post and
// the record) makes the bridge ask the Poster, when it is a Finder, whether the channel has the
// message: the BotPoster reads conversations.history for the feed id and item key (and the
// event id) it attaches as metadata. A WebhookPoster cannot look, and posts such a message
// again: never lost, but repeated. Updates need no pending record: an update done twice leaves
// the same message. Two bridges sharing the ledger write its records by compare-and-set, and a
// pending record of another bridge younger than the post timeout makes the alert wait.
//
// A channel's messages go out in stream order: each delivery to a channel takes a turn in the
// channel's lane when its alert is received, turns run one at a time in stream-sequence order,
// and a delivery that fails is retried in its turn (a 429 pauses the channel for its
// Retry-After; a 5xx answer or a network error waits an exponential backoff), forever, so that
// the channel's later messages wait for it. Lanes of different channels run in parallel, each
// paced by its own token bucket (golang.org/x/time/rate). A permanent refusal
// (channel_not_found, invalid_auth, …) sends the alert to the dead-letter stream. When the
// bridge stops, deliveries whose turn has not started are given back to the stream (nak) and
// come again, in order, to the next bridge. The order holds within one bridge: replicas that
// share a consumer share the alerts, and each posts its own in order.
//
// The rules of Config.DigestRules are not posted from the alert stream: their digests, budget
// notices and the alerts the daemon delivered at once (mode budget, up to its budget) come from
// the delivery stream through a second consumer, and those alerts are posted as the alert
// stream's are (same stories, ledger records, lanes and gates).
//
// A Bridge is safe for concurrent use; Run may be called once.
package slack
