package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/newswatch/newswatch/notifier"
	"github.com/newswatch/newswatch/notifier/notifiertest"
)

// TestBridgeWebConfig: with a web configuration file holding a bcrypt hash, given by the
// environment twin of --web-config-file, the bridge's endpoints ask for the user and its
// password.
func TestBridgeWebConfig(t *testing.T) {
	n := notifiertest.Open(t, notifiertest.Config(t))
	dir := t.TempDir()
	const user, password = "prometheus", "correct horse battery staple"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webFile := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webFile, fmt.Appendf(nil, "basic_auth_users:\n  %s: %s\n", user, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBridge(t, []string{"NEWSWATCH_SLACK_WEB_CONFIG_FILE=" + webFile},
		"run", "--nats-url", n.ClientURL(), "--creds", n.CredsFile(notifier.RoleBridge), "--token-file", token, "--api-url", "http://127.0.0.1:1/",
		"--default-channel", "#newswatch", "--http-listen", "127.0.0.1:0", "--log-level", "debug")
	base := "http://" + b.httpAddr(t)

	get := func(path, user, pass string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitFor(t, "the bridge ready", func() bool {
		code, _ := get("/readyz", user, password)
		return code == http.StatusOK
	})
	tests := []struct {
		name, path, user, pass string
		want                   int
	}{
		{"metrics without credentials", "/metrics", "", "", http.StatusUnauthorized},
		{"metrics, wrong password", "/metrics", user, "correct horse", http.StatusUnauthorized},
		{"metrics", "/metrics", user, password, http.StatusOK},
		{"healthz without credentials", "/healthz", "", "", http.StatusUnauthorized},
		{"healthz", "/healthz", user, password, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(tt.path, tt.user, tt.pass)
			if code != tt.want {
				t.Errorf("got %d %q, want %d", code, body, tt.want)
			}
			if code == http.StatusOK && tt.path == "/metrics" && !strings.Contains(body, "go_goroutines ") {
				t.Errorf("/metrics: no go_goroutines in\n%.1000s", body)
			}
		})
	}
	b.stop(t)
	if strings.Contains(b.log.String(), password) {
		t.Error("the password reached the log")
	}
}
