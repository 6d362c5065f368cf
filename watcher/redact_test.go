package watcher

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"plain", "https://news.example/rss.xml", "https://news.example/rss.xml"},
		{"userinfo", "https://reader:s3cret@news.example/rss.xml", "https://news.example/rss.xml"},
		{"token user", "https://ghp_s3cret@news.example/rss.xml", "https://news.example/rss.xml"},
		{"query values", "https://news.example/rss?apikey=s3cret&lang=en", "https://news.example/rss?apikey=redacted&lang=redacted"},
		{"any name", "https://news.example/rss?k=s3cret", "https://news.example/rss?k=redacted"},
		{"order and repeats kept", "https://news.example/rss?b=1&a=2&b=3", "https://news.example/rss?b=redacted&a=redacted&b=redacted"},
		{"bare parameter", "https://news.example/rss?s3cret&x=1", "https://news.example/rss?redacted&x=redacted"},
		{"empty value kept", "https://news.example/rss?token=&x=", "https://news.example/rss?token=&x="},
		{"empty part kept", "https://news.example/rss?a=1&&b=2", "https://news.example/rss?a=redacted&&b=redacted"},
		{"semicolon", "https://news.example/rss?a=1;token=s3cret", "https://news.example/rss?a=redacted"},
		{"escaped", "https://news.example/rss?q=a%26token%3Ds3cret&t=s%20e", "https://news.example/rss?q=redacted&t=redacted"},
		{"equals in value", "https://news.example/rss?sig=abc==", "https://news.example/rss?sig=redacted"},
		{"fragment", "https://news.example/rss?x=1#s3cret", "https://news.example/rss?x=redacted"},
		{"everything", "http://u:p@news.example:8080/a/b?token=s3cret#f", "http://news.example:8080/a/b?token=redacted"},
		{"unparsable", "http://u:s3cret@news.example:port/?token=s3cret", "<unparsable URL>"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactURL(tt.url)
			if got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
			if again := RedactURL(got); again != got && tt.name != "unparsable" {
				t.Errorf("RedactURL(%q) = %q, want it unchanged: a stored URL is compared with its redacted form", got, again)
			}
		})
	}
}

func TestAdoptableMove(t *testing.T) {
	const cfg = "https://reader:pw@old.example/rss?token=s3cret&lang=en"
	tests := []struct {
		name, cfg, moved string
		want             string // "" when the move must not be adopted
		rebuilt          string // what fetchURL polls; the moved URL when empty
	}{
		{name: "no query", cfg: "https://old.example/rss", moved: "https://new.example/feed", want: "https://new.example/feed"},
		{name: "same query, other host", cfg: cfg, moved: "https://new.example/feed?token=s3cret&lang=en",
			want: "https://new.example/feed?token=redacted&lang=redacted"},
		{name: "same host keeps the userinfo", cfg: cfg, moved: "https://reader:pw@old.example/feed?token=s3cret",
			want: "https://old.example/feed?token=redacted"},
		{name: "order changed", cfg: cfg, moved: "https://new.example/feed?lang=en&token=s3cret",
			want: "https://new.example/feed?lang=redacted&token=redacted"},
		{name: "query dropped", cfg: cfg, moved: "https://new.example/feed", want: "https://new.example/feed"},
		{name: "fragment dropped", cfg: cfg, moved: "https://new.example/feed?token=s3cret#top",
			want: "https://new.example/feed?token=redacted", rebuilt: "https://new.example/feed?token=s3cret"},
		{name: "empty value", cfg: cfg, moved: "https://new.example/feed?token=s3cret&v=",
			want: "https://new.example/feed?token=redacted&v="},
		{name: "repeated key", cfg: "https://old.example/rss?t=a&t=b", moved: "https://new.example/?t=a&t=b",
			want: "https://new.example/?t=redacted&t=redacted"},
		{name: "repeated key swapped", cfg: "https://old.example/rss?t=a&t=b", moved: "https://new.example/?t=b&t=a"},
		{name: "bare parameter", cfg: "https://old.example/rss?s3cret", moved: "https://new.example/?s3cret",
			want: "https://new.example/?redacted"},
		{name: "value changed", cfg: cfg, moved: "https://new.example/feed?token=other"},
		{name: "value the server added", cfg: cfg, moved: "https://new.example/feed?token=s3cret&sig=signed"},
		{name: "query to a URL without one", cfg: "https://old.example/rss", moved: "https://new.example/feed?sig=signed"},
		{name: "userinfo the server added", cfg: cfg, moved: "https://someone:else@new.example/feed"},
		{name: "literal redacted value", cfg: "https://old.example/rss?a=redacted", moved: "https://new.example/?a=redacted",
			want: "https://new.example/?a=redacted"},
		{name: "no move", cfg: cfg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := adoptableMove(tt.cfg, tt.moved)
			if got != tt.want {
				t.Fatalf("adoptableMove(%q, %q) = %q, want %q", tt.cfg, tt.moved, got, tt.want)
			}
			if got == "" {
				return
			}
			// What the state then holds rebuilds the URL the server named, secrets included.
			st := feedState{MovedFrom: redactURL(tt.cfg), MovedTo: got}
			want := tt.rebuilt
			if want == "" {
				want = tt.moved
			}
			if u := st.fetchURL(tt.cfg); u != want {
				t.Errorf("fetchURL = %q, want %q", u, want)
			}
		})
	}
}

