package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The headers of a dead letter; its body is the alert's, unchanged (for an alert delivered at
// once, the alert event its delivery carries).
const (
	HeaderChannel      = "Newswatch-Slack-Channel"    // the channel that refused it; absent for an invalid event
	HeaderError        = "Newswatch-Slack-Error"      // why
	HeaderAlertSubject = "Newswatch-Alert-Subject"    // where the alert (or its delivery) was published
	HeaderAlertSeq     = "Newswatch-Alert-Stream-Seq" // its sequence in the alert stream
)

// deadLetter stores the alert in the dead-letter stream on <DeadLetterSubject>.<rule>.<feed>,
// once per (event, channel), and waits for the stream's acknowledgement.
func (b *Bridge) deadLetter(ctx context.Context, msg jetstream.Msg, eventID, channel string, cause error) error {
	dl := nats.NewMsg(b.cfg.DeadLetterSubject + "." + b.alertTokens(msg.Subject()))
	dl.Data = msg.Data()
	if d, ok := b.delivered(msg); ok {
		if body, err := json.Marshal(d.Alert); err == nil {
			dl.Subject = b.cfg.DeadLetterSubject + "." + d.Alert.Data.Rule.ID + "." + d.Alert.Data.Feed.ID
			dl.Data = body
		}
	}
	if ct := msg.Headers().Get("Content-Type"); ct != "" {
		dl.Header.Set("Content-Type", ct)
	}
	if channel != "" {
		dl.Header.Set(HeaderChannel, channel)
	}
	dl.Header.Set(HeaderError, cause.Error())
	dl.Header.Set(HeaderAlertSubject, msg.Subject())
	id := "seq" + "." + shortHash(msg.Subject()+string(msg.Data()))
	if meta, err := msg.Metadata(); err == nil {
		dl.Header.Set(HeaderAlertSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
	}
	if eventID != "" {
		id = ledgerKey(eventID, channel)
	}
	if _, err := b.js.PublishMsg(ctx, dl, jetstream.WithMsgID(id), jetstream.WithExpectStream(b.cfg.DeadLetterStream)); err != nil {
		return fmt.Errorf("dead-letter to %s: %w", dl.Subject, err)
	}
	return nil
}
