package slack

import (
	"context"
	"fmt"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Finder is a Poster that can tell whether a channel already has the message of an item: the
// bridge asks it before posting again a message whose post was begun but not recorded (the
// bridge was killed, or Slack's answer was lost). A Poster that is not a Finder (a webhook) gets
// such a message posted again.
type Finder interface {
	// FindMessage looks in channel for a message posted at since or later that carries key: the
	// item's feed id and key, or the event id. Its errors are classified as Post's are.
	FindMessage(ctx context.Context, channel string, key MessageKey, since time.Time) (r Receipt, found bool, err error)
}

// Updater is a Poster that can change a message it posted: the bridge updates an item's
// message to name every rule that matched the item, instead of posting it again. A Poster that
// is not an Updater (a webhook) leaves the message as first posted.
type Updater interface {
	// Update replaces the message at r with m. Its errors are classified as Post's are.
	Update(ctx context.Context, r Receipt, m Message) error
}

// ThreadFinder is a Poster that can tell whether the thread of a message has a reply of the
// bridge: the bridge asks it before posting again a thread reply whose post was begun but not
// recorded.
type ThreadFinder interface {
	// FindReply looks in the thread of the message at parent for a reply that carries key (the
	// parent itself excluded). Its errors are classified as Post's are.
	FindReply(ctx context.Context, parent Receipt, key MessageKey) (r Receipt, found bool, err error)
}

// MessageKey tells a message of the bridge by its metadata: the story's when Story is set; the
// item's (Feed, ItemKey) when ItemKey is set; and EventID, the event whose alert posted it.
type MessageKey struct {
	EventID, Feed, ItemKey, Story string
}

func (k MessageKey) matches(payload map[string]any) bool {
	if k.Story != "" {
		return payload["story"] == k.Story
	}
	if k.ItemKey != "" && payload["item_key"] == k.ItemKey && payload["feed"] == k.Feed {
		return true
	}
	return k.EventID != "" && payload["event_id"] == k.EventID
}

// historyPage is how many messages one conversations.history request asks for; Slack
// recommends at most 200.
const historyPage = 200

// Find reads the channel's history from since on, newest first, for a message whose metadata
// carries eventID; see FindMessage.
func (p *BotPoster) Find(ctx context.Context, channel, eventID string, since time.Time) (Receipt, bool, error) {
	return p.FindMessage(ctx, channel, MessageKey{EventID: eventID}, since)
}

// FindMessage reads the channel's history from since on, newest first, for a message whose
// metadata carries key; it needs the channels:history scope (groups:history for private channels),
// and channels:read (groups:read) to resolve a channel given by name whose id no post answered
// yet.
func (p *BotPoster) FindMessage(ctx context.Context, channel string, key MessageKey, since time.Time) (Receipt, bool, error) {
	id, err := p.channelID(ctx, channel)
	if err != nil {
		return Receipt{}, false, err
	}
	params := &slackapi.GetConversationHistoryParameters{
		ChannelID:          id,
		Oldest:             slackTS(since),
		Limit:              historyPage,
		IncludeAllMetadata: true,
	}
	for {
		resp, err := p.client.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return Receipt{}, false, fmt.Errorf("conversations.history of %s: %w", channel, classify(err))
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType == metadataEventType && key.matches(m.Metadata.EventPayload) {
				return Receipt{Channel: id, TS: m.Timestamp}, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			return Receipt{}, false, nil
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
}

// FindReply reads the thread of the message at parent, oldest first, for a reply whose
// metadata carries key; it needs the channels:history scope (groups:history for private
// channels).
func (p *BotPoster) FindReply(ctx context.Context, parent Receipt, key MessageKey) (Receipt, bool, error) {
	if parent.Channel == "" || parent.TS == "" {
		return Receipt{}, false, fmt.Errorf("conversations.replies: no channel id or ts of the thread: %w", ErrPermanent)
	}
	params := &slackapi.GetConversationRepliesParameters{
		ChannelID:          parent.Channel,
		Timestamp:          parent.TS,
		Limit:              historyPage,
		IncludeAllMetadata: true,
	}
	for {
		msgs, more, next, err := p.client.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return Receipt{}, false, fmt.Errorf("conversations.replies of %s in %s: %w", parent.TS, parent.Channel, classify(err))
		}
		for _, m := range msgs {
			if m.Timestamp != parent.TS && m.Metadata.EventType == metadataEventType && key.matches(m.Metadata.EventPayload) {
				return Receipt{Channel: parent.Channel, TS: m.Timestamp}, true, nil
			}
		}
		if !more || next == "" {
			return Receipt{}, false, nil
		}
		params.Cursor = next
	}
}

// channelID is the id of channel: itself when it is an id, else what a post answered, else what
// conversations.list says.
func (p *BotPoster) channelID(ctx context.Context, channel string) (string, error) {
	if isChannelID(channel) {
		return channel, nil
	}
	p.mu.Lock()
	id, ok := p.ids[channel]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	name := strings.TrimPrefix(channel, "#")
	params := &slackapi.GetConversationsParameters{
		Types:           []string{"public_channel", "private_channel"},
		ExcludeArchived: true,
		Limit:           historyPage,
	}
	for {
		chans, next, err := p.client.GetConversationsContext(ctx, params)
		if err != nil {
			return "", fmt.Errorf("conversations.list for %s: %w", channel, classify(err))
		}
		for _, c := range chans {
			if c.Name == name {
				p.learn(channel, c.ID)
				return c.ID, nil
			}
		}
		if next == "" {
			return "", fmt.Errorf("conversations.list: no channel %s: %w", channel, ErrPermanent)
		}
		params.Cursor = next
	}
}

// learn remembers the id of a channel given by name.
func (p *BotPoster) learn(channel, id string) {
	if id == "" || channel == id {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids[channel] = id
}

// isChannelID reports whether s looks like a conversation id: C, G or D and upper-case letters
// and digits (channel names are lower case).
func isChannelID(s string) bool {
	if len(s) < 2 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// slackTS writes t as a Slack timestamp, seconds and microseconds.
func slackTS(t time.Time) string {
	if t.Unix() <= 0 {
		return "0"
	}
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}
