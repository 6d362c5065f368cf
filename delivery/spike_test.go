package delivery

import (
	"fmt"
	"testing"
	"time"
)

// baseline feeds a quiet week: one new story every four hours, from rotating publishers.
func baseline(t *testing.T, p *Policy, st *State, from time.Time) time.Time {
	t.Helper()
	var end time.Time
	for i := range 7*6 + 1 {
		tm := from.Add(time.Duration(i) * 4 * time.Hour)
		d := p.Decide(st, ev(fmt.Sprint("base", i), fmt.Sprint("base-story", i), fmt.Sprint("p", i%4), tm))
		if d.Spike != nil {
			t.Fatalf("quiet week: spike at %s: %+v", tm, d.Spike)
		}
		end = tm
	}
	return end
}

func TestSpike(t *testing.T) {
	p, err := New("kursk", Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	start := t0.Add(-8*24*time.Hour + 30*time.Minute)
	baseline(t, p, st, start)

	var spikes []*Spike
	feed := func(id, story, pub string, tm time.Time) {
		t.Helper()
		d := p.Decide(st, ev(id, story, pub, tm))
		if d.Spike != nil {
			spikes = append(spikes, d.Spike)
		}
		st = roundTrip(t, st)
	}

	// Fifty copies of one wire story from fifty publishers: one story, no spike.
	for i := range 50 {
		feed(fmt.Sprint("copy", i), "wire", fmt.Sprint("pub", i), t0.Add(time.Duration(i)*time.Minute))
	}
	if len(spikes) != 0 {
		t.Fatalf("fifty copies of one story: got %d spikes, want none", len(spikes))
	}
	// Six new stories from one publisher: no spike (publishers).
	for i := range 6 {
		feed(fmt.Sprint("solo", i), fmt.Sprint("solo-story", i), "pub0", t0.Add(50*time.Minute+time.Duration(i)*time.Minute))
	}
	if len(spikes) != 0 {
		t.Fatalf("new stories from one publisher: got %d spikes, want none", len(spikes))
	}
	// Then new stories from other publishers: the spike fires once, when the second and the third
	// publisher bring the count to five stories from three publishers... the window holds the
	// wire story and the six solo stories already, so it fires on the second publisher's story.
	surge := t0.Add(70 * time.Minute)
	for i := range 10 {
		feed(fmt.Sprint("surge", i), fmt.Sprint("surge-story", i), fmt.Sprint("pub", 1+i%3), surge.Add(time.Duration(i)*time.Minute))
	}
	if len(spikes) != 1 {
		t.Fatalf("a surge of distinct stories: got %d spikes, want 1", len(spikes))
	}
	sp := spikes[0]
	if sp.ID != "kursk.spike.20260312T101100Z" || sp.Count != 9 || sp.Publishers != 3 || sp.BaselineDays != 7 {
		t.Errorf("spike: got %+v", sp)
	}
	if sp.Baseline != 1 || sp.Ratio != 9 {
		t.Errorf("baseline: got %v ratio %v, want 1 (one story every 4h, at 08:30 each day) and 9", sp.Baseline, sp.Ratio)
	}
	if len(sp.Stories) != sp.Count || sp.Stories[0].ID != "wire" || sp.Stories[len(sp.Stories)-1].ID != "surge-story1" {
		t.Errorf("spike stories: got %+v", sp.Stories)
	}

	// Within the cooldown (6h), another surge: no second spike.
	for i := range 20 {
		feed(fmt.Sprint("again", i), fmt.Sprint("again-story", i), fmt.Sprint("pub", i%5), t0.Add(4*time.Hour+time.Duration(i)*time.Minute))
	}
	if len(spikes) != 1 {
		t.Fatalf("a surge within the cooldown: got %d spikes, want 1", len(spikes))
	}
	// After the cooldown, a surge is a spike again.
	for i := range 20 {
		feed(fmt.Sprint("later", i), fmt.Sprint("later-story", i), fmt.Sprint("pub", i%5), t0.Add(8*time.Hour+time.Duration(i)*time.Minute))
	}
	if len(spikes) != 2 {
		t.Fatalf("a surge after the cooldown: got %d spikes, want 2", len(spikes))
	}
}

// TestSpikeAgainstBaseline: a rule that always runs at this rate does not spike on it.
func TestSpikeAgainstBaseline(t *testing.T) {
	p, err := New("busy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	n := 0
	// Twelve new stories every 2h from 6 publishers, for eight days, then a day of 30 every 2h.
	for h := range 24 * 9 {
		per := 6
		if h >= 24*8 {
			per = 15
		}
		for i := range per {
			tm := t0.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Minute)
			d := p.Decide(st, ev(fmt.Sprint("a", n), fmt.Sprint("s", n), fmt.Sprint("p", n%6), tm))
			n++
			if d.Spike != nil && h < 24*8 && h >= 24 {
				t.Fatalf("steady rate, hour %d: spike %+v", h, d.Spike)
			}
			if d.Spike != nil && h >= 24*8 {
				t.Fatalf("2.5 times the baseline (factor 3): spike %+v", d.Spike)
			}
		}
	}
}

// TestSpikeYoungRule: a rule needs one day of its own history before it can spike; then a silent
// baseline counts as the floor.
func TestSpikeYoungRule(t *testing.T) {
	p, err := New("new", Options{Spike: SpikeOptions{MinStories: 3, MinPublishers: 2, Floor: 1}})
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	surge := func(from time.Time, prefix string) (got *Spike) {
		for i := range 3 {
			d := p.Decide(st, ev(fmt.Sprint(prefix, i), fmt.Sprint(prefix, "s", i), fmt.Sprint("p", i), from.Add(time.Duration(i)*time.Minute)))
			if d.Spike != nil {
				got = d.Spike
			}
		}
		return got
	}
	if got := surge(t0, "first"); got != nil {
		t.Fatalf("first day: got %+v, want no spike without a baseline", got)
	}
	got := surge(t0.Add(48*time.Hour), "third")
	if got == nil || got.BaselineDays != 1 || got.Baseline != 0 || got.Count != 3 || got.Ratio != 3 {
		t.Fatalf("got %+v, want a spike of 3 stories over the floor 1, on one baseline day", got)
	}
}

// TestSpikeReplay: the event that made a spike, replayed on the state before it (a crash between
// publishing and committing), makes the same spike with the same id; fed again after the commit,
// it is a duplicate and makes none.
func TestSpikeReplay(t *testing.T) {
	p, err := New("kursk", Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := &State{}
	baseline(t, p, st, t0.Add(-8*24*time.Hour+30*time.Minute))
	var last Event
	var before *State
	var first *Spike
	for i := range 8 {
		last = ev(fmt.Sprint("s", i), fmt.Sprint("story", i), fmt.Sprint("pub", i%4), t0.Add(time.Duration(i)*time.Minute))
		before = st.Clone()
		if d := p.Decide(st, last); d.Spike != nil {
			first = d.Spike
			break
		}
	}
	if first == nil {
		t.Fatal("no spike")
	}
	again := p.Decide(roundTrip(t, before), last)
	if again.Spike == nil || again.Spike.ID != first.ID || again.Spike.Count != first.Count {
		t.Fatalf("replay on the state before: got %+v, want %+v", again.Spike, first)
	}
	if d := p.Decide(st, last); d.Action != Duplicate || d.Spike != nil {
		t.Fatalf("replay after the commit: got %+v, want a duplicate without a spike", d)
	}
}
