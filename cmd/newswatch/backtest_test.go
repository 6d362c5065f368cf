package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newswatch/newswatch/config"
	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/notifier"
)

// runBinary runs the built newswatch with args and returns its exit status and output.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatalf("newswatch %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String(), errOut.String()
}

// archiveMatch is the part of a line of `backtest --json` and `test --json` the tests check.
type archiveMatch struct {
	Source    string    `json:"source"`
	Rule      string    `json:"rule"`
	Feed      string    `json:"feed"`
	FirstSeen time.Time `json:"first_seen"`
	EventID   string    `json:"event_id"`
	Item      struct {
		GUID  string `json:"guid"`
		Title string `json:"title"`
	} `json:"item"`
	Hits []struct {
		Field string `json:"field"`
		Text  string `json:"text"`
	} `json:"hits"`
}

// parseMatches reads JSON lines of matches.
func parseMatches(t *testing.T, out string) []archiveMatch {
	t.Helper()
	var ms []archiveMatch
	for line := range strings.Lines(out) {
		var m archiveMatch
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a line of --json is not JSON: %v\n%s", err, line)
		}
		ms = append(ms, m)
	}
	return ms
}

// guidsOf is the "rule/guid" of every match, sorted.
func guidsOf(ms []archiveMatch) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Rule+"/"+m.Item.GUID)
	}
	slices.Sort(s)
	return s
}

// idsOf is the event id of every match, sorted.
func idsOf(ms []archiveMatch) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.EventID)
	}
	slices.Sort(s)
	return s
}

