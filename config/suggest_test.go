package config

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestUnknownKeySuggestion: a misspelled key of every section names the key it was meant to be;
// a key close to none names none.
func TestUnknownKeySuggestion(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"top level", "feds: []", `unknown key "feds"; did you mean "feeds"?`},
		{"nats", "nats: {subjet_prefix: x}", `unknown key "subjet_prefix"; did you mean "subject_prefix"?`},
		{"embedded", "nats: {embedded: {lisen: ':4222'}}", `unknown key "lisen"; did you mean "listen"?`},
		{"tls", "nats: {url: nats://a:4222, tls: {ca_fiel: x}}", `unknown key "ca_fiel"; did you mean "ca_file"?`},
		{"http", "http: {Listen: ':1'}", `unknown key "Listen"; did you mean "listen"?`},
		{"defaults", "defaults: {shedule: '@hourly'}", `unknown key "shedule"; did you mean "schedule"?`},
		{"feed", "feeds: [{id: a, ulr: 'https://a.example/'}]", `unknown key "ulr"; did you mean "url"?`},
		{"feed poll key", "feeds: [{id: a, url: 'https://a.example/', timout: 5s}]", `unknown key "timout"; did you mean "timeout"?`},
		{"rule", "rules: [{id: r, qeury: x}]", `unknown key "qeury"; did you mean "query"?`},
		{"same letters", "defaults: {tuoemit: 5s}", `unknown key "tuoemit"; did you mean "timeout"?`},
		{"nothing close", "defaults: {colour: red}", `unknown key "colour"`},
		{"too short to guess", "rules: [{id: r, query: x, q: y}]", `unknown key "q"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("nw.yaml", []byte(tt.data))
			errs, ok := errors.AsType[Errors](err)
			if !ok {
				t.Fatalf("Parse(%q): got %v, want Errors", tt.data, err)
			}
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Msg)
			}
			if !slices.Contains(msgs, tt.want) {
				t.Errorf("Parse(%q): got %q, want %q among them", tt.data, msgs, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"shedule", "schedule", 1}, {"ulr", "url", 1}, {"", "id", 2}, {"listen", "listen", 0},
		{"kitten", "sitting", 3}, {"ид", "id", 2},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestParsePartial: with the errors of an invalid file, ParsePartial returns the feeds, lists and
// rules that decoded, with working positions; Parse returns nothing.
func TestParsePartial(t *testing.T) {
	data := []byte(`shedule: x
feeds:
  - {id: a, url: "https://a.example/", timeout: never}
  - {id: "b c", url: "https://b.example/"}
lists:
  l: [x, y]
rules:
  - {id: r1, query: "x NEAR/0 @nolist"}
  - {id: r1, query: "dup"}
  - {id: r2, query: "y", extra: 1}
`)
	if cfg, err := Parse("nw.yaml", data); cfg != nil || err == nil {
		t.Fatalf("Parse: got %v, %v; want nil and errors", cfg, err)
	}
	cfg, err := ParsePartial("nw.yaml", data)
	errs, ok := errors.AsType[Errors](err)
	if !ok || len(errs) != 5 {
		t.Fatalf("ParsePartial: got error %v, want 5 Errors", err)
	}
	if cfg == nil {
		t.Fatal("ParsePartial: got no config")
	}
	var got []string
	for _, f := range cfg.Feeds {
		got = append(got, "feed "+f.ID)
	}
	for _, r := range cfg.Rules {
		got = append(got, fmt.Sprintf("rule %s %q", r.ID, r.Query))
	}
	got = append(got, fmt.Sprint("list l ", cfg.Lists["l"]))
	want := []string{"feed a", `rule r1 "x NEAR/0 @nolist"`, `rule r2 "y"`, "list l [x y]"}
	if !slices.Equal(got, want) {
		t.Errorf("ParsePartial:\ngot  %q\nwant %q", got, want)
	}
	if e := cfg.QueryError(0, 3, "here"); e.Line != 8 || e.Column != 24 {
		t.Errorf("QueryError(0, 3): got %d:%d, want 8:24", e.Line, e.Column)
	}
	if cfg, err := ParsePartial("nw.yaml", []byte("feeds: [")); cfg != nil || err == nil {
		t.Errorf("ParsePartial of a syntax error: got %v, %v; want nil and an error", cfg, err)
	}
}
