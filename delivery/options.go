package delivery

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Mode is how the alerts of a rule are delivered.
type Mode string

// The delivery modes.
const (
	// ModeImmediate delivers every alert at once (the default).
	ModeImmediate Mode = "immediate"
	// ModeDigest holds every alert for the digest of its period.
	ModeDigest Mode = "digest"
	// ModeBudget delivers at most Options.Max alerts a window (an hour by default) at once; the rest
	// of the window goes to the window's digest, with one notice when the budget is reached.
	ModeBudget Mode = "budget"
)

// Defaults, used where an option is zero.
const (
	DefaultEvery         = time.Hour
	DefaultMaxStories    = 100
	DefaultPer           = time.Hour
	DefaultSpikeWindow   = 2 * time.Hour
	DefaultMinStories    = 5
	DefaultMinPublishers = 3
	DefaultFactor        = 3.0
	DefaultFloor         = 1.0
	DefaultBaselineDays  = 7
	DefaultCooldown      = 6 * time.Hour
)

// Bucket is the resolution of spike counts: windows are whole numbers of buckets.
const Bucket = 15 * time.Minute

// Options is the delivery of one rule (rules[].deliver over defaults.deliver in the
// configuration). Zero fields take the defaults above.
type Options struct {
	// Mode is immediate (when empty), digest or budget.
	Mode Mode
	// Every is the digest period, aligned to the Unix epoch (every: 1h publishes at each full
	// hour UTC, every: 24h at midnight UTC). Exclusive with Cron; DefaultEvery when both are empty.
	Every time.Duration
	// Cron is a 5-field cron expression (or @hourly, @daily, @weekly, @monthly) naming the
	// instants a digest period ends and the next begins, in TimeZone.
	Cron string
	// TimeZone is the IANA name Cron is read in; UTC when empty.
	TimeZone string
	// Max is the budget: at most Max alerts delivered at once a Per window (mode budget).
	Max int
	// Per is the budget window, aligned to the Unix epoch; DefaultPer when zero.
	Per time.Duration
	// MaxStories caps the stories listed in one digest; the items of the others are counted.
	MaxStories int
	// Spike is the spike detection of the rule.
	Spike SpikeOptions
}

// SpikeOptions is the spike detection of one rule (rules[].spike over defaults.spike).
type SpikeOptions struct {
	// Off turns spike detection off for the rule.
	Off bool
	// Window is the recent window counted, a multiple of Bucket (15m) from 15m to 24h.
	Window time.Duration
	// MinStories is the least number of new stories in the window for a spike.
	MinStories int
	// MinPublishers is the least number of distinct publishers of those stories.
	MinPublishers int
	// Factor is how many times the baseline the window must hold.
	Factor float64
	// Floor is the least baseline (new stories a window), so that a rule silent until now does
	// not call every small count a spike.
	Floor float64
	// BaselineDays is how many previous days, the same hours each, make the baseline (1 to 28).
	BaselineDays int
	// Cooldown is the least time between two spikes of the rule.
	Cooldown time.Duration
}

// OptionError is an invalid option; Field names it as the configuration spells it
// ("every", "spike.window"), for the caller to prefix with the rule's position.
type OptionError struct {
	Field  string
	Value  string
	Reason string
}

func (e *OptionError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s (got %s)", e.Field, e.Reason, e.Value)
}

func optErr(field, value, format string, args ...any) error {
	return &OptionError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// ParseMode reads a mode as the configuration spells it; "" is ModeImmediate.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeImmediate:
		return ModeImmediate, nil
	case ModeDigest, ModeBudget:
		return Mode(s), nil
	}
	return "", optErr("mode", strconv.Quote(s), "must be immediate, digest or budget")
}

// WithDefaults returns the options with every zero field set to its default. It does not
// validate.
func (o Options) WithDefaults() Options {
	if o.Mode == "" {
		o.Mode = ModeImmediate
	}
	if o.Every == 0 && o.Cron == "" {
		o.Every = DefaultEvery
	}
	if o.Per == 0 {
		o.Per = DefaultPer
	}
	if o.MaxStories == 0 {
		o.MaxStories = DefaultMaxStories
	}
	o.Spike = o.Spike.WithDefaults()
	return o
}

