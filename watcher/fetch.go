package watcher

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxRedirects is how many redirects one fetch follows.
const maxRedirects = 5

// FetchOptions are the limits of one fetch.
type FetchOptions struct {
	// UserAgent is sent as User-Agent; empty means DefaultUserAgent.
	UserAgent string
	// Timeout bounds the whole fetch, reading the body included. It must be positive.
	Timeout time.Duration
	// MaxBody bounds the body after decompression, in bytes. It must be positive.
	MaxBody int64
	// AllowPrivate will permit loopback, private and link-local addresses once the address guard
	// exists; it is carried but not enforced yet.
	AllowPrivate bool
}

func (o FetchOptions) validate() error {
	if o.Timeout <= 0 {
		return fmt.Errorf("timeout must be positive, got %s", o.Timeout)
	}
	if o.MaxBody <= 0 {
		return fmt.Errorf("max body must be positive, got %d", o.MaxBody)
	}
	return nil
}

// validators are the cache validators of the previous answer, for a conditional GET.
type validators struct {
	ETag         string
	LastModified string
}

// fetchResult is one successful answer: a body, or NotModified for a 304.
type fetchResult struct {
	NotModified bool
	Body        []byte
	Validators  validators
}

// fetcher performs the HTTP side of a poll. It is the seam for the hardening that comes later
// (address guard, Retry-After, per-host limits): every request of the package goes through it.
// It is safe for concurrent use.
type fetcher struct {
	client    *http.Client
	transport *http.Transport
}

func newFetcher() *fetcher {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// We ask for gzip and decompress ourselves, so that MaxBody bounds the decompressed size.
	tr.DisableCompression = true
	return &fetcher{
		transport: tr,
		client:    &http.Client{Transport: tr, CheckRedirect: checkRedirect},
	}
}

// close releases idle connections; the fetcher stays usable.
func (f *fetcher) close() { f.transport.CloseIdleConnections() }

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, maxRedirects)
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("%w: redirect to %q", ErrUnsupportedScheme, s)
	}
	return nil
}

// fetch GETs rawURL, conditionally when v holds validators. Errors name the URL without its
// userinfo. When ctx itself is done the error wraps ctx's cause, not ErrTimeout.
func (f *fetcher) fetch(ctx context.Context, rawURL string, opts FetchOptions, v validators) (fetchResult, error) {
	res, err := f.do(ctx, rawURL, opts, v)
	if err != nil {
		return fetchResult{}, fmt.Errorf("fetch %s: %w", redactURL(rawURL), err)
	}
	return res, nil
}

func (f *fetcher) do(ctx context.Context, rawURL string, opts FetchOptions, v validators) (fetchResult, error) {
	if err := opts.validate(); err != nil {
		return fetchResult{}, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fetchResult{}, fmt.Errorf("parse URL: %w", stripURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fetchResult{}, fmt.Errorf("%w: %q", ErrUnsupportedScheme, u.Scheme)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, opts.Timeout, fmt.Errorf("%w after %s", ErrTimeout, opts.Timeout))
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fetchResult{}, fmt.Errorf("build request: %w", err)
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
	req.Header.Set("Accept-Encoding", "gzip")
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}

	resp, err := f.client.Do(req)
	if err != nil {
		return fetchResult{}, ctxError(ctx, stripURLError(err))
	}
	defer resp.Body.Close()

	got := validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return fetchResult{NotModified: true, Validators: got}, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fetchResult{}, &HTTPError{StatusCode: resp.StatusCode}
	}
	body, err := readBody(resp, opts.MaxBody)
	if err != nil {
		return fetchResult{}, ctxError(ctx, err)
	}
	return fetchResult{Body: body, Validators: got}, nil
}

// readBody reads the body, decompressing gzip, and fails once more than maxBody bytes come out.
func readBody(resp *http.Response, maxBody int64) ([]byte, error) {
	var r io.Reader = resp.Body
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		if resp.ContentLength > maxBody {
			return nil, fmt.Errorf("%w: Content-Length %d exceeds %d", ErrBodyTooLarge, resp.ContentLength, maxBody)
		}
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedEncoding, enc)
	}
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, maxBody)
	}
	return body, nil
}

// ctxError reports a failure caused by the fetch's own deadline as its cause (ErrTimeout), and
// one caused by the caller's context as that context's cause.
func ctxError(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return err
}

// stripURLError drops the *url.Error wrapper, whose message repeats the URL and may include its
// username.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// FetchOnce GETs a feed with the same client, headers and limits as a poll, without validators,
// and returns its body. It is what a dry run uses to read a feed by URL.
func FetchOnce(ctx context.Context, rawURL string, opts FetchOptions) ([]byte, error) {
	f := newFetcher()
	defer f.close()
	res, err := f.fetch(ctx, rawURL, opts, validators{})
	if err != nil {
		return nil, err
	}
	if res.NotModified {
		return nil, fmt.Errorf("fetch %s: %w", redactURL(rawURL), &HTTPError{StatusCode: http.StatusNotModified})
	}
	return res.Body, nil
}
