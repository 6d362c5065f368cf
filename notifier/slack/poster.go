package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Poster posts one message to one channel. Its errors tell how to go on: one wrapping
// ErrPermanent will fail again however often it is retried; a *RateLimitError says how long to
// wait; any other error is transient.
type Poster interface {
	Post(ctx context.Context, channel string, m Message) (Receipt, error)
}

// Receipt is Slack's answer to an accepted message.
type Receipt struct {
	Channel string // the channel id, when the API says it (webhooks do not)
	TS      string // the message's timestamp, its id within the channel (webhooks do not say it)
}

// ErrPermanent is wrapped by the errors of messages that Slack refused for a reason that a retry
// does not change: an unknown channel, a revoked token, a malformed message.
var ErrPermanent = errors.New("slack: permanent refusal")

// RateLimitError is a 429 answer: nothing may be sent to the channel for RetryAfter.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("slack rate limit: retry after %s", e.RetryAfter)
}

// defaultRetryAfter is assumed when a 429 does not say how long to wait.
const defaultRetryAfter = 5 * time.Second

// transientAPIErrors are the "error" values of {"ok":false} answers that a later attempt may not
// get; every other one is permanent.
var transientAPIErrors = []string{"internal_error", "fatal_error", "service_unavailable", "request_timeout"}

// classify turns an error of slack-go into one of the three kinds a Poster returns.
func classify(err error) error {
	if rl, ok := errors.AsType[*slackapi.RateLimitedError](err); ok {
		return &RateLimitError{RetryAfter: max(rl.RetryAfter, time.Second)}
	}
	if sc, ok := errors.AsType[slackapi.StatusCodeError](err); ok {
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return &RateLimitError{RetryAfter: defaultRetryAfter}
		case sc.Code >= 500 || sc.Code == http.StatusRequestTimeout:
			return fmt.Errorf("slack answered %d: %w", sc.Code, err)
		default:
			return fmt.Errorf("slack answered %d: %w: %w", sc.Code, ErrPermanent, err)
		}
	}
	if re, ok := errors.AsType[slackapi.SlackErrorResponse](err); ok {
		switch {
		case re.Err == "ratelimited" || re.Err == "rate_limited":
			return &RateLimitError{RetryAfter: defaultRetryAfter}
		case slices.Contains(transientAPIErrors, re.Err):
			return fmt.Errorf("slack error %s: %w", re.Err, err)
		default:
			return fmt.Errorf("slack error %s: %w: %w", re.Err, ErrPermanent, err)
		}
	}
	return err
}

// redactedError hides a secret (a webhook URL) in the text of an error that may quote it, such
// as a *url.Error, while errors.Is and errors.As still see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactErr(err error, secret, with string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, with), err: err}
}
