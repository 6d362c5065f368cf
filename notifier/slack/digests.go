package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	slackapi "github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/newswatch/newswatch/notifier"
)

// The digests, budget notices and spikes of the rules whose delivery is not immediate are read
// from the delivery stream by a second durable consumer, <Durable>_deliveries, one at a time,
// and posted to the channels their rule routes to, each paced by the channel's rate like the
// alerts. The ledger keeps one record per (event id, channel) once the channel has the message:
// a redelivered event is skipped, and two bridges sharing the ledger and the consumer post each
// once. A bridge killed between Slack's answer and the record posts that one message again.
//
// The alerts that a rule of DigestRules delivered at once (mode budget, up to its budget) come
// the same way, and are posted as the alerts of the alert stream are, through handle: grouped by
// story or item, one record per (alert id, channel), the same lanes and gates.

// digestRule reports whether rule's single alerts are posted from its deliveries rather than
// from the alert stream (Config.DigestRules).
func (b *Bridge) digestRule(rule string) bool {
	for _, g := range b.cfg.DigestRules {
		if globMatch(g, rule) {
			return true
		}
	}
	return false
}

// deliveriesDurable is the consumer of the delivery stream.
func (b *Bridge) deliveriesDurable() string { return b.cfg.Durable + "_deliveries" }

// deliveryStream is the daemon's delivery stream for the subject prefix.
func (b *Bridge) deliveryStream() string { return streamName(b.cfg.SubjectPrefix) + "_DELIVERIES" }

// runDeliveries posts the delivery stream's events until ctx is done; a delivered alert begun
// keeps work, as the alerts of the alert stream do. While the stream does not exist (a daemon
// without delivery, or not started yet) it waits and tries again.
func (b *Bridge) runDeliveries(ctx, work context.Context) {
	wait := b.cfg.RetryMin
	var cons jetstream.Consumer
	for ctx.Err() == nil {
		if cons == nil {
			var err error
			if cons, err = b.deliveriesConsumer(ctx); err != nil {
				b.log.Debug("cannot consume the delivery stream; retrying", zap.String("stream", b.deliveryStream()), zap.Error(err))
				b.sleep(ctx, wait)
				wait = min(2*wait, 30*time.Second)
				continue
			}
			wait = b.cfg.RetryMin
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if !errors.Is(err, nats.ErrTimeout) {
				cons = nil // the consumer or its stream is gone, or the connection: opened again above
			}
			continue
		}
		if d, ok := b.delivered(msg); ok {
			if !b.digestRule(d.Rule) {
				_ = msg.Ack() // its rule's alerts are posted from the alert stream
				continue
			}
			// Its turns come first in their lanes: its alert was decided after it came.
			j := b.take(job{msg: msg, ev: d.Alert}, true)
			b.handle(ctx, work, j) // acknowledges the message, or naks it for a later delivery
			continue
		}
		if err := b.postDelivery(ctx, msg); err != nil {
			if ctx.Err() == nil {
				b.log.Warn("posting a delivery failed; retrying", zap.String("subject", msg.Subject()), zap.Error(err))
			}
			_ = msg.NakWithDelay(b.cfg.RetryMin)
			b.sleep(ctx, b.cfg.RetryMin)
			continue
		}
		_ = msg.Ack()
	}
}

func (b *Bridge) deliveriesConsumer(ctx context.Context) (jetstream.Consumer, error) {
	actx, cancel := context.WithTimeout(ctx, setupAttempt)
	defer cancel()
	if b.ledger.Load() == nil {
		return nil, errors.New("the ledger is not open yet")
	}
	stream, err := b.js.Stream(actx, b.deliveryStream())
	if err != nil {
		return nil, err
	}
	return b.openConsumer(actx, stream, jetstream.ConsumerConfig{
		Durable:        b.deliveriesDurable(),
		Description:    "newswatch Slack bridge: digests, budget notices and spikes",
		FilterSubjects: []string{b.cfg.SubjectPrefix + ".digest.>", b.cfg.SubjectPrefix + ".spike.>"},
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        b.cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  1, // in order, one at a time
	})
}

// delivered decodes a delivered alert; ok is false for any other event, and for one that does
// not decode, which is skipped as other delivery events are.
func (b *Bridge) delivered(msg jetstream.Msg) (notifier.DeliveredAlert, bool) {
	var ce notifier.DeliveryCloudEvent
	if err := json.Unmarshal(msg.Data(), &ce); err != nil || ce.Type != notifier.DeliveredEventType {
		return notifier.DeliveredAlert{}, false
	}
	d, err := notifier.ParseDelivered(ce)
	if err != nil {
		b.log.Warn("skipping a delivered alert that does not decode", zap.String("id", ce.ID), zap.Error(err))
		return notifier.DeliveredAlert{}, false
	}
	return d, true
}

