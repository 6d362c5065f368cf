package delivery

import (
	"slices"
	"time"
)

// Event is one alert of the rule: an item that matched, with the story it belongs to.
type Event struct {
	// ID is the alert's id (unique per item and rule); an event whose ID was decided already is
	// a Duplicate.
	ID string
	// Story is the id of the item's story; empty when stories are not known, and then the item
	// is its own story.
	Story string
	Title string
	Link  string
	// Publisher is the source of the item (the feed, or the publisher's name): digests count
	// the distinct publishers of each story, spikes those of the new stories.
	Publisher string
	// Time is when the alert was made. A replay passes the same time again, so it gets the same
	// decision.
	Time time.Time
}

func (ev Event) story() string {
	if ev.Story != "" {
		return ev.Story
	}
	return ev.ID
}

// Action is what to do with one alert.
type Action uint8

// The actions.
const (
	// Deliver: publish the alert to its readers now.
	Deliver Action = iota + 1
	// Hold: the alert waits for the digest of Decision.Period.
	Hold
	// Duplicate: this event was decided already; do nothing.
	Duplicate
)

func (a Action) String() string {
	switch a {
	case Deliver:
		return "deliver"
	case Hold:
		return "hold"
	case Duplicate:
		return "duplicate"
	}
	return "unknown"
}

// Decision is what Decide says of one event.
type Decision struct {
	Action Action
	// Period is the digest period a held event joins; for an event delivered in mode budget,
	// the window it counts against.
	Period Period
	// Sent is, for an event delivered in mode budget, its place among the alerts its window
	// delivered at once (1 to the budget).
	Sent int
	// Notice is set on the first event past the budget of a window: publish it once.
	Notice *Notice
	// Spike is set when this event's story made the rule spike: publish it.
	Spike *Spike
}

// Notice says that a rule reached its budget: the rest of the window goes to its digest.
type Notice struct {
	// ID is the rule and the window ("kursk.budget.20260312T090000Z").
	ID     string `json:"id"`
	Rule   string `json:"rule"`
	Max    int    `json:"max"`
	Window Period `json:"window"`
}

// Policy is the delivery and spike detection of one rule. It is immutable and safe for
// concurrent use; all it remembers is in the State passed to it.
type Policy struct {
	rule  string
	opts  Options
	sched Schedule
	per   Schedule
}

// New validates the options of the rule (zero fields take their defaults) and builds its policy.
// An invalid option is an *OptionError naming its field.
func New(rule string, o Options) (*Policy, error) {
	if rule == "" {
		return nil, optErr("rule", "", "is empty")
	}
	sched, err := o.compile()
	if err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	per, err := ParseSchedule(o.Per, "", "")
	if err != nil {
		return nil, err
	}
	return &Policy{rule: rule, opts: o, sched: sched, per: per}, nil
}

// Rule is the id of the policy's rule.
func (p *Policy) Rule() string { return p.rule }

// Options are the policy's options, defaults filled in.
func (p *Policy) Options() Options { return p.opts }

// Schedule is the schedule of the rule's digests (mode digest).
func (p *Policy) Schedule() Schedule { return p.sched }

// Decide records the event in st and says what to do with it. The caller publishes what the
// decision asks (the alert, the notice, the spike, each with its id as the bus's de-duplication
// id) before it commits st; a crash in between replays the event on the old state and gets the
// same decision.
func (p *Policy) Decide(st *State, ev Event) Decision {
	h := hash(ev.ID)
	if st.Seen.has(h) {
		return Decision{Action: Duplicate}
	}
	st.Seen = st.Seen.add(h, seenCap)
	var d Decision
	if !p.opts.Spike.Off {
		d.Spike = p.observe(st, ev)
	}
	// An event older than the last frozen digest joins the next one: a frozen digest never
	// changes, and a period is never published twice.
	at := ev.Time
	if closed := time.Unix(st.Closed, 0); st.Closed != 0 && at.Before(closed) {
		at = closed
	}
	switch p.opts.Mode {
	case ModeDigest:
		per := p.clamp(st, p.sched.Period(at))
		st.hold(KindDigest, per, ev, p.opts.MaxStories)
		d.Action, d.Period = Hold, per
	case ModeBudget:
		w := p.per.Period(at)
		b := st.Budget
		switch {
		case b == nil || b.Start < w.Start.Unix():
			b = &budgetState{Start: w.Start.Unix()}
			st.Budget = b
		case b.Start > w.Start.Unix():
			// A late event counts against the window being counted.
			w = p.per.Period(time.Unix(b.Start, 0))
		}
		if b.Sent < p.opts.Max {
			b.Sent++
			d.Action, d.Period, d.Sent = Deliver, w, b.Sent
			break
		}
		w = p.clamp(st, w)
		st.hold(KindBudget, w, ev, p.opts.MaxStories)
		d.Action, d.Period = Hold, w
		if !b.Noticed {
			b.Noticed = true
			d.Notice = &Notice{ID: p.rule + ".budget." + w.ID, Rule: p.rule, Max: p.opts.Max, Window: w}
		}
	default:
		d.Action = Deliver
	}
	return d
}

// clamp starts a period no earlier than the last frozen one ended, so that a period cut short
// by a change of schedule still has an id of its own.
func (p *Policy) clamp(st *State, per Period) Period {
	if st.Closed != 0 && per.Start.Unix() < st.Closed {
		per.Start = time.Unix(st.Closed, 0).UTC()
		per.ID = periodID(per.Start)
	}
	return per
}

// Due freezes every digest whose period ended at or before now and returns the frozen digests
// not yet marked Done, oldest first. Events decided after the freeze join later periods, so a
// frozen digest never changes. The caller commits st (compare-and-swap) before it publishes the
// digests, each with its ID as the bus's de-duplication id, then calls Done for each and commits
// again: a crash anywhere publishes a digest again with the same id, never loses one, and never
// publishes two different digests for one period. A period that held nothing has no digest.
func (p *Policy) Due(st *State, now time.Time) []Digest {
	var out []Digest
	for i := range st.Digests {
		d := &st.Digests[i]
		if !d.Frozen && d.End <= now.Unix() {
			d.Frozen = true
			st.Closed = max(st.Closed, d.End)
		}
		if d.Frozen {
			out = append(out, d.digest(p.rule))
		}
	}
	return out
}

// Done forgets the frozen digest id, once it is published. It reports whether st held it.
func (p *Policy) Done(st *State, id string) bool {
	i := slices.IndexFunc(st.Digests, func(d pending) bool { return d.Frozen && d.id(p.rule) == id })
	if i < 0 {
		return false
	}
	st.Digests = slices.Delete(st.Digests, i, i+1)
	return true
}
