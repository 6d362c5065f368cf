package notifier

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/nats-io/nats.go"
)

// ConnectError is the error of a failed connection to NATS: the server(s) and what happened,
// the dial error ("connection refused", "no such host") rather than nats.go's "no servers
// available for connection". Its message reads "cannot connect to nats://127.0.0.1:4222:
// connection refused".
type ConnectError struct {
	URL string // redacted
	Err error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to %s: %v", e.URL, dialCause(e.Err))
}

func (e *ConnectError) Unwrap() error { return e.Err }

// dialCause is the part of a dial error that says what happened: "connection refused" of
// "dial tcp 127.0.0.1:4222: connect: connection refused".
func dialCause(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Err == nil {
		return err
	}
	var sys *os.SyscallError
	if errors.As(op.Err, &sys) {
		return sys.Err
	}
	return op.Err
}

// dialTimeout bounds one dial of Connect, as nats.go's default dialer does.
const dialTimeout = nats.DefaultTimeout

// recordingDialer dials as nats.go does and keeps the last dial error, which nats.go replaces
// with ErrNoServers.
type recordingDialer struct {
	d    net.Dialer
	mu   sync.Mutex
	last error
}

func (r *recordingDialer) Dial(network, address string) (net.Conn, error) {
	c, err := r.d.Dial(network, address)
	if err != nil {
		r.mu.Lock()
		r.last = err
		r.mu.Unlock()
	}
	return c, err
}

func (r *recordingDialer) lastErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Connect makes a command's connection to NATS: it tries each server of url once, without
// retrying the first connection, and fails with a *ConnectError that says why. Once connected,
// the connection reconnects as opts say. opts are applied before its own, which turn off
// nats.RetryOnFailedConnect.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	rd := &recordingDialer{d: net.Dialer{Timeout: dialTimeout}}
	opts = append(opts, nats.RetryOnFailedConnect(false), nats.SetCustomDialer(rd))
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		return nc, nil
	}
	if errors.Is(err, nats.ErrNoServers) {
		if last := rd.lastErr(); last != nil {
			err = last
		}
	}
	return nil, &ConnectError{URL: RedactURL(url), Err: err}
}