func TestFeedStateForURL(t *testing.T) {
	const a = "https://news.example/rss?category=a&token=s3cret"
	st := feedState{QueryHash: queryHash(a), URL: redactURL(a), ETag: `"v1"`, BodyHash: "h", Gone: redactURL(a),
		MovedFrom: redactURL(a), MovedTo: "https://new.example/rss?category=redacted&token=redacted"}
	if got := st.forURL(a); !reflect.DeepEqual(got, st) {
		t.Errorf("forURL of the same URL changed the state: %+v, want %+v", got, st)
	}
	// Another userinfo is the same document: the state holds.
	withUser := "https://reader:pw@news.example/rss?category=a&token=s3cret"
	if got := st.forURL(withUser); !reflect.DeepEqual(got, st) {
		t.Errorf("forURL of the URL with userinfo changed the state: %+v", got)
	}
	for _, other := range []string{
		"https://news.example/rss?category=b&token=s3cret",
		"https://news.example/rss?category=a&token=rotated",
		"https://news.example/rss?token=s3cret&category=a",
	} {
		if redactURL(other) == redactURL(a) && other != a && queryHash(other) == queryHash(a) {
			t.Fatalf("queryHash does not tell %q from %q", other, a)
		}
		got := st.forURL(other)
		want := feedState{QueryHash: queryHash(other)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("forURL(%q) = %+v, want everything of the other URL forgotten", other, got)
		}
		if got.validatorsFor(other) != (validators{}) || got.bodyHashFor(other) != "" || got.fetchURL(other) != other {
			t.Errorf("forURL(%q): the validators, body hash or move of %q still apply", other, a)
		}
	}
	// A state written before query values were redacted.
	legacy := feedState{URL: a, ETag: `"v1"`, Gone: a, MovedFrom: a, MovedTo: "https://new.example/rss?category=a&token=s3cret"}
	if got := legacy.forURL(a); !reflect.DeepEqual(got, feedState{QueryHash: queryHash(a)}) {
		t.Errorf("forURL of a legacy state: %+v, want its URLs forgotten", got)
	}
	plain := "https://news.example/rss"
	legacy = feedState{URL: plain, ETag: `"v1"`, MovedFrom: plain, MovedTo: "https://new.example/rss?sig=s3cret", MoveCandidate: "https://new.example/rss?sig=s3cret"}
	want := feedState{URL: plain, ETag: `"v1"`, MovedFrom: plain}
	if got := legacy.forURL(plain); !reflect.DeepEqual(got, want) {
		t.Errorf("forURL of a legacy state with an unredacted move: %+v, want %+v", got, want)
	}
	if h := queryHash(plain); h != "" {
		t.Errorf("queryHash of a URL without query = %q, want empty", h)
	}
}

// rawState is the stored state of a feed as bytes, as anyone reading the bucket sees it.
func (s *memState) rawState(feedID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.data[feedID])
}

// queryServer serves an RSS feed whose ETag is its category query value, honours If-None-Match,
// and records each request's path, query and If-None-Match.
type queryServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	status   int // when non-zero, answer only this status
	redirect func(r *http.Request) (location string, status int)
}

func newQueryServer(t *testing.T) *queryServer {
	t.Helper()
	qs := &queryServer{}
	qs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		qs.mu.Lock()
		qs.requests = append(qs.requests, r.URL.RequestURI()+" "+r.Header.Get("If-None-Match"))
		status, redirect := qs.status, qs.redirect
		qs.mu.Unlock()
		if redirect != nil {
			if loc, code := redirect(r); loc != "" {
				http.Redirect(w, r, loc, code)
				return
			}
		}
		if status != 0 {
			http.Error(w, "no", status)
			return
		}
		etag := `"` + r.URL.Query().Get("category") + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(rss("World", rssItem{GUID: "a", Title: "Kursk"})))
	}))
	t.Cleanup(qs.Close)
	return qs
}

// took returns the requests since the last call.
func (qs *queryServer) took() []string {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	r := qs.requests
	qs.requests = nil
	return r
}

