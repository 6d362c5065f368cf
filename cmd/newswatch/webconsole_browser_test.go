package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/newswatch/newswatch/matcher"
)

// scriptTitle is a text with markup in it, as a feed may send it (escaped twice in the XML, so
// that it is still markup once the feed's own entities are decoded): the console must show it as
// text and never run it.
const (
	scriptFeedTitle = `<script>window.__xss=1</script> Wire`
	scriptItemTitle = `Kursk <script>window.__xss=2</script> report`
)

// consoleFeed serves an RSS feed with a title and items that a test changes.
type consoleFeed struct {
	*httptest.Server
	mu    sync.Mutex
	title string
	items []feedItem
}

func newConsoleFeed(t *testing.T, title string, items ...feedItem) *consoleFeed {
	t.Helper()
	f := &consoleFeed{title: title, items: items}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// xmlText escapes s for XML twice over: its markup survives the feed parser as text.
func xmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return r.Replace(r.Replace(s))
}

func (f *consoleFeed) serve(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>%s</title>`+
		`<link>https://wire.example/</link><description>news</description>`, xmlText(f.title))
	for i := len(f.items) - 1; i >= 0; i-- {
		it := f.items[i]
		fmt.Fprintf(&b, `<item><guid isPermaLink="false">%s</guid><title>%s</title><link>https://wire.example/%s</link>`+
			`<description>%s</description></item>`, it.GUID, xmlText(it.Title), it.GUID, xmlText(it.Description))
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write(b.Bytes())
}

func (f *consoleFeed) add(items ...feedItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, items...)
}

// chromium returns Debian's chromium; a machine without it fails the test, saying how to get it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the web console's browser tests need Chromium, and none is on PATH: install Debian's package " +
		"with `apt-get update && apt-get install -y chromium` (.ci/run does)")
	return ""
}

// axeSource is axe-core, installed by `make test` (npm ci --prefix console/web/axe).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../console/web/axe/node_modules/axe-core/axe.min.js")
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run `npm ci --prefix console/web/axe` (make test does)", err)
	}
	return string(b)
}

// screenshotDir is where the tests write the pages' screenshots: $NEWSWATCH_SCREENSHOTS, or a
// temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("NEWSWATCH_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser is a headless Chromium tab with the helpers the console tests share.
type browser struct {
	t     *testing.T
	ctx   context.Context // the tab's; each step runs under a timeout derived from it
	base  string
	axe   string
	shots string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // root in CI containers
		chromedp.WindowSize(1200, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, axe: axeSource(t), shots: screenshotDir(t)}
	// The first run starts the browser, under no timeout: one would stop the browser with it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

// step is a context for one step: a minute at most.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, time.Minute)
}

func (b *browser) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression, awaiting a promise, into a T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluating %.80q: %v", expr, err)
	}
	return v
}

