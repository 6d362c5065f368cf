package delivery

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the zones of the DST tests, whatever the machine has installed
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchedulePeriod(t *testing.T) {
	tests := []struct {
		name       string
		every      time.Duration
		cron, tz   string
		at         string
		start, end string
	}{
		{"every hour", time.Hour, "", "", "2026-03-12T09:59:59Z", "2026-03-12T09:00:00Z", "2026-03-12T10:00:00Z"},
		{"every hour on the boundary", time.Hour, "", "", "2026-03-12T10:00:00Z", "2026-03-12T10:00:00Z", "2026-03-12T11:00:00Z"},
		{"every day is UTC midnight", 24 * time.Hour, "", "", "2026-03-12T23:30:00+02:00", "2026-03-12T00:00:00Z", "2026-03-13T00:00:00Z"},
		{"every 90m aligned to the epoch", 90 * time.Minute, "", "", "1970-01-01T02:00:00Z", "1970-01-01T01:30:00Z", "1970-01-01T03:00:00Z"},
		{"before the epoch", time.Hour, "", "", "1969-12-31T23:30:00Z", "1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z"},
		{"cron daily at 8 in Paris", 0, "0 8 * * *", "Europe/Paris", "2026-03-12T12:00:00Z", "2026-03-12T07:00:00Z", "2026-03-13T07:00:00Z"},
		{"cron before the first firing of the day", 0, "0 8 * * *", "Europe/Paris", "2026-03-12T06:59:59Z", "2026-03-11T07:00:00Z", "2026-03-12T07:00:00Z"},
		{"cron at a firing", 0, "0 8 * * *", "Europe/Paris", "2026-03-12T07:00:00Z", "2026-03-12T07:00:00Z", "2026-03-13T07:00:00Z"},
		{"cron twice a day", 0, "0 8,18 * * *", "", "2026-03-12T19:00:00Z", "2026-03-12T18:00:00Z", "2026-03-13T08:00:00Z"},
		{"cron weekly on Monday", 0, "0 9 * * 1", "UTC", "2026-03-12T12:00:00Z", "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"},
		{"cron monthly", 0, "@monthly", "", "2026-03-12T12:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{"cron on 29 February", 0, "0 0 29 2 *", "", "2026-03-12T12:00:00Z", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
		// DST in Europe/Paris: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
		{"spring forward: a 23-hour day", 0, "0 0 * * *", "Europe/Paris", "2026-03-29T12:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"fall back: a 25-hour day", 0, "0 0 * * *", "Europe/Paris", "2026-10-25T12:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"},
		// robfig/cron skips a firing that falls in the gap: that day has none, the period spans two.
		{"spring forward: 02:30 does not exist", 0, "30 2 * * *", "Europe/Paris", "2026-03-29T12:00:00Z", "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"},
		{"New York spring forward at 9", 0, "0 9 * * *", "America/New_York", "2026-03-08T20:00:00Z", "2026-03-08T13:00:00Z", "2026-03-09T13:00:00Z"},
		{"New York the day before", 0, "0 9 * * *", "America/New_York", "2026-03-08T12:00:00Z", "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.every, tt.cron, tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			p := s.Period(mustTime(t, tt.at))
			if want := mustTime(t, tt.start); !p.Start.Equal(want) {
				t.Errorf("start: got %s, want %s", p.Start, want)
			}
			if want := mustTime(t, tt.end); !p.End.Equal(want) {
				t.Errorf("end: got %s, want %s", p.End, want)
			}
			if want := periodID(mustTime(t, tt.start)); p.ID != want {
				t.Errorf("id: got %s, want %s", p.ID, want)
			}
		})
	}
}

// TestSchedulePeriodsTile walks every minute of days around both DST changes and checks that the
// periods tile time: each instant is in its period, the period of its start is itself, and the
// next period starts where it ends. Replicas in other zones name the same periods.
func TestSchedulePeriodsTile(t *testing.T) {
	specs := []struct{ cron, tz string }{
		{"0 0 * * *", "Europe/Paris"},
		{"30 2 * * *", "Europe/Paris"},   // skipped in spring, repeated in autumn
		{"0 1-3 * * *", "Europe/Paris"},  // hours that vanish and repeat
		{"*/20 * * * *", "Europe/Paris"}, // many firings through the change
		{"0 9 * * 1-5", "America/New_York"},
		{"30 1 * * *", "America/New_York"}, // 01:30 twice on the fall-back day
	}
	days := []string{"2026-03-07T00:00:00Z", "2026-03-28T00:00:00Z", "2026-10-24T00:00:00Z", "2026-10-31T00:00:00Z", "2026-04-04T00:00:00Z"}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		s, err := ParseSchedule(0, sp.cron, sp.tz)
		if err != nil {
			t.Fatal(err)
		}
		for _, day := range days {
			from := mustTime(t, day)
			var prev Period
			for at := from; at.Before(from.Add(48 * time.Hour)); at = at.Add(11 * time.Minute) {
				p := s.Period(at)
				if at.Before(p.Start) || !at.Before(p.End) {
					t.Fatalf("%s %s: %s is not in its period [%s, %s)", sp.cron, sp.tz, at, p.Start, p.End)
				}
				if q := s.Period(p.Start); q != p {
					t.Fatalf("%s %s: period of %s is %+v, want %+v", sp.cron, sp.tz, p.Start, q, p)
				}
				if q := s.Period(at.In(tokyo)); q.ID != p.ID || !q.End.Equal(p.End) {
					t.Fatalf("%s %s: in Tokyo %s is in %+v, want %+v", sp.cron, sp.tz, at, q, p)
				}
				if prev.ID != "" && prev.ID != p.ID && !prev.End.Equal(p.Start) {
					t.Fatalf("%s %s: period %+v follows %+v: a gap or an overlap", sp.cron, sp.tz, p, prev)
				}
				prev = p
			}
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		name     string
		every    time.Duration
		cron, tz string
		field    string
	}{
		{"no period", 0, "", "", "every"},
		{"too short", time.Second, "", "", "every"},
		{"too long", 32 * 24 * time.Hour, "", "", "every"},
		{"fractional seconds", 1500 * time.Millisecond * 60, "", "", ""},
		{"bad cron", 0, "0 8 * *", "", "cron"},
		{"seconds field", 0, "0 0 8 * * *", "", "cron"},
		{"never fires", 0, "0 0 30 2 *", "", "cron"},
		{"unaligned @every", 0, "@every 1h", "", "cron"},
		{"zone prefix", 0, "CRON_TZ=Europe/Paris 0 8 * * *", "", "cron"},
		{"unknown zone", 0, "0 8 * * *", "Mars/Olympus", "time_zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchedule(tt.every, tt.cron, tt.tz)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("got %v, want an *OptionError", err)
			}
			if oe.Field != tt.field {
				t.Errorf("field: got %q, want %q (%v)", oe.Field, tt.field, err)
			}
		})
	}
}

// TestSchedulePeriodIrregular: the period of a schedule whose gaps differ (29 February, every
// four years but eight around 2100) is found whatever the length of the next one.
func TestSchedulePeriodIrregular(t *testing.T) {
	s, err := ParseSchedule(0, "0 0 29 2 *", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ at, start string }{
		{"2027-01-01T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"2028-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"2028-02-28T23:59:59Z", "2024-02-29T00:00:00Z"},
	} {
		if p := s.Period(mustTime(t, tc.at)); !p.Start.Equal(mustTime(t, tc.start)) {
			t.Errorf("period of %s: got start %s, want %s", tc.at, p.Start, tc.start)
		}
	}
}
