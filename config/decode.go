package config

import (
	"github.com/goccy/go-yaml/ast"
)

// config decodes the top-level mapping. Sections are decoded in dependency
// order (defaults before feeds, feeds before rules), whatever their order in
// the file; errors are sorted afterwards.
func (d *decoder) config(root ast.Node) *Config {
	cfg := &Config{
		NATS: NATS{
			Embedded:        Embedded{Listen: DefaultEmbeddedListen, StoreDir: defaultStoreDir()},
			SubjectPrefix:   DefaultSubjectPrefix,
			AlertStream:     DefaultAlertStream,
			DuplicateWindow: DefaultDuplicateWindow,
			AlertMaxAge:     DefaultAlertMaxAge,
			AlertMaxBytes:   DefaultAlertMaxBytes,
			AckWait:         DefaultAckWait,
		},
		HTTP:    HTTP{Listen: DefaultHTTPListen, Console: true},
		Archive: Archive{Enabled: true, Stream: DefaultArchiveStream, MaxAge: DefaultArchiveMaxAge, MaxBytes: DefaultArchiveMaxBytes},
		Stories: Stories{Enabled: true, Window: DefaultStoryWindow, MaxStories: DefaultMaxStories},
		Defaults: Defaults{
			Schedule:         DefaultSchedule,
			AutoMin:          DefaultAutoMin,
			AutoMax:          DefaultAutoMax,
			Timeout:          DefaultTimeout,
			MaxBody:          DefaultMaxBody,
			FirstPoll:        FirstPoll{Mode: FirstPollBaseline},
			FloodGuard:       DefaultFloodGuard,
			MaxAlertsPerPoll: DefaultMaxAlertsPerPoll,
			FullText:         FullTextNever,
		},
		Lists: map[string][]string{},
		terms: map[string][]scalar{},
	}
	sections := map[string]value{}
	if v := d.value(root); v.node != nil {
		entries, _ := d.mapping(v.node, "at the top level")
		for _, e := range entries {
			switch e.key {
			case "nats", "http", "archive", "stories", "defaults", "feeds", "lists", "rules":
				sections[e.key] = d.value(e.value)
			default:
				d.unknownKey(e, "")
			}
		}
	}
	if v := sections["nats"]; v.node != nil {
		d.nats(v, &cfg.NATS)
	}
	if v := sections["http"]; v.node != nil {
		d.http(v, &cfg.HTTP)
	}
	if v := sections["archive"]; v.node != nil {
		d.archive(v, &cfg.Archive)
	}
	if cfg.Archive.Enabled && cfg.Archive.MaxAge < cfg.NATS.DuplicateWindow {
		d.errorf(sections["archive"].tok, "archive.max_age %s is shorter than nats.duplicate_window %s", cfg.Archive.MaxAge, cfg.NATS.DuplicateWindow)
	}
	if v := sections["stories"]; v.node != nil {
		d.stories(v, &cfg.Stories)
	}
	if v := sections["defaults"]; v.node != nil {
		d.defaults(v, &cfg.Defaults)
	}
	if _, ok := sections["feeds"]; ok && d.feedBatches != nil {
		cfg.Feeds = d.feedsInBatches(d.feedBatches, cfg.Defaults)
		d.feedBatches = nil
	} else if v := sections["feeds"]; v.node != nil {
		cfg.Feeds = d.feeds(v, cfg.Defaults)
	}
	if v := sections["lists"]; v.node != nil {
		d.lists(v, cfg)
	}
	if v := sections["rules"]; v.node != nil {
		d.rules(v, cfg)
	}
	return cfg
}

// stringField decodes an optional string and checks it when check is not
// nil; it reports whether one was set.
func (d *decoder) stringField(e entry, dst *string, check func(string) error) bool {
	return parsedField(d, e, dst, func(s string) (string, error) {
		if check == nil {
			return s, nil
		}
		return s, check(s)
	})
}

// boolField decodes an optional boolean.
func (d *decoder) boolField(e entry, dst *bool) {
	v := d.value(e.value)
	if v.node == nil {
		return
	}
	if b, ok := d.boolean(v, "for "+quote(e.key)); ok {
		*dst = b
	}
}

// parsedField decodes an optional string and converts it with parse; it
// reports whether a value was set.
func parsedField[T any](d *decoder, e entry, dst *T, parse func(string) (T, error)) bool {
	v := d.value(e.value)
	if v.node == nil {
		return false
	}
	s, ok := d.text(v, "for "+quote(e.key))
	if !ok {
		return false
	}
	t, err := parse(s)
	if err != nil {
		d.errorf(v.tok, "%v", err)
		return false
	}
	*dst = t
	return true
}

func quote(s string) string { return `"` + s + `"` }
