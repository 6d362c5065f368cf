package watcher

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hostileServer serves one misbehaving handler; the handlers return when the request ends.
func hostileServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetchHostileServers(t *testing.T) {
	// A listener that accepts connections and never reads or writes a byte.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		maxBody int64
		want    error
		class   ErrorClass
	}{
		{
			name: "never answers", url: "http://" + silent.Addr().String() + "/feed",
			timeout: 300 * time.Millisecond, want: ErrTimeout, class: ClassTimeout,
		},
		{
			name: "a byte at a time", timeout: 500 * time.Millisecond, want: ErrTimeout, class: ClassTimeout,
			url: hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					if _, err := w.Write([]byte("<")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
					}
				}
			}),
		},
		{
			name: "endless body", timeout: 10 * time.Second, maxBody: 1 << 20, want: ErrBodyTooLarge, class: ClassBodyTooLarge,
			url: hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("<item>x</item>", 1000))
				for r.Context().Err() == nil {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			}),
		},
		{
			name: "redirect loop", timeout: 5 * time.Second, want: ErrTooManyRedirects, class: ClassRedirect,
			url: hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/a" {
					http.Redirect(w, r, "/b", http.StatusMovedPermanently)
					return
				}
				http.Redirect(w, r, "/a", http.StatusFound)
			}) + "/a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fetchOpts()
			opts.Timeout = tt.timeout
			if tt.maxBody > 0 {
				opts.MaxBody = tt.maxBody
			}
			body, err := FetchOnce(t.Context(), tt.url, opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %d bytes, error %v, want %v", len(body), err, tt.want)
			}
			if got := ClassifyError(err); got != tt.class {
				t.Errorf("class %q, want %q", got, tt.class)
			}
		})
	}
}

func TestClassifyHTTPErrors(t *testing.T) {
	tests := []struct {
		status int
		want   ErrorClass
	}{
		{http.StatusTooManyRequests, ClassRateLimited},
		{http.StatusServiceUnavailable, ClassUnavailable},
		{http.StatusGone, ClassGone},
		{http.StatusNotFound, ClassHTTPClient},
		{http.StatusInternalServerError, ClassHTTPServer},
		{http.StatusBadGateway, ClassHTTPServer},
	}
	for _, tt := range tests {
		srv := newStatusServer(t, "")
		srv.set(tt.status, nil)
		_, err := FetchOnce(t.Context(), srv.URL, fetchOpts())
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != tt.status || ClassifyError(err) != tt.want {
			t.Errorf("status %d: got %v (class %q), want *HTTPError of class %q", tt.status, err, ClassifyError(err), tt.want)
		}
	}
}
