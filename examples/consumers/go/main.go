// Command consumer is an example consumer of newswatch alerts: a durable JetStream consumer, made
// with nats.go, that prints each alert once with its matched words highlighted. Stop it and start
// it again: the server kept its place, so it prints the alerts published meanwhile and none twice.
//
//	go run ./examples/consumers/go -s nats://127.0.0.1:4222 --creds newswatch-data/credentials/subscriber.creds
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// alert is the part of an alert event (io.newswatch.alert.v1, see api/schemas/alert.v1.json)
// that this consumer prints.
type alert struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Rule struct {
			ID string `json:"id"`
		} `json:"rule"`
		Feed struct {
			ID string `json:"id"`
		} `json:"feed"`
		Item struct {
			Title string `json:"title"`
			Link  string `json:"link"`
		} `json:"item"`
		Hits []struct {
			Field string `json:"field"`
			Start int    `json:"start"` // byte offsets into the field's UTF-8 text
			End   int    `json:"end"`
		} `json:"hits"`
	} `json:"data"`
}

func main() {
	server := flag.String("s", envOr("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL ($NATS_URL)")
	creds := flag.String("creds", os.Getenv("NATS_CREDS"), "NATS credentials file ($NATS_CREDS)")
	stream := flag.String("stream", "NEWSWATCH_ALERTS", "the daemon's nats.alert_stream")
	prefix := flag.String("subject-prefix", "newswatch", "the daemon's nats.subject_prefix")
	durable := flag.String("durable", "example_go", "the durable consumer's name: the server keeps its place")
	count := flag.Int("count", 0, "exit after this many alerts; 0: run until interrupted")
	flag.Parse()
	if err := run(*server, *creds, *stream, *prefix, *durable, *count); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run(server, creds, stream, prefix, durable string, count int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := []nats.Option{nats.Name("newswatch example consumer (go)")}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(server, opts...)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", server, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := js.CreateOrUpdateConsumer(cctx, stream, jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: prefix + ".alert.>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("consumer %s on %s: %w", durable, stream, err)
	}

	done := make(chan struct{})
	printed := 0
	// JetStream delivers an alert again when its acknowledgement was lost: remember the ids seen,
	// as every consumer that must act once does (the event id is also the Nats-Msg-Id header).
	seen := map[string]bool{}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var a alert
		if err := json.Unmarshal(m.Data(), &a); err != nil || a.Type != "io.newswatch.alert.v1" {
			fmt.Fprintf(os.Stderr, "consumer: skipping %s: not an alert event\n", m.Subject())
			_ = m.Term()
			return
		}
		if !seen[a.ID] {
			seen[a.ID] = true
			fmt.Printf("%s %s/%s: %s\n  %s\n", a.ID, a.Data.Rule.ID, a.Data.Feed.ID, highlight(a), a.Data.Item.Link)
			printed++
		}
		_ = m.Ack()
		if count > 0 && printed == count {
			close(done)
		}
	})
	if err != nil {
		return err
	}
	defer cc.Stop()
	fmt.Fprintf(os.Stderr, "consumer: reading %s as %s\n", stream, durable)
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

// highlight is the item's title with the hits in it between ** and **. Offsets are bytes, so
// the title is sliced as bytes.
func highlight(a alert) string {
	title := a.Data.Item.Title
	var spans [][2]int
	for _, h := range a.Data.Hits {
		if h.Field == "title" && h.Start < h.End && h.End <= len(title) {
			spans = append(spans, [2]int{h.Start, h.End})
		}
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	var b strings.Builder
	at := 0
	for _, s := range spans {
		if s[0] < at {
			continue // overlaps the previous one
		}
		b.WriteString(title[at:s[0]] + "**" + title[s[0]:s[1]] + "**")
		at = s[1]
	}
	b.WriteString(title[at:])
	return b.String()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