// waitJS waits until the expression is true, for up to timeout.
func (b *browser) waitJS(timeout time.Duration, what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for !eval[bool](b, "!!("+expr+")") {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out after %v waiting for %s; the page reads:\n%s", timeout, what, b.text("body"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// open navigates to path and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// text is the visible text of the first element the selector finds.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(e => e ? e.innerText : "")(document.querySelector(%q))`, sel))
}

// screenshot writes the viewport as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// axeViolation is what axe-core reports of a rule a page breaks.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessibility runs axe-core in the page and fails on a serious or critical violation.
func (b *browser) checkAccessibility(page string) {
	b.t.Helper()
	if !eval[bool](b, b.axe+";typeof axe === 'object'") {
		b.t.Fatal("axe-core did not load in the page")
	}
	out := eval[string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("axe's answer %q: %v", out, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility: %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			b.t.Logf("%s: accessibility, %s: %s (%s) at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// noScriptRan fails when a feed's text ran as script or became an element.
func (b *browser) noScriptRan(page string) {
	b.t.Helper()
	if eval[bool](b, `typeof window.__xss !== "undefined" || document.querySelectorAll("main script").length > 0`) {
		b.t.Errorf("%s: a feed's <script> ran or became an element", page)
	}
}

// TestWebConsoleBrowser runs a daemon with a healthy feed, one whose title and items carry
// <script>, and one rate limited for an hour then answering 500 (configured last), and drives
// its web console in Chromium: the feed list shows the failing feed first and "poll now" polls
// it; a new item's alert appears on the stories page without a reload; the playground shows a
// query's syntax error at its column, then its matches over the archive with their hits marked;
// the feed's <script> shows as text everywhere, and the playground's table of deliveries counts
// what each would have sent of the matches. axe-core finds no serious or critical
// accessibility violation on any page, and each page is captured.
func TestWebConsoleBrowser(t *testing.T) {
	dir := t.TempDir()
	world := newFeedServer(t, feedItem{GUID: "w1", Title: "Markets close higher", Description: "Stocks rose."})
	wire := newConsoleFeed(t, scriptFeedTitle,
		feedItem{GUID: "k1", Title: "Troops gather near Kursk", Description: "Columns were seen near Kursk at dawn."},
		feedItem{GUID: "k2", Title: "Weather", Description: "Rain."})
	var brokenHits atomic.Int64
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if brokenHits.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		http.Error(w, "database on fire", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)

	cfg, _ := testConfigMap(t, dir, []map[string]any{
		{"id": "world", "url": world.URL, "tags": []string{"en"}},
		{"id": "wire", "url": wire.URL, "tags": []string{"en", "wire"}},
		{"id": "broken", "url": broken.URL + "/feed"},
	})
	cfg["rules"] = []map[string]any{{"id": "kursk", "query": "kursk OR troops"}}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	startDaemon(t, path)
	base := "http://" + httpAddr
	waitFor(t, 60*time.Second, "the daemon ready and every feed polled once", func() bool {
		resp, err := http.Get(base + "/api/v1/feeds?problems=true")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var p struct {
			Feeds []struct{ ID string }
		}
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&p) == nil &&
			len(p.Feeds) == 1 && p.Feeds[0].ID == "broken"
	})
	b := newBrowser(t, base)

	t.Run("feeds", func(t *testing.T) {
		b.t = t
		b.open("/")
		if got := b.text("table.feeds tbody tr th .id"); got != "broken" {
			t.Fatalf("the first feed listed is %q, want the failing feed broken", got)
		}
		if got := b.text("table.feeds tbody tr .badge"); got != "backing off" {
			t.Errorf("broken's health reads %q, want backing off", got)
		}
		b.screenshot("feeds")
		b.checkAccessibility("feeds")
		before := brokenHits.Load()
		b.run(chromedp.Click(chromedp.CSS(`#feed-broken button[type=submit]`)))
		b.waitJS(30*time.Second, "the poll's note", `document.querySelector("#feed-broken .poll-note").innerText.includes("poll queued")`)
		waitFor(t, 60*time.Second, "broken polled after poll now (it backs off for an hour)", func() bool {
			return brokenHits.Load() > before
		})
		// Without JavaScript the form posts and comes back to the list; a GET changes nothing, and
		// a POST from another site is refused.
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.PostForm(base+"/feeds/broken/poll", map[string][]string{"back": {"/feeds?q=bro"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/feeds?polled=broken&q=bro" {
			t.Errorf("a poll posted without JavaScript answers %d to %q, want 303 to /feeds?polled=broken&q=bro", resp.StatusCode, loc)
		}
		if resp, err := http.Get(base + "/feeds/broken/poll"); err != nil {
			t.Fatal(err)
		} else if resp.Body.Close(); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET of poll now answers %d, want 405", resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/feeds/broken/poll", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-site POST of poll now answers %d, want 403", resp.StatusCode)
		}
		b.open("/feeds?q=wire")
		if got := b.text("table.feeds tbody"); !strings.Contains(got, "wire") || strings.Contains(got, "world") {
			t.Errorf("the list filtered by wire reads %q", got)
		}
		b.noScriptRan("feeds")
	})

	t.Run("stories live", func(t *testing.T) {
		b.t = t
		b.open("/stories")
		eval[bool](b, `window.__sameDocument = true`)
		wire.add(feedItem{GUID: "k3", Title: scriptItemTitle, Description: "Troops moved near Kursk overnight."})
		b.waitJS(60*time.Second, "the new item's alert in the live list",
			`document.querySelector("#live-list").innerText.includes("report")`)
		if !eval[bool](b, `window.__sameDocument === true`) {
			t.Fatal("the page was reloaded to show the alert")
		}
		live := b.text("#live-list article h3")
		if !strings.Contains(live, `<script>window.__xss=2</script>`) {
			t.Errorf("the live alert's title reads %q, want the item's <script> as text", live)
		}
		marks := eval[[]string](b, `[...document.querySelectorAll("#live-list mark")].map(m => m.innerText)`)
		if !containsFold(marks, "kursk") || !containsFold(marks, "troops") {
			t.Errorf("the live alert marks %q, want Kursk and Troops", marks)
		}
		if src := b.text("#live-list .sources"); !strings.Contains(src, scriptFeedTitle) {
			t.Errorf("the live alert's source reads %q, want the feed title %q as text", src, scriptFeedTitle)
		}
		b.noScriptRan("stories (live)")
		b.open("/stories")
		b.screenshot("stories")
		b.checkAccessibility("stories")
		b.noScriptRan("stories")
		b.run(chromedp.Click(chromedp.CSS(`section.rule article h3 a`)), chromedp.WaitReady(chromedp.CSS("main h1")))
		if got := b.text("main h1"); !strings.Contains(got, "<script>") {
			t.Errorf("the story page's title reads %q, want the item's title with its <script> as text", got)
		}
		b.screenshot("story")
		b.checkAccessibility("story")
		b.noScriptRan("story")
	})

	t.Run("playground", func(t *testing.T) {
		b.t = t
		bad := "kursk AND (troops OR"
		_, err := matcher.Compile([]matcher.Rule{{ID: "my-rule", Query: bad}}, nil)
		var qe *matcher.QueryError
		if !errors.As(err, &qe) {
			t.Fatalf("%q compiles to %v, want a query error", bad, err)
		}
		b.open("/playground")
		b.run(chromedp.SendKeys(chromedp.CSS(`#q`), bad))
		b.waitJS(30*time.Second, "the syntax error", fmt.Sprintf(`(e => e && e.innerText == %q)(document.querySelector("#query-check .col"))`, fmt.Sprint(qe.Column)))
		b.screenshot("playground-error")
		b.checkAccessibility("playground (error)")
		eval[bool](b, `(document.querySelector("#q").value = "") === ""`)
		b.run(chromedp.SendKeys(chromedp.CSS(`#q`), "kursk"))
		b.waitJS(30*time.Second, "the query valid", `document.querySelector("#query-check").innerText.includes("valid")`)
		b.run(chromedp.Click(chromedp.CSS(`form.play button[type=submit]`)))
		b.waitJS(60*time.Second, "the matches", `document.querySelector("#results mark")`)
		// The page streams: the counts and the deliveries come when the archive is read.
		b.waitJS(60*time.Second, "the deliveries", `document.querySelector("#deliveries tbody tr")`)
		marks := eval[[]string](b, `[...document.querySelectorAll("#results article mark")].map(m => m.innerText)`)
		if len(marks) < 2 || !allFold(marks, "kursk") {
			t.Errorf("the playground marks %q, want Kursk in each match", marks)
		}
		if n := b.text("#match-count"); n != "2" {
			t.Errorf("the playground counts %s matches of kursk in the archive, want 2 (k1, k3)", n)
		}
		if got := b.text("#results"); !strings.Contains(got, `<script>window.__xss=2</script>`) {
			t.Errorf("the playground's matches read %q, want the item's <script> as text", got)
		}
		// What each delivery would have sent of the two matches, k1 and k3: each at once, one
		// hourly digest for each hour and one daily digest for each day (UTC) they were first
		// seen in, both within the budget of 10 an hour, too few stories for a spike.
		seen := eval[[]string](b, `[...document.querySelectorAll("#matches article time")].map(t => t.dateTime)`)
		hours, days := map[time.Time]bool{}, map[string]bool{}
		for _, s := range seen {
			at, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatalf("a match's first seen time %q: %v", s, err)
			}
			hours[at.UTC().Truncate(time.Hour)], days[at.UTC().Format(time.DateOnly)] = true, true
		}
		if len(seen) != 2 {
			t.Fatalf("the matches show %d first seen times, want 2: %v", len(seen), seen)
		}
		standard := [][]string{
			{"immediate", "2", "0", "0", "0", "2"},
			{"digest every 1h", "0", fmt.Sprint(len(hours)), "0", "0", fmt.Sprint(len(hours))},
			{"digest every 24h", "0", fmt.Sprint(len(days)), "0", "0", fmt.Sprint(len(days))},
			{"budget 10 an hour", "2", "0", "0", "0", "2"},
		}
		deliveries := func() [][]string {
			return eval[[][]string](b, `[...document.querySelectorAll("#deliveries tbody tr")].map(tr => [...tr.cells].map(c => c.innerText.trim()))`)
		}
		if got := deliveries(); fmt.Sprint(got) != fmt.Sprint(standard) {
			t.Errorf("the deliveries of the query read\n%v\nwant\n%v", got, standard)
		}
		if got := eval[[]string](b, `[...document.querySelectorAll("#deliveries thead th")].map(th => th.scope + ":" + th.innerText.trim())`); fmt.Sprint(got) !=
			"[col:Delivery col:Alerts at once col:Digests col:Budget notices col:Spikes col:Messages]" {
			t.Errorf("the deliveries' headers read %v", got)
		}
		b.run(chromedp.Click(chromedp.CSS(`details.yaml summary`)))
		if y := b.text("details.yaml pre"); !strings.Contains(y, "query: kursk") {
			t.Errorf("the rule's YAML reads %q", y)
		}
		b.screenshot("playground")
		eval[bool](b, `(document.querySelector("#counts").scrollIntoView(), true)`)
		b.screenshot("playground-counts")
		b.checkAccessibility("playground")
		b.noScriptRan("playground")

		// Rule kursk picked: its own delivery (immediate, the default) comes first, over its
		// query's matches (kursk OR troops: k1 and k3 again).
		b.run(chromedp.SetValue(chromedp.CSS(`form.pick select`), "kursk"), chromedp.Click(chromedp.CSS(`form.pick button[type=submit]`)))
		b.waitJS(60*time.Second, "the deliveries of rule kursk", `document.querySelector("#deliveries tbody tr.own")`)
		want := append([][]string{{"configured (immediate)", "2", "0", "0", "0", "2"}}, standard...)
		if got := deliveries(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the deliveries of rule kursk read\n%v\nwant\n%v", got, want)
		}
		b.checkAccessibility("playground (rule kursk)")
	})

	t.Run("status", func(t *testing.T) {
		b.t = t
		b.open("/status")
		got := b.text("main")
		for _, want := range []string{"embedded", "NEWSWATCH_ALERTS", "NEWSWATCH_ITEMS", "loaded"} {
			if !strings.Contains(got, want) {
				t.Errorf("the status page does not say %q:\n%s", want, got)
			}
		}
		b.screenshot("status")
		b.checkAccessibility("status")
	})

	t.Run("phone", func(t *testing.T) {
		b.t = t
		b.run(chromedp.EmulateViewport(390, 844))
		for _, p := range []string{"/feeds", "/stories", "/playground?q=kursk", "/status"} {
			b.open(p)
			if strings.HasPrefix(p, "/playground") {
				b.waitJS(60*time.Second, "the deliveries", `document.querySelector("#deliveries tbody tr")`)
				if eval[bool](b, `(t => t.scrollWidth > t.parentElement.clientWidth + 1)(document.querySelector("#deliveries"))`) {
					t.Errorf("%s: the deliveries' table is wider than a phone", p)
				}
				eval[bool](b, `(document.querySelector("#counts").scrollIntoView(), true)`)
				b.screenshot("playground-counts-phone")
			}
			if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
				t.Errorf("%s scrolls sideways at a phone's width", p)
			}
		}
		b.open("/feeds")
		b.screenshot("feeds-phone")
	})
}

// TestWebConsoleOff: with http.console false, / is not served and the status API still is.
func TestWebConsoleOff(t *testing.T) {
	dir := t.TempDir()
	world := newFeedServer(t, feedItem{GUID: "w1", Title: "Markets close higher"})
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "world", "url": world.URL}})
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr, "console": false}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)
	startDaemon(t, path)
	base := "http://" + httpAddr
	waitFor(t, 60*time.Second, "the status API answering", func() bool {
		resp, err := http.Get(base + "/api/v1/feeds")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, p := range []string{"/", "/feeds", "/static/htmx.min.js"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s answers %d with the console off, want 404", p, resp.StatusCode)
		}
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func allFold(list []string, s string) bool {
	for _, x := range list {
		if !strings.EqualFold(x, s) {
			return false
		}
	}
	return true
}
