package config

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Schema returns the JSON Schema (draft 2020-12) of the configuration file, indented, for editors
// (yaml-language-server) and for checking a file before it reaches a machine.
//
// It is written here, beside the loader, rather than generated from Go types: the loader walks
// the YAML syntax tree instead of decoding into tagged structs, and what it accepts is not what
// the types of Config say. A duration is a string such as "30s" (never a number), max_body is a
// number of bytes or a string such as "10MiB", an id may be written as a plain number, a null
// value means "not set", and every mapping refuses unknown keys. TestSchemaFollowsLoader reads the
// loader's source and fails when a key it decodes is missing here, or one here is not decoded.
//
// The schema can say less than the loader checks (a rule scope naming a feed that does not exist,
// a query that does not parse, auto_min above auto_max): `newswatch check` is the full check.
func Schema() []byte {
	out, err := json.MarshalIndent(schema(), "", "  ")
	if err != nil {
		panic(err) // maps of strings, numbers and booleans always marshal
	}
	return append(out, '\n')
}

// obj is a JSON object of the schema.
type obj = map[string]any

// Patterns of the schema, in the subset of regular expressions that ECMA-262 (editors) and RE2
// (Go validators) read alike.
const (
	idRegexp       = `^` + idPattern + `$`
	durationUnits  = `(ns|us|µs|μs|ms|s|m|h)`
	durationRegexp = `^\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)` + durationUnits + `)+$`
	zeroDuration   = `^\+?((0+(\.0*)?|\.0+)` + durationUnits + `)+$`
	sizeUnitsRE    = `(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)`
	sizeRegexp     = `^[0-9]+\s*` + sizeUnitsRE + `?\s*$`
	zeroSize       = `^0+\s*` + sizeUnitsRE + `?\s*$`
	portRegexp     = `0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])`
	listenRegexp   = `^$|^(\[[^\]]*\]|[^:\[\]]*):` + portRegexp + `$`
	cronField      = `[0-9A-Za-z*?/,-]+`
	scheduleRegexp = `^(auto|` +
		`((CRON_)?TZ=[^ ]+ +)?(` +
		`@(yearly|annually|monthly|weekly|daily|midnight|hourly)|` +
		`@every ([0-9]+(\.[0-9]*)?` + durationUnits + `)+|` +
		`\s*` + cronField + `(\s+` + cronField + `){4}\s*))$`
)

func schema() obj {
	return obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                "newswatch configuration",
		"description":          "The configuration file of newswatch (newswatch run -c FILE). Decoded strictly: an unknown key is an error. `newswatch check -c FILE` checks everything this schema cannot (schedules in full, rule queries, rule scopes).",
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"properties": obj{
			"nats":    natsSchema(),
			"http":    httpSchema(),
			"archive": archiveSchema(),
			"stories": section("Stories: the items of every feed that report one event, whatever their language; alerts carry their story.", obj{
				"enabled": obj{
					"description": "Give every archived item its story (needs the archive); false: alerts carry no story and no story event is told.",
					"type":        []string{"boolean", "null"},
					"default":     true,
				},
				"window": duration("How long a story stays open after its latest item; at least 1m.", DefaultStoryWindow),
				"max_stories": obj{
					"description": "The most stories open at once (1,000 to 10,000,000): past it, the quarter whose latest items are oldest close early. Bounds the memory of stories (a few hundred bytes a story).",
					"type":        []string{"integer", "string", "null"},
					"minimum":     1000,
					"maximum":     10000000,
					"pattern":     `^\s*[0-9]+\s*$`,
					"default":     DefaultMaxStories,
				},
			}),
			"defaults": section("Values every feed inherits (each feed may override each of them), and the delivery and spike detection every rule inherits.", defaultsProperties()),
			"feeds":    feedsSchema(),
			"lists":    listsSchema(),
			"rules":    rulesSchema(),
		},
	}
}

// section is an optional mapping that refuses unknown keys.
func section(description string, properties obj) obj {
	return obj{
		"description":          description,
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"properties":           properties,
	}
}

// text is an optional string. The loader takes a number for a string as it is written (a file
// named 2024, a query 42), but never a boolean.
func text(description string) obj {
	return obj{"description": description, "type": []string{"string", "number", "null"}}
}

