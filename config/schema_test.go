package config

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compiledSchema compiles Schema with a draft 2020-12 validator, which also checks it against
// the draft's meta-schema.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("Schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("newswatch.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("newswatch.schema.json")
	if err != nil {
		t.Fatalf("Schema does not compile: %v", err)
	}
	return sch
}

// validate checks a YAML document against the schema, as an editor sees it: as JSON.
func validate(t *testing.T, sch *jsonschema.Schema, data string) error {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(data))
	if err != nil {
		t.Fatalf("YAML to JSON: %v\n%s", err, data)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatalf("reading %s: %v", j, err)
	}
	return sch.Validate(inst)
}

func TestSchemaAcceptsTheExamples(t *testing.T) {
	sch := compiledSchema(t)
	for _, path := range []string{"../examples/newswatch.yaml", "testdata/spec.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, sch, string(data)); err != nil {
			t.Errorf("%s: got %v, want valid", path, err)
		}
	}
}

// fullConfig sets every key the loader knows, each to a value other than its default.
const fullConfig = `
nats:
  url: nats://a.example:4222,nats://b.example:4222
  embedded:
    listen: "[::1]:4333"
    store_dir: /var/lib/newswatch/nats
    sync_always: true
    allow_insecure: true
  creds_file: /run/credentials/newswatch/nats.creds
  subject_prefix: news.watch
  alert_stream: ALERTS
  duplicate_window: 1h
  alert_max_age: 720h
  alert_max_bytes: 2GiB
  replicas: 3
  ack_wait: 2m
  tls:
    ca_file: /etc/newswatch/ca.pem
    cert_file: /etc/newswatch/client.pem
    key_file: /run/credentials/newswatch/client.key
http:
  listen: ":9000"
  web_config_file: /etc/newswatch/web.yml
  console: true
archive:
  enabled: false
  stream: ITEMS
  max_age: 168h
  max_bytes: 20GiB
stories:
  enabled: false
  window: 24h
  max_stories: 50000
defaults:
  schedule: "@every 10m"
  auto_min: 1m
  auto_max: 2h
  flood_guard: 25
  timeout: 10s
  max_body: 512KiB
  first_poll: 24h
  allow_private: true
  max_alerts_per_poll: 200
  fulltext: auto
  deliver: {mode: digest, every: 2h, cron: '@daily', time_zone: UTC, max: 5, per: 1h, max_stories: 50}
  spike: {off: false, window: 1h, min_stories: 4, min_publishers: 2, factor: 2.5, floor: 0.5, baseline_days: 3, cooldown: 2h}
feeds:
  - id: world
    url: https://news.example/world.xml
    schedule: auto
    auto_min: 2m
    auto_max: 90m
    flood_guard: 0
    timeout: 1m
    max_body: 1048576
    first_poll: all
    allow_private: false
    max_alerts_per_poll: 5000
    fulltext: always
    type: rss
    tags: [world, en]
  - id: mod-press
    type: html
    url: https://mod.example/press/
    selectors: {item: li.news, title: h3, link: h3 a, date: time, summary: p.lead}
  - id: wire
    type: telegram
    channel: examplewire
  - id: kursk
    type: mastodon
    instance: https://mastodon.example
    account: osintdesk
    exclude_replies: true
  - id: kursk-tag
    type: mastodon
    instance: https://mastodon.example
    tag: kursk
  - id: monitor
    type: bluesky
    account: monitor.example.com
    replies: true
    reposts: false
lists:
  dprk: ['"north korea*"', pyongyang]
rules:
  - id: dprk
    query: '@dprk NEAR/10 troop*'
    backfill: 24h
    feeds: [world, "tag:en"]
    deliver: {mode: budget, max: 10, per: 30m}
    spike: {off: false, window: 1h, min_stories: 4, min_publishers: 2, factor: 2.5, floor: 0.5, baseline_days: 3, cooldown: 1h}
  - id: kursk
    query: kursk
    deliver: {mode: digest, every: 12h, cron: "0 8,18 * * *", time_zone: Europe/Kyiv, max_stories: 20}
    spike: {off: true}
`

