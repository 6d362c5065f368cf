package config

import (
	"errors"
	"reflect"
	"testing"
)

// feedOK is a valid feeds section that error cases build on.
const feedOK = "feeds: [{id: world, url: 'https://example.org/rss'}]"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    []string // every error, in file order
		excerpt string   // of the first error
	}{
		{
			name:    "unknown top-level key",
			data:    yamlLines("feedz:", "  - id: world"),
			want:    []string{`nw.yaml:1:1: unknown key "feedz"; did you mean "feeds"?`},
			excerpt: "    feedz:\n    ^",
		},
		{
			name: "unknown keys in every section",
			data: yamlLines(
				"nats: {urls: x, embedded: {port: 1}}",
				"http: {addr: x}",
				"defaults: {interval: 5m}",
				"feeds: [{id: a, url: 'http://a.example', name: A}]",
				"rules: [{id: r, query: q, feed: a}]",
			),
			want: []string{
				`nw.yaml:1:8: unknown key "urls"; did you mean "url"?`,
				`nw.yaml:1:28: unknown key "port"`,
				`nw.yaml:2:8: unknown key "addr"`,
				`nw.yaml:3:12: unknown key "interval"`,
				`nw.yaml:4:42: unknown key "name"`,
				`nw.yaml:5:27: unknown key "feed"; did you mean "feeds"?`,
			},
			excerpt: "    nats: {urls: x, embedded: {port: 1}}\n           ^",
		},
		{
			name: "wrong types",
			data: yamlLines(
				"nats: [x]",
				"defaults:",
				"  allow_private: 'yes'",
				"  timeout: {s: 1}",
				"feeds:",
				"  - id: a",
				"    url: [http://a.example]",
				"    tags: en",
				"  - just-a-string",
				"rules: {id: r}",
			),
			want: []string{
				`nw.yaml:1:7: expected a mapping for "nats", found sequence`,
				`nw.yaml:3:18: expected a boolean for "allow_private", found string`,
				`nw.yaml:4:12: expected a string for "timeout", found mapping`,
				`nw.yaml:7:10: expected a string for "url", found sequence`,
				`nw.yaml:8:11: expected a sequence for "tags", found string`,
				`nw.yaml:9:5: expected a mapping in "feeds", found string`,
				`nw.yaml:10:8: expected a sequence for "rules", found mapping`,
			},
			excerpt: "    nats: [x]\n          ^",
		},
		{
			name: "booleans are not strings",
			data: yamlLines(feedOK, "lists: {l: [yes, true]}"),
			want: []string{`nw.yaml:2:18: expected a string in list "l", found boolean`},
		},
		{
			name: "missing required keys",
			data: yamlLines(
				"feeds:",
				"  - url: https://a.example/rss",
				"  - id: b",
				"  - id: c",
				"    url:",
				"rules:",
				"  - query: x",
				"  - id: r",
				"  - id: s",
				"    query: ''",
			),
			want: []string{
				`nw.yaml:2:5: feed has no "id"`,
				`nw.yaml:3:5: feed has no "url"`,
				`nw.yaml:5:5: feed has no "url"`,
				`nw.yaml:7:5: rule has no "id"`,
				`nw.yaml:8:5: rule has no "query"`,
				`nw.yaml:10:12: empty query`,
			},
			excerpt: "      - url: https://a.example/rss\n        ^",
		},
		{
			name: "duplicates",
			data: yamlLines(
				"feeds:",
				"  - {id: world, url: 'https://a.example'}",
				"  - {id: world, url: 'https://b.example'}",
				"lists:",
				"  l: [a]",
				"  l: [b]",
				"rules:",
				"  - {id: r, query: a}",
				"  - {id: r, query: b}",
				"  - {id: s, query: c, query: d}",
			),
			want: []string{
				`nw.yaml:3:10: duplicate feed id "world"`,
				`nw.yaml:6:3: duplicate list "l"`,
				`nw.yaml:9:10: duplicate rule id "r"`,
				`nw.yaml:10:23: duplicate key "query"`,
			},
			excerpt: "      - {id: world, url: 'https://b.example'}\n             ^",
		},
		{
			name: "invalid ids",
			data: yamlLines(
				"feeds:",
				"  - {id: World, url: 'https://a.example'}",
				"  - {id: ok, url: 'https://a.example', tags: [en, 'two words']}",
				"lists: {Bad: [x]}",
				"rules: [{id: -r, query: x}, {id: "+`"`+"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"+`"`+", query: x}]",
			),
			want: []string{
				`nw.yaml:2:10: invalid feed id "World": must match [a-z0-9][a-z0-9_-]{0,63}`,
				`nw.yaml:3:51: invalid tag "two words": must match [a-z0-9][a-z0-9_-]{0,63}`,
				`nw.yaml:4:9: invalid list name "Bad": must match [a-z0-9][a-z0-9_-]{0,63}`,
				`nw.yaml:5:14: invalid rule id "-r": must match [a-z0-9][a-z0-9_-]{0,63}`,
				`nw.yaml:5:34: invalid rule id "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": must match [a-z0-9][a-z0-9_-]{0,63}`,
			},
		},
		{
			name: "feed urls",
			data: yamlLines(
				"feeds:",
				"  - {id: a, url: 'ftp://a.example/rss'}",
				"  - {id: b, url: 'https://'}",
				"  - {id: c, url: 'http://[::1'}",
				"  - {id: d, url: example.org/rss}",
			),
			want: []string{
				`nw.yaml:2:18: invalid feed url "ftp://a.example/rss": scheme must be http or https`,
				`nw.yaml:3:18: invalid feed url "https://": no host`,
				`nw.yaml:4:18: invalid feed url "http://[::1": missing ']' in host`,
				`nw.yaml:5:18: invalid feed url "example.org/rss": scheme must be http or https`,
			},
		},
		{
			name: "schedules",
			data: yamlLines(
				"defaults:",
				"  schedule: often",
				"feeds:",
				`  - {id: a, url: 'https://a.example', schedule: "*/2 * *"}`,
				`  - {id: b, url: 'https://a.example', schedule: "@every 500ms"}`,
				`  - {id: c, url: 'https://a.example', schedule: "@every 1.5s"}`,
				`  - {id: d, url: 'https://a.example', schedule: "@fortnightly"}`,
				`  - {id: e, url: 'https://a.example', schedule: "61 * * * *"}`,
				`  - {id: f, url: 'https://a.example', schedule: "@every soon"}`,
				`  - {id: g, url: 'https://a.example', schedule: "0 * * * * *"}`,
			),
			want: []string{
				`nw.yaml:2:13: invalid schedule "often": expected exactly 5 fields, found 1`,
				`nw.yaml:4:49: invalid schedule "*/2 * *": expected exactly 5 fields, found 3`,
				`nw.yaml:5:49: invalid schedule "@every 500ms": @every needs at least 1s`,
				`nw.yaml:6:49: invalid schedule "@every 1.5s": @every needs whole seconds`,
				`nw.yaml:7:49: invalid schedule "@fortnightly": unrecognized descriptor: @fortnightly`,
				`nw.yaml:8:49: invalid schedule "61 * * * *": end of range (61) above maximum (59): 61`,
				`nw.yaml:9:49: invalid schedule "@every soon": "soon" is not a duration such as 90s`,
				`nw.yaml:10:49: invalid schedule "0 * * * * *": expected exactly 5 fields, found 6`,
			},
			excerpt: "      schedule: often\n                ^",
		},
		{
			name: "cluster keys with the embedded server",
			data: yamlLines(
				"nats:",
				"  replicas: 3",
				"  ack_wait: 500ms",
				"  alert_max_age: 10m",
				"  tls: {ca_file: ca.pem}",
			),
			want: []string{
				`nw.yaml:2:13: replicas 3 needs a cluster: the embedded server is one server (set url)`,
				`nw.yaml:3:13: invalid ack_wait "500ms": must be at least 1s`,
				`nw.yaml:4:18: alert_max_age 10m0s is shorter than duplicate_window 30m0s`,
				`nw.yaml:5:8: tls is for an external server (set url)`,
			},
		},
		{
			name: "cluster keys out of range",
			data: yamlLines(
				"nats:",
				"  url: nats://a:4222,nats://b:4222,nats://c:4222",
				"  replicas: 7",
				"  tls: {cert_file: client.pem}",
			),
			want: []string{
				`nw.yaml:3:13: invalid replicas "7": want 1 to 5, or 0 to choose by the server (3 on a cluster, else 1)`,
				`nw.yaml:4:8: tls: cert_file and key_file go together`,
			},
		},
		{
			name: "auto schedule bounds and flood guard",
			data: yamlLines(
				"defaults:",
				"  auto_min: 2h",
				"  flood_guard: -1",
				"feeds:",
				`  - {id: a, url: 'https://a.example', schedule: auto, auto_max: 30m}`,
				`  - {id: b, url: 'https://a.example', auto_max: 3h, flood_guard: many}`,
				`  - {id: c, url: 'https://a.example', auto_min: 0s, auto_max: 3h}`,
			),
			want: []string{
				`nw.yaml:3:16: invalid flood_guard "-1": want a number of items, or 0 to turn the guard off`,
				`nw.yaml:5:65: auto_min 2h0m0s is above auto_max 30m0s`,
				`nw.yaml:6:66: invalid flood_guard "many": want a number of items, or 0 to turn the guard off`,
				`nw.yaml:7:49: invalid auto_min "0s": must be positive`,
			},
		},
		{
			name: "alert bounds",
			data: yamlLines(
				"nats: {alert_max_bytes: 0, alert_max_age: 0s}",
				"defaults:",
				"  max_alerts_per_poll: 0",
				"feeds:",
				`  - {id: a, url: 'https://a.example', max_alerts_per_poll: 100001}`,
			),
			want: []string{
				`nw.yaml:1:25: invalid alert_max_bytes "0": must be positive`,
				`nw.yaml:1:43: invalid alert_max_age "0s": must be positive`,
				`nw.yaml:3:24: invalid max_alerts_per_poll "0": want a number of alerts from 1 to 100000`,
				`nw.yaml:5:60: invalid max_alerts_per_poll "100001": want a number of alerts from 1 to 100000`,
			},
		},
		{
			name: "archive and backfill",
			data: yamlLines(
				"nats: {duplicate_window: 2h}",
				"archive: {enabled: maybe, max_age: 1h, max_bytes: 0, stream: 'A B', keep: 3}",
				"feeds:",
				`  - {id: a, url: 'https://a.example'}`,
				"rules:",
				"  - {id: k, query: kursk, backfill: -1h}",
				"  - {id: l, query: kursk, backfill: soon}",
			),
			want: []string{
				`nw.yaml:2:10: archive.max_age 1h0m0s is shorter than nats.duplicate_window 2h0m0s`,
				`nw.yaml:2:20: expected a boolean for "enabled", found string`,
				`nw.yaml:2:51: invalid archive.max_bytes "0": must be positive`,
				`nw.yaml:2:62: invalid archive.stream "A B": want a stream name without spaces, ., *, >, / or \`,
				`nw.yaml:2:69: unknown key "keep"`,
				`nw.yaml:6:37: invalid backfill "-1h": must be positive`,
				`nw.yaml:7:37: invalid backfill "soon": want a duration such as 90s, 30m or 24h`,
			},
		},
		{
			name: "durations, sizes and first_poll",
			data: yamlLines(
				"nats: {duplicate_window: 0s}",
				"defaults:",
				"  timeout: 30",
				"  max_body: 10XB",
				"  first_poll: never",
				"feeds:",
				"  - id: a",
				"    url: https://a.example",
				"    timeout: -1s",
				"    max_body: 1.5MiB",
				"    first_poll: -24h",
				"  - {id: b, url: 'https://a.example', max_body: 0}",
				"  - {id: c, url: 'https://a.example', max_body: 99999999999TiB}",
			),
			want: []string{
				`nw.yaml:1:26: invalid duplicate_window "0s": must be positive`,
				`nw.yaml:3:12: invalid timeout "30": want a duration such as 90s, 30m or 24h`,
				`nw.yaml:4:13: invalid max_body "10XB": unknown unit "XB", want B, kB, MB, GB, TB, KiB, MiB, GiB or TiB`,
				`nw.yaml:5:15: invalid first_poll "never": want baseline, all or a positive duration such as 24h`,
				`nw.yaml:9:14: invalid timeout "-1s": must be positive`,
				`nw.yaml:10:15: invalid max_body "1.5MiB": unknown unit ".5MiB", want B, kB, MB, GB, TB, KiB, MiB, GiB or TiB`,
				`nw.yaml:11:17: invalid first_poll "-24h": want baseline, all or a positive duration such as 24h`,
				`nw.yaml:12:49: invalid max_body "0": must be positive`,
				`nw.yaml:13:49: invalid max_body "99999999999TiB": too large`,
			},
		},
		{
			name: "rule scopes",
			data: yamlLines(
				"feeds: [{id: world, url: 'https://a.example', tags: [en]}]",
				"rules:",
				"  - {id: a, query: x, feeds: [wrld, 'tag:', 'tag:en', world]}",
				"  - {id: b, query: x, feeds: []}",
				"  - {id: c, query: x, feeds: ['tag:Big']}",
			),
			want: []string{
				`nw.yaml:3:31: unknown feed id "wrld"`,
				`nw.yaml:3:37: empty tag in "tag:"`,
				`nw.yaml:4:30: empty feeds scope matches nothing; leave it out to match every feed`,
				`nw.yaml:5:31: invalid tag "Big": must match [a-z0-9][a-z0-9_-]{0,63}`,
			},
		},
		{
			name: "lists",
			data: yamlLines(
				"lists:",
				"  empty: []",
				"  null:",
				"  blank: [a, '  ']",
				"  nested: [[a]]",
			),
			want: []string{
				`nw.yaml:2:10: empty list "empty"`,
				`nw.yaml:3:3: empty list "null"`,
				`nw.yaml:4:14: empty term in list "blank"`,
				`nw.yaml:5:12: expected a string in list "nested", found sequence`,
			},
		},
		{
			name: "credentials in the nats url",
			data: yamlLines(
				"nats:",
				"  url: nats://alice:s3cret-canary@nats.example:4222,nats://b.example:4222",
			),
			want: []string{
				`nw.yaml:2:8: invalid nats url "nats://redacted@nats.example:4222,nats://b.example:4222": credentials in a url are not allowed; name a credentials file with creds_file`,
			},
		},
		{
			name: "nats and http values",
			data: yamlLines(
				"nats:",
				"  url: http://nats.example:4222",
				"  embedded: {listen: localhost}",
				"  subject_prefix: 'news.*'",
				"  alert_stream: 'my.alerts'",
				"http: {listen: ':http'}",
			),
			want: []string{
				`nw.yaml:2:8: invalid nats url "http://nats.example:4222": scheme "http", want nats, tls, ws or wss`,
				`nw.yaml:3:22: invalid nats.embedded.listen "localhost": want host:port such as 127.0.0.1:9780`,
				`nw.yaml:4:19: invalid subject_prefix "news.*": want dot-separated tokens without spaces, * or >`,
				`nw.yaml:5:17: invalid alert_stream "my.alerts": want a stream name without spaces, ., *, >, / or \`,
				`nw.yaml:6:16: invalid http.listen ":http": port must be a number from 0 to 65535`,
			},
		},
		{
			name:    "yaml syntax error",
			data:    yamlLines("feeds:", "  - id: a", "    url: 'https://a.example", "rules: []"),
			want:    []string{`nw.yaml:3:10: could not find end character of single-quoted text`},
			excerpt: "        url: 'https://a.example\n             ^",
		},
		{
			name: "tab indentation",
			data: yamlLines("feeds:", "\t- id: a"),
			want: []string{"nw.yaml:2:1: found character '\t' that cannot start any token"},
		},
		{
			name: "byte order mark",
			data: append([]byte("\ufeff"), yamlLines("feedz: []")...),
			want: []string{`nw.yaml:1:1: unknown key "feedz"; did you mean "feeds"?`},
		},
		{
			name: "two documents",
			data: yamlLines("---", "http: {}", "---", "# nothing"),
			want: []string{`nw.yaml:3:1: expected one YAML document, found 2`},
		},
		{
			name: "top level is not a mapping",
			data: yamlLines("- feeds"),
			want: []string{`nw.yaml:1:1: expected a mapping at the top level, found sequence`},
		},
		{
			name: "unknown alias and unsupported tag",
			data: yamlLines(feedOK, "lists: {a: *nope, b: [!env X]}"),
			want: []string{
				`nw.yaml:2:12: unknown alias "nope"`,
				`nw.yaml:2:23: unsupported tag "!env"`,
			},
		},
		{
			name: "columns count bytes after multi-byte characters",
			data: yamlLines(feedOK, "lists: {кндр: [北朝鮮], ok: [x, x], z: 5}"),
			want: []string{
				`nw.yaml:2:9: invalid list name "кндр": must match [a-z0-9][a-z0-9_-]{0,63}`,
				`nw.yaml:2:47: expected a sequence for list "z", found integer`,
			},
			excerpt: "    lists: {кндр: [北朝鮮], ok: [x, x], z: 5}\n            ^",
		},
		{
			name: "an error in an aliased value is reported once",
			data: yamlLines(
				"feeds:",
				"  - &f {id: a, url: 'https://a.example', timeout: soon}",
				"  - {<<: *f, id: b}",
			),
			want: []string{`nw.yaml:2:51: invalid timeout "soon": want a duration such as 90s, 30m or 24h`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("nw.yaml", tt.data)
			if cfg != nil {
				t.Errorf("got a config %+v, want nil", cfg)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got error %T %v, want Errors", err, err)
			}
			got := make([]string, len(errs))
			for i, e := range errs {
				got[i] = e.Error()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\ngot  %q\nwant %q", got, tt.want)
			}
			if tt.excerpt != "" {
				if got := errs[0].Excerpt(); got != tt.excerpt {
					t.Errorf("excerpt:\ngot\n%s\nwant\n%s", got, tt.excerpt)
				}
			}
		})
	}
}