// postDelivery posts one event to each channel of its rule that does not have it yet.
func (b *Bridge) postDelivery(ctx context.Context, msg jetstream.Msg) error {
	var ce notifier.DeliveryCloudEvent
	if err := json.Unmarshal(msg.Data(), &ce); err != nil {
		b.log.Warn("skipping a delivery event that does not decode", zap.String("subject", msg.Subject()), zap.Error(err))
		return nil
	}
	rule := strings.TrimPrefix(ce.Source, "newswatch/rules/")
	if ce.Type == notifier.DeliveredEventType {
		return nil // one that does not decode (see delivered)
	}
	m, err := FormatDelivery(ce)
	if err != nil {
		b.log.Warn("skipping a delivery event that does not decode", zap.String("id", ce.ID), zap.Error(err))
		return nil
	}
	l := b.ledger.Load()
	for _, channel := range b.router.channels(rule, "") {
		e, err := l.get(ctx, ce.ID, channel)
		if err != nil {
			return err
		}
		if e.rev != 0 && !e.rec.pending() {
			continue // posted already
		}
		g := b.gates.get(channel)
		for {
			if err := g.wait(ctx); err != nil {
				return err
			}
			r, err := b.cfg.Poster.Post(ctx, channel, m)
			if rl, ok := errors.AsType[*RateLimitError](err); ok {
				g.pause(rl.RetryAfter)
				continue
			}
			if errors.Is(err, ErrPermanent) {
				b.log.Error("slack refused a delivery for good", zap.String("id", ce.ID), zap.String("channel", channel), zap.Error(err))
				break
			}
			if err != nil {
				return err
			}
			if err := l.record(ctx, ce.ID, channel, r, b.now()); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// FormatDelivery is the message of a digest (one message, its stories as a list with links), a
// budget notice, or a spike (highlighted, with the stories behind it).
func FormatDelivery(ce notifier.DeliveryCloudEvent) (Message, error) {
	rule := strings.TrimPrefix(ce.Source, "newswatch/rules/")
	var head, text string
	var lines []string
	switch ce.Type {
	case notifier.DigestEventType:
		var d struct {
			Kind    string
			Period  struct{ Start, End time.Time }
			Items   int
			More    int `json:"more_items"`
			Stories []struct {
				Title, Link string
				Sources     int
				Items       int
				FirstSeen   time.Time `json:"first_seen"`
			}
		}
		if err := json.Unmarshal(ce.Data, &d); err != nil {
			return Message{}, err
		}
		what := "Digest"
		if d.Kind == "budget" {
			what = "Past the budget"
		}
		head = fmt.Sprintf("*%s* of `%s`, %s – %s UTC: %d stories, %d alerts", what, escape(rule),
			d.Period.Start.UTC().Format("Jan 2 15:04"), d.Period.End.UTC().Format("15:04"), len(d.Stories), d.Items)
		text = fmt.Sprintf("%s of %s: %d stories", what, rule, len(d.Stories))
		for _, s := range d.Stories {
			lines = append(lines, fmt.Sprintf("• %s (%d sources, first seen %s)", storyLink(s.Title, s.Link), s.Sources, s.FirstSeen.UTC().Format("15:04")))
		}
		if d.More > 0 {
			lines = append(lines, fmt.Sprintf("… and %d more alerts", d.More))
		}
	case notifier.NoticeEventType:
		var n struct {
			Max    int
			Window struct{ End time.Time }
		}
		if err := json.Unmarshal(ce.Data, &n); err != nil {
			return Message{}, err
		}
		head = fmt.Sprintf("*Budget reached* for `%s`: %d alerts this window; the rest comes as one digest at %s UTC", escape(rule), n.Max, n.Window.End.UTC().Format("15:04"))
		text = fmt.Sprintf("Budget reached for %s", rule)
	case notifier.SpikeEventType:
		var s struct {
			Count, Publishers int
			Baseline          float64
			Start, End        time.Time
			Stories           []struct{ Title, Publisher string }
		}
		if err := json.Unmarshal(ce.Data, &s); err != nil {
			return Message{}, err
		}
		head = fmt.Sprintf(":rotating_light: *Spike* in `%s`: %d new stories from %d publishers since %s UTC (usually %.1f)",
			escape(rule), s.Count, s.Publishers, s.Start.UTC().Format("15:04"), s.Baseline)
		text = fmt.Sprintf("Spike in %s: %d new stories", rule, s.Count)
		for _, st := range s.Stories {
			lines = append(lines, fmt.Sprintf("• %s — %s", cut(st.Title, 200), escape(st.Publisher)))
		}
	default:
		return Message{}, fmt.Errorf("unknown delivery type %q", ce.Type)
	}
	blocks := []slackapi.Block{slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, head, false, false), nil, nil)}
	// A section holds at most 3000 characters: the list goes in as many as it needs, up to 40.
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 && len(blocks) < 40 {
			blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, cur.String(), false, false), nil, nil))
		}
		cur.Reset()
	}
	for _, line := range lines {
		if cur.Len()+len(line)+1 > 2900 {
			flush()
		}
		cur.WriteString(line + "\n")
	}
	flush()
	return Message{Text: text, Blocks: blocks, EventID: ce.ID}, nil
}

func storyLink(title, link string) string {
	title = cut(title, 200)
	if title == "" {
		title = "(no title)"
	}
	if u, ok := safeURL(link); ok {
		return "<" + u + "|" + title + ">"
	}
	return title
}
