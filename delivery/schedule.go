package delivery

import (
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Period is one digest period: [Start, End). Its ID names it the same on every replica.
type Period struct {
	ID    string    `json:"id"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// periodID is the start of a period in UTC, to the second: unique and sortable whatever the time
// zone of the schedule (an hour repeated when clocks go back starts at two distinct instants).
func periodID(start time.Time) string {
	return start.UTC().Format("20060102T150405Z")
}

// Schedule cuts time into digest periods: every D aligned to the Unix epoch, or the intervals
// between the firings of a cron expression in a time zone. The zero Schedule is invalid.
type Schedule struct {
	every time.Duration
	cron  cron.Schedule
	loc   *time.Location
	spec  string
}

// ParseSchedule builds the schedule of every (when non-zero) or of the cron expression in the
// named time zone ("" is UTC). Errors name the field: every, cron or time_zone.
func ParseSchedule(every time.Duration, spec, tz string) (Schedule, error) {
	if spec == "" {
		if err := checkPeriod("every", every); err != nil {
			return Schedule{}, err
		}
		return Schedule{every: every, spec: "every " + every.String()}, nil
	}
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || strings.ContainsAny(tz, " \t\n") {
			return Schedule{}, optErr("time_zone", strconv.Quote(tz), "is not a known IANA time zone")
		}
		loc = l
	}
	trimmed := strings.TrimSpace(spec)
	switch {
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return Schedule{}, optErr("cron", strconv.Quote(spec), "takes its zone from time_zone, not a TZ= prefix")
	case strings.HasPrefix(trimmed, "@every"):
		return Schedule{}, optErr("cron", strconv.Quote(spec), "@every is not aligned to the clock: use every")
	}
	s, err := parseCron(trimmed)
	if err != nil {
		return Schedule{}, optErr("cron", strconv.Quote(spec), "is not a 5-field cron expression: %v", err)
	}
	sc := Schedule{cron: s, loc: loc, spec: trimmed}
	// A valid expression can still name no instant (30 February); it would never publish.
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if n := sc.next(ref); n.IsZero() {
		return Schedule{}, optErr("cron", strconv.Quote(spec), "never fires")
	}
	return sc, nil
}

// parseCron wraps robfig/cron, whose parser has panicked on some inputs in the past.
func parseCron(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &OptionError{Field: "cron", Reason: "cannot be parsed"}
		}
	}()
	return cron.ParseStandard(spec)
}

// String is the schedule as configured.
func (s Schedule) String() string { return s.spec }

// next is the first firing strictly after t, or the zero time when none comes within five years.
func (s Schedule) next(t time.Time) time.Time {
	return s.cron.Next(t.In(s.loc))
}

// maxLookBack bounds the search for the firing that opened a period; robfig/cron itself looks
// at most five years ahead.
const maxLookBack = 6 * 366 * 24 * time.Hour

// Period names the period t falls in. Every replica names the same period for the same
// instant, whatever its own time zone.
func (s Schedule) Period(t time.Time) Period {
	if s.every > 0 {
		// Aligned to the Unix epoch (time.Truncate would align to year 1).
		unix := t.Unix()
		n := int64(s.every / time.Second)
		q := unix / n
		if unix%n < 0 {
			q--
		}
		start := time.Unix(q*n, 0).UTC()
		return Period{ID: periodID(start), Start: start, End: start.Add(s.every)}
	}
	end := s.next(t)
	// The last firing at or before t: look back over growing spans until one holds a firing,
	// then walk forward to the last one not after t. The first span is the length of the next
	// period, which finds the firing at once for a regular schedule.
	d0 := time.Minute
	if after := s.next(end); !end.IsZero() && !after.IsZero() {
		d0 = max(d0, after.Sub(end))
	}
	var start time.Time
	for d := min(d0, maxLookBack); ; d = min(2*d, maxLookBack) {
		c := s.next(t.Add(-d))
		if c.IsZero() || c.After(t) {
			if d == maxLookBack {
				break
			}
			continue
		}
		for {
			n := s.next(c)
			if n.IsZero() || n.After(t) {
				break
			}
			c = n
		}
		start = c
		break
	}
	if start.IsZero() {
		// No firing in the six years before t: the period is taken to start at the Unix epoch.
		start = time.Unix(0, 0)
	}
	start, end = start.UTC(), end.UTC()
	return Period{ID: periodID(start), Start: start, End: end}
}
