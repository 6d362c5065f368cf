package watcher

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxRedirects is how many redirects one fetch follows.
const maxRedirects = 5

// errBadGzip is a body announced as gzip that is not.
var errBadGzip = errors.New("bad gzip body")

// FetchOptions are the limits of one fetch.
type FetchOptions struct {
	// UserAgent is sent as User-Agent; empty means DefaultUserAgent.
	UserAgent string
	// Timeout bounds the whole fetch, reading the body included. It must be positive.
	Timeout time.Duration
	// MaxBody bounds the body after decompression, in bytes. It must be positive.
	MaxBody int64
	// AllowPrivate permits every address; otherwise the address guard refuses those that
	// AddressPolicy refuses, at dial time, for the URL and for every redirect.
	AllowPrivate bool
	// AddressPolicy is the address guard of FetchOnce; nil means PublicOnly. A Watcher takes
	// its policy from Config.AddressPolicy instead, since its connections outlive one fetch.
	AddressPolicy AddressPolicy

	// raw keeps the body in the charset it came in, for a reader of HTML that finds it in the
	// page itself (<meta charset>), which toUTF8 does not read.
	raw bool
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

// fetchResult is one successful answer: a body in UTF-8, or NotModified for a 304.
type fetchResult struct {
	NotModified bool
	Body        []byte
	Validators  validators
	// MovedTo is where the request's URL moved permanently: the URL reached by the redirects
	// that begin the chain, when all of them are 301 or 308; empty otherwise. It is not
	// redacted: the caller stores what adoptableMove makes of it.
	MovedTo string
	// MaxAge is the answer's Cache-Control max-age (s-maxage when given); 0 when absent.
	MaxAge time.Duration
	// ContentType is the answer's Content-Type.
	ContentType string
}

// fetcher performs the HTTP side of a poll; every request of the package goes through it. It
// owns two transports, one behind the address guard and one for feeds that allow private
// addresses, so that a connection dialed for one is never reused for the other, and it limits
// the requests in flight to one host. It is safe for concurrent use.
type fetcher struct {
	guarded, open *http.Client
	hostLimit     int

	mu    sync.Mutex
	hosts map[string]chan struct{} // a semaphore per host, created on first use
}

// newFetcher returns a fetcher whose guard refuses what policy refuses (nil: PublicOnly) and
// that runs at most hostLimit requests to one host at once (0: DefaultHostConcurrency).
func newFetcher(policy AddressPolicy, hostLimit int) *fetcher {
	if policy == nil {
		policy = PublicOnly
	}
	return &fetcher{
		guarded:   newClient(policy),
		open:      newClient(nil),
		hostLimit: orDefault(hostLimit, DefaultHostConcurrency),
		hosts:     make(map[string]chan struct{}),
	}
}

func newClient(policy AddressPolicy) *http.Client {
	tr := &http.Transport{
		// No proxy: the guard must see the address of the feed's host, not a proxy's.
		Proxy:                 nil,
		DialContext:           guardedDialer(policy).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		// We ask for gzip and decompress ourselves, so that MaxBody bounds the decompressed size.
		DisableCompression: true,
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// close releases idle connections; the fetcher stays usable.
func (f *fetcher) close() {
	f.guarded.CloseIdleConnections()
	f.open.CloseIdleConnections()
}

// acquire waits for a free request slot of host, and returns its release.
func (f *fetcher) acquire(ctx context.Context, host string) (func(), error) {
	f.mu.Lock()
	sem := f.hosts[host]
	if sem == nil {
		sem = make(chan struct{}, f.hostLimit)
		f.hosts[host] = sem
	}
	f.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a connection to %s: %w", host, context.Cause(ctx))
	}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, maxRedirects)
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("%w: redirect to %q", ErrUnsupportedScheme, s)
	}
	// The client sets Referer to the previous URL, query included: a token in the feed's query
	// would go to wherever the feed redirects. A poller has nothing to tell with it.
	req.Header.Del("Referer")
	if leftOrigin(via[0].URL, slices.Concat(via[1:], []*http.Request{req})) {
		// Credentials go to the scheme and host they were given for, and no further: the
		// client turns a URL's userinfo into basic auth on every request whose URL has it
		// (a Location may hold one), and copies credential headers of the first request to
		// the same host over plain http and to its subdomains.
		req.URL.User = nil
		for _, h := range credentialHeaders {
			req.Header.Del(h)
		}
	}
	return nil
}