// TestPollQueryValueChange: two configured URLs that differ only in a query value have the same
// redacted form, and still the state of one never applies to the other: its validators are not
// sent, its 410 does not stop the other. No query value is stored.
func TestPollQueryValueChange(t *testing.T) {
	qs := newQueryServer(t)
	token := "tok" + strings.Repeat("9", 20)
	a := qs.URL + "/rss?category=a&token=" + token
	b := qs.URL + "/rss?category=b&token=" + token
	state := newMemState()
	w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", a, "@every 5m")}, State: state}, nil)
	timeTravel(w, 400*24*time.Hour)
	poll := func(n int) {
		t.Helper()
		if err := w.Poll(t.Context(), "world", slot(n)); err != nil {
			t.Fatal(err)
		}
		if raw := state.rawState("world"); strings.Contains(raw, token) || strings.Contains(raw, "category=a") || strings.Contains(raw, "category=b") {
			t.Fatalf("the state holds a query value: %s", raw)
		}
	}
	poll(1)
	poll(2)
	if got, want := strings.Join(qs.took(), ", "), `/rss?category=a&token=`+token+` , /rss?category=a&token=`+token+` "a"`; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	if err := w.Update([]Feed{testFeed("world", b, "@every 5m")}, nil, compile(t)); err != nil {
		t.Fatal(err)
	}
	poll(3)
	poll(4)
	if got, want := strings.Join(qs.took(), ", "), `/rss?category=b&token=`+token+` , /rss?category=b&token=`+token+` "b"`; got != want {
		t.Errorf("after the change: requests %s, want %s: the validators of category a went to b", got, want)
	}

	// Gone for one value, polled for another.
	qs.mu.Lock()
	qs.status = http.StatusGone
	qs.mu.Unlock()
	poll(5)
	poll(6)
	if got := qs.took(); len(got) != 1 || state.state(t, "world").Gone == "" {
		t.Fatalf("requests %v, state %+v: want one request, then gone", got, state.state(t, "world"))
	}
	if err := w.Update([]Feed{testFeed("world", a, "@every 5m")}, nil, compile(t)); err != nil {
		t.Fatal(err)
	}
	// After the gone URL's backoff, as any new URL is.
	if err := w.Poll(t.Context(), "world", time.Now().Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := qs.took(); len(got) != 1 {
		t.Errorf("after a change of the gone URL's query: requests %v, want it polled", got)
	}
}

// TestPollMoveWithQuery: a feed moved permanently keeps its real query values for the request
// while the state names them redacted; a move to a URL with a query value of the server's
// (a signature) is never adopted, since the state could not hold it, and is followed instead.
func TestPollMoveWithQuery(t *testing.T) {
	token := "tok" + strings.Repeat("7", 20)
	sig := "sig" + strings.Repeat("5", 20)
	for _, tt := range []struct {
		name    string
		query   func(r *http.Request) string // the new URL's query
		adopted bool
	}{
		{"query kept", func(r *http.Request) string { return r.URL.RawQuery }, true},
		{"signature added", func(r *http.Request) string { return r.URL.RawQuery + "&sig=" + sig }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			qs := newQueryServer(t)
			qs.redirect = func(r *http.Request) (string, int) {
				if r.URL.Path == "/old" {
					return "/new?" + tt.query(r), http.StatusMovedPermanently
				}
				return "", 0
			}
			state := newMemState()
			w := testWatcher(t, Config{Feeds: []Feed{testFeed("world", qs.URL+"/old?token="+token, "@every 5m")}, State: state}, nil)
			for n := 1; n <= 4; n++ {
				if err := w.Poll(t.Context(), "world", slot(n)); err != nil {
					t.Fatal(err)
				}
				if raw := state.rawState("world"); strings.Contains(raw, token) || strings.Contains(raw, sig) {
					t.Fatalf("after poll %d the state holds a query value: %s", n, raw)
				}
			}
			var paths []string
			for _, r := range qs.took() {
				uri, _, _ := strings.Cut(r, " ")
				paths = append(paths, uri)
			}
			newURI := "/new?token=" + token
			if !tt.adopted {
				newURI += "&sig=" + sig
			}
			want := []string{"/old?token=" + token, newURI, "/old?token=" + token, newURI, newURI, newURI}
			if !tt.adopted {
				want = []string{want[0], newURI, want[0], newURI, want[0], newURI, want[0], newURI}
			}
			if !slices.Equal(paths, want) {
				t.Errorf("requested %v, want %v", paths, want)
			}
			st := state.state(t, "world")
			if tt.adopted && st.MovedTo != qs.URL+"/new?token=redacted" {
				t.Errorf("MovedTo %q, want the new URL redacted", st.MovedTo)
			}
			if !tt.adopted && (st.MovedTo != "" || st.MoveCandidate != "") {
				t.Errorf("state %+v: want no move recorded", st)
			}
		})
	}
}