// TestBacktest runs the daemon with first_poll: all on two feeds in several languages, so that
// it archives every item and alerts every match, then adds two items. Backtests with the built
// binary, test --archive and POST /api/v1/backtest must find exactly the (item, rule) pairs the
// daemon alerted, with the same event ids, and filter by rule, feed and time as asked.
func TestBacktest(t *testing.T) {
	world := newFeedServer(t,
		feedItem{GUID: "w1", Title: "North Korean troops fighting in Russia's Kursk region", Description: "Pyongyang has sent soldiers to fight for Russia, officials said."},
		feedItem{GUID: "w2", Title: "Курская область: обстрел приграничных сёл", Description: "Губернатор сообщил о повреждениях."},
		feedItem{GUID: "w3", Title: "Markets close higher", Description: "Stocks rose on Tuesday."},
		feedItem{GUID: "w4", Title: "Election results in Portugal", Description: "The centre-right won the most seats."},
	)
	asia := newFeedServer(t,
		feedItem{GUID: "a1", Title: "クルスク州で激しい戦闘", Description: "ロシア国防省が発表した。"},
		feedItem{GUID: "a2", Title: "쿠르스크 전선에 북한군 파병", Description: "국가정보원이 밝혔다."},
		feedItem{GUID: "a3", Title: "台風が接近", Description: "気象庁は警戒を呼びかけた。"},
	)
	dir := t.TempDir()
	cfg, natsURL := testConfigMap(t, dir, []map[string]any{
		{"id": "world", "url": world.URL, "tags": []string{"world", "en"}, "first_poll": "all"},
		{"id": "asia", "url": asia.URL, "tags": []string{"asia"}, "first_poll": "all"},
	})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr}
	config := dir + "/newswatch.yaml"
	writeConfig(t, config, cfg)

	startDaemon(t, config)
	nc := connect(t, natsURL)
	waitForState(t, nc, "world")
	waitForState(t, nc, "asia")
	// Items first seen before `between` and after it.
	time.Sleep(1100 * time.Millisecond) // first-seen times are whole instants apart
	between := time.Now().UTC()
	time.Sleep(1100 * time.Millisecond)
	world.add(
		feedItem{GUID: "w5", Title: "Kursk offensive stalls", Description: "Fighting continued near Sudzha."},
		feedItem{GUID: "w6", Title: "Markets fall on rate fears", Description: "Bonds slid."},
	)
	waitForStream(t, nc, "NEWSWATCH_ITEMS", 9)
	// The polls that archived the last items have committed once later polls of both feeds ran.
	w, a := world.count(), asia.count()
	waitFor(t, 60*time.Second, "three more polls of each feed", func() bool { return world.count() >= w+3 && asia.count() >= a+3 })

	alerted := map[string][]string{} // rule: event ids
	var alertedPairs []string
	for _, m := range alertStreamMsgs(t, nc) {
		var ev alertEvent
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		alerted[ev.Data.Rule.ID] = append(alerted[ev.Data.Rule.ID], ev.ID)
		alertedPairs = append(alertedPairs, ev.Data.Rule.ID+"/"+ev.Data.Item.GUID)
	}
	for _, ids := range alerted {
		slices.Sort(ids)
	}
	slices.Sort(alertedPairs)
	wantPairs := []string{"dprk-troops/a2", "dprk-troops/w1", "kursk/a1", "kursk/a2", "kursk/w1", "kursk/w2", "kursk/w5"}
	if !slices.Equal(alertedPairs, wantPairs) {
		t.Fatalf("the daemon alerted %v, want %v", alertedPairs, wantPairs)
	}

	t.Run("rule finds what the daemon alerted", func(t *testing.T) {
		for _, rule := range []string{"kursk", "dprk-troops"} {
			code, out, errOut := runBinary(t, "backtest", "-c", config, "--rule", rule, "--json")
			if code != 0 {
				t.Fatalf("backtest --rule %s: exit %d, want 0\n%s", rule, code, errOut)
			}
			ms := parseMatches(t, out)
			if got := idsOf(ms); !slices.Equal(got, alerted[rule]) {
				t.Errorf("backtest --rule %s: event ids %v (%v), want those alerted %v", rule, got, guidsOf(ms), alerted[rule])
			}
			for _, m := range ms {
				if m.Source != "archive" || m.Feed == "" || m.FirstSeen.IsZero() || len(m.Hits) == 0 {
					t.Errorf("backtest --rule %s: match %+v lacks its source archive, feed, first_seen or hits", rule, m)
				}
			}
			var sum console.BacktestSummary
			if err := json.Unmarshal([]byte(errOut), &sum); err != nil {
				t.Fatalf("backtest --json: stderr is not the summary object: %v\n%s", err, errOut)
			}
			if sum.ItemsScanned != 9 || sum.Matches != len(alerted[rule]) || len(sum.Rules) != 1 || sum.Rules[0].Rule != rule {
				t.Errorf("backtest --rule %s summary: %+v, want 9 items scanned, %d matches, the one rule", rule, sum, len(alerted[rule]))
			}
		}
	})

	t.Run("all rules, noisiest first, as text", func(t *testing.T) {
		code, out, errOut := runBinary(t, "backtest", "-c", config, "--all")
		if code != 0 {
			t.Fatalf("backtest --all: exit %d, want 0\n%s", code, errOut)
		}
		for _, want := range []string{"kursk  North Korean troops fighting in Russia's Kursk region", "source:  archive", "feed:    world", "[Kursk]", "[Курская]"} {
			if !strings.Contains(out, want) {
				t.Errorf("backtest --all printed no %q:\n%s", want, out)
			}
		}
		for _, want := range []string{"9 items scanned", "7 matches", "RULE", "DAY (UTC)", "FEED"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("backtest --all summary has no %q:\n%s", want, errOut)
			}
		}
		t.Logf("backtest --all summary:\n%s", errOut)
		if k, d := strings.Index(errOut, "\nkursk "), strings.Index(errOut, "\ndprk-troops "); k < 0 || d < 0 || k > d {
			t.Errorf("backtest --all: want kursk (5 matches) listed before dprk-troops (2):\n%s", errOut)
		}
	})

	t.Run("query of a new rule", func(t *testing.T) {
		code, out, errOut := runBinary(t, "backtest", "-c", config, "--query", "market*", "--json")
		if got, want := guidsOf(parseMatches(t, out)), []string{"query/w3", "query/w6"}; code != 0 || !slices.Equal(got, want) {
			t.Errorf("backtest --query market*: exit %d, matches %v, want 0 and %v\n%s", code, got, want, errOut)
		}
		code, out, errOut = runBinary(t, "backtest", "-c", config, "--query", "zanzibar")
		if code != 1 || out != "" || !strings.Contains(errOut, "0 matches") {
			t.Errorf("backtest of a query that matches nothing: exit %d, stdout %q, want 1 and nothing printed\n%s", code, out, errOut)
		}
		code, _, errOut = runBinary(t, "backtest", "-c", config, "--query", "kursk OR (troops")
		if code != 2 || !strings.Contains(errOut, "--query:") {
			t.Errorf("backtest of a bad query: exit %d, want 2 with the column\n%s", code, errOut)
		}
		code, _, errOut = runBinary(t, "backtest", "-c", config, "--rule", "nosuch")
		if code != 2 || !strings.Contains(errOut, `no rule "nosuch"`) {
			t.Errorf("backtest of an unknown rule: exit %d, want 2\n%s", code, errOut)
		}
		code, _, errOut = runBinary(t, "backtest", "-c", config, "--rule", "kursk", "-s", "nats://127.0.0.1:1")
		if code != 2 || !strings.Contains(errOut, "cannot connect") {
			t.Errorf("backtest of an unreachable server: exit %d, want 2\n%s", code, errOut)
		}
	})

	t.Run("feed and time filters", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want []string
		}{
			{"feed", []string{"--feed", "asia"}, []string{"kursk/a1", "kursk/a2"}},
			{"two feeds", []string{"--feed", "asia", "--feed", "world"}, []string{"kursk/a1", "kursk/a2", "kursk/w1", "kursk/w2", "kursk/w5"}},
			{"from", []string{"--from", between.Format(time.RFC3339Nano)}, []string{"kursk/w5"}},
			{"to", []string{"--to", between.Format(time.RFC3339Nano)}, []string{"kursk/a1", "kursk/a2", "kursk/w1", "kursk/w2"}},
			{"from and to", []string{"--from", between.Add(-time.Hour).Format(time.RFC3339), "--to", between.Format(time.RFC3339Nano), "--feed", "world"}, []string{"kursk/w1", "kursk/w2"}},
			{"since", []string{"--since", "1d"}, []string{"kursk/a1", "kursk/a2", "kursk/w1", "kursk/w2", "kursk/w5"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, out, errOut := runBinary(t, append([]string{"backtest", "-c", config, "--rule", "kursk", "--json"}, tt.args...)...)
				if got := guidsOf(parseMatches(t, out)); code != 0 || !slices.Equal(got, tt.want) {
					t.Errorf("backtest %v: exit %d, matches %v, want 0 and %v\n%s", tt.args, code, got, tt.want, errOut)
				}
			})
		}
		code, _, errOut := runBinary(t, "backtest", "-c", config, "--rule", "kursk", "--since", "yesterday")
		if code != 2 || !strings.Contains(errOut, "since yesterday") {
			t.Errorf("backtest --since yesterday: exit %d, want 2\n%s", code, errOut)
		}
	})

	t.Run("limit", func(t *testing.T) {
		code, out, errOut := runBinary(t, "backtest", "-c", config, "--all", "--json", "--limit", "2")
		var sum console.BacktestSummary
		if err := json.Unmarshal([]byte(errOut), &sum); err != nil {
			t.Fatalf("summary: %v\n%s", err, errOut)
		}
		if got := len(parseMatches(t, out)); code != 0 || got != 2 || sum.Matches != 7 {
			t.Errorf("backtest --limit 2: exit %d, %d matches printed, %d counted; want 0, 2, 7", code, got, sum.Matches)
		}
	})

	t.Run("test --archive", func(t *testing.T) {
		code, out, errOut := runBinary(t, "test", "-c", config, "--archive", "--rule", "kursk", "--json")
		if code != 0 {
			t.Fatalf("test --archive: exit %d, want 0\n%s", code, errOut)
		}
		ms := parseMatches(t, out)
		if got := idsOf(ms); !slices.Equal(got, alerted["kursk"]) {
			t.Errorf("test --archive --rule kursk: event ids %v, want %v", got, alerted["kursk"])
		}
		if !strings.Contains(errOut, "sources: 1 of 1 read; items: 9 parsed, 5 matched") {
			t.Errorf("test --archive summary: %s", errOut)
		}
		code, _, errOut = runBinary(t, "test", "-c", config, "--archive", "--feed", "asia", "--from", between.Format(time.RFC3339Nano))
		if code != 1 {
			t.Errorf("test --archive of a window with no match: exit %d, want 1\n%s", code, errOut)
		}
		code, _, errOut = runBinary(t, "test", "-c", config, "--since", "1h", "testdata/world.xml")
		if code != 2 || !strings.Contains(errOut, "add --archive") {
			t.Errorf("test --since without --archive: exit %d, want 2\n%s", code, errOut)
		}
	})

	t.Run("API", func(t *testing.T) {
		post := func(body string) (int, []byte) {
			t.Helper()
			resp, err := http.Post("http://"+httpAddr+"/api/v1/backtest", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			return resp.StatusCode, b.Bytes()
		}
		code, body := post(`{"rules": ["kursk"]}`)
		var res console.BacktestResult
		if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil {
			t.Fatalf("POST /api/v1/backtest: %d %v\n%s", code, err, body)
		}
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.EventID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, alerted["kursk"]) || res.Truncated {
			t.Errorf("API backtest of kursk: event ids %v (truncated %v), want %v", ids, res.Truncated, alerted["kursk"])
		}
		// The CLI's summary is the API's.
		_, _, errOut := runBinary(t, "backtest", "-c", config, "--rule", "kursk", "--json")
		var cli console.BacktestSummary
		if err := json.Unmarshal([]byte(errOut), &cli); err != nil {
			t.Fatal(err)
		}
		cli.TookSeconds, cli.ItemsPerSec, res.Summary.TookSeconds, res.Summary.ItemsPerSec = 0, 0, 0, 0
		if a, b := fmt.Sprintf("%+v", res.Summary), fmt.Sprintf("%+v", cli); a != b {
			t.Errorf("API summary\n%s\nwant the CLI's\n%s", a, b)
		}

		code, body = post(`{"query": "market*", "feed": "world", "since": "1d", "limit": 1}`)
		res = console.BacktestResult{}
		if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil || len(res.Matches) != 1 || !res.Truncated || res.Summary.Matches != 2 {
			t.Errorf("API backtest of a query with limit 1: %d %s, want 1 match of 2, truncated", code, body)
		}

		for _, tt := range []struct{ body, want string }{
			{`{"query": "kursk OR (troops"}`, `"column":`},
			{`{"rules": ["nosuch"]}`, "no such rule"},
			{`{"query": "kursk", "rules": ["kursk"]}`, "one of"},
			{`{"all": true, "since": "forever"}`, "since forever"},
			{`{"all": true, "limit": 5000}`, "limit"},
			{`{"everything": true}`, "unknown field"},
		} {
			code, body := post(tt.body)
			if code != http.StatusBadRequest || !strings.Contains(string(body), tt.want) {
				t.Errorf("POST %s: %d %s, want 400 with %q", tt.body, code, body, tt.want)
			}
		}
		// Like every POST, refused from another origin (a page of another site in a browser).
		req, err := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/api/v1/backtest", strings.NewReader(`{"all": true}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /api/v1/backtest from another origin: %d, want 403", resp.StatusCode)
		}
		// A bad query says where.
		_, body = post(`{"query": "kursk OR (troops"}`)
		var qe struct{ Column int }
		if err := json.Unmarshal(body, &qe); err != nil || qe.Column != 10 {
			t.Errorf("bad query: column %d in %s, want 10", qe.Column, body)
		}
	})
}

