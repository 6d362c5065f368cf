package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/internal/buildinfo"
	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/watcher"
)

// userAgent names newswatch and its version to the servers it polls.
func userAgent() string {
	v, _ := buildinfo.Version()
	return "newswatch/" + v + " (+https://github.com/newswatch/newswatch)"
}

func notifierConfig(c *config.Config) notifier.Config {
	return notifier.Config{
		URL:       c.NATS.URL,
		CredsFile: c.NATS.CredsFile,
		Embedded: notifier.EmbeddedConfig{
			Listen:        c.NATS.Embedded.Listen,
			StoreDir:      c.NATS.Embedded.StoreDir,
			SyncAlways:    c.NATS.Embedded.SyncAlways,
			AllowInsecure: c.NATS.Embedded.AllowInsecure,
		},
		TLS:             notifier.TLSConfig{CAFile: c.NATS.TLS.CAFile, CertFile: c.NATS.TLS.CertFile, KeyFile: c.NATS.TLS.KeyFile},
		SubjectPrefix:   c.NATS.SubjectPrefix,
		AlertStream:     c.NATS.AlertStream,
		DuplicateWindow: c.NATS.DuplicateWindow,
		AlertMaxAge:     c.NATS.AlertMaxAge,
		AlertMaxBytes:   c.NATS.AlertMaxBytes,
		Replicas:        c.NATS.Replicas,
		Jobs:            notifier.JobsConfig{AckWait: c.NATS.AckWait},
		Archive: notifier.ArchiveConfig{Disabled: !c.Archive.Enabled, Stream: c.Archive.Stream,
			MaxAge: c.Archive.MaxAge, MaxBytes: c.Archive.MaxBytes},
		Name: "newswatch",
	}
}

func watcherConfig(l *loaded, n *notifier.Notifier, workers int, shutdownTimeout time.Duration) watcher.Config {
	wc := watcher.Config{
		Feeds:           watcherFeeds(l.cfg),
		Rules:           l.rules,
		Index:           l.index,
		Workers:         workers,
		UserAgent:       userAgent(),
		ShutdownTimeout: shutdownTimeout,
		Publisher:       alertPublisher{n.Alerts()},
		State:           n.State(),
		Jobs:            n.Jobs(),
		Health:          healthReporter{n.Health()},
		EventID:         func(a event.Alert) string { return notifier.EventID(a.RuleID, a.FeedID, a.Item.Key) },
		Backfills:       backfills(l.cfg),
	}
	if a := n.Archive(); a != nil {
		wc.Archiver, wc.Archive, wc.Ledger = itemArchiver{a}, n, n.Ledger()
		if l.cfg.Stories.Enabled {
			wc.Follower, wc.StoryPublisher = n, n.Stories()
			wc.StoryWindow, wc.StoryLists, wc.StoryMax = l.cfg.Stories.Window, l.cfg.Lists, l.cfg.Stories.MaxStories
		}
	}
	return wc
}

// backfills are the backfill windows of the configuration's rules.
func backfills(c *config.Config) []watcher.Backfill {
	var out []watcher.Backfill
	for _, r := range c.Rules {
		if r.Backfill > 0 {
			out = append(out, watcher.Backfill{Rule: r.ID, Window: r.Backfill})
		}
	}
	return out
}

func watcherFeeds(c *config.Config) []watcher.Feed {
	feeds := make([]watcher.Feed, len(c.Feeds))
	for i, f := range c.Feeds {
		feeds[i] = watcher.Feed{
			ID:  f.ID,
			URL: f.URL,
			Settings: watcher.Settings{
				Schedule:         f.Schedule,
				Timeout:          f.Timeout,
				MaxBody:          f.MaxBody,
				FirstPoll:        watcher.FirstPoll{Mode: watcher.FirstPollMode(f.FirstPoll.Mode), Window: f.FirstPoll.Window},
				AllowPrivate:     f.AllowPrivate,
				AutoMin:          f.AutoMin,
				AutoMax:          f.AutoMax,
				FloodGuard:       f.FloodGuard,
				MaxAlertsPerPoll: f.MaxAlertsPerPoll,
				FullText:         watcher.FullTextMode(f.FullText),
			},
			Tags:   f.Tags,
			Source: feedSource(f),
		}
	}
	return feeds
}

func fetchOptions(timeout time.Duration, maxBody int64, allowPrivate bool) watcher.FetchOptions {
	return watcher.FetchOptions{UserAgent: userAgent(), Timeout: timeout, MaxBody: maxBody, AllowPrivate: allowPrivate}
}

// alertPublisher publishes the watcher's alerts as the notifier's events.
type alertPublisher struct{ alerts *notifier.Alerts }

func (p alertPublisher) Publish(ctx context.Context, alerts []event.Alert) error {
	return rejections(p.alerts.Publish(ctx, alerts))
}

// itemArchiver archives the watcher's new items in the notifier's item archive.
type itemArchiver struct{ archive *notifier.Archive }

func (a itemArchiver) Archive(ctx context.Context, items []event.Archived) error {
	return rejections(a.archive.Publish(ctx, items))
}

func (a itemArchiver) ArchiveFirst(ctx context.Context, items []event.Archived) error {
	return rejections(a.archive.PublishFirst(ctx, items))
}

// rejections is err of the notifier, marked for the watcher when it is one of rejections for
// good: the notifier's contract for them is the watcher's (the rest was stored).
func rejections(err error) error {
	if errors.Is(err, notifier.ErrRejected) {
		return fmt.Errorf("%w: %w", watcher.ErrRejected, err)
	}
	return err
}

// healthReporter publishes the watcher's feed-health changes as the notifier's events.
type healthReporter struct{ health *notifier.Health }

func (r healthReporter) ReportHealth(ctx context.Context, h watcher.FeedHealth) error {
	return r.health.Publish(ctx, notifier.FeedHealth{
		FeedID:        h.FeedID,
		FeedURL:       h.FeedURL,
		Status:        notifier.FeedStatus(h.Status),
		Error:         h.Error,
		ErrorClass:    string(h.ErrorClass),
		Failures:      h.Failures,
		Since:         h.Since,
		NextPoll:      h.NextPoll,
		Items:         h.Items,
		Alerts:        h.Alerts,
		AlertsDropped: h.AlertsDropped,
		Time:          h.Time,
	})
}

// deliveryOptions maps a rule's deliver and spike settings to the delivery package's options.
func deliveryOptions(r config.Rule) delivery.Options {
	d, s := r.Deliver, r.Spike
	return delivery.Options{
		Mode: delivery.Mode(d.Mode), Every: d.Every, Cron: d.Cron, TimeZone: d.TimeZone,
		Max: d.Max, Per: d.Per, MaxStories: d.MaxStories,
		Spike: delivery.SpikeOptions{
			Off: s.Off, Window: s.Window, MinStories: s.MinStories, MinPublishers: s.MinPublishers,
			Factor: s.Factor, Floor: s.Floor, BaselineDays: s.BaselineDays, Cooldown: s.Cooldown,
		},
	}
}

// policies builds the delivery policy of every rule, keyed by rule id.
func policies(c *config.Config) (map[string]*delivery.Policy, error) {
	out := make(map[string]*delivery.Policy, len(c.Rules))
	for _, r := range c.Rules {
		p, err := delivery.New(r.ID, deliveryOptions(r))
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		out[r.ID] = p
	}
	return out, nil
}
