package watcher

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// credentialServer records the credentials each request brought: its basic auth, Cookie and
// Referer headers, by path.
type credentialServer struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]string
}

func newCredentialServer(t *testing.T, redirect func(w http.ResponseWriter, r *http.Request) bool) *credentialServer {
	t.Helper()
	cs := &credentialServer{got: map[string]string{}}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		cs.mu.Lock()
		cs.got[r.URL.Path] = "auth=" + user + ":" + pass + " cookie=" + r.Header.Get("Cookie") + " referer=" + r.Header.Get("Referer")
		cs.mu.Unlock()
		if redirect(w, r) {
			return
		}
		_, _ = w.Write([]byte(rss("World")))
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *credentialServer) credentials(path string) (string, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	got, ok := cs.got[path]
	return got, ok
}

// TestFetchRedirectCredentials follows redirects between two real servers (two hosts: their
// ports differ) from a feed URL with a user, a password and a query token: the credentials
// follow a redirect on the same host, and none, nor the token in a Referer, goes to the other
// host, even when the Location itself carries a userinfo or leads back to the first host.
func TestFetchRedirectCredentials(t *testing.T) {
	const user, pass, token = "reader", "s3cret", "tok3n"
	var origin, other *credentialServer
	withUser := func(u string) string { return strings.Replace(u, "http://", "http://"+user+":"+pass+"@", 1) }
	origin = newCredentialServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/same-final", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/away-final", http.StatusMovedPermanently)
		case "/away-userinfo":
			http.Redirect(w, r, withUser(other.URL)+"/away-userinfo-final", http.StatusFound)
		case "/round-trip":
			http.Redirect(w, r, other.URL+"/back", http.StatusFound)
		default:
			return false
		}
		return true
	})
	other = newCredentialServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/back" {
			http.Redirect(w, r, withUser(origin.URL)+"/round-trip-final", http.StatusFound)
			return true
		}
		return false
	})
	f := newFetcher(nil, 0)
	defer f.close()
	fetch := func(path string) {
		t.Helper()
		if _, err := f.fetch(t.Context(), withUser(origin.URL)+path+"?token="+token, fetchOpts(), validators{}); err != nil {
			t.Fatalf("fetch %s: %v", path, err)
		}
	}
	for _, path := range []string{"/same", "/away", "/away-userinfo", "/round-trip"} {
		fetch(path)
	}
	none := "auth=: cookie= referer="
	for _, tt := range []struct {
		server *credentialServer
		path   string
		want   string
	}{
		{origin, "/same", "auth=reader:s3cret cookie= referer="},
		{origin, "/same-final", "auth=reader:s3cret cookie= referer="},
		{other, "/away-final", none},
		{other, "/away-userinfo-final", none},
		{other, "/back", none},
		{origin, "/round-trip-final", none},
	} {
		got, ok := tt.server.credentials(tt.path)
		if !ok {
			t.Errorf("%s: not requested", tt.path)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.path, got, tt.want)
		}
	}
}

// TestCheckRedirectStripsCredentials: the redirect policy drops the userinfo and the credential
// headers of a request that leaves the first request's scheme (https to http on the same host
// and port) or host, and keeps them on the same origin. (A test server cannot serve https and
// http on one port, so this calls the policy as the client does.)
func TestCheckRedirectStripsCredentials(t *testing.T) {
	tests := []struct {
		name     string
		via      []string
		next     string
		stripped bool
	}{
		{"same origin", []string{"https://news.example/old"}, "https://reader:pw@news.example/new", false},
		{"host case", []string{"https://news.example/old"}, "https://reader:pw@NEWS.example/new", false},
		{"https to http", []string{"https://news.example/old"}, "http://reader:pw@news.example/new", true},
		{"http to https", []string{"http://news.example/old"}, "https://reader:pw@news.example/new", true},
		{"other port", []string{"https://news.example/old"}, "https://reader:pw@news.example:8443/new", true},
		{"subdomain", []string{"https://news.example/old"}, "https://reader:pw@cdn.news.example/new", true},
		{"back from another host", []string{"https://news.example/old", "https://cdn.example/a"}, "https://reader:pw@news.example/new", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var via []*http.Request
			for _, u := range tt.via {
				r, err := http.NewRequest(http.MethodGet, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				via = append(via, r)
			}
			req, err := http.NewRequest(http.MethodGet, tt.next, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer s3cret")
			req.Header.Set("Cookie", "session=s3cret")
			req.Header.Set("Referer", tt.via[len(tt.via)-1]+"?token=s3cret")
			if err := checkRedirect(req, via); err != nil {
				t.Fatal(err)
			}
			if req.Header.Get("Referer") != "" {
				t.Errorf("Referer %q kept, want none", req.Header.Get("Referer"))
			}
			kept := req.URL.User != nil || req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != ""
			if kept == tt.stripped {
				t.Errorf("userinfo %v, Authorization %q, Cookie %q: want stripped=%v",
					req.URL.User, req.Header.Get("Authorization"), req.Header.Get("Cookie"), tt.stripped)
			}
		})
	}
}
