package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tenErrors holds ten kinds of errors and a warning: check reports them all in one pass.
const tenErrors = `defaults:
  shedule: "@every 5m"
  timeout: 5 minutes
  allow_private: maybe
feeds:
  - id: world
    url: https://news.example/world.xml
    schedule: "*/2 * *"
  - id: world
    url: https://news.example/other.xml
  - id: "bad id"
    url: https://news.example/bad.xml
  - id: ftp
    url: ftp://news.example/feed.xml
  - id: local
    url: http://127.0.0.1:8080/
lists:
  dprk: [dprk, '"north korea"']
rules:
  - id: paren
    query: 'kursk OR (troops'
  - id: dangling
    query: 'kursk AND'
  - id: near
    query: '@nolist NEAR/0 troops'
  - id: scoped
    query: 'kursk feed:wrold OR (@dprk tag:fr)'
`

const tenErrorsReport = `FILE:2:3: unknown key "shedule"; did you mean "schedule"?
      shedule: "@every 5m"
      ^
FILE:3:12: invalid timeout "5 minutes": want a duration such as 90s, 30m or 24h
      timeout: 5 minutes
               ^
FILE:4:18: expected a boolean for "allow_private", found string
      allow_private: maybe
                     ^
FILE:8:15: invalid schedule "*/2 * *": expected exactly 5 fields, found 3
        schedule: "*/2 * *"
                  ^
FILE:9:9: duplicate feed id "world"
      - id: world
            ^
FILE:11:9: invalid feed id "bad id": must match [a-z0-9][a-z0-9_-]{0,63}
      - id: "bad id"
            ^
FILE:14:10: invalid feed url "ftp://news.example/feed.xml": scheme must be http or https
        url: ftp://news.example/feed.xml
             ^
FILE:15:5: warning: feed local: http://127.0.0.1:8080/ is a loopback address, which run refuses; add allow_private: true to the feed
      - id: local
        ^
FILE:21:22: rule "paren": unclosed parenthesis
        query: 'kursk OR (troops'
                         ^
FILE:23:19: rule "dangling": dangling operator AND: it needs a term after it
        query: 'kursk AND'
                      ^
FILE:25:13: rule "near": undefined list @nolist
        query: '@nolist NEAR/0 troops'
                ^
FILE:25:21: rule "near": NEAR/n needs a number from 1 to 100
        query: '@nolist NEAR/0 troops'
                        ^
FILE:27:19: rule "scoped": no feed has the id "wrold"
        query: 'kursk feed:wrold OR (@dprk tag:fr)'
                      ^
FILE:27:40: rule "scoped": no feed has the tag "fr"
        query: 'kursk feed:wrold OR (@dprk tag:fr)'
                                           ^
`

// TestCheckReportsEveryError: keys, values, schedules, ids, URLs, every rule's errors (an
// undefined list beside a NEAR error of the same rule) and feed:/tag: tests of nothing come in
// one pass, in file order, each with its caret, and the warning among them.
func TestCheckReportsEveryError(t *testing.T) {
	path := writeFile(t, "bad.yaml", tenErrors)
	code, out, errOut := runCLI(t, "", "check", "-c", path)
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
	if out != "" {
		t.Errorf("check printed %q on stdout, want nothing", out)
	}
	if got := strings.ReplaceAll(errOut, path, "FILE"); got != tenErrorsReport {
		t.Errorf("check printed:\n%s\nwant:\n%s", got, tenErrorsReport)
	}
}

// TestCheckWarnings: a file that is valid but likely not meant passes check with its warnings,
// each with its fix.
func TestCheckWarnings(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // lines of stderr, with the file as FILE
	}{
		{"no feeds", "rules: []\n", []string{`FILE: warning: no feeds: add feeds: [{id: …, url: …}]`}},
		{"loopback, localhost, private and link-local feeds", `feeds:
  - {id: lo, url: "http://127.0.0.1:8080/feed"}
  - {id: name, url: "https://LocalHost./feed"}
  - {id: lan, url: "http://user:secret@10.1.2.3/feed"}
  - {id: v6, url: "http://[fe80::1]/feed"}
  - {id: ok, url: "http://127.0.0.1/ok", allow_private: true}
  - {id: public, url: "https://203.0.113.7.nip.io/feed"}
  - {id: public-ip, url: "https://8.8.8.8/feed"}
`, []string{
			`FILE:2:5: warning: feed lo: http://127.0.0.1:8080/feed is a loopback address, which run refuses; add allow_private: true to the feed`,
			`FILE:3:5: warning: feed name: https://LocalHost./feed is a loopback address, which run refuses; add allow_private: true to the feed`,
			`FILE:4:5: warning: feed lan: http://user:xxxxx@10.1.2.3/feed is a private address, which run refuses; add allow_private: true to the feed`,
			`FILE:5:5: warning: feed v6: http://[fe80::1]/feed is a private address, which run refuses; add allow_private: true to the feed`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "warn.yaml", tt.yaml)
			code, out, errOut := runCLI(t, "", "check", "-c", path)
			if code != 0 {
				t.Errorf("check: exit %d, want 0 for warnings alone\n%s", code, errOut)
			}
			if !strings.Contains(out, "valid") {
				t.Errorf("check printed %q on stdout, want it to say valid", out)
			}
			var got []string
			for line := range strings.SplitSeq(strings.ReplaceAll(errOut, path, "FILE"), "\n") {
				if strings.HasPrefix(line, "FILE") {
					got = append(got, line)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("check warned:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Contains(errOut, "secret") {
				t.Errorf("check printed a password:\n%s", errOut)
			}
		})
	}
}

// TestRunWarnsAtStart: run logs the warnings of check at warn level when it starts.
func TestRunWarnsAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfigMap(t, dir, []map[string]any{
		{"id": "local", "url": "http://127.0.0.1:1/feed.xml", "allow_private": false},
	})
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	d := startDaemon(t, path)
	want := "feed local: http://127.0.0.1:1/feed.xml is a loopback address, which run refuses; add allow_private: true to the feed"
	waitFor(t, 60*time.Second, "the warning in the log", func() bool {
		for line := range strings.SplitSeq(d.output(), "\n") {
			if strings.Contains(line, want) && strings.Contains(line, `"level":"warn"`) {
				return true
			}
		}
		return false
	})
	d.stop(t, 60*time.Second)
}
