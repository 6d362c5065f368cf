package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/token"
)

func (d *decoder) nats(v value, n *NATS) {
	entries, _ := d.mapping(v.node, `for "nats"`)
	for _, e := range entries {
		switch e.key {
		case "url":
			d.stringField(e, &n.URL, checkNATSURL)
		case "embedded":
			d.embedded(d.value(e.value), &n.Embedded)
		case "creds_file":
			d.stringField(e, &n.CredsFile, nil)
		case "subject_prefix":
			d.stringField(e, &n.SubjectPrefix, checkSubjectPrefix)
		case "alert_stream":
			d.stringField(e, &n.AlertStream, checkStreamName("alert_stream"))
		case "duplicate_window":
			parsedField(d, e, &n.DuplicateWindow, func(s string) (time.Duration, error) {
				return parseDuration("duplicate_window", s)
			})
		case "alert_max_age":
			parsedField(d, e, &n.AlertMaxAge, func(s string) (time.Duration, error) {
				return parseDuration("alert_max_age", s)
			})
		case "alert_max_bytes":
			parsedField(d, e, &n.AlertMaxBytes, func(s string) (int64, error) { return parseSize("alert_max_bytes", s) })
		case "replicas":
			parsedField(d, e, &n.Replicas, parseReplicas)
		case "ack_wait":
			parsedField(d, e, &n.AckWait, func(s string) (time.Duration, error) {
				ack, err := parseDuration("ack_wait", s)
				if err == nil && ack < time.Second {
					err = fmt.Errorf("invalid ack_wait %q: must be at least 1s", s)
				}
				return ack, err
			})
		case "tls":
			d.tls(d.value(e.value), &n.TLS)
		default:
			d.unknownKey(e, "nats")
		}
	}
	n.checkCombinations(d, entries)
}

func (d *decoder) tls(v value, t *TLS) {
	if v.node == nil {
		return
	}
	entries, _ := d.mapping(v.node, `for "tls"`)
	for _, e := range entries {
		switch e.key {
		case "ca_file":
			d.stringField(e, &t.CAFile, nil)
		case "cert_file":
			d.stringField(e, &t.CertFile, nil)
		case "key_file":
			d.stringField(e, &t.KeyFile, nil)
		default:
			d.unknownKey(e, "nats.tls")
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		d.errorf(v.tok, "tls: cert_file and key_file go together")
	}
}

// checkCombinations reports nats keys that contradict each other: the embedded server is one
// server, and the duplicate window must outlive nothing it should remember.
func (n *NATS) checkCombinations(d *decoder, entries []entry) {
	at := func(key string) *token.Token {
		for _, e := range entries {
			if e.key == key {
				return d.value(e.value).tok
			}
		}
		return nil
	}
	if n.URL == "" && n.Replicas > 1 {
		d.errorf(at("replicas"), "replicas %d needs a cluster: the embedded server is one server (set url)", n.Replicas)
	}
	if n.URL == "" && (n.TLS != TLS{}) {
		d.errorf(at("tls"), "tls is for an external server (set url)")
	}
	if n.AlertMaxAge > 0 && n.AlertMaxAge < n.DuplicateWindow {
		d.errorf(at("alert_max_age"), "alert_max_age %s is shorter than duplicate_window %s", n.AlertMaxAge, n.DuplicateWindow)
	}
}

func (d *decoder) embedded(v value, emb *Embedded) {
	if v.node == nil {
		return
	}
	entries, _ := d.mapping(v.node, `for "embedded"`)
	for _, e := range entries {
		switch e.key {
		case "listen":
			d.stringField(e, &emb.Listen, optionalListen("nats.embedded.listen"))
		case "store_dir":
			d.stringField(e, &emb.StoreDir, nil)
			if emb.StoreDir == "" {
				emb.StoreDir = defaultStoreDir()
			}
		case "sync_always":
			d.boolField(e, &emb.SyncAlways)
		case "allow_insecure":
			d.boolField(e, &emb.AllowInsecure)
		default:
			d.unknownKey(e, "nats.embedded")
		}
	}
}

func (d *decoder) http(v value, h *HTTP) {
	entries, _ := d.mapping(v.node, `for "http"`)
	for _, e := range entries {
		switch e.key {
		case "listen":
			d.stringField(e, &h.Listen, optionalListen("http.listen"))
		case "web_config_file":
			d.stringField(e, &h.WebConfigFile, nil)
		case "console":
			d.boolField(e, &h.Console)
		default:
			d.unknownKey(e, "http")
		}
	}
}

func (d *decoder) archive(v value, a *Archive) {
	entries, _ := d.mapping(v.node, `for "archive"`)
	for _, e := range entries {
		switch e.key {
		case "enabled":
			d.boolField(e, &a.Enabled)
		case "stream":
			d.stringField(e, &a.Stream, checkStreamName("archive.stream"))
		case "max_age":
			parsedField(d, e, &a.MaxAge, func(s string) (time.Duration, error) { return parseDuration("archive.max_age", s) })
		case "max_bytes":
			parsedField(d, e, &a.MaxBytes, func(s string) (int64, error) { return parseSize("archive.max_bytes", s) })
		default:
			d.unknownKey(e, "archive")
		}
	}
}

func (d *decoder) stories(v value, st *Stories) {
	entries, _ := d.mapping(v.node, `for "stories"`)
	for _, e := range entries {
		switch e.key {
		case "enabled":
			d.boolField(e, &st.Enabled)
		case "window":
			parsedField(d, e, &st.Window, func(s string) (time.Duration, error) {
				w, err := parseDuration("stories.window", s)
				if err == nil && w < time.Minute {
					err = fmt.Errorf("invalid stories.window %q: must be at least 1m", s)
				}
				return w, err
			})
		case "max_stories":
			parsedField(d, e, &st.MaxStories, func(s string) (int, error) {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1000 || n > 10_000_000 {
					return 0, fmt.Errorf("invalid stories.max_stories %q: want a number from 1000 to 10000000", s)
				}
				return n, nil
			})
		default:
			d.unknownKey(e, "stories")
		}
	}
}

// optionalListen accepts "" (off) or host:port.
func optionalListen(what string) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return checkListen(what, s)
	}
}

