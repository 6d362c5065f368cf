package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const (
	webUser     = "prometheus"
	webPassword = "correct horse battery staple"
)

// webConfig writes a web configuration file in dir with webUser's bcrypt hash and the extra
// YAML given, and a file holding the password; it returns both paths.
func webConfig(t *testing.T, dir, extra string) (path, passwordFile string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(webPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "web.yml")
	text := fmt.Sprintf("basic_auth_users:\n  %s: %s\n%s", webUser, hash, extra)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	passwordFile = filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte(webPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, passwordFile
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and its key to dir as
// server.crt and server.key; the certificate is its own authority.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "newswatch test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// webRequest is one request to the endpoints, with basic auth when user is set.
type webRequest struct {
	method, url string
	user, pass  string
	headers     map[string]string
}

// send does r with client; the bound is generous because a bcrypt comparison under the race
// detector on a loaded machine takes seconds.
func (r webRequest) send(t *testing.T, client *http.Client) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), r.method, r.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// waitReady waits until the daemon's /readyz answers 200 to webUser.
func waitReady(t *testing.T, client *http.Client, url string) {
	t.Helper()
	waitFor(t, 60*time.Second, "the daemon ready", func() bool {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(webUser, webPassword)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestWebConfigBasicAuth runs the daemon with a web configuration file holding a bcrypt hash:
// every endpoint asks for the user and its password, healthcheck passes them, and POST
// /-/reload from another origin is refused without reloading, while the same POST from curl
// reloads.
func TestWebConfigBasicAuth(t *testing.T) {
	dir := t.TempDir()
	feed := newFeedServer(t, feedItem{GUID: "a", Title: "Markets close higher"})
	cfg, _ := testConfigMap(t, dir, []map[string]any{{"id": "first", "url": feed.URL}})
	webFile, passwordFile := webConfig(t, dir, "")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr, "web_config_file": webFile}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	if code, out, errOut := runCLI(t, "", "check", "-c", path); code != 0 {
		t.Fatalf("check with a valid web config file: exit %d, want 0\n%s%s", code, out, errOut)
	}
	d := startDaemon(t, path)
	base := "http://" + httpAddr
	client := &http.Client{Timeout: 60 * time.Second}
	waitReady(t, client, base+"/readyz")

	tests := []struct {
		name string
		req  webRequest
		want int
	}{
		{"metrics without credentials", webRequest{url: "/metrics"}, http.StatusUnauthorized},
		{"metrics", webRequest{url: "/metrics", user: webUser, pass: webPassword}, http.StatusOK},
		{"metrics, wrong password", webRequest{url: "/metrics", user: webUser, pass: "correct horse"}, http.StatusUnauthorized},
		{"metrics, no password", webRequest{url: "/metrics", user: webUser}, http.StatusUnauthorized},
		{"healthz without credentials", webRequest{url: "/healthz"}, http.StatusUnauthorized},
		{"healthz", webRequest{url: "/healthz", user: webUser, pass: webPassword}, http.StatusOK},
		{"readyz without credentials", webRequest{url: "/readyz"}, http.StatusUnauthorized},
		{"reload without credentials", webRequest{method: http.MethodPost, url: "/-/reload"}, http.StatusUnauthorized},
		{"web console without credentials", webRequest{url: "/feeds"}, http.StatusUnauthorized},
		{"poll now without credentials", webRequest{method: http.MethodPost, url: "/feeds/world/poll"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.method = cmpOr(r.method, http.MethodGet)
			r.url = base + r.url
			resp, body := r.send(t, client)
			if resp.StatusCode != tt.want {
				t.Errorf("got %d %q, want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != "Basic" {
				t.Errorf("WWW-Authenticate: got %q, want Basic", resp.Header.Get("WWW-Authenticate"))
			}
			if tt.want == http.StatusOK && strings.HasSuffix(r.url, "/metrics") && !strings.Contains(body, "newswatch_build_info{") {
				t.Errorf("/metrics: no newswatch_build_info in\n%.1000s", body)
			}
		})
	}

	// The health check, as a container would run it. (Not with an unknown user: the toolkit
	// compares its password with a hash of cost 10, seconds under the race detector, which
	// healthcheck's 5 s bound may not wait for.)
	wrongFile := filepath.Join(dir, "wrong-password")
	if err := os.WriteFile(wrongFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	healthcheck := []struct {
		name string
		args []string
		want int
		say  string
	}{
		{"without credentials", nil, 1, "401 Unauthorized"},
		{"with them", []string{"--user", webUser, "--password-file", passwordFile}, 0, ""},
		{"wrong password", []string{"--user", webUser, "--password-file", wrongFile}, 1, "401 Unauthorized"},
		{"user without password", []string{"--user", webUser}, 1, "--user needs --password-file"},
	}
	for _, tt := range healthcheck {
		t.Run("healthcheck "+tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append([]string{"healthcheck", "--url", base + "/readyz"}, tt.args...)...)
			if code != tt.want || !strings.Contains(stderr, tt.say) {
				t.Errorf("got exit %d %q, want %d saying %q", code, stderr, tt.want, tt.say)
			}
		})
	}

	// POST /-/reload from a web page of another site, with the credentials a browser keeps: refused,
	// and nothing reloaded. The file changed, so a reload would log it.
	cfg["feeds"] = []map[string]any{{"id": "first", "url": feed.URL}, {"id": "second", "url": feed.URL + "?second"}}
	writeConfig(t, path, cfg)
	reload := webRequest{method: http.MethodPost, url: base + "/-/reload", user: webUser, pass: webPassword}
	for name, headers := range map[string]map[string]string{
		"Sec-Fetch-Site: cross-site":  {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
		"Origin: http://evil.example": {"Origin": "http://evil.example"},
	} {
		r := reload
		r.headers = headers
		if resp, body := r.send(t, client); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /-/reload with %s: got %d %q, want 403", name, resp.StatusCode, body)
		}
	}
	if resp, body := reload.send(t, client); resp.StatusCode != http.StatusOK {
		t.Errorf("POST /-/reload as curl sends it: got %d %q, want 200", resp.StatusCode, body)
	}
	// The log reaches the test through a pipe, a little after the answers; it is in order, so
	// once the reload of the last POST is in it, so is anything the refused ones did.
	count := func(s string) int { return strings.Count(d.output(), s) }
	waitFor(t, 60*time.Second, "the reload logged", func() bool { return count("configuration reloaded") >= 1 })
	if got := count("configuration reloaded"); got != 1 {
		t.Errorf("reloads logged: got %d, want 1 (a cross-origin POST reloaded)", got)
	}
	if got := count("cross-origin request refused"); got != 2 {
		t.Errorf("refusals logged: got %d, want 2", got)
	}
	d.stop(t, 30*time.Second)
	if strings.Contains(d.output(), webPassword) {
		t.Error("the password reached the log")
	}
}

// TestWebConfigTLS runs the daemon with TLS from a web configuration file whose certificate and
// key are named relative to it: the endpoints answer over https with the certificate, not over
// plain http, and healthcheck reaches them with --ca-file or --insecure-skip-verify.
func TestWebConfigTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, _ := selfSignedCert(t, dir)
	webFile, passwordFile := webConfig(t, dir, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
	cfg, _ := testConfigMap(t, dir, nil)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg["http"] = map[string]any{"listen": httpAddr, "web_config_file": webFile}
	path := filepath.Join(dir, "newswatch.yaml")
	writeConfig(t, path, cfg)

	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("the test certificate does not parse")
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	d := startDaemon(t, path)
	base := "https://" + httpAddr
	waitReady(t, client, base+"/readyz")

	resp, body := webRequest{method: http.MethodGet, url: base + "/metrics", user: webUser, pass: webPassword}.send(t, client)
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || !strings.Contains(body, "newswatch_build_info{") {
		t.Errorf("GET /metrics over https: got %d (TLS %v), want 200 over TLS with newswatch_build_info", resp.StatusCode, resp.TLS != nil)
	}
	resp, body = webRequest{method: http.MethodGet, url: base + "/metrics"}.send(t, client)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics over https without credentials: got %d %q, want 401", resp.StatusCode, body)
	}
	resp, body = webRequest{method: http.MethodGet, url: "http://" + httpAddr + "/metrics", user: webUser, pass: webPassword}.send(t, &http.Client{Timeout: 60 * time.Second})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /metrics over plain http: got %d %q, want 400 (an HTTP request to an HTTPS server)", resp.StatusCode, body)
	}

	creds := []string{"--user", webUser, "--password-file", passwordFile}
	healthcheck := []struct {
		name string
		args []string
		want int
		say  string
	}{
		{"with the CA file", append([]string{"--ca-file", certFile}, creds...), 0, ""},
		{"trusting the system's authorities", creds, 1, "certificate"},
		{"skipping verification", append([]string{"--insecure-skip-verify"}, creds...), 0, ""},
		{"with the CA file, no credentials", []string{"--ca-file", certFile}, 1, "401 Unauthorized"},
		{"a CA file that holds no certificate", append([]string{"--ca-file", passwordFile}, creds...), 1, "no PEM certificate"},
	}
	for _, tt := range healthcheck {
		t.Run("healthcheck "+tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", append([]string{"healthcheck", "--url", base + "/readyz"}, tt.args...)...)
			if code != tt.want || !strings.Contains(stderr, tt.say) {
				t.Errorf("got exit %d %q, want %d saying %q", code, stderr, tt.want, tt.say)
			}
		})
	}
	// As the image's HEALTHCHECK runs it: no flags, the environment twins.
	t.Run("healthcheck from the environment", func(t *testing.T) {
		t.Setenv("NEWSWATCH_URL", base+"/readyz")
		t.Setenv("NEWSWATCH_USER", webUser)
		t.Setenv("NEWSWATCH_PASSWORD_FILE", passwordFile)
		t.Setenv("NEWSWATCH_CA_FILE", certFile)
		if code, _, stderr := runCLI(t, "", "healthcheck"); code != 0 {
			t.Errorf("got exit %d %q, want 0", code, stderr)
		}
	})
	d.stop(t, 30*time.Second)
}