func TestSchemaFullConfig(t *testing.T) {
	if _, err := Parse("full.yaml", []byte(fullConfig)); err != nil {
		t.Fatalf("the loader refuses the configuration with every key: %v", err)
	}
	if err := validate(t, compiledSchema(t), fullConfig); err != nil {
		t.Fatalf("the schema refuses the configuration with every key: %v", err)
	}
	// Every key of the schema is set in fullConfig (which the loader accepts), and no other.
	var doc any
	if err := yaml.Unmarshal([]byte(fullConfig), &doc); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(instancePaths(doc, "")))
	want := slices.Sorted(maps.Keys(schemaPaths(schemaDoc(t), "")))
	if !slices.Equal(got, want) {
		t.Errorf("keys of the full configuration:\n%v\nkeys of the schema:\n%v", got, want)
	}
}

// schemaDoc is Schema decoded.
func schemaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// schemaPaths lists the key paths a schema describes: "nats.embedded.listen", "feeds[].id",
// "lists.*" for the entries of a mapping of free keys.
func schemaPaths(s map[string]any, prefix string) map[string]bool {
	paths := map[string]bool{}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, sub := range props {
			p := strings.TrimPrefix(prefix+"."+name, ".")
			paths[p] = true
			maps.Copy(paths, schemaPaths(sub.(map[string]any), p))
		}
	}
	if sub, ok := s["additionalProperties"].(map[string]any); ok {
		p := prefix + ".*"
		paths[p] = true
		maps.Copy(paths, schemaPaths(sub, p))
	}
	if sub, ok := s["items"].(map[string]any); ok {
		maps.Copy(paths, schemaPaths(sub, prefix+"[]"))
	}
	return paths
}

// instancePaths lists the key paths of a decoded YAML document as schemaPaths does.
func instancePaths(v any, prefix string) map[string]bool {
	paths := map[string]bool{}
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if prefix == "lists" {
				k = "*"
			}
			p := strings.TrimPrefix(prefix+"."+k, ".")
			paths[p] = true
			maps.Copy(paths, instancePaths(sub, p))
		}
	case []any:
		for _, sub := range v {
			maps.Copy(paths, instancePaths(sub, prefix+"[]"))
		}
	}
	return paths
}

// TestSchemaFollowsLoader reads the loader's source: the keys each decoding function switches on
// must be the properties of the schema's object that function decodes, so that a key added to one
// and not the other fails here.
func TestSchemaFollowsLoader(t *testing.T) {
	// Where in the schema each function that switches on a mapping's keys decodes.
	decodes := map[string][]string{
		"config":      {""},
		"nats":        {"nats"},
		"embedded":    {"nats.embedded"},
		"tls":         {"nats.tls"},
		"http":        {"http"},
		"archive":     {"archive"},
		"stories":     {"stories"},
		"pollField":   {"defaults", "feeds[]"},
		"defaults":    {"defaults"},
		"deliver":     {"defaults.deliver", "rules[].deliver"},
		"spike":       {"defaults.spike", "rules[].spike"},
		"feed":        {"feeds[]"},
		"sourceField": {"feeds[]"},
		"selectors":   {"feeds[].selectors"},
		"rule":        {"rules[]"},
	}
	loader := map[string]map[string]bool{} // schema object path -> keys the loader decodes there
	for fn, keys := range loaderKeys(t) {
		at, ok := decodes[fn]
		if !ok {
			t.Errorf("func %s switches on keys %v: add it to the map of this test and its keys to Schema", fn, slices.Sorted(maps.Keys(keys)))
			continue
		}
		for _, path := range at {
			if loader[path] == nil {
				loader[path] = map[string]bool{}
			}
			maps.Copy(loader[path], keys)
		}
	}
	doc := schemaDoc(t)
	for path, keys := range loader {
		props := schemaObject(t, doc, path)
		got := slices.Sorted(maps.Keys(props))
		want := slices.Sorted(maps.Keys(keys))
		if !slices.Equal(got, want) {
			t.Errorf("schema of %q has the keys %v, the loader decodes %v", path, got, want)
		}
		if s := schemaAt(doc, path); s["additionalProperties"] != false {
			t.Errorf("schema of %q: additionalProperties %v, want false: the loader refuses unknown keys", path, s["additionalProperties"])
		}
	}
}

