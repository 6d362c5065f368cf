package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Deliver is how the alerts of a rule reach their readers (rules[].deliver, else
// defaults.deliver). Zero fields take the delivery's defaults; the combinations (max only with
// mode budget, cron or every, time_zone only with cron) are checked where the delivery is built,
// and reported at the positions of Rule.DeliveryPosition.
type Deliver struct {
	Mode       string // immediate (when empty), digest or budget
	Every      time.Duration
	Cron       string
	TimeZone   string
	Max        int
	Per        time.Duration
	MaxStories int
}

// Spike is the spike detection of a rule (rules[].spike, each key over defaults.spike). Zero
// fields take the delivery's defaults.
type Spike struct {
	Off           bool
	Window        time.Duration
	MinStories    int
	MinPublishers int
	Factor        float64
	Floor         float64
	BaselineDays  int
	Cooldown      time.Duration
}

// deliveryPos maps a delivery field, spelled as the configuration nests it ("every",
// "spike.window"), to where its value is written; "" and "spike" to the mappings themselves.
type deliveryPos map[string]Position

// DeliveryPosition returns where the value of a delivery field of the rule is written ("mode",
// "every", "spike.factor"): in the rule, else in defaults, else at the rule's deliver or spike
// mapping, else at the rule.
func (r Rule) DeliveryPosition(field string) Position {
	if p, ok := r.deliveryPos[field]; ok {
		return p
	}
	if isSpikeField(field) {
		if p, ok := r.deliveryPos["spike"]; ok {
			return p
		}
	}
	if p, ok := r.deliveryPos[""]; ok {
		return p
	}
	return r.Pos
}

// DeliveryPosition returns where the value of a delivery field of defaults is written, or the
// zero Position when it is not.
func (d Defaults) DeliveryPosition(field string) Position {
	if p, ok := d.deliveryPos[field]; ok {
		return p
	}
	if isSpikeField(field) {
		return d.deliveryPos["spike"]
	}
	return d.deliveryPos[""]
}

// deliver decodes a deliver mapping into dl, recording where each value is written.
func (d *decoder) deliver(v value, dl *Deliver, pos deliveryPos, path string) {
	if v.node == nil {
		return
	}
	entries, ok := d.mapping(v.node, "for "+quote("deliver"))
	if !ok {
		return
	}
	pos[""] = d.position(v.tok)
	for _, e := range entries {
		set := true
		switch e.key {
		case "mode":
			set = d.stringField(e, &dl.Mode, func(s string) error {
				switch s {
				case "immediate", "digest", "budget":
					return nil
				}
				return fmt.Errorf("invalid deliver.mode %q: want immediate, digest or budget", s)
			})
		case "every":
			set = parsedField(d, e, &dl.Every, func(s string) (time.Duration, error) { return parseDuration("deliver.every", s) })
		case "cron":
			set = d.stringField(e, &dl.Cron, nil)
		case "time_zone":
			set = d.stringField(e, &dl.TimeZone, nil)
		case "max":
			set = parsedField(d, e, &dl.Max, positiveInt("deliver.max"))
		case "per":
			set = parsedField(d, e, &dl.Per, func(s string) (time.Duration, error) { return parseDuration("deliver.per", s) })
		case "max_stories":
			set = parsedField(d, e, &dl.MaxStories, positiveInt("deliver.max_stories"))
		default:
			d.unknownKey(e, path)
			set = false
		}
		if set {
			pos[e.key] = d.position(d.value(e.value).tok)
		}
	}
}

// spike decodes a spike mapping over sp, recording where each value is written.
func (d *decoder) spike(v value, sp *Spike, pos deliveryPos, path string) {
	if v.node == nil {
		return
	}
	entries, ok := d.mapping(v.node, "for "+quote("spike"))
	if !ok {
		return
	}
	pos["spike"] = d.position(v.tok)
	for _, e := range entries {
		set := true
		switch e.key {
		case "off":
			if d.value(e.value).node != nil {
				d.boolField(e, &sp.Off)
			}
		case "window":
			set = parsedField(d, e, &sp.Window, func(s string) (time.Duration, error) { return parseDuration("spike.window", s) })
		case "min_stories":
			set = parsedField(d, e, &sp.MinStories, positiveInt("spike.min_stories"))
		case "min_publishers":
			set = parsedField(d, e, &sp.MinPublishers, positiveInt("spike.min_publishers"))
		case "factor":
			set = parsedField(d, e, &sp.Factor, nonNegativeFloat("spike.factor"))
		case "floor":
			set = parsedField(d, e, &sp.Floor, nonNegativeFloat("spike.floor"))
		case "baseline_days":
			set = parsedField(d, e, &sp.BaselineDays, positiveInt("spike.baseline_days"))
		case "cooldown":
			set = parsedField(d, e, &sp.Cooldown, func(s string) (time.Duration, error) { return parseDuration("spike.cooldown", s) })
		default:
			d.unknownKey(e, path)
			set = false
		}
		if set {
			pos["spike."+e.key] = d.position(d.value(e.value).tok)
		}
	}
}

func positiveInt(what string) func(string) (int, error) {
	return func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("invalid %s %q: want a whole number from 1", what, s)
		}
		return n, nil
	}
}

func nonNegativeFloat(what string) func(string) (float64, error) {
	return func(s string) (float64, error) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, fmt.Errorf("invalid %s %q: want a number from 0", what, s)
		}
		return f, nil
	}
}

// isSpikeField reports whether a delivery field is one of spike's ("spike", "spike.window").
func isSpikeField(k string) bool { return k == "spike" || strings.HasPrefix(k, "spike.") }
