package watcher

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// errConflict is what memState.Save returns when the revision is not the stored one.
var errConflict = errors.New("memstate: wrong revision")

// memState is a StateStore in memory with the compare-and-swap semantics of a KV bucket.
type memState struct {
	mu      sync.Mutex
	data    map[string][]byte
	rev     map[string]uint64
	seq     uint64
	saves   int
	saveErr error
	// beforeSave, when set, runs at the start of each Save (outside the lock), e.g. to write
	// a competing state and make the Save conflict.
	beforeSave func(feedID string)
}

func newMemState() *memState {
	return &memState{data: map[string][]byte{}, rev: map[string]uint64{}}
}

func (s *memState) Load(ctx context.Context, feedID string) ([]byte, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.data[feedID]...), s.rev[feedID], nil
}

func (s *memState) Save(ctx context.Context, feedID string, data []byte, revision uint64) (uint64, error) {
	if hook := s.beforeSave; hook != nil {
		hook(feedID)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saveErr != nil {
		return 0, s.saveErr
	}
	if s.rev[feedID] != revision {
		return 0, fmt.Errorf("%w: have %d, got %d", errConflict, s.rev[feedID], revision)
	}
	s.seq++
	s.data[feedID] = append([]byte(nil), data...)
	s.rev[feedID] = s.seq
	return s.seq, nil
}

// state decodes the stored state of a feed.
func (s *memState) state(t *testing.T, feedID string) feedState {
	t.Helper()
	s.mu.Lock()
	data := s.data[feedID]
	s.mu.Unlock()
	st, err := decodeState(data)
	if err != nil {
		t.Fatalf("decode state of %s: %v", feedID, err)
	}
	return st
}

// put stores a state for a feed as another writer would.
func (s *memState) put(t *testing.T, feedID string, st feedState) {
	t.Helper()
	data, err := st.encode()
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.data[feedID] = data
	s.rev[feedID] = s.seq
}

// memPublisher records published alerts; every batch is also sent on batches when it is set.
type memPublisher struct {
	mu      sync.Mutex
	alerts  []event.Alert
	calls   int
	sizes   []int // of each batch published
	err     error
	batches chan []event.Alert
}

func (p *memPublisher) Publish(ctx context.Context, alerts []event.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	p.calls++
	if p.err != nil {
		p.mu.Unlock()
		return p.err
	}
	p.alerts = append(p.alerts, alerts...)
	p.sizes = append(p.sizes, len(alerts))
	p.mu.Unlock()
	if p.batches != nil {
		select {
		case p.batches <- alerts:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *memPublisher) published() []event.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]event.Alert(nil), p.alerts...)
}

type jobKey struct {
	feedID string
	slot   time.Time
}

func (j jobKey) String() string { return j.feedID + "@" + j.slot.UTC().Format(time.RFC3339) }

// memQueue is a JobQueue in memory: Enqueue is idempotent per (feed, slot). When deliver is
// false, Consume only waits for its context, so that tests see the schedule alone.
type memQueue struct {
	deliver bool
	jobs    chan jobKey

	mu       sync.Mutex
	known    map[jobKey]bool
	enqueued []jobKey
	handled  []error
}

func newMemQueue(deliver bool) *memQueue {
	return &memQueue{deliver: deliver, jobs: make(chan jobKey, 1024), known: map[jobKey]bool{}}
}

func (q *memQueue) Enqueue(ctx context.Context, feedID string, slot time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := jobKey{feedID, slot.UTC()}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.known[k] {
		return nil
	}
	q.known[k] = true
	q.enqueued = append(q.enqueued, k)
	if q.deliver {
		q.jobs <- k
	}
	return nil
}

func (q *memQueue) Consume(ctx context.Context, workers int, handle func(context.Context, string, time.Time) error) error {
	if !q.deliver {
		<-ctx.Done()
		return ctx.Err()
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-q.jobs:
					err := handle(ctx, j.feedID, j.slot)
					q.mu.Lock()
					q.handled = append(q.handled, err)
					q.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

func (q *memQueue) jobList() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, len(q.enqueued))
	for i, k := range q.enqueued {
		out[i] = k.String()
	}
	return out
}

