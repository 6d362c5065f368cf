package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/newswatch/newswatch/matcher"
)

// runCLI runs the command line in-process and returns its exit status and output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes text to a file of a fresh directory and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckExample(t *testing.T) {
	code, out, errOut := runCLI(t, "", "check", "-c", "../../examples/newswatch.yaml")
	if code != 0 {
		t.Fatalf("check of the example: exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "valid") {
		t.Errorf("check of the example printed %q, want it to say valid", out)
	}
}

func TestCheckErrors(t *testing.T) {
	bad := writeFile(t, "bad.yaml", `feeds:
  - id: world
    url: https://news.example/rss.xml
    shedule: "@every 5m"
rules:
  - id: kursk
    query: 'kursk OR (troops'
`)
	code, _, errOut := runCLI(t, "", "check", "-c", bad)
	if code != 1 {
		t.Fatalf("check of an invalid file: exit %d, want 1\n%s", code, errOut)
	}
	for _, want := range []string{
		bad + `:4:5: unknown key "shedule"`,
		"    shedule: \"@every 5m\"",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
}

func TestCheckRuleError(t *testing.T) {
	bad := writeFile(t, "bad.yaml", `feeds:
  - id: world
    url: https://news.example/rss.xml
rules:
  - id: kursk
    query: 'kursk OR (troops'
`)
	code, _, errOut := runCLI(t, "", "check", "-c", bad)
	if code != 1 {
		t.Fatalf("check of an invalid rule: exit %d, want 1\n%s", code, errOut)
	}
	// The parenthesis opens at column 10 of the query, which starts at column 13 of line 6.
	if want := bad + `:6:22: rule "kursk": `; !strings.Contains(errOut, want) {
		t.Errorf("check output lacks %q:\n%s", want, errOut)
	}
	if !strings.Contains(errOut, "^") {
		t.Errorf("check output has no caret:\n%s", errOut)
	}
}

func TestCheckAttributeErrors(t *testing.T) {
	bad := writeFile(t, "bad.yaml", `feeds:
  - id: world
    url: https://news.example/rss.xml
    tags: [en]
rules:
  - id: kursk
    query: 'kursk feed:wrold OR (kursk tag:en) OR (kursk tag:fr)'
`)
	code, _, errOut := runCLI(t, "", "check", "-c", bad)
	if code != 1 {
		t.Fatalf("check of a rule testing an unknown feed: exit %d, want 1\n%s", code, errOut)
	}
	for _, want := range []string{
		bad + `:7:19: rule "kursk": no feed has the id "wrold"`,
		bad + `:7:58: rule "kursk": no feed has the tag "fr"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, `"en"`) {
		t.Errorf("check refused the known tag en:\n%s", errOut)
	}
}

func TestTestJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "", "test", "-c", "../../examples/newswatch.yaml", "--json", "testdata/world.xml")
	if code != 0 {
		t.Fatalf("test --json: exit %d, want 0\n%s%s", code, out, errOut)
	}
	type line struct {
		Source string `json:"source"`
		Rule   string `json:"rule"`
		Item   struct {
			GUID, Link, Title string
		} `json:"item"`
		Hits []struct {
			Field      string `json:"field"`
			Start, End int
			Text       string `json:"text"`
		} `json:"hits"`
	}
	got := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		// The keys are exactly those of the contract, in lower case.
		var raw struct {
			Hits []map[string]any `json:"hits"`
		}
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		for _, h := range raw.Hits {
			for k := range h {
				if !slices.Contains([]string{"field", "index", "start", "end", "text", "start_utf16", "end_utf16", "start_codepoint", "end_codepoint"}, k) {
					t.Errorf("hit key %q in %s; want field, start, end, text, their UTF-16 and code point twins (and index)", k, l)
				}
			}
		}
		var m line
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		if m.Source != "testdata/world.xml" {
			t.Errorf("source %q, want testdata/world.xml", m.Source)
		}
		if len(m.Hits) == 0 {
			t.Errorf("%s/%s: no hits", m.Item.GUID, m.Rule)
		}
		for _, h := range m.Hits {
			if h.Text == "" || h.End <= h.Start {
				t.Errorf("%s/%s: hit %+v is empty", m.Item.GUID, m.Rule, h)
			}
		}
		got[m.Item.GUID+"/"+m.Rule] = true
	}
	for _, want := range []string{
		"en-dprk-kursk/dprk-troops", "en-dprk-kursk/kursk",
		"ru-kursk/dprk-troops", "ru-kursk/kursk",
		"ko-dprk/dprk-troops", "ko-dprk/kursk",
	} {
		if !got[want] {
			t.Errorf("no match %s; got %v", want, keys(got))
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "en-decoy/") {
			t.Errorf("the decoy matched: %s", k)
		}
	}
}

func TestTestFeedScope(t *testing.T) {
	cfg := writeFile(t, "scoped.yaml", `feeds:
  - id: world
    url: https://news.example/rss.xml
rules:
  - id: kursk
    query: kursk
    feeds: [world]
`)
	if code, out, errOut := runCLI(t, "", "test", "-c", cfg, "testdata/world.xml"); code != 1 {
		t.Errorf("a rule scoped to a feed, items of no feed: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "", "test", "-c", cfg, "--feed", "world", "testdata/world.xml"); code != 0 || !strings.Contains(out, "[Kursk]") {
		t.Errorf("with --feed world: exit %d, output %q, want 0 and the Kursk item\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", "test", "-c", cfg, "--feed", "nope", "testdata/world.xml"); code != 2 || !strings.Contains(errOut, `no feed "nope"`) {
		t.Errorf("with an unknown --feed: exit %d, stderr %q, want 2 naming the feed", code, errOut)
	}
}

func TestTestNoMatchExitsOne(t *testing.T) {
	const feed = `<rss version="2.0"><channel><title>t</title><item><guid>a</guid><title>Markets close higher</title></item></channel></rss>`
	code, out, errOut := runCLI(t, feed, "test", "-c", "../../examples/newswatch.yaml", "-")
	if code != 1 {
		t.Fatalf("test with no match: exit %d, want 1\n%s%s", code, out, errOut)
	}
	// "Nothing matched" is told apart from "nothing was read".
	if want := "newswatch: sources: 1 of 1 read; items: 1 parsed, 0 matched; rules: 0 of 2 matched; 0 matches\n"; errOut != want {
		t.Errorf("summary: got %q, want %q", errOut, want)
	}
	code, _, errOut = runCLI(t, `<rss version="2.0"><channel><title>t</title></channel></rss>`, "test", "-c", "../../examples/newswatch.yaml", "-")
	if code != 1 || !strings.Contains(errOut, "items: 0 parsed") {
		t.Errorf("an empty feed: exit %d, stderr %q; want 1 and a summary of 0 items parsed", code, errOut)
	}
}

func TestTestBadSourceExitsTwo(t *testing.T) {
	code, _, errOut := runCLI(t, "", "test", "-c", "../../examples/newswatch.yaml", "testdata/no-such-file.xml")
	if code != 2 {
		t.Fatalf("test of a missing file: exit %d, want 2\n%s", code, errOut)
	}
	if want := "testdata/no-such-file.xml: not a feed id of the configuration, nor a file, nor a URL"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want it to say %q", errOut, want)
	}
	if !strings.Contains(errOut, "sources: 0 of 1 read") {
		t.Errorf("stderr %q, want the summary", errOut)
	}
}

func TestTestQuery(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string // in stdout
		wantErr  string   // in stderr
	}{
		{name: "ad-hoc query without a configuration", args: []string{"--query", "kursk OR курск*", "testdata/world.xml"},
			wantOut: []string{"[Kursk]", "[Курской]"}, wantErr: "items: 4 parsed, 2 matched; rules: 1 of 1 matched"},
		{name: "list of the command line", args: []string{"--query", "@x NEAR/5 troop*", "--list", `x="north korea*",dprk`, "testdata/world.xml"},
			wantOut: []string{"[North Korean]", "[troops]"}, wantErr: "1 matched"},
		{name: "list of the configuration", args: []string{"-c", "../../examples/newswatch.yaml", "--query", "@dprk", "testdata/world.xml"},
			wantOut: []string{"query  North Korean troops"}},
		{name: "a list of the command line replaces the file's", args: []string{"-c", "../../examples/newswatch.yaml", "--query", "@dprk", "--list", "dprk=zzzz", "testdata/world.xml"},
			wantCode: 1, wantErr: "0 matched"},
		{name: "no match", args: []string{"--query", "zzzz", "testdata/world.xml"}, wantCode: 1, wantErr: "rules: 0 of 1 matched"},
		{name: "query error at its column", args: []string{"--query", "kursk OR (", "testdata/world.xml"}, wantCode: 2,
			wantErr: "--query:10: unclosed parenthesis\n  kursk OR (\n           ^"},
		{name: "rule and query", args: []string{"-c", "../../examples/newswatch.yaml", "--rule", "kursk", "--query", "x", "testdata/world.xml"}, wantCode: 2,
			wantErr: "give one of them"},
		{name: "neither configuration nor query", args: []string{"testdata/world.xml"}, wantCode: 2, wantErr: "give -c FILE, or --query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"test"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

// TestTestAddressGuard: a URL that resolves to a private address is refused as run refuses it,
// with a hint, unless --allow-private says otherwise.
func TestTestAddressGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<rss version="2.0"><channel><title>t</title><item><guid>a</guid><title>Kursk</title></item></channel></rss>`)
	}))
	defer srv.Close()
	code, _, errOut := runCLI(t, "", "test", "--query", "kursk", srv.URL)
	if code != 2 || !strings.Contains(errOut, "address not allowed") || !strings.Contains(errOut, "hint: ") || !strings.Contains(errOut, "--allow-private") {
		t.Errorf("a loopback URL: exit %d, stderr %q; want 2, the refusal and a hint naming --allow-private", code, errOut)
	}
	code, out, errOut := runCLI(t, "", "test", "--query", "kursk", "--allow-private", srv.URL)
	if code != 0 || !strings.Contains(out, "[Kursk]") {
		t.Errorf("with --allow-private: exit %d, stdout %q, stderr %q; want 0 and the match", code, out, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "newswatch ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, output %q; want 0 and `newswatch <version> ... go1.x`", code, out)
	}
}

