package watcher

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEveryScheduleSlots(t *testing.T) {
	tests := []struct {
		name           string
		every, offset  time.Duration
		at             time.Time
		wantPrev, want time.Time
	}{
		{"between slots", 5 * time.Minute, 0, utc("2026-01-01T10:07:30Z"), utc("2026-01-01T10:05:00Z"), utc("2026-01-01T10:10:00Z")},
		{"on a slot", 5 * time.Minute, 0, utc("2026-01-01T10:05:00Z"), utc("2026-01-01T10:05:00Z"), utc("2026-01-01T10:10:00Z")},
		{"with offset", 5 * time.Minute, 90 * time.Second, utc("2026-01-01T10:07:30Z"), utc("2026-01-01T10:06:30Z"), utc("2026-01-01T10:11:30Z")},
		{"before offset in period", 5 * time.Minute, 90 * time.Second, utc("2026-01-01T10:06:00Z"), utc("2026-01-01T10:01:30Z"), utc("2026-01-01T10:06:30Z")},
		{"interval not dividing an hour", 7 * time.Minute, 0, utc("1970-01-01T00:15:00Z"), utc("1970-01-01T00:14:00Z"), utc("1970-01-01T00:21:00Z")},
		{"before the epoch", time.Minute, 0, time.Unix(-1, 0).UTC(), time.Unix(-60, 0).UTC(), time.Unix(0, 0).UTC()},
		{"sub-second instant", time.Second, 0, time.Unix(100, 999_999_999).UTC(), time.Unix(100, 0).UTC(), time.Unix(101, 0).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := everySchedule{Every: tt.every, Offset: tt.offset}
			if got := s.Prev(tt.at); !got.Equal(tt.wantPrev) {
				t.Errorf("Prev(%s) = %s, want %s", tt.at, got, tt.wantPrev)
			}
			if got := s.Next(tt.at); !got.Equal(tt.want) {
				t.Errorf("Next(%s) = %s, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestEveryScheduleEpochAligned(t *testing.T) {
	at := utc("2026-11-26T15:37:26Z")
	for _, every := range []time.Duration{time.Second, 90 * time.Second, 5 * time.Minute, 7 * time.Minute, time.Hour, 25 * time.Hour} {
		for _, id := range []string{"world", "a", "b", "dprk-news"} {
			s, _, err := parseSchedule(fmt.Sprintf("@every %s", every), id, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			e := s.(everySchedule)
			if e.Offset < 0 || e.Offset >= every || e.Offset%time.Second != 0 {
				t.Errorf("offset of %s for %s = %s, want whole seconds in [0, %s)", id, every, e.Offset, every)
			}
			prev := s.Prev(at)
			if got := (prev.UnixNano() - int64(e.Offset)) % int64(every); got != 0 {
				t.Errorf("%s/%s: slot %s minus offset is %dns off the epoch grid, want 0", id, every, prev, got)
			}
			// A replica elsewhere (another zone, any moment within the slot) agrees.
			zone := time.FixedZone("X", 5*3600)
			for _, at := range []time.Time{prev, prev.Add(every / 2), prev.Add(every - time.Nanosecond)} {
				if got := s.Prev(at.In(zone)); !got.Equal(prev) {
					t.Errorf("%s/%s: Prev(%s) = %s, want %s", id, every, at.In(zone), got, prev)
				}
			}
		}
	}
}

func TestFeedOffsetStable(t *testing.T) {
	// These values are shared by every replica and every version: changing them moves every
	// feed's slots. They are FNV-1a 64 of the id modulo the interval in seconds.
	tests := []struct {
		id    string
		every time.Duration
		want  time.Duration
	}{
		{"world", 5 * time.Minute, 275 * time.Second},
		{"world", time.Hour, 275 * time.Second},
		{"a", time.Hour, 1996 * time.Second},
		{"b", time.Minute, 49 * time.Second},
		{"b", 500 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		if got := SlotOffset(tt.id, tt.every); got != tt.want {
			t.Errorf("SlotOffset(%q, %s) = %s, want %s", tt.id, tt.every, got, tt.want)
		}
	}
	distinct := map[time.Duration]bool{}
	for i := range 100 {
		distinct[SlotOffset(fmt.Sprintf("feed-%d", i), 5*time.Minute)] = true
	}
	if len(distinct) < 60 {
		t.Errorf("100 feeds got %d distinct offsets in 5m, want them spread (at least 60)", len(distinct))
	}
}

func TestEverySlot(t *testing.T) {
	// Offsets pinned by TestFeedOffsetStable: "world" 275s in 5m, "b" 49s in 1m.
	at := time.Date(2026, 11, 26, 15, 37, 26, 0, time.UTC)
	if got, want := EverySlot("world", 5*time.Minute, at), time.Date(2026, 11, 26, 15, 34, 35, 0, time.UTC); !got.Equal(want) {
		t.Errorf("EverySlot(world, 5m) = %s, want %s", got.UTC(), want)
	}
	if got, want := EverySlot("b", time.Minute, at), time.Date(2026, 11, 26, 15, 36, 49, 0, time.UTC); !got.Equal(want) {
		t.Errorf("EverySlot(b, 1m) = %s, want %s", got.UTC(), want)
	}
}

func TestCronSchedulePrev(t *testing.T) {
	tests := []struct {
		spec string
		at   time.Time
		want time.Time
	}{
		{"*/15 * * * *", utc("2026-03-04T10:07:00Z"), utc("2026-03-04T10:00:00Z")},
		{"*/15 * * * *", utc("2026-03-04T10:15:00Z"), utc("2026-03-04T10:15:00Z")},
		{"*/15 * * * *", utc("2026-03-04T10:14:59Z"), utc("2026-03-04T10:00:00Z")},
		{"@hourly", utc("2026-03-04T10:59:59Z"), utc("2026-03-04T10:00:00Z")},
		{"@daily", utc("2026-03-04T00:00:00.5Z"), utc("2026-03-04T00:00:00Z")},
		{"0 9 * * 1", utc("2026-03-04T08:00:00Z"), utc("2026-03-02T09:00:00Z")},
		{"0 0 29 2 *", utc("2026-06-01T00:00:00Z"), utc("2024-02-29T00:00:00Z")},
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", utc("2026-03-04T01:00:00Z"), utc("2026-03-04T00:00:00Z")},
		{"@every 1h", utc("2026-03-04T10:00:00Z"), utc("2026-03-04T09:33:16Z")}, // offset of "a": 1996s
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, _, err := parseSchedule(tt.spec, "a", time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Prev(tt.at)
			if !got.Equal(tt.want) {
				t.Fatalf("Prev(%s) = %s, want %s", tt.at, got, tt.want)
			}
			if next := s.Next(got); !next.After(tt.at) {
				t.Errorf("Next(Prev) = %s, want after %s", next, tt.at)
			}
		})
	}
}

func TestCronScheduleInLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := parseSchedule("0 9 * * *", "a", berlin)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Prev(utc("2026-01-10T12:00:00Z")), utc("2026-01-10T08:00:00Z"); !got.Equal(want) {
		t.Errorf("Prev = %s, want %s (09:00 in Berlin)", got, want)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct {
		spec string
		want error // nil: any error
	}{
		{"", nil},
		{"@every 500ms", nil},
		{"@every soon", nil},
		{"61 * * * *", nil},
		{"* * * *", nil},
		{"@fortnightly", nil},
		{"CRON_TZ=Nowhere/Void 0 9 * * *", nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			err := ValidateSchedule(tt.spec)
			if err == nil {
				t.Fatalf("ValidateSchedule(%q) = nil, want an error", tt.spec)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("ValidateSchedule(%q) = %v, want %v", tt.spec, err, tt.want)
			}
		})
	}
}

func TestScheduleKeys(t *testing.T) {
	key := func(spec, id string) string {
		t.Helper()
		_, k, err := parseSchedule(spec, id, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name       string
		a, idA     string
		b, idB     string
		wantShared bool
	}{
		{"same interval written twice", "@every 5m", "world", "@every 300s", "world", true},
		{"same interval, other feed, other offset", "@every 5m", "world", "@every 5m", "a", false},
		{"same cron spec, any feed", "*/2 * * * *", "world", "*/2  *  * * *", "a", true},
		{"other cron spec", "*/2 * * * *", "world", "*/3 * * * *", "world", false},
		{"same spec, other zone", "0 9 * * *", "a", "CRON_TZ=Asia/Tokyo 0 9 * * *", "a", false},
		{"explicit UTC zone", "0 9 * * *", "a", "CRON_TZ=UTC 0 9 * * *", "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := key(tt.a, tt.idA), key(tt.b, tt.idB)
			if got := ka == kb; got != tt.wantShared {
				t.Errorf("keys %q and %q shared = %v, want %v", ka, kb, got, tt.wantShared)
			}
		})
	}
}
