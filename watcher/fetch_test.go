package watcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func fetchOpts() FetchOptions {
	return FetchOptions{UserAgent: "newswatch-test/1", Timeout: 5 * time.Second, MaxBody: 1 << 16, AllowPrivate: true}
}

func TestFetchSendsHeadersAndValidators(t *testing.T) {
	fs := newFeedServer(t, rss("World"))
	fs.set(func(fs *feedServer) { fs.etag, fs.lastModified = `"v1"`, "Mon, 02 Jan 2006 15:04:05 GMT" })
	f := newFetcher(nil, 0)
	defer f.close()

	res, err := f.fetch(t.Context(), fs.URL, fetchOpts(), validators{})
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || string(res.Body) != rss("World") {
		t.Errorf("first fetch: got NotModified=%v body %q, want the feed", res.NotModified, res.Body)
	}
	if res.Validators.ETag != `"v1"` || res.Validators.LastModified != "Mon, 02 Jan 2006 15:04:05 GMT" {
		t.Errorf("validators: got %+v, want the server's", res.Validators)
	}
	res, err = f.fetch(t.Context(), fs.URL, fetchOpts(), res.Validators)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.Body != nil {
		t.Errorf("conditional fetch: got NotModified=%v body %d bytes, want a 304 without body", res.NotModified, len(res.Body))
	}

	reqs := fs.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for i, h := range reqs {
		if got := h.Get("User-Agent"); got != "newswatch-test/1" {
			t.Errorf("request %d: User-Agent %q, want %q", i, got, "newswatch-test/1")
		}
		if got := h.Get("Accept-Encoding"); got != "gzip" {
			t.Errorf("request %d: Accept-Encoding %q, want gzip", i, got)
		}
	}
	if got := reqs[0].Get("If-None-Match"); got != "" {
		t.Errorf("first request: If-None-Match %q, want none", got)
	}
	if got := reqs[1].Get("If-None-Match"); got != `"v1"` {
		t.Errorf("second request: If-None-Match %q, want %q", got, `"v1"`)
	}
	if got := reqs[1].Get("If-Modified-Since"); got != "Mon, 02 Jan 2006 15:04:05 GMT" {
		t.Errorf("second request: If-Modified-Since %q, want the Last-Modified", got)
	}
}