// loaderKeys returns, for each function of this package's source, the string cases of its
// switches on e.key.
func loaderKeys(t *testing.T) map[string]map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	keys := map[string]map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				sw, ok := n.(*ast.SwitchStmt)
				if !ok || !isKeySelector(sw.Tag) {
					return true
				}
				for _, stmt := range sw.Body.List {
					for _, e := range stmt.(*ast.CaseClause).List {
						lit, ok := e.(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						k, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						if keys[fn.Name.Name] == nil {
							keys[fn.Name.Name] = map[string]bool{}
						}
						keys[fn.Name.Name][k] = true
					}
				}
				return true
			})
		}
	}
	if len(keys) == 0 {
		t.Fatal("found no switch on e.key in the loader's source")
	}
	return keys
}

// isKeySelector reports whether x is e.key, the key of a mapping entry.
func isKeySelector(x ast.Expr) bool {
	sel, ok := x.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "key" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "e"
}

// schemaAt returns the schema of the object at path ("" for the top, "feeds[]" for a feed).
func schemaAt(doc map[string]any, path string) map[string]any {
	s := doc
	if path == "" {
		return s
	}
	for part := range strings.SplitSeq(path, ".") {
		name, items := strings.CutSuffix(part, "[]")
		props, _ := s["properties"].(map[string]any)
		s, _ = props[name].(map[string]any)
		if items {
			s, _ = s["items"].(map[string]any)
		}
		if s == nil {
			return nil
		}
	}
	return s
}

// schemaObject returns the properties of the schema's object at path.
func schemaObject(t *testing.T, doc map[string]any, path string) map[string]any {
	t.Helper()
	s := schemaAt(doc, path)
	props, ok := s["properties"].(map[string]any)
	if !ok {
		t.Fatalf("the schema has no object at %q", path)
	}
	return props
}

