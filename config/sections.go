package config

import "time"

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
			d.stringField(e, &n.AlertStream, checkStreamName)
		case "duplicate_window":
			parsedField(d, e, &n.DuplicateWindow, func(s string) (time.Duration, error) {
				return parseDuration("duplicate_window", s)
			})
		default:
			d.errorf(e.keyTok, "unknown key %q", e.key)
		}
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
		default:
			d.errorf(e.keyTok, "unknown key %q", e.key)
		}
	}
}

func (d *decoder) http(v value, h *HTTP) {
	entries, _ := d.mapping(v.node, `for "http"`)
	for _, e := range entries {
		switch e.key {
		case "listen":
			d.stringField(e, &h.Listen, optionalListen("http.listen"))
		default:
			d.errorf(e.keyTok, "unknown key %q", e.key)
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
	for _, e := range entries {
		if !d.pollField(e, def) {
			d.errorf(e.keyTok, "unknown key %q", e.key)
		}
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
	default:
		return false
	}
	return true
}
