package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/newswatch/newswatch/internal/logging"
	"github.com/newswatch/newswatch/notifier"
)

type tailCmd struct {
	Server        string        `short:"s" default:"nats://127.0.0.1:4222" help:"NATS server URL(s), comma-separated."`
	Creds         string        `name:"creds" type:"path" help:"NATS credentials file: the daemon's <store_dir>/credentials/subscriber.creds for its embedded server."`
	CredsFile     string        `name:"creds-file" type:"path" hidden:"" help:"Old name of --creds."`
	Rule          string        `help:"Only the alerts of this rule."`
	Feed          string        `help:"Only the alerts of this feed."`
	Since         time.Duration `help:"First replay the alerts stored within this duration (e.g. 1h)."`
	JSON          bool          `name:"json" help:"Print each alert event as one JSON line."`
	SubjectPrefix string        `default:"newswatch" help:"The daemon's nats.subject_prefix."`
	Stream        string        `default:"NEWSWATCH_ALERTS" help:"The daemon's nats.alert_stream."`
}

// Run prints alerts as they arrive until SIGINT or SIGTERM.
func (c tailCmd) Run(e *env) error {
	log, err := logging.New(e.stderr, e.logLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	color := logging.IsTerminal(e.stdout)
	return notifier.Tail(ctx, notifier.TailConfig{
		URL: c.Server, CredsFile: cmp.Or(c.Creds, c.CredsFile),
		SubjectPrefix: c.SubjectPrefix, AlertStream: c.Stream,
		Rule: c.Rule, Feed: c.Feed, Since: c.Since,
	}, log, func(a notifier.TailedAlert) error {
		if c.JSON {
			_, err := fmt.Fprintf(e.stdout, "%s\n", a.Body)
			return err
		}
		return printAlert(e.stdout, a.Event, color)
	})
}

// printAlert writes one alert as a readable block.
func printAlert(w io.Writer, ev notifier.Event, color bool) error {
	d := ev.Data
	p := matchPrinter{w: w, color: color}
	fmt.Fprintf(w, "%s  %s  %s\n", ev.Time, p.bold(d.Rule.ID), d.Feed.ID)
	if d.Item.Title != "" {
		fmt.Fprintf(w, "  %s\n", d.Item.Title)
	}
	if d.Item.Link != "" {
		fmt.Fprintf(w, "  %s\n", d.Item.Link)
	}
	if d.Snippet != "" {
		fmt.Fprintf(w, "  %s\n", d.Snippet)
	}
	terms := make([]string, 0, len(d.Hits))
	for _, h := range d.Hits {
		terms = append(terms, fmt.Sprintf("%s:%q", h.Field, h.Text))
	}
	_, err := fmt.Fprintf(w, "  matched %s\n\n", strings.Join(terms, " "))
	return err
}