// feedServer serves a feed body that tests may change, honours If-None-Match, gzips when
// asked to, and records the headers of every request.
type feedServer struct {
	*httptest.Server

	mu           sync.Mutex
	body         string
	etag         string
	lastModified string
	status       int // when non-zero, answer only this status
	gzip         bool
	headers      []http.Header
}

func newFeedServer(t *testing.T, body string) *feedServer {
	t.Helper()
	fs := &feedServer{body: body}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.headers = append(fs.headers, r.Header.Clone())
	body, etag, lm, status, gz := fs.body, fs.etag, fs.lastModified, fs.status, fs.gzip
	fs.mu.Unlock()
	if status != 0 {
		http.Error(w, "no", status)
		return
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	if lm != "" {
		w.Header().Set("Last-Modified", lm)
	}
	if etag != "" && r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	if gz && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte(body))
		_ = zw.Close()
		return
	}
	_, _ = w.Write([]byte(body))
}

func (fs *feedServer) set(fn func(fs *feedServer)) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fn(fs)
}

func (fs *feedServer) requests() []http.Header {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]http.Header(nil), fs.headers...)
}

// rssItem is one item of a test RSS document.
type rssItem struct {
	GUID, Link, Title, Description string
	Published                      time.Time
}

// rss renders an RSS 2.0 document.
func rss(title string, items ...rssItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>%s</title><link>https://example.org/</link><description>test</description>
`, title)
	for _, it := range items {
		b.WriteString("<item>")
		if it.GUID != "" {
			fmt.Fprintf(&b, `<guid isPermaLink="false">%s</guid>`, it.GUID)
		}
		if it.Link != "" {
			fmt.Fprintf(&b, "<link>%s</link>", it.Link)
		}
		fmt.Fprintf(&b, "<title>%s</title><description>%s</description>", it.Title, it.Description)
		if !it.Published.IsZero() {
			fmt.Fprintf(&b, "<pubDate>%s</pubDate>", it.Published.UTC().Format(time.RFC1123Z))
		}
		b.WriteString("</item>\n")
	}
	b.WriteString("</channel></rss>\n")
	return b.String()
}

// compile compiles rules with the matcher, failing the test on error.
func compile(t *testing.T, rules ...matcher.Rule) *matcher.Index {
	t.Helper()
	ix, err := matcher.Compile(rules, nil)
	if err != nil {
		t.Fatalf("compile rules: %v", err)
	}
	return ix
}

// testFeed is a valid feed for url with the given schedule.
func testFeed(id, url, schedule string) Feed {
	return Feed{ID: id, URL: url, Settings: Settings{Schedule: schedule, Timeout: 5 * time.Second, MaxBody: 1 << 20, AllowPrivate: true}}
}

// kurskRule is the rule most tests match with.
var kurskRule = matcher.Rule{ID: "kursk", Query: "kursk"}

// testWatcher builds a Watcher over in-memory parts; zero fields of cfg get them.
func testWatcher(t *testing.T, cfg Config, log *zap.Logger) *Watcher {
	t.Helper()
	if cfg.Publisher == nil {
		cfg.Publisher = &memPublisher{}
	}
	if cfg.State == nil {
		cfg.State = newMemState()
	}
	if cfg.Jobs == nil {
		cfg.Jobs = newMemQueue(false)
	}
	if cfg.Index == nil {
		cfg.Index = compile(t, cfg.Rules...)
	}
	if log == nil {
		log = zaptest.NewLogger(t)
	}
	w, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

// feedOf is the Feed a plan's feed was built from.
func feedOf(f *feedPlan) Feed {
	return Feed{ID: f.ID, URL: f.URL, Settings: *f.Settings, Tags: f.Tags}
}

// timeTravel lets a test poll slots up to d ahead of the real clock, as if that much time had
// passed by the time their jobs arrive: the watcher refuses jobs for later slots than its
// clock allows.
func timeTravel(w *Watcher, d time.Duration) {
	w.clock = func() time.Time { return time.Now().Add(d) }
}
