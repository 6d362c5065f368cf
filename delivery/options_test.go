package delivery

import (
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		field string // "" = valid
	}{
		{"zero is immediate", Options{}, ""},
		{"digest every hour", Options{Mode: ModeDigest, Every: time.Hour}, ""},
		{"digest on a cron in a zone", Options{Mode: ModeDigest, Cron: "0 8 * * 1-5", TimeZone: "Europe/Kyiv"}, ""},
		{"budget", Options{Mode: ModeBudget, Max: 10}, ""},
		{"budget a day", Options{Mode: ModeBudget, Max: 50, Per: 24 * time.Hour}, ""},
		{"unknown mode", Options{Mode: "hourly"}, "mode"},
		{"every and cron", Options{Mode: ModeDigest, Every: time.Hour, Cron: "0 * * * *"}, "cron"},
		{"time zone without cron", Options{Mode: ModeDigest, TimeZone: "UTC"}, "time_zone"},
		{"negative every", Options{Mode: ModeDigest, Every: -time.Hour}, "every"},
		{"budget without max", Options{Mode: ModeBudget}, "max"},
		{"max without budget", Options{Mode: ModeDigest, Max: 3}, "max"},
		{"negative max", Options{Mode: ModeBudget, Max: -1}, "max"},
		{"short per", Options{Mode: ModeBudget, Max: 1, Per: time.Second}, "per"},
		{"max stories", Options{MaxStories: 5000}, "max_stories"},
		{"spike window not whole buckets", Options{Spike: SpikeOptions{Window: 20 * time.Minute}}, "spike.window"},
		{"spike window over a day", Options{Spike: SpikeOptions{Window: 25 * time.Hour}}, "spike.window"},
		{"spike factor below 1", Options{Spike: SpikeOptions{Factor: 0.5}}, "spike.factor"},
		{"spike factor NaN", Options{Spike: SpikeOptions{Factor: math.NaN()}}, "spike.factor"},
		{"spike floor negative", Options{Spike: SpikeOptions{Floor: -1}}, "spike.floor"},
		{"spike min stories", Options{Spike: SpikeOptions{MinStories: -2}}, "spike.min_stories"},
		{"spike min publishers", Options{Spike: SpikeOptions{MinPublishers: -1}}, "spike.min_publishers"},
		{"spike baseline days", Options{Spike: SpikeOptions{BaselineDays: 60}}, "spike.baseline_days"},
		{"spike cooldown", Options{Spike: SpikeOptions{Cooldown: -time.Hour}}, "spike.cooldown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			_, newErr := New("r", tt.opts)
			if (err == nil) != (newErr == nil) {
				t.Fatalf("Validate says %v, New says %v", err, newErr)
			}
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("got %v, want an *OptionError on %s", err, tt.field)
			}
			if oe.Field != tt.field {
				t.Errorf("field: got %q, want %q (%v)", oe.Field, tt.field, err)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("message %q does not start with the field", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	p, err := New("r", Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Options()
	if o.Mode != ModeImmediate || o.Every != time.Hour || o.Per != time.Hour || o.MaxStories != 100 {
		t.Errorf("delivery defaults: got %+v", o)
	}
	s := o.Spike
	if s.Window != 2*time.Hour || s.MinStories != 5 || s.MinPublishers != 3 || s.Factor != 3 || s.Floor != 1 || s.BaselineDays != 7 || s.Cooldown != 6*time.Hour {
		t.Errorf("spike defaults: got %+v", s)
	}
}

// FuzzOptions: any options either build a policy whose schedule tiles time, or are an
// *OptionError naming a field; never a panic.
func FuzzOptions(f *testing.F) {
	f.Add("digest", int64(time.Hour), "", "", 0, int64(0), int64(0), 0.0)
	f.Add("digest", int64(0), "0 8 * * *", "Europe/Paris", 0, int64(0), int64(0), 0.0)
	f.Add("budget", int64(0), "", "", 10, int64(time.Hour), int64(2*time.Hour), 3.0)
	f.Add("digest", int64(0), "*/0 * * * *", "", 0, int64(0), int64(0), 0.0)
	f.Add("digest", int64(0), "0 0 31 2 *", "Local", 0, int64(0), int64(0), 0.0)
	f.Add("immediate", int64(0), "", "", 0, int64(0), int64(-1), math.Inf(1))
	f.Fuzz(func(t *testing.T, mode string, every int64, cron, tz string, max int, per, window int64, factor float64) {
		o := Options{Mode: Mode(mode), Every: time.Duration(every), Cron: cron, TimeZone: tz, Max: max, Per: time.Duration(per),
			Spike: SpikeOptions{Window: time.Duration(window), Factor: factor}}
		p, err := New("r", o)
		if (p == nil) == (err == nil) {
			t.Fatalf("got policy %v and error %v: want exactly one", p, err)
		}
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field == "" {
				t.Fatalf("got %v, want an *OptionError naming a field", err)
			}
			return
		}
		at := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
		for range 5 {
			per := p.Schedule().Period(at)
			if at.Before(per.Start) || !at.Before(per.End) {
				t.Fatalf("%s: %s is not in its period %+v", p.Schedule(), at, per)
			}
			at = per.End
		}
	})
}

// TestDependencies keeps the package pure: nothing of ours, nothing that does I/O on the wire.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "github.com/newswatch/newswatch/") && dep != "github.com/newswatch/newswatch/delivery",
			strings.HasPrefix(dep, "github.com/nats-io/"),
			dep == "net/http", dep == "os/exec", dep == "go.uber.org/zap":
			t.Errorf("delivery depends on %s", dep)
		}
	}
}
