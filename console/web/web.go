// Package web is newswatch's web console: server-rendered pages for people, under /, beside
// the JSON API of package console. It shows the feeds and their health (with "poll now"), the
// latest alerts grouped into stories with their hits highlighted (updated live), a read-only
// rule playground that checks a query as it is typed, matches it over the item archive (its
// page streamed, the first matches shown as they are found) and previews what each delivery
// would have sent of the matches (package delivery's replay), and the daemon's status. It reads through small interfaces, the console's and its own, which the
// daemon wires to the watcher and the notifier.
//
// Every page is html/template, its text escaped; its assets (a stylesheet and a pinned htmx) are
// embedded. The feed and status pages work without JavaScript; htmx adds the live parts. The
// one state-changing request, "poll now", is a POST, which the daemon's web server refuses from
// another origin. A Console is safe for concurrent use; it retries nothing.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/newswatch/newswatch/console"
	"github.com/newswatch/newswatch/delivery"
	"github.com/newswatch/newswatch/matcher"
)

// HTMXVersion is the version of the vendored htmx (static/htmx.min.js, from npm's htmx.org).
const HTMXVersion = "2.0.11"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Rules is the running configuration's rules and lists, which the playground offers and
// compiles queries with, and their deliveries, which it previews.
type Rules interface {
	Rules() ([]matcher.Rule, map[string][]string)
	// Delivery is the delivery configured for the rule of that id; false when there is no
	// such rule.
	Delivery(rule string) (delivery.Options, bool)
}

// States is the feeds' decoded states, as console.Snapshot keeps them.
type States interface {
	console.States
	// MayBeProblems returns the ids of the feeds whose state may be a problem at now, as
	// watcher.FeedStatus.MayBeProblem tells, in no order.
	MayBeProblems(now time.Time) []string
}

// Config is what a Console reads; all are required but Now.
type Config struct {
	Feeds    console.Feeds
	States   States
	Poller   console.Poller
	Alerts   console.Alerts
	Backtest Backtester
	Rules    Rules
	Status   StatusSource
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the pages.
type Console struct {
	cfg   Config
	log   *zap.Logger
	pages map[string]*template.Template

	mu    sync.Mutex // guards index
	index *feedIndex
}

// New validates cfg and returns a Console. A nil log discards logs.
func New(cfg Config, log *zap.Logger) (*Console, error) {
	switch {
	case cfg.Feeds == nil:
		return nil, errors.New("web: Feeds is required")
	case cfg.States == nil:
		return nil, errors.New("web: States is required")
	case cfg.Poller == nil:
		return nil, errors.New("web: Poller is required")
	case cfg.Alerts == nil:
		return nil, errors.New("web: Alerts is required")
	case cfg.Backtest == nil:
		return nil, errors.New("web: Backtest is required")
	case cfg.Rules == nil:
		return nil, errors.New("web: Rules is required")
	case cfg.Status == nil:
		return nil, errors.New("web: Status is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, log: log, pages: pages}, nil
}

// Register adds the console's routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The assets change only with the binary; a day's cache spares every page load a request.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /{$}", c.feedsPage)
	mux.HandleFunc("GET /feeds", c.feedsPage)
	mux.HandleFunc("POST /feeds/{id}/poll", c.pollNow)
	mux.HandleFunc("GET /stories", c.storiesPage)
	mux.HandleFunc("GET /stories/live", c.storiesLive)
	mux.HandleFunc("GET /stories/{id}", c.storyPage)
	mux.HandleFunc("GET /playground", c.playgroundPage)
	mux.HandleFunc("GET /playground/check", c.playgroundCheck)
	mux.HandleFunc("GET /status", c.statusPage)
}

var funcs = template.FuncMap{
	"ago":   ago,
	"stamp": stamp,
	"bytes": humanBytes,
	"lower": strings.ToLower,
	"add":   func(a, b int) int { return a + b },
	"at":    func(now, t time.Time) when { return when{now, t} },
	"dur":   func(d time.Duration) time.Duration { return d.Round(time.Millisecond / 10) },
	"u64":   func(n int64) uint64 { return uint64(max(n, 0)) },
	"card":  func(now time.Time, s story) storyCard { return storyCard{now, s} },
}

// when is a time and the clock it is told against, for the "when" template.
type when struct{ Now, T time.Time }

// storyCard is a story and the clock, for the "story-card" template.
type storyCard struct {
	Now   time.Time
	Story story
}

// parsePages parses each page with the layout; a fragment is a page's template by name.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"feeds", "stories", "story", "playground", "status"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what the layout renders around a page's content.
type page struct {
	Title string
	Nav   string // the nav entry that is current
	Data  any
}

// render executes the named template of page name into a buffer first, so that a failure is a
// clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, name, tmpl string, data any) {
	c.renderCode(w, http.StatusOK, name, tmpl, data)
}

// renderCode is render with a status code.
func (c *Console) renderCode(w http.ResponseWriter, code int, name, tmpl string, data any) {
	var b bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&b, tmpl, data); err != nil {
		c.log.Error("rendering a page failed", zap.String("page", name), zap.Error(err))
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	pageHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// pageHeaders are the headers of every page.
func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The pages load nothing from elsewhere and run no inline script.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

// stream writes a page a template at a time, each part reaching the client when flush is
// called: for a page whose parts are ready at different times. Its status is 200 from the
// first part on, so a part that fails ends the page where it is (and is logged): the parts are
// simple enough that this does not happen but in a bug.
type stream struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	t    *template.Template
	name string
	log  *zap.Logger
	err  error // the first failure; every later call does nothing
}

func (c *Console) stream(w http.ResponseWriter, name string) *stream {
	pageHeaders(w.Header())
	// A proxy that buffers would hold the first matches back (nginx reads this header).
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &stream{w: w, rc: http.NewResponseController(w), t: c.pages[name], name: name, log: c.log}
}

// exec writes the template tmpl of the page with data.
func (s *stream) exec(tmpl string, data any) {
	if s.err == nil {
		s.err = s.t.ExecuteTemplate(s.w, tmpl, data)
	}
}

// flush sends what was written.
func (s *stream) flush() {
	if s.err != nil {
		return
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
	}
}

// done flushes the rest and logs a failure, unless the request was over (its client gone).
func (s *stream) done(ctx context.Context) {
	s.flush()
	if s.err != nil && ctx.Err() == nil {
		s.log.Error("streaming a page failed", zap.String("page", s.name), zap.Error(s.err))
	}
}

// ago is how long before now t was, or after now it comes, in words a glance reads.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d > -time.Second && d < time.Second:
		return "just now"
	case d < 0:
		return "in " + roughly(-d)
	}
	return roughly(d) + " ago"
}

func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// stamp is t in RFC 3339, UTC, for a <time datetime> and its title.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// humanBytes is a size in binary units.
func humanBytes(n uint64) string {
	v := float64(n)
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