// TestSchemaAgreesWithLoader runs files past both: the schema accepts what the loader accepts and
// refuses what it refuses.
func TestSchemaAgreesWithLoader(t *testing.T) {
	sch := compiledSchema(t)
	feed := "feeds:\n  - id: world\n    url: https://news.example/rss.xml\n"
	tests := []struct {
		name  string
		data  string
		valid bool
	}{
		{"empty file", "", true},
		{"null sections", "nats:\nhttp:\ndefaults:\nfeeds:\nlists:\nrules:\n", true},
		{"null values", "nats:\n  url: ~\n  embedded: ~\ndefaults:\n  timeout: ~\n  max_body: ~\n  first_poll: ~\n" + feed + "    tags: ~\n", true},
		{"a feed", feed, true},
		{"numeric id", "feeds:\n  - id: 2024\n    url: https://news.example/rss.xml\n", true},
		{"max_body in bytes", "defaults:\n  max_body: 1048576\n", true},
		{"max_body with a space", "defaults:\n  max_body: 10 MiB\n", true},
		{"flood_guard as text", "defaults:\n  flood_guard: '3'\n", true},
		{"listen off", "http:\n  listen: ''\nnats:\n  embedded:\n    listen: ''\n", true},
		{"cron with a zone", "defaults:\n  schedule: CRON_TZ=Europe/Berlin 0 6 * * MON-FRI\n", true},
		{"first_poll window", "defaults:\n  first_poll: 36h30m\n", true},
		{"rule with a numeric query", "rules:\n  - id: r\n    query: 42\n", true},

		{"unknown top-level key", "feedz: []\n", false},
		{"unknown nats key", "nats:\n  urls: nats://a.example\n", false},
		{"unknown embedded key", "nats:\n  embedded:\n    port: 4222\n", false},
		{"unknown defaults key", "defaults:\n  shedule: '@hourly'\n", false},
		{"unknown feed key", feed + "    shedule: '@hourly'\n", false},
		{"unknown rule key", "rules:\n  - id: r\n    query: kursk\n    rule: x\n", false},
		{"duration as a number", "defaults:\n  timeout: 30\n", false},
		{"zero duration", "nats:\n  duplicate_window: 0s\n", false},
		{"negative duration", "defaults:\n  auto_max: -1h\n", false},
		{"boolean as a string", "defaults:\n  allow_private: 'yes'\n", false},
		{"string as a boolean", "nats:\n  subject_prefix: true\n", false},
		{"sections as sequences", "nats: []\n", false},
		{"feeds as a mapping", "feeds: {world: https://news.example/}\n", false},
		{"upper-case feed id", "feeds:\n  - id: World\n    url: https://news.example/rss.xml\n", false},
		{"long feed id", "feeds:\n  - id: " + strings.Repeat("a", 65) + "\n    url: https://news.example/rss.xml\n", false},
		{"negative numeric id", "feeds:\n  - id: -1\n    url: https://news.example/rss.xml\n", false},
		{"bad rule id", "rules:\n  - id: dprk.troops\n    query: kursk\n", false},
		{"bad tag", feed + "    tags: ['a b']\n", false},
		{"bad list name", "lists:\n  Dprk: [pyongyang]\n", false},
		{"empty list", "lists:\n  dprk: []\n", false},
		{"blank term", "lists:\n  dprk: ['  ']\n", false},
		{"feed without url", "feeds:\n  - id: world\n", false},
		{"null feed", "feeds:\n  -\n", false},
		{"rule without query", "rules:\n  - id: r\n", false},
		{"empty scope", "rules:\n  - id: r\n    query: kursk\n    feeds: []\n", false},
		{"bad scope", "rules:\n  - id: r\n    query: kursk\n    feeds: ['tag:']\n", false},
		{"ftp feed", "feeds:\n  - id: world\n    url: ftp://news.example/rss.xml\n", false},
		{"schedule with six fields", "defaults:\n  schedule: 0 * * * * *\n", false},
		{"unknown descriptor", "defaults:\n  schedule: '@often'\n", false},
		{"padded auto", "defaults:\n  schedule: ' auto'\n", false},
		{"first_poll unknown", "defaults:\n  first_poll: none\n", false},
		{"max_body zero", "defaults:\n  max_body: 0\n", false},
		{"max_body zero MiB", "defaults:\n  max_body: 0MiB\n", false},
		{"max_body unit", "defaults:\n  max_body: 10mb\n", false},
		{"flood_guard negative", "defaults:\n  flood_guard: -1\n", false},
		{"listen without port", "http:\n  listen: localhost\n", false},
		{"listen as a number", "http:\n  listen: 9780\n", false},
		{"listen port too large", "http:\n  listen: 127.0.0.1:65536\n", false},
		{"credentials in the nats url", "nats:\n  url: nats://user:pass@a.example\n", false},
		{"subject prefix wildcard", "nats:\n  subject_prefix: news.*\n", false},
		{"stream name with a dot", "nats:\n  alert_stream: news.alerts\n", false},
		{"replicas out of range", "nats:\n  url: nats://a.example\n  replicas: 7\n", false},
		{"replicas as text", "nats:\n  url: nats://a.example\n  replicas: '3'\n", true},
		{"unknown tls key", "nats:\n  url: nats://a.example\n  tls:\n    ca: /etc/ca.pem\n", false},
		{"tls cert without key", "nats:\n  url: nats://a.example\n  tls:\n    cert_file: /etc/client.pem\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, lerr := Parse("t.yaml", []byte(tt.data))
			serr := validate(t, sch, tt.data)
			if (lerr == nil) != tt.valid {
				t.Errorf("loader: got %v, want valid %v", lerr, tt.valid)
			}
			if (serr == nil) != tt.valid {
				t.Errorf("schema: got %v, want valid %v", serr, tt.valid)
			}
		})
	}
}

// TestSchemaDefaults keeps the defaults the schema shows to editors those the loader applies: a
// file that writes each of them out loads as the empty file does.
func TestSchemaDefaults(t *testing.T) {
	doc := schemaDoc(t)
	file := map[string]any{}
	n := 0
	for _, path := range slices.Sorted(maps.Keys(schemaPaths(doc, ""))) {
		if strings.ContainsAny(path, "[*") {
			continue
		}
		parts := strings.Split(path, ".")
		s := schemaAt(doc, path)
		def, ok := s["default"]
		if !ok {
			continue
		}
		if f, ok := def.(float64); ok && f == float64(int64(f)) {
			def = int64(f) // JSON numbers decode as float64, which YAML writes as 10.0
		}
		m := file
		for _, p := range parts[:len(parts)-1] {
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = def
		n++
	}
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("defaults.yaml", data)
	if err != nil {
		t.Fatalf("the schema's defaults do not load: %v\n%s", err, data)
	}
	want, err := Parse("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got.File, want.File = "", ""
	got.src, want.src = source{}, source{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the schema's defaults load as\n%+v\nwant the loader's defaults\n%+v\nfile:\n%s", got, want, data)
	}
	if n < 15 {
		t.Errorf("only %d defaults in the schema:\n%s", n, data)
	}
}