// credentialHeaders are the request headers that carry credentials.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// leftOrigin reports whether any of the requests of a redirect chain went to another scheme or
// host (port included) than origin, the URL of the first.
func leftOrigin(origin *url.URL, chain []*http.Request) bool {
	for _, r := range chain {
		if r.URL.Scheme != origin.Scheme || !strings.EqualFold(r.URL.Host, origin.Host) {
			return true
		}
	}
	return false
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
	// Waiting for the host is bounded by the caller's context, not by the feed's Timeout: many
	// feeds of one host must not time out for being many.
	release, err := f.acquire(ctx, strings.ToLower(u.Host))
	if err != nil {
		return fetchResult{}, err
	}
	defer release()
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

	client := f.guarded
	if opts.AllowPrivate {
		client = f.open
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetchResult{}, ctxError(ctx, stripURLError(err))
	}
	defer resp.Body.Close()

	got := validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	moved := movedTo(resp)
	maxAge := parseMaxAge(resp.Header.Values("Cache-Control"))
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return fetchResult{NotModified: true, Validators: got, MovedTo: moved, MaxAge: maxAge}, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		he := &HTTPError{StatusCode: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			he.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return fetchResult{}, he
	}
	body, err := readBody(resp, opts.MaxBody)
	if err != nil {
		return fetchResult{}, ctxError(ctx, err)
	}
	ct := resp.Header.Get("Content-Type")
	if !opts.raw {
		body = toUTF8(body, ct)
	}
	return fetchResult{Body: body, Validators: got, MovedTo: moved, MaxAge: maxAge, ContentType: ct}, nil
}

// parseMaxAge reads the freshness lifetime a server gives an answer in its Cache-Control
// headers: s-maxage (a shared cache is what a poller of many feeds is) else max-age; 0 when
// there is none, or no-cache or no-store asks to revalidate every time.
func parseMaxAge(values []string) time.Duration {
	var maxAge, sMaxAge int64 = -1, -1
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				return 0
			case "max-age":
				if err == nil && n >= 0 {
					maxAge = n
				}
			case "s-maxage":
				if err == nil && n >= 0 {
					sMaxAge = n
				}
			}
		}
	}
	n := maxAge
	if sMaxAge >= 0 {
		n = sMaxAge
	}
	if n <= 0 {
		return 0
	}
	return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
}

// movedTo returns the URL that the permanent redirects (301, 308) at the start of resp's
// redirect chain lead to; empty when the chain does not start with one.
func movedTo(resp *http.Response) string {
	// resp.Request is the last request; each request made for a redirect carries the
	// response that caused it.
	var chain []*http.Request
	for r := resp.Request; r != nil; {
		chain = append(chain, r)
		if r.Response == nil {
			break
		}
		r = r.Response.Request
	}
	slices.Reverse(chain) // chain[0] is the original request
	moved := ""
	for _, r := range chain[1:] {
		if s := r.Response.StatusCode; s != http.StatusMovedPermanently && s != http.StatusPermanentRedirect {
			break
		}
		moved = r.URL.String()
	}
	return moved
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
			return nil, fmt.Errorf("%w: %w", errBadGzip, err)
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
// and returns its body, converted to UTF-8. It is what a dry run uses to read a feed by URL.
//
// Unless opts.AllowPrivate is set, the address guard (opts.AddressPolicy) applies: a caller that
// fetches a URL the user typed on the command line passes AllowPrivate explicitly.
func FetchOnce(ctx context.Context, rawURL string, opts FetchOptions) ([]byte, error) {
	f := newFetcher(opts.AddressPolicy, 1)
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