func (d *decoder) defaults(v value, def *Defaults) {
	entries, _ := d.mapping(v.node, `for "defaults"`)
	pos := deliveryPos{}
	for _, e := range entries {
		switch e.key {
		case "deliver":
			d.deliver(d.value(e.value), &def.Deliver, pos, "defaults.deliver")
		case "spike":
			d.spike(d.value(e.value), &def.Spike, pos, "defaults.spike")
		default:
			if !d.pollField(e, def) {
				d.unknownKey(e, "defaults")
			}
		}
	}
	if len(pos) > 0 {
		def.deliveryPos = pos
	}
}

// pollField decodes one of the keys a feed shares with defaults and reports
// whether e was one of them.
func (d *decoder) pollField(e entry, p *Defaults) bool {
	switch e.key {
	case "schedule":
		d.stringField(e, &p.Schedule, checkSchedule)
	case "auto_min":
		parsedField(d, e, &p.AutoMin, func(s string) (time.Duration, error) { return parseDuration("auto_min", s) })
	case "auto_max":
		parsedField(d, e, &p.AutoMax, func(s string) (time.Duration, error) { return parseDuration("auto_max", s) })
	case "flood_guard":
		parsedField(d, e, &p.FloodGuard, parseFloodGuard)
	case "timeout":
		parsedField(d, e, &p.Timeout, func(s string) (time.Duration, error) { return parseDuration("timeout", s) })
	case "max_body":
		parsedField(d, e, &p.MaxBody, func(s string) (int64, error) { return parseSize("max_body", s) })
	case "first_poll":
		parsedField(d, e, &p.FirstPoll, parseFirstPoll)
	case "allow_private":
		d.boolField(e, &p.AllowPrivate)
	case "max_alerts_per_poll":
		parsedField(d, e, &p.MaxAlertsPerPoll, parseMaxAlertsPerPoll)
	case "fulltext":
		parsedField(d, e, &p.FullText, parseFullText)
	default:
		return false
	}
	return true
}