// str is an optional string that a number cannot be.
func str(description string) obj {
	return obj{"description": description, "type": []string{"string", "null"}}
}

func with(o obj, kv ...any) obj {
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i].(string)] = kv[i+1]
	}
	return o
}

// duration is an optional positive Go duration such as 90s, 30m or 24h.
func duration(description string, def time.Duration) obj {
	o := str(description + ` A duration such as 90s, 30m or 24h.`)
	o["pattern"] = durationRegexp
	o["not"] = obj{"type": "string", "pattern": zeroDuration}
	if def != 0 {
		o["default"] = durationText(def)
	}
	return o
}

// id is a feed id, a rule id or a tag. A plain number is taken as written.
func id(description string) obj {
	return obj{
		"description": description + " Matches " + idPattern + ": ids become NATS subject tokens.",
		"type":        []string{"string", "integer"},
		"pattern":     idRegexp,
		"minimum":     0,
	}
}

func natsSchema() obj {
	return section("The NATS server the alerts go to.", obj{
		"url": with(text("Empty: run an embedded NATS server with JetStream. Else the servers, comma-separated (host:port, or nats://, tls://, ws:// or wss:// URLs). Credentials go in creds_file, never in the URL."),
			"default", "", "pattern", `^[^@]*$`),
		"embedded": section("The embedded NATS server, used when url is empty.", obj{
			"listen": with(str("Where subscribers connect, host:port; empty for in-process only."),
				"default", DefaultEmbeddedListen, "pattern", listenRegexp),
			"store_dir": text("The JetStream store. Default: $STATE_DIRECTORY/nats, else " + DefaultStoreDir + "."),
			"sync_always": obj{
				"description": "Flush every write to disk before acknowledging it, so that a power loss loses no acknowledged alert.",
				"type":        []string{"boolean", "null"},
				"default":     false,
			},
			"allow_insecure": obj{
				"description": "Allow a listen address other than loopback without TLS (logged at warn level either way).",
				"type":        []string{"boolean", "null"},
				"default":     false,
			},
		}),
		"creds_file": text("A NATS credentials file for the external server (url)."),
		"subject_prefix": with(text("Alerts go to <subject_prefix>.alert.<rule>.<feed>. Dot-separated tokens without spaces, * or >."),
			"default", DefaultSubjectPrefix, "pattern", `^[^.*>\s]+(\.[^.*>\s]+)*$`),
		"alert_stream": with(text("The JetStream stream that keeps the alerts."),
			"default", DefaultAlertStream, "pattern", `^[^.*>/\\\s]+$`, "maxLength", 255),
		"duplicate_window": duration("JetStream de-duplication window of the alert stream.", DefaultDuplicateWindow),
		"alert_max_age":    duration("How long the alert stream keeps alerts; at least duplicate_window.", DefaultAlertMaxAge),
		"alert_max_bytes":  size("The most the alert stream keeps on disk; the oldest alerts go first.", DefaultAlertMaxBytes),
		"replicas": with(obj{
			"description": "Replicas of every stream and bucket, 1 to 5; 0 chooses: 3 on a cluster of three or more servers, else 1. Above 1 needs url (a cluster).",
			"type":        []string{"integer", "string", "null"},
			"minimum":     0,
			"maximum":     5,
			"pattern":     `^\+?0*[0-5]$`,
		}, "default", 0),
		"ack_wait": duration("How long a poll job may go unacknowledged (its worker sends a heartbeat every third of it) before another worker gets it; at least 1s.", DefaultAckWait),
		"tls": with(section("TLS to the external server (url); the files are read at start.", obj{
			"ca_file":   text("The server's CA, when it is not in the system's pool (PEM)."),
			"cert_file": text("A client certificate (PEM), with key_file."),
			"key_file":  text("The client certificate's key (PEM), with cert_file."),
		}), "dependentRequired", obj{"cert_file": []string{"key_file"}, "key_file": []string{"cert_file"}}),
	})
}

func httpSchema() obj {
	return section("The HTTP endpoints: /healthz, /readyz, /metrics and POST /-/reload.", obj{
		"listen": with(str("host:port of the endpoints; empty turns them off."),
			"default", DefaultHTTPListen, "pattern", listenRegexp),
		"web_config_file": text("A web configuration in the Prometheus exporter-toolkit format: TLS and basic auth (bcrypt hashes) of every endpoint."),
		"console": obj{
			"description": "Serve the web console under /; false turns it off (the endpoints and the status API stay).",
			"type":        []string{"boolean", "null"},
			"default":     true,
		},
	})
}

