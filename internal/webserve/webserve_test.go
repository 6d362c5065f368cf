package webserve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"
)

// serve runs a Server for cfg until the test ends and returns its base URL.
func serve(t *testing.T, cfg Config, log *zap.Logger) string {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := Listen(cfg, log)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve after Shutdown: got %v, want nil", err)
		}
	})
	return "http://" + s.Addr().String()
}

// TestCrossOriginRefused: a POST that a browser sends from another origin is refused with 403
// before the handler runs; the same POST from curl, or from the endpoint's own origin, passes;
// a GET passes from anywhere.
func TestCrossOriginRefused(t *testing.T) {
	var calls atomic.Int64
	core, logs := observer.New(zap.WarnLevel)
	base := serve(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		io.WriteString(w, "done\n")
	})}, zap.New(core))
	host := strings.TrimPrefix(base, "http://")

	tests := []struct {
		name    string
		method  string
		headers map[string]string
		want    int
	}{
		{"curl", http.MethodPost, nil, http.StatusOK},
		{"browser, same origin", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base}, http.StatusOK},
		{"browser, typed by the user", http.MethodPost, map[string]string{"Sec-Fetch-Site": "none"}, http.StatusOK},
		{"old browser, same origin", http.MethodPost, map[string]string{"Origin": "http://" + host}, http.StatusOK},
		{"form of another site", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, http.StatusForbidden},
		{"another port of the same host", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"old browser, other origin", http.MethodPost, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"cross-site PUT", http.MethodPut, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site GET", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, base+"/-/reload", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got %d %q, want %d", resp.StatusCode, body, tt.want)
			}
			wantRuns := int64(0)
			if tt.want == http.StatusOK {
				wantRuns = 1
			}
			if ran := calls.Load() - before; ran != wantRuns {
				t.Errorf("handler ran %d times, want %d", ran, wantRuns)
			}
		})
	}
	if got := logs.FilterMessage("cross-origin request refused").Len(); got != 4 {
		t.Errorf("refusals logged: got %d, want 4", got)
	}
}

// TestBasicAuth: with basic_auth_users every request needs a user and its password; the
// configured headers are set on every answer.
func TestBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "web.yml", "basic_auth_users:\n  prometheus: "+string(hash)+
		"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n")
	base := serve(t, Config{WebConfigFile: path, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "metrics\n")
	})}, zap.NewNop())
	tests := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"right", "prometheus", "s3cret pass", http.StatusOK},
		{"wrong password", "prometheus", "s3cret", http.StatusUnauthorized},
		{"unknown user", "admin", "s3cret pass", http.StatusUnauthorized},
		{"the hash as password", "prometheus", string(hash), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got %d %q, want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != "Basic" {
				t.Errorf("WWW-Authenticate: got %q, want Basic", resp.Header.Get("WWW-Authenticate"))
			}
			if got := resp.Header.Get("X-Frame-Options"); got != "deny" {
				t.Errorf("X-Frame-Options: got %q, want deny", got)
			}
		})
	}
}

// TestListenRefuses: a web configuration file that does not validate, or a taken port, fails
// Listen with an error that names the file or the address; nothing is left listening.
func TestListenRefuses(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "nope.yml"), "no such file"},
		{"unknown key", file("key.yml", "basic_auth_user:\n  a: "+string(hash)+"\n"), "basic_auth_user"},
		{"plain password", file("plain.yml", "basic_auth_users:\n  a: hunter2\n"), "takes bcrypt hashes, not passwords"},
		{"missing certificate", file("cert.yml", "tls_server_config:\n  cert_file: gone.crt\n  key_file: gone.key\n"), "gone.crt"},
		{"certificate without key", file("nokey.yml", "tls_server_config:\n  cert_file: a.crt\n"), "key"},
		{"not a hash", file("prefix.yml", "basic_auth_users:\n  a: hunter2-but-long-enough-to-pass-the-length-check-of-bcrypt\n"), "takes bcrypt hashes, not passwords"},
		{"header not allowed", file("header.yml", "http_server_config:\n  headers:\n    Server: newswatch\n"), "Server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Listen(Config{Listen: "127.0.0.1:0", WebConfigFile: tt.path, Handler: http.NotFoundHandler()}, zap.NewNop())
			if err == nil {
				s.ln.Close()
				t.Fatal("Listen: got no error")
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen: got %q, want it to name %s and say %q", err, tt.path, tt.want)
			}
			if err := Validate(tt.path); err == nil {
				t.Error("Validate: got no error")
			}
		})
	}

	t.Run("taken port", func(t *testing.T) {
		base := serve(t, Config{Handler: http.NotFoundHandler()}, zap.NewNop())
		addr := strings.TrimPrefix(base, "http://")
		_, err := Listen(Config{Listen: addr, Handler: http.NotFoundHandler()}, zap.NewNop())
		if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) {
			t.Errorf("Listen on a taken port: got %v, want EADDRINUSE naming %s", err, addr)
		}
	})
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