func TestHighlight(t *testing.T) {
	text := "Pyongyang has sent thousands of soldiers to Russia, officials in Seoul said."
	hits := []matcher.Hit{
		{Field: "summary", Start: 0, End: 9, Text: "Pyongyang"},
		{Field: "summary", Start: 32, End: 40, Text: "soldiers"},
	}
	tests := []struct {
		name  string
		color bool
		width int
		want  string
	}{
		{name: "plain", want: "[Pyongyang] has sent thousands of [soldiers] to Russia, officials in Seoul said."},
		{name: "terminal", color: true, want: "\x1b[1;31mPyongyang\x1b[0m has sent thousands of \x1b[1;31msoldiers\x1b[0m to Russia, officials in Seoul said."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := matchPrinter{color: tt.color}.highlight(text, hits)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	long := strings.Repeat("word ", 60) + "Kursk" + strings.Repeat(" word", 60)
	at := strings.Index(long, "Kursk")
	got := matchPrinter{}.highlight(long, []matcher.Hit{{Field: "content", Start: at, End: at + 5, Text: "Kursk"}})
	if !strings.HasPrefix(got, "… ") || !strings.HasSuffix(got, " …") || !strings.Contains(got, " [Kursk] ") || len(got) > 200 {
		t.Errorf("long text: got %q, want about 160 bytes around [Kursk] with ellipses", got)
	}
}

// TestTestStories: test --json gives each match its item's story, told over the items in the
// order they were published: the reports of the troops in English, Russian and a wire rewrite
// share one story, opened for each rule by the earliest of them (the wire's); the drone strike of
// the same day in the same place is another.
func TestTestStories(t *testing.T) {
	code, out, errOut := runCLI(t, "", "test", "-c", "../../examples/newswatch.yaml", "--json", "testdata/stories.xml")
	if code != 0 {
		t.Fatalf("test --json: exit %d, want 0\n%s%s", code, out, errOut)
	}
	type line struct {
		Rule string `json:"rule"`
		Item struct {
			GUID string `json:"guid"`
		} `json:"item"`
		Story *struct {
			ID    string `json:"id"`
			First bool   `json:"first"`
			Size  int    `json:"size"`
		} `json:"story"`
	}
	story := map[string]string{}
	first := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m line
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		if m.Story == nil || m.Story.ID == "" {
			t.Fatalf("match %s/%s has no story: %s", m.Item.GUID, m.Rule, l)
		}
		story[m.Item.GUID] = m.Story.ID
		first[m.Item.GUID+"/"+m.Rule] = m.Story.First
	}
	if story["troops-en"] != story["troops-ru"] || story["troops-en"] != story["troops-wire"] {
		t.Errorf("the troops reports in several stories: %v", story)
	}
	if story["drone-en"] == story["troops-en"] {
		t.Errorf("the drone strike shares the troops' story: %v", story)
	}
	for k, want := range map[string]bool{
		"troops-wire/kursk": true, "troops-en/kursk": false, "troops-ru/kursk": false, "drone-en/kursk": true,
		"troops-wire/dprk-troops": true, "troops-en/dprk-troops": false,
	} {
		if first[k] != want {
			t.Errorf("%s: first %v, want %v (all: %v)", k, first[k], want, first)
		}
	}
}
