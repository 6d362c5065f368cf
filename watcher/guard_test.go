package watcher

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/newswatch/newswatch/matcher"
)

func TestPublicOnly(t *testing.T) {
	tests := []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"fe80::1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		{"255.255.255.255", true},
		{"224.0.0.1", true},
		{"239.1.2.3", true},
		{"ff02::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:100.64.0.1", true},
		{"198.18.0.1", true},
		{"240.0.0.1", true},
		{"::127.0.0.1", true},
		{"64:ff9b::10.0.0.1", true},
		{"64:ff9b::169.254.169.254", true},
		{"2002:c0a8:0101::1", true}, // 6to4 of 192.168.1.1
		{"64:ff9b::8.8.8.8", false},
		{"2002:0808:0808::1", false},
		{"8.8.8.8", false},
		{"100.128.0.1", false},
		{"172.32.0.1", false},
		{"2606:4700::1111", false},
		{"::ffff:8.8.8.8", true}, // every IPv4-mapped address; a dial uses the IPv4 form
		{"::ffff:0.0.0.0", true},
		{"::ffff:255.255.255.255", true},
		{"64:ff9b:1::1", true}, // local-use NAT64
		{"64:ff9b:1::8.8.8.8", true},
		{"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true},
		{"64:ff9b:2::1", false},
		{"2001::1", true}, // Teredo
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},
		{"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"2001:1::1", false},
		{"2001:db7:ffff::1", false},
		{"fec0::1", true}, // site-local
		{"feff:ffff::1", true},
		{"fec0:1234::5678", true},
		{"2001:4860:4860::8888", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := PublicOnly(netip.MustParseAddr(tt.addr))
			if got := err != nil; got != tt.refused {
				t.Fatalf("got error %v, want refused=%v", err, tt.refused)
			}
			if err != nil && !errors.Is(err, ErrPrivateAddress) {
				t.Errorf("got %v, want it to wrap ErrPrivateAddress", err)
			}
		})
	}
}

// serverOn starts an httptest server listening on ip (a loopback address) and a random port.
func serverOn(t *testing.T, ip string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// onlyAddr is an AddressPolicy that allows one address and refuses every other.
func onlyAddr(allowed string) AddressPolicy {
	a := netip.MustParseAddr(allowed)
	return func(got netip.Addr) error {
		if got.Unmap() != a {
			return PublicOnly(got)
		}
		return nil
	}
}

func TestFetchAddressGuard(t *testing.T) {
	feed := rss("World")
	denied := serverOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(feed))
	}))
	allowed := serverOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to-denied" {
			http.Redirect(w, r, denied.URL+"/feed", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(feed))
	}))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(allowed.URL, "http://"))

	tests := []struct {
		name         string
		url          string
		policy       AddressPolicy
		allowPrivate bool
		wantErr      bool
	}{
		{"allowed address", allowed.URL + "/feed", onlyAddr("127.0.0.1"), false, false},
		{"denied address", denied.URL + "/feed", onlyAddr("127.0.0.1"), false, true},
		{"redirect to a denied address", allowed.URL + "/to-denied", onlyAddr("127.0.0.1"), false, true},
		{"default policy refuses loopback", allowed.URL + "/feed", nil, false, true},
		{"a name that resolves to loopback", "http://localhost:" + port + "/feed", nil, false, true},
		{"IPv4-mapped loopback literal", "http://[::ffff:127.0.0.1]:" + port + "/feed", nil, false, true},
		{"allow private", denied.URL + "/feed", onlyAddr("127.0.0.1"), true, false},
		{"allow private follows redirects anywhere", allowed.URL + "/to-denied", nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fetchOpts()
			opts.AllowPrivate, opts.AddressPolicy = tt.allowPrivate, tt.policy
			body, err := FetchOnce(t.Context(), tt.url, opts)
			if tt.wantErr {
				if !errors.Is(err, ErrPrivateAddress) || ClassifyError(err) != ClassPrivateAddress {
					t.Fatalf("got %d bytes, error %v, want ErrPrivateAddress", len(body), err)
				}
				return
			}
			if err != nil || string(body) != feed {
				t.Fatalf("got %q, %v, want the feed", body, err)
			}
		})
	}
}

func TestPollAddressGuard(t *testing.T) {
	fs := newFeedServer(t, rss("World", rssItem{GUID: "a", Title: "Kursk"}))
	state := newMemState()
	f := testFeed("world", fs.URL+"/rss.xml", "@every 5m")
	f.AllowPrivate = false
	w := testWatcher(t, Config{Feeds: []Feed{f}, Rules: []matcher.Rule{kurskRule}, State: state, AddressPolicy: onlyAddr("127.0.0.2")}, nil)
	if err := w.Poll(t.Context(), "world", slot(1)); err != nil {
		t.Fatal(err)
	}
	st := state.state(t, "world")
	if st.LastErrorClass != ClassPrivateAddress || st.ConsecutiveFailures != 1 || len(fs.requests()) != 0 {
		t.Errorf("state %+v after %d requests, want a private address failure and no request", st, len(fs.requests()))
	}
}

func TestFetchHostConcurrency(t *testing.T) {
	const fetches, limit = 6, 2
	var (
		mu       sync.Mutex
		inFlight int
		most     int
	)
	arrived := make(chan struct{}, fetches)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		_, _ = w.Write([]byte(rss("World")))
	}))
	t.Cleanup(srv.Close)

	f := newFetcher(nil, limit)
	defer f.close()
	errs := make(chan error, fetches)
	for i := range fetches {
		// Different feeds of one host share its limit.
		u := srv.URL + "/feed" + string(rune('a'+i))
		go func() {
			_, err := f.fetch(t.Context(), u, fetchOpts(), validators{})
			errs <- err
		}()
	}
	<-arrived
	<-arrived
	close(release)
	for range fetches {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most > limit {
		t.Errorf("got %d requests at once to one host, want at most %d", most, limit)
	}
}
