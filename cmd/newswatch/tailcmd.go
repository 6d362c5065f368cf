package main

import (
	"cmp"
	"context"
	"errors"
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
	Server        string        `short:"s" default:"nats://127.0.0.1:4222" env:"NEWSWATCH_SERVER,NATS_URL" help:"NATS server URL(s), comma-separated."`
	Creds         string        `name:"creds" type:"path" env:"NEWSWATCH_CREDS,NATS_CREDS" help:"NATS credentials file: the daemon's <store_dir>/credentials/subscriber.creds for its embedded server."`
	CredsFile     string        `name:"creds-file" type:"path" hidden:"" help:"Old name of --creds."`
	Rule          string        `env:"NEWSWATCH_TAIL_RULE" help:"Only the alerts of this rule."`
	Feed          string        `env:"NEWSWATCH_TAIL_FEED" help:"Only the alerts of this feed."`
	Since         time.Duration `help:"First replay the alerts stored within this duration (e.g. 1h)."`
	JSON          bool          `name:"json" help:"Print each alert event as one JSON line."`
	Count         int           `help:"Exit after this many alerts; 0: never."`
	Timeout       time.Duration `help:"Exit after this long (e.g. 30s); with --count, fail when fewer alerts came. 0: never."`
	SubjectPrefix string        `default:"newswatch" help:"The daemon's nats.subject_prefix."`
	Stream        string        `default:"NEWSWATCH_ALERTS" help:"The daemon's nats.alert_stream."`
}

// errTailDone ends Tail once --count alerts are printed.
var errTailDone = errors.New("tail: count reached")

// Run prints alerts as they arrive until SIGINT or SIGTERM, --count alerts or --timeout.
func (c tailCmd) Run(e *env) error {
	if c.Count < 0 || c.Timeout < 0 {
		return errors.New("--count and --timeout must not be negative")
	}
	log, err := logging.New(e.stderr, e.logLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	color := logging.IsTerminal(e.stdout)
	printed := 0
	err = notifier.Tail(ctx, notifier.TailConfig{
		URL: c.Server, CredsFile: cmp.Or(c.Creds, c.CredsFile),
		SubjectPrefix: c.SubjectPrefix, AlertStream: c.Stream,
		Rule: c.Rule, Feed: c.Feed, Since: c.Since,
	}, log, func(a notifier.TailedAlert) error {
		var err error
		if c.JSON {
			_, err = fmt.Fprintf(e.stdout, "%s\n", a.Body)
		} else {
			err = printAlert(e.stdout, a.Event, color)
		}
		if printed++; err == nil && printed == c.Count {
			return errTailDone
		}
		return err
	})
	switch {
	case errors.Is(err, errTailDone):
		return nil
	case err != nil:
		return err
	case c.Count > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%d of %d alerts within %s", printed, c.Count, c.Timeout)
	}
	return nil
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