func archiveSchema() obj {
	return section("The item archive: every new item kept once in a JetStream stream, for backtests, backfills and consumers that want every item.", obj{
		"enabled": obj{
			"description": "Archive every new item; false turns the archive off (an existing stream is left as it is).",
			"type":        []string{"boolean", "null"},
			"default":     true,
		},
		"stream": with(text("The JetStream stream that keeps the items, on subjects <subject_prefix>.item.<feed>."),
			"default", DefaultArchiveStream, "pattern", `^[^.*>/\\\s]+$`, "maxLength", 255),
		"max_age":   duration("How long the archive keeps items; at least nats.duplicate_window.", DefaultArchiveMaxAge),
		"max_bytes": size("The most the archive keeps on disk (compressed); the oldest items go first.", DefaultArchiveMaxBytes),
	})
}

// pollProperties are the keys a feed shares with defaults; withDefaults adds the defaults' values,
// which a feed does not have (it inherits).
func pollProperties(withDefaults bool) obj {
	def := func(o obj, v any) obj {
		if withDefaults {
			o["default"] = v
		}
		return o
	}
	zeroIfNoDefault := func(d time.Duration) time.Duration {
		if withDefaults {
			return d
		}
		return 0
	}
	return obj{
		"schedule": def(with(str("When the feed is polled: a 5-field cron expression (optionally after CRON_TZ=Zone), a descriptor (@hourly, @daily, @every 90s with whole seconds of at least 1s), or auto, which adapts the interval to the feed between auto_min and auto_max."),
			"pattern", scheduleRegexp, "examples", []string{"@every 5m", "*/10 * * * *", "@hourly", "auto"}), DefaultSchedule),
		"auto_min": duration("The shortest interval of schedule auto.", zeroIfNoDefault(DefaultAutoMin)),
		"auto_max": duration("The longest interval of schedule auto.", zeroIfNoDefault(DefaultAutoMax)),
		"flood_guard": def(obj{
			"description": "The number of new items above which one poll may be a flood; 0 turns the guard off.",
			"type":        []string{"integer", "string", "null"},
			"minimum":     0,
			"pattern":     `^\+?[0-9]+$`,
		}, DefaultFloodGuard),
		"timeout":  duration("The bound of one fetch.", zeroIfNoDefault(DefaultTimeout)),
		"max_body": def(size("The largest body of one fetch, after decompression.", 0), sizeText(DefaultMaxBody)),
		"max_alerts_per_poll": def(obj{
			"description": "The most alerts one poll publishes; the rest of its items are recorded as seen and reported once by a health event.",
			"type":        []string{"integer", "string", "null"},
			"minimum":     1,
			"maximum":     maxMaxAlertsPerPoll,
			"pattern":     `^\+?[0-9]+$`,
		}, DefaultMaxAlertsPerPoll),
		"first_poll": def(obj{
			"description": "What the first poll of a new feed alerts: baseline remembers its items without alerting, all alerts them, a duration such as 24h alerts those published within it.",
			"type":        []string{"string", "null"},
			"anyOf": []obj{
				{"type": "null"},
				{"enum": []string{string(FirstPollBaseline), string(FirstPollAll)}},
				{"pattern": durationRegexp, "not": obj{"pattern": zeroDuration}},
			},
		}, string(FirstPollBaseline)),
		"fulltext": def(obj{
			"description": "When the article of a new item is fetched and its main text matched as the item's content: never; auto, when the feed's title, summary and content are short (a headline and a line); always.",
			"type":        []string{"string", "null"},
			"anyOf":       []obj{{"type": "null"}, {"enum": []string{FullTextNever, FullTextAuto, FullTextAlways}}},
		}, FullTextNever),
		"allow_private": def(obj{
			"description": "Allow feeds that resolve to loopback, private, link-local, unique-local or CGNAT addresses.",
			"type":        []string{"boolean", "null"},
		}, false),
	}
}