func TestFetchDefaultUserAgent(t *testing.T) {
	fs := newFeedServer(t, rss("World"))
	opts := fetchOpts()
	opts.UserAgent = ""
	if _, err := FetchOnce(t.Context(), fs.URL, opts); err != nil {
		t.Fatal(err)
	}
	if got := fs.requests()[0].Get("User-Agent"); got != DefaultUserAgent {
		t.Errorf("User-Agent %q, want %q", got, DefaultUserAgent)
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rawServer answers every request with body, under the given Content-Encoding.
func rawServer(t *testing.T, encoding string, body []byte, chunked bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		if chunked {
			w.(http.Flusher).Flush() // no Content-Length: the limit must hold while reading
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchBodyLimits(t *testing.T) {
	feed := []byte(rss("World", rssItem{GUID: "1", Title: strings.Repeat("Kursk ", 100)}))
	bomb := bytes.Repeat([]byte{'x'}, 10<<20) // 10 MiB of x compresses to about 10 KiB
	tests := []struct {
		name     string
		encoding string
		body     []byte
		chunked  bool
		maxBody  int64
		want     []byte // nil: ErrBodyTooLarge
	}{
		{"plain within limit", "", feed, false, int64(len(feed)), feed},
		{"plain over limit with Content-Length", "", feed, false, int64(len(feed)) - 1, nil},
		{"plain over limit chunked", "", feed, true, int64(len(feed)) - 1, nil},
		{"gzip within limit", "gzip", gzipped(t, feed), false, int64(len(feed)), feed},
		{"gzip over limit after decompression", "gzip", gzipped(t, feed), false, int64(len(feed)) - 1, nil},
		{"gzip bomb", "gzip", gzipped(t, bomb), false, 1 << 20, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.encoding == "gzip" && int64(len(tt.body)) > tt.maxBody && tt.want == nil {
				t.Fatalf("test is wrong: compressed body %d bytes must be within the limit %d", len(tt.body), tt.maxBody)
			}
			srv := rawServer(t, tt.encoding, tt.body, tt.chunked)
			opts := fetchOpts()
			opts.MaxBody = tt.maxBody
			got, err := FetchOnce(t.Context(), srv.URL, opts)
			if tt.want == nil {
				if !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("got %d bytes, error %v, want ErrBodyTooLarge", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want %d bytes of the feed", len(got), len(tt.want))
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/brotli", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		_, _ = w.Write([]byte("xx"))
	})
	mux.HandleFunc("/badgzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write([]byte("not gzip at all"))
	})
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		_, _ = fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			_, _ = w.Write([]byte(rss("end")))
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.org/feed", http.StatusMovedPermanently)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		path   string
		url    string
		want   error
		status int
	}{
		{path: "/gone", status: http.StatusGone},
		{path: "/brotli", want: ErrUnsupportedEncoding},
		{path: "/hop/5"}, // five redirects are followed
		{path: "/hop/6", want: ErrTooManyRedirects},
		{path: "/ftp", want: ErrUnsupportedScheme},
		{url: "file:///etc/passwd", want: ErrUnsupportedScheme},
		{url: "ftp://example.org/feed", want: ErrUnsupportedScheme},
	}
	for _, tt := range tests {
		u := tt.url
		if u == "" {
			u = srv.URL + tt.path
		}
		t.Run(u, func(t *testing.T) {
			_, err := FetchOnce(t.Context(), u, fetchOpts())
			switch {
			case tt.status != 0:
				var he *HTTPError
				if !errors.As(err, &he) || he.StatusCode != tt.status {
					t.Errorf("got %v, want *HTTPError{%d}", err, tt.status)
				}
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Errorf("got %v, want %v", err, tt.want)
				}
			default:
				if err != nil {
					t.Errorf("got %v, want success", err)
				}
			}
		})
	}

	t.Run("bad gzip", func(t *testing.T) {
		_, err := FetchOnce(t.Context(), srv.URL+"/badgzip", fetchOpts())
		if !errors.Is(err, gzip.ErrHeader) {
			t.Errorf("got %v, want gzip.ErrHeader", err)
		}
	})
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		select { // an endless body: headers come, the rest never does
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	opts := fetchOpts()
	opts.Timeout = 50 * time.Millisecond
	_, err := FetchOnce(t.Context(), srv.URL, opts)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("own deadline: got %v, want ErrTimeout", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = FetchOnce(ctx, srv.URL, fetchOpts())
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Errorf("caller cancelled: got %v, want context.Canceled and not ErrTimeout", err)
	}
}

func TestFetchErrorHidesCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://reader:s3cret@", 1)
	_, err := FetchOnce(t.Context(), u, fetchOpts())
	if err == nil {
		t.Fatal("got nil error, want 401")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "reader") {
		t.Errorf("error %q carries the URL's userinfo", msg)
	}

	// An unreachable host: the transport's error names the URL too.
	_, err = FetchOnce(t.Context(), "http://reader:s3cret@127.0.0.1:1/feed", fetchOpts())
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "reader") {
		t.Errorf("got %v, want an error without the userinfo", err)
	}
}

func TestFetchOptionsValidated(t *testing.T) {
	for _, opts := range []FetchOptions{{Timeout: 0, MaxBody: 1}, {Timeout: time.Second, MaxBody: 0}} {
		if _, err := FetchOnce(t.Context(), "http://127.0.0.1:1/", opts); err == nil {
			t.Errorf("FetchOnce with %+v: got nil error, want one", opts)
		}
	}
}