// waitForStream waits until stream holds n messages.
func waitForStream(t *testing.T, nc *nats.Conn, stream string, n uint64) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	waitFor(t, 60*time.Second, fmt.Sprintf("%d messages in %s", n, stream), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return false
		}
		got = s.CachedInfo().State.Msgs
		return got >= n
	})
	if got != n {
		t.Fatalf("%s holds %d messages, want %d", stream, got, n)
	}
}

// TestArchiveEndpoint: backtest and test --archive connect where the configuration says, the
// daemon's embedded server with its subscriber credentials or the external server with its
// credentials file, unless -s and --creds say otherwise.
func TestArchiveEndpoint(t *testing.T) {
	store := t.TempDir()
	subscriber := notifier.CredsFile(store, notifier.RoleSubscriber)
	if err := os.MkdirAll(filepath.Dir(subscriber), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(subscriber, []byte("creds"), 0o600); err != nil {
		t.Fatal(err)
	}
	embedded := fmt.Sprintf("nats: {embedded: {listen: '127.0.0.1:7422', store_dir: %q}}\n", store)
	tests := []struct {
		name, yaml        string
		flags             archiveFlags
		wantURL, wantCred string
		wantErr           string
	}{
		{name: "embedded", yaml: embedded, wantURL: "nats://127.0.0.1:7422", wantCred: subscriber},
		{name: "embedded, other server", yaml: embedded, flags: archiveFlags{Server: "nats://10.0.0.1:4222"}, wantURL: "nats://10.0.0.1:4222", wantCred: subscriber},
		{name: "embedded, other creds", yaml: embedded, flags: archiveFlags{Creds: "/x.creds"}, wantURL: "nats://127.0.0.1:7422", wantCred: "/x.creds"},
		{name: "embedded, in-process only", yaml: fmt.Sprintf("nats: {embedded: {listen: '', store_dir: %q}}\n", store), wantErr: "takes no connections"},
		{name: "embedded, never started", yaml: "nats: {embedded: {listen: '127.0.0.1:7422', store_dir: /nonexistent}}\n", wantErr: "give --creds"},
		{name: "never started, server given", yaml: "nats: {embedded: {listen: '127.0.0.1:7422', store_dir: /nonexistent}}\n", flags: archiveFlags{Server: "nats://h:4222"}, wantURL: "nats://h:4222"},
		{name: "external", yaml: "nats: {url: 'nats://a:4222,nats://b:4222', creds_file: /etc/newswatch/reader.creds}\n", wantURL: "nats://a:4222,nats://b:4222", wantCred: "/etc/newswatch/reader.creds"},
		{name: "external, flags", yaml: "nats: {url: 'nats://a:4222'}\n", flags: archiveFlags{Server: "nats://c:4222", Creds: "/c.creds"}, wantURL: "nats://c:4222", wantCred: "/c.creds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("test.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			url, creds, err := tt.flags.endpoint(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %q, %v; want an error with %q", url, creds, err, tt.wantErr)
				}
				return
			}
			if err != nil || url != tt.wantURL || creds != tt.wantCred {
				t.Errorf("got %q, %q, %v; want %q, %q", url, creds, err, tt.wantURL, tt.wantCred)
			}
		})
	}
}