func feedsSchema() obj {
	props := pollProperties(false)
	props["id"] = id("The feed's id, unique among feeds.")
	props["url"] = obj{
		"description": "The feed's absolute http or https URL.",
		"type":        "string",
		"pattern":     `^[hH][tT][tT][pP][sS]?://[^/?#]`,
	}
	props["type"] = obj{
		"description": "The kind of document the feed is: rss (RSS, Atom or JSON Feed), sitemap (a Google News sitemap or a sitemap index), html (a web page read by selectors), telegram (a public channel's web preview), mastodon (a tag's or an account's public timeline), bluesky (an account's posts).",
		"type":        []string{"string", "null"},
		"anyOf":       []obj{{"type": "null"}, {"enum": []string{TypeRSS, TypeSitemap, TypeHTML, TypeTelegram, TypeMastodon, TypeBluesky}}},
		"default":     TypeRSS,
	}
	sel := func(d string) obj { return with(str(d+" A CSS selector."), "pattern", `\S`) }
	props["selectors"] = with(section("type html: where the page's items are, in CSS selector syntax; all but item are looked up inside each item.", obj{
		"item":    sel("One element per item (required)."),
		"title":   sel("The element whose text is the title; default: the link's text."),
		"link":    sel("The element whose href is the item's address; default: the item's first a[href]."),
		"date":    sel("The element whose datetime, content or text is the date."),
		"summary": sel("The element whose inner HTML is the summary."),
	}), "required", []string{"item"})
	props["channel"] = with(str("type telegram: the public channel's name, as in https://t.me/s/NAME; url may then be left out."), "pattern", `^@?[A-Za-z][A-Za-z0-9_]{3,31}$`)
	props["instance"] = with(str("type mastodon: the server's address, such as https://mastodon.social, with tag or account; url may then be left out."), "pattern", `^[hH][tT][tT][pP][sS]?://[^/?#]`)
	props["tag"] = str("type mastodon: a hashtag (without #) whose public timeline is polled.")
	props["account"] = str("type mastodon: an account (user, or user@domain) whose statuses are polled; type bluesky: a handle (name.bsky.social) or a DID whose posts are polled. url may then be left out.")
	props["exclude_replies"] = obj{"description": "type mastodon with account: leave replies out.", "type": []string{"boolean", "null"}, "default": false}
	props["replies"] = obj{"description": "type bluesky: include the account's replies.", "type": []string{"boolean", "null"}, "default": false}
	props["reposts"] = obj{"description": "type bluesky: include the account's reposts.", "type": []string{"boolean", "null"}, "default": true}
	props["tags"] = obj{
		"description": "Tags that rules select feeds by (tag:NAME).",
		"type":        []string{"array", "null"},
		"items":       id("A tag."),
	}
	return obj{
		"description": "The feeds to watch.",
		"type":        []string{"array", "null"},
		"items": obj{
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"id"},
			"properties":           props,
			// url is required but for the types that derive it from their options.
			"anyOf": []obj{
				{"required": []string{"url"}},
				{"required": []string{"type", "channel"}, "properties": obj{"type": obj{"const": TypeTelegram}}},
				{"required": []string{"type", "instance"}, "properties": obj{"type": obj{"const": TypeMastodon}}},
				{"required": []string{"type", "account"}, "properties": obj{"type": obj{"const": TypeBluesky}}},
			},
		},
	}
}

func listsSchema() obj {
	return obj{
		"description":   "Named term lists, used in queries as @name.",
		"type":          []string{"object", "null"},
		"propertyNames": obj{"pattern": idRegexp},
		"additionalProperties": obj{
			"description": "The terms of the list, each a query term (a word, a phrase in double quotes, a prefix*).",
			"type":        "array",
			"minItems":    1,
			"items":       obj{"type": []string{"string", "number"}, "pattern": `\S`},
		},
	}
}

func defaultsProperties() obj {
	props := pollProperties(true)
	props["deliver"] = deliverSchema("How the alerts of every rule without a deliver of its own reach their readers.")
	props["spike"] = spikeSchema("The spike detection of every rule; a rule's spike overrides each key.")
	return props
}

// positive is an optional whole number from 1.
func positive(description string) obj {
	return obj{"description": description, "type": []string{"integer", "null"}, "minimum": 1}
}

