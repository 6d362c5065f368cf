package watcher

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// slotSchedule is a cron.Schedule that can also name its most recent activation, so that a tick
// knows the slot it fires for and a fresh start can enqueue the slot it missed.
type slotSchedule interface {
	cron.Schedule
	// Prev returns the latest activation at or before t, or the zero time when there is none
	// within prevHorizon.
	Prev(t time.Time) time.Time
}

// prevHorizon is how far back Prev looks for a cron activation; beyond it a schedule counts as
// never having fired (robfig/cron gives up after five years going forward).
const prevHorizon = 16 * 365 * 24 * time.Hour

// everySchedule fires every Every, on the instants Unix epoch + Offset + k*Every. Every replica
// computes the same instants without talking to the others.
type everySchedule struct {
	Every  time.Duration
	Offset time.Duration
}

func (s everySchedule) Prev(t time.Time) time.Time {
	n := t.UnixNano() - int64(s.Offset)
	k := n / int64(s.Every)
	if n%int64(s.Every) < 0 {
		k-- // floor, not truncation, before the epoch
	}
	return time.Unix(0, k*int64(s.Every)+int64(s.Offset)).In(t.Location())
}

func (s everySchedule) Next(t time.Time) time.Time { return s.Prev(t).Add(s.Every) }

// cronSchedule is a 5-field cron expression or a descriptor such as @hourly.
type cronSchedule struct {
	cron.Schedule
}

// Prev finds the latest activation at or before t by widening a window back from t until it
// holds one, then bisecting: for b below that activation Next(b) <= t, for b at or after it
// Next(b) > t. Activations fall on whole seconds, so a one-second bracket pins it.
func (s cronSchedule) Prev(t time.Time) time.Time {
	fired := func(b time.Time) bool {
		n := s.Next(b)
		return !n.IsZero() && !n.After(t)
	}
	w := time.Minute
	for !fired(t.Add(-w)) {
		if w >= prevHorizon {
			return time.Time{}
		}
		w *= 2
	}
	lo, hi := t.Add(-w), t
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if fired(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return s.Next(lo)
}

// AutoSchedule is the schedule that adapts a feed's polls to how often it publishes; see
// Feed.AutoMin.
const AutoSchedule = "auto"

// parseSchedule parses a feed's schedule. "@every D" becomes an epoch-aligned schedule with the
// feed's offset; anything else is a robfig/cron standard spec (5 fields or a descriptor, with an
// optional CRON_TZ= prefix) interpreted in loc unless it names its own zone. The returned key is
// equal for feeds that fire at exactly the same instants, so that they share one cron entry.
func parseSchedule(spec, feedID string, loc *time.Location) (slotSchedule, string, error) {
	ps, err := parseSpec(spec, loc)
	if err != nil {
		return nil, "", err
	}
	sched, key := ps.forFeed(feedID)
	return sched, key, nil
}

// parsedSpec is a schedule spec parsed once for every feed that has it: an interval for
// "@every D", else a cron schedule.
type parsedSpec struct {
	every time.Duration
	cron  cronSchedule
	key   string // of the cron schedule
}

func parseSpec(spec string, loc *time.Location) (parsedSpec, error) {
	spec = strings.Join(strings.Fields(spec), " ")
	if spec == "" {
		return parsedSpec{}, errors.New("schedule is empty")
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return parsedSpec{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	switch s := s.(type) {
	case cron.ConstantDelaySchedule:
		// Parse the duration again: cron.Every rounds up below a second, and we refuse that.
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(withoutZone(spec), "@every")))
		if err != nil {
			return parsedSpec{}, fmt.Errorf("schedule %q: %w", spec, err)
		}
		if d < time.Second {
			return parsedSpec{}, fmt.Errorf("schedule %q: interval must be at least 1s", spec)
		}
		return parsedSpec{every: d}, nil
	case *cron.SpecSchedule:
		c := *s
		if c.Location == time.Local {
			c.Location = loc
		}
		return parsedSpec{cron: cronSchedule{&c}, key: c.Location.String() + " " + withoutZone(spec)}, nil
	default:
		return parsedSpec{}, fmt.Errorf("schedule %q: unexpected schedule type %T", spec, s)
	}
}

// offset is the feed's offset from the Unix epoch: 0 for a cron schedule.
func (ps parsedSpec) offset(feedID string) time.Duration {
	if ps.every == 0 {
		return 0
	}
	return SlotOffset(feedID, ps.every)
}

// forFeed is the schedule of one feed with this spec, and its group key.
func (ps parsedSpec) forFeed(feedID string) (slotSchedule, string) {
	if ps.every == 0 {
		return ps.cron, ps.key
	}
	e := everySchedule{Every: ps.every, Offset: ps.offset(feedID)}
	return e, fmt.Sprintf("@every %s +%s", e.Every, e.Offset)
}

// withoutZone drops a CRON_TZ= or TZ= prefix from a spec.
func withoutZone(spec string) string {
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		if _, rest, ok := strings.Cut(spec, " "); ok {
			return rest
		}
	}
	return spec
}

// SlotOffset is the offset of the slots of a feed scheduled "@every every" from the Unix epoch,
// stable across replicas and restarts: an FNV-1a hash of its id in whole seconds below every,
// so that feeds with the same interval spread over it rather than all firing at once.
func SlotOffset(feedID string, every time.Duration) time.Duration {
	secs := uint64(every / time.Second)
	if secs == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(feedID))
	return time.Duration(h.Sum64()%secs) * time.Second
}

// EverySlot is the latest slot at or before t of a feed scheduled "@every every".
func EverySlot(feedID string, every time.Duration, t time.Time) time.Time {
	return everySchedule{Every: every, Offset: SlotOffset(feedID, every)}.Prev(t)
}

// ValidateSchedule reports whether spec is a schedule the watcher accepts, for `newswatch check`.
func ValidateSchedule(spec string) error {
	if strings.TrimSpace(spec) == AutoSchedule {
		return nil
	}
	_, _, err := parseSchedule(spec, "", time.UTC)
	return err
}