// WithDefaults returns the spike options with every zero field set to its default.
func (s SpikeOptions) WithDefaults() SpikeOptions {
	if s.Window == 0 {
		s.Window = DefaultSpikeWindow
	}
	if s.MinStories == 0 {
		s.MinStories = DefaultMinStories
	}
	if s.MinPublishers == 0 {
		s.MinPublishers = DefaultMinPublishers
	}
	if s.Factor == 0 {
		s.Factor = DefaultFactor
	}
	if s.Floor == 0 {
		s.Floor = DefaultFloor
	}
	if s.BaselineDays == 0 {
		s.BaselineDays = DefaultBaselineDays
	}
	if s.Cooldown == 0 {
		s.Cooldown = DefaultCooldown
	}
	return s
}

// Validate reports the first invalid option as an *OptionError naming its field; zero fields are
// valid (they take the defaults). New validates the same way.
func (o Options) Validate() error {
	_, err := o.compile()
	return err
}

// Limits of the options, so that a typo does not build a policy that never publishes or whose
// state grows without bound.
const (
	minPeriod     = time.Minute
	maxPeriod     = 31 * 24 * time.Hour
	maxMax        = 100000
	maxMaxStories = 1000
	maxCooldown   = 30 * 24 * time.Hour
	maxFactor     = 1000
)

// compile validates the options with their defaults and builds the digest schedule.
func (o Options) compile() (Schedule, error) {
	o = o.WithDefaults()
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return Schedule{}, err
	}
	if o.Every != 0 && o.Cron != "" {
		return Schedule{}, optErr("cron", strconv.Quote(o.Cron), "cannot be given with every")
	}
	if o.TimeZone != "" && o.Cron == "" {
		return Schedule{}, optErr("time_zone", strconv.Quote(o.TimeZone), "needs cron (every is aligned to the Unix epoch)")
	}
	sched, err := ParseSchedule(o.Every, o.Cron, o.TimeZone)
	if err != nil {
		return Schedule{}, err
	}
	if o.Max < 0 || o.Max > maxMax {
		return Schedule{}, optErr("max", strconv.Itoa(o.Max), "must be from 1 to %d", maxMax)
	}
	if o.Mode == ModeBudget && o.Max == 0 {
		return Schedule{}, optErr("max", "", "is required with mode budget (alerts a window)")
	}
	if o.Mode != ModeBudget && o.Max != 0 {
		return Schedule{}, optErr("max", strconv.Itoa(o.Max), "applies only to mode budget")
	}
	if err := checkPeriod("per", o.Per); err != nil {
		return Schedule{}, err
	}
	if o.MaxStories < 1 || o.MaxStories > maxMaxStories {
		return Schedule{}, optErr("max_stories", strconv.Itoa(o.MaxStories), "must be from 1 to %d", maxMaxStories)
	}
	if err := o.Spike.validate(); err != nil {
		return Schedule{}, err
	}
	return sched, nil
}

func checkPeriod(field string, d time.Duration) error {
	if d < minPeriod || d > maxPeriod || d%time.Second != 0 {
		return optErr(field, d.String(), "must be whole seconds from %s to %s", minPeriod, maxPeriod)
	}
	return nil
}

func (s SpikeOptions) validate() error {
	s = s.WithDefaults()
	if s.Window < Bucket || s.Window > 24*time.Hour || s.Window%Bucket != 0 {
		return optErr("spike.window", s.Window.String(), "must be a multiple of %s from %s to 24h", Bucket, Bucket)
	}
	if s.MinStories < 1 || s.MinStories > maxMax {
		return optErr("spike.min_stories", strconv.Itoa(s.MinStories), "must be from 1 to %d", maxMax)
	}
	if s.MinPublishers < 1 || s.MinPublishers > maxMax {
		return optErr("spike.min_publishers", strconv.Itoa(s.MinPublishers), "must be from 1 to %d", maxMax)
	}
	if math.IsNaN(s.Factor) || s.Factor < 1 || s.Factor > maxFactor {
		return optErr("spike.factor", strconv.FormatFloat(s.Factor, 'g', -1, 64), "must be from 1 to %d", maxFactor)
	}
	if math.IsNaN(s.Floor) || s.Floor < 0 || s.Floor > maxMax {
		return optErr("spike.floor", strconv.FormatFloat(s.Floor, 'g', -1, 64), "must be from 0 to %d", maxMax)
	}
	if s.BaselineDays < 1 || s.BaselineDays > 28 {
		return optErr("spike.baseline_days", strconv.Itoa(s.BaselineDays), "must be from 1 to 28")
	}
	if s.Cooldown < 0 || s.Cooldown > maxCooldown {
		return optErr("spike.cooldown", s.Cooldown.String(), "must be from 0 to %s", maxCooldown)
	}
	return nil
}
