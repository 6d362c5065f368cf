package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// healthcheckCmd asks the readiness endpoint, through the TLS and basic auth of the daemon's web
// configuration file when it has one. It takes the password from a file, never from the command
// line, where every user of the machine could read it.
type healthcheckCmd struct {
	URL string `default:"http://127.0.0.1:9780/readyz" help:"The readiness endpoint to ask (https:// when the web configuration file sets TLS)."`
	webClient
}

// webClient is how the commands that ask the daemon's HTTP endpoints (healthcheck, status,
// poll) reach them through its web configuration file's basic auth and TLS.
type webClient struct {
	User               string `help:"User of the web configuration file's basic_auth_users."`
	PasswordFile       string `type:"path" help:"File holding that user's password (the password, not its hash)."`
	CAFile             string `name:"ca-file" type:"path" help:"PEM file of the certificate authorities that signed the endpoint's certificate, instead of the system's."`
	InsecureSkipVerify bool   `help:"Accept any certificate of the endpoint (TLS still encrypts; nothing proves the endpoint is the daemon)."`
}

// healthcheckTimeout bounds the whole request, below the container's HEALTHCHECK timeout.
const healthcheckTimeout = 5 * time.Second

// Run exits 0 when the endpoint answers 200 within a few seconds, 1 otherwise.
func (c healthcheckCmd) Run(e *env) error {
	client, err := c.client()
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: healthcheck: %v\n", err)
		return exitError{1}
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	req, err := c.request(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: healthcheck: %v\n", err)
		return exitError{1}
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "newswatch: healthcheck: %v\n", err)
		return exitError{1}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "newswatch: healthcheck: %s answered %s\n", c.URL, resp.Status)
		return exitError{1}
	}
	return nil
}

// request is the GET of the endpoint, with basic auth when a user is given.
func (c healthcheckCmd) request(ctx context.Context) (*http.Request, error) {
	return c.newRequest(ctx, http.MethodGet, c.URL)
}

// newRequest is a body-less request of url, with basic auth when a user is given.
func (c webClient) newRequest(ctx context.Context, method, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case c.User == "" && c.PasswordFile == "":
		return req, nil
	case c.User == "":
		return nil, errors.New("--password-file needs --user")
	case c.PasswordFile == "":
		return nil, errors.New("--user needs --password-file")
	}
	b, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	// One trailing line end is the file's, not the password's.
	password := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if password == "" {
		return nil, fmt.Errorf("password file %s is empty", c.PasswordFile)
	}
	req.SetBasicAuth(c.User, password)
	return req, nil
}

// client trusts the CA file's certificates, when given, instead of the system's.
func (c webClient) client() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the daemon is asked directly: no proxy of the environment sees the password
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}