// TestBadWebConfigStopsStart: a web configuration file that does not validate fails check and
// stops the daemon at start, both naming the file; so does a taken HTTP port.
func TestBadWebConfigStopsStart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		webFile string
		want    string
	}{
		{"missing file", filepath.Join(dir, "absent.yml"), "no such file"},
		{"a password, not its hash", write("plain.yml", "basic_auth_users:\n  prometheus: hunter2\n"), "bcrypt"},
		{"unknown key", write("typo.yml", "basic_auth_user:\n  prometheus: x\n"), "basic_auth_user"},
		{"missing certificate", write("tls.yml", "tls_server_config:\n  cert_file: absent.crt\n  key_file: absent.key\n"), "absent.crt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := testConfigMap(t, t.TempDir(), nil)
			cfg["http"] = map[string]any{"listen": fmt.Sprintf("127.0.0.1:%d", freePort(t)), "web_config_file": tt.webFile}
			path := filepath.Join(t.TempDir(), "newswatch.yaml")
			writeConfig(t, path, cfg)

			code, _, stderr := runCLI(t, "", "check", "-c", path)
			if code != 1 || !strings.Contains(stderr, tt.webFile) || !strings.Contains(stderr, tt.want) {
				t.Errorf("check: got exit %d %q, want 1 naming %s and saying %q", code, stderr, tt.webFile, tt.want)
			}
			out := runToExit(t, path)
			if !strings.Contains(out, `"msg":"cannot start"`) || !strings.Contains(out, tt.webFile) || !strings.Contains(out, tt.want) {
				t.Errorf("run: got\n%s\nwant cannot start, naming %s and saying %q", out, tt.webFile, tt.want)
			}
		})
	}

	t.Run("taken port", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cfg, _ := testConfigMap(t, t.TempDir(), nil)
		cfg["http"] = map[string]any{"listen": ln.Addr().String()}
		path := filepath.Join(t.TempDir(), "newswatch.yaml")
		writeConfig(t, path, cfg)
		if out := runToExit(t, path); !strings.Contains(out, "address already in use") {
			t.Errorf("run on a taken port: got\n%s\nwant address already in use", out)
		}
	})
}

// runToExit runs the daemon on config, requires it to exit with status 1 within a minute, and
// returns what it printed.
func runToExit(t *testing.T, config string) string {
	t.Helper()
	d := startDaemon(t, config)
	select {
	case err := <-d.done:
		d.stopped = true
		if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 1 {
			t.Errorf("run: exited with %v, want exit status 1", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("run did not exit within 60s; log:\n%s", d.output())
	}
	return d.output()
}

// cmpOr is cmp.Or for strings, kept here so the table above reads plainly.
func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}
