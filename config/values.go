package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"

	"github.com/newswatch/newswatch/internal/redact"
)

// idPattern is what feed ids, rule ids, list names and tags match: they become
// NATS subject tokens and query words.
const idPattern = `[a-z0-9][a-z0-9_-]{0,63}`

var idRE = regexp.MustCompile(`^` + idPattern + `$`)

// checkID validates an id; what names it in the message ("feed id", "tag").
func checkID(what, s string) error {
	if !idRE.MatchString(s) {
		return fmt.Errorf("invalid %s %q: must match %s", what, s, idPattern)
	}
	return nil
}

// checkSchedule validates a schedule: 5-field cron or a descriptor, as
// robfig/cron's ParseStandard reads them, with @every at least 1s and in whole
// seconds (robfig/cron would silently round anything else).
func checkSchedule(s string) error {
	if s == "auto" {
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return fmt.Errorf("invalid schedule %q: %q is not a duration such as 90s", s, rest)
		}
		if d < time.Second {
			return fmt.Errorf("invalid schedule %q: @every needs at least 1s", s)
		}
		if d%time.Second != 0 {
			return fmt.Errorf("invalid schedule %q: @every needs whole seconds", s)
		}
	}
	if _, err := cron.ParseStandard(s); err != nil {
		msg := err.Error()
		// "expected exactly 5 fields, found 3: [*/2 * *]" repeats the value.
		if strings.HasPrefix(msg, "expected ") {
			msg, _, _ = strings.Cut(msg, ": [")
		}
		return fmt.Errorf("invalid schedule %q: %s", s, msg)
	}
	return nil
}

// parseDuration reads a positive Go duration such as 90s, 30m or 24h.
func parseDuration(what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: want a duration such as 90s, 30m or 24h", what, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: must be positive", what, s)
	}
	return d, nil
}

// sizeUnits are the units of a size; decimal and binary prefixes both.
var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// parseSize reads a positive size: plain bytes or an integer with a unit,
// such as 512KiB, 10MiB or 1MB.
func parseSize(what, s string) (int64, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid %s %q: %s", what, s, why)
	}
	digits := strings.TrimLeftFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	numText := s[:len(s)-len(digits)]
	unit := strings.TrimSpace(digits)
	if numText == "" {
		return 0, bad("want bytes or a size such as 512KiB, 10MiB or 1MB")
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, bad("unknown unit " + strconv.Quote(unit) + ", want B, kB, MB, GB, TB, KiB, MiB, GiB or TiB")
	}
	n, err := strconv.ParseInt(numText, 10, 64)
	if err != nil || n > (1<<63-1)/mult {
		return 0, bad("too large")
	}
	if n == 0 {
		return 0, bad("must be positive")
	}
	return n * mult, nil
}

// parseReplicas reads a replica count from 1 to 5, or 0 for the default.
func parseReplicas(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 5 {
		return 0, fmt.Errorf("invalid replicas %q: want 1 to 5, or 0 to choose by the server (3 on a cluster, else 1)", s)
	}
	return n, nil
}

// parseFloodGuard reads a number of items from 0 (off) up.
func parseFloodGuard(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid flood_guard %q: want a number of items, or 0 to turn the guard off", s)
	}
	return n, nil
}

// parseFirstPoll reads baseline, all or a positive duration.
func parseFirstPoll(s string) (FirstPoll, error) {
	switch s {
	case string(FirstPollBaseline):
		return FirstPoll{Mode: FirstPollBaseline}, nil
	case string(FirstPollAll):
		return FirstPoll{Mode: FirstPollAll}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return FirstPoll{}, fmt.Errorf("invalid first_poll %q: want baseline, all or a positive duration such as 24h", s)
	}
	return FirstPoll{Mode: FirstPollWindow, Window: d}, nil
}

// checkFeedURL accepts absolute http and https URLs with a host.
func checkFeedURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("invalid feed url %q: %v", redact.URL(s), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid feed url %q: scheme must be http or https", redact.URL(s))
	}
	if u.Hostname() == "" {
		return fmt.Errorf("invalid feed url %q: no host", redact.URL(s))
	}
	return nil
}

// checkListen accepts host:port with a numeric port; the host may be empty
// (every interface).
func checkListen(what, s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid %s %q: want host:port such as 127.0.0.1:9780", what, s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid %s %q: port must be a number from 0 to 65535", what, s)
	}
	return nil
}

// checkNATSURL accepts "" or what nats.go's Connect does: a comma-separated
// list of servers, each host:port or a nats, tls, ws or wss URL. Credentials
// in a URL are refused, and never repeated in the message: they belong in the
// file that creds_file names.
func checkNATSURL(s string) error {
	if s == "" {
		return nil // the embedded server
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return fmt.Errorf("invalid nats url %q: empty server in the list", redact.URLs(s))
		}
		if strings.Contains(part, "@") {
			return fmt.Errorf("invalid nats url %q: credentials in a url are not allowed; name a credentials file with creds_file", redact.URLs(s))
		}
		if !strings.Contains(part, "://") {
			continue
		}
		u, err := url.Parse(part)
		if err != nil {
			return fmt.Errorf("invalid nats url %q: cannot parse %q", s, part)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("invalid nats url %q: scheme %q, want nats, tls, ws or wss", s, u.Scheme)
		}
		if u.Hostname() == "" {
			return fmt.Errorf("invalid nats url %q: no host in %q", s, part)
		}
	}
	return nil
}

// checkSubjectPrefix accepts dot-separated NATS subject tokens without
// wildcards or white space.
func checkSubjectPrefix(s string) error {
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*>") || strings.IndexFunc(tok, badSubjectRune) >= 0 {
			return fmt.Errorf("invalid subject_prefix %q: want dot-separated tokens without spaces, * or >", s)
		}
	}
	return nil
}

func badSubjectRune(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }

// checkStreamName accepts a JetStream stream name.
func checkStreamName(what string) func(string) error {
	return func(s string) error {
		if s == "" || len(s) > 255 || strings.ContainsAny(s, ".*>/\\") || strings.IndexFunc(s, badSubjectRune) >= 0 {
			return fmt.Errorf("invalid %s %q: want a stream name without spaces, ., *, >, / or \\", what, s)
		}
		return nil
	}
}

// maxMaxAlertsPerPoll bounds max_alerts_per_poll: alerts are built in batches, but their
// items stay in memory for the whole poll.
const maxMaxAlertsPerPoll = 100000

// parseMaxAlertsPerPoll reads a number of alerts from 1 to maxMaxAlertsPerPoll.
func parseMaxAlertsPerPoll(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxMaxAlertsPerPoll {
		return 0, fmt.Errorf("invalid max_alerts_per_poll %q: want a number of alerts from 1 to %d", s, maxMaxAlertsPerPoll)
	}
	return n, nil
}