// The delivery's defaults are applied where the delivery is built (a zero field takes its
// default), so the schema states them in words and not as "default": a file that writes them
// out would not load as one that leaves them out.
func deliverSchema(description string) obj {
	return section(description+" The alert stream carries every alert whatever the mode; digests, notices and the alerts a budget delivers at once are published on <prefix>.digest.<rule>.", obj{
		"mode": obj{
			"description": "immediate (default): every alert at once; digest: one digest a period listing its stories; budget: at most max alerts a per window at once, the rest in the window's digest with one notice.",
			"type":        []string{"string", "null"},
			"anyOf":       []obj{{"type": "null"}, {"enum": []string{"immediate", "digest", "budget"}}},
		},
		"every":       duration("The digest period, aligned to the Unix epoch (1h ends at each full hour UTC); not with cron. Default 1h.", 0),
		"cron":        str("The instants a digest period ends, as a 5-field cron expression or @hourly, @daily, @weekly, @monthly, read in time_zone; not with every."),
		"time_zone":   str("The IANA time zone cron is read in; default UTC."),
		"max":         positive("mode budget: the alerts a per window delivered at once (required with budget)."),
		"per":         duration("mode budget: the budget window, aligned to the Unix epoch. Default 1h.", 0),
		"max_stories": with(positive("The most stories one digest lists (default 100); the items of the others are counted."), "maximum", 1000),
	})
}

func spikeSchema(description string) obj {
	num := func(d string) obj {
		return obj{"description": d, "type": []string{"number", "null"}, "minimum": 0}
	}
	return section(description+" A spike is published on <prefix>.spike.<rule> with its counts, baseline and stories.", obj{
		"off":            obj{"description": "Turn spike detection off (default false).", "type": []string{"boolean", "null"}},
		"window":         duration("The recent window whose new stories are counted; a multiple of 15m up to 24h. Default 2h.", 0),
		"min_stories":    positive("The least number of new stories in the window (default 5)."),
		"min_publishers": positive("The least number of distinct publishers of those stories (default 3)."),
		"factor":         num("How many times the baseline the window must hold, from 1 (default 3)."),
		"floor":          num("The least baseline (new stories a window), so that a rule silent until now does not call every small count a spike (default 1)."),
		"baseline_days":  with(positive("How many previous days, the same hours each, make the baseline (default 7)."), "maximum", 28),
		"cooldown":       duration("The least time between two spikes of the rule. Default 6h.", 0),
	})
}

func rulesSchema() obj {
	return obj{
		"description": "The watch rules: each new item matching a rule's query is alerted.",
		"type":        []string{"array", "null"},
		"items": obj{
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"id", "query"},
			"properties": obj{
				"id": id("The rule's id, unique among rules."),
				"query": obj{
					"description": `The query, in the rule language: words, "phrases", prefix*, AND, OR, NOT, NEAR/n, field:term, /regexp/, @list.`,
					"type":        []string{"string", "number"},
					"pattern":     `\S`,
				},
				"backfill": duration("When the rule, or a new query of it, is first loaded: match the archive's items of this window before now and alert them, once.", 0),
				"deliver":  deliverSchema("How the rule's alerts reach their readers; replaces defaults.deliver whole."),
				"spike":    spikeSchema("The rule's spike detection; each key overrides defaults.spike's."),
				"feeds": obj{
					"description": "The feeds the rule applies to, by feed id or tag:NAME; default: every feed.",
					"type":        []string{"array", "null"},
					"minItems":    1,
					"items": obj{
						"type":    []string{"string", "integer"},
						"pattern": `^(tag:)?` + idPattern + `$`,
						"minimum": 0,
					},
				},
			},
		},
	}
}

// durationText writes d as a user would: 30m, 1h, 90s.
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sizeText writes n with the largest binary unit that divides it.
func sizeText(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// size is an optional positive size: bytes, or a number with a unit.
func size(description string, def int64) obj {
	o := obj{
		"description": description + " Bytes, or a size such as 512KiB, 10MiB or 1MB.",
		"type":        []string{"integer", "string", "null"},
		"minimum":     1,
		"pattern":     sizeRegexp,
		"not":         obj{"type": "string", "pattern": zeroSize},
	}
	if def != 0 {
		o["default"] = sizeText(def)
	}
	return o
}
