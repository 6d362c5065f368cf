package delivery

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecide: one alert decided by a busy rule (a digest a day, spikes on), with full
// rings of seen events and known stories.
func BenchmarkDecide(b *testing.B) {
	for _, mode := range []Options{{}, {Mode: ModeDigest, Every: 24 * time.Hour}, {Mode: ModeBudget, Max: 10}} {
		b.Run(string(mode.WithDefaults().Mode), func(b *testing.B) {
			p, err := New("busy", mode)
			if err != nil {
				b.Fatal(err)
			}
			st := &State{}
			events := make([]Event, 1<<14)
			for i := range events {
				events[i] = ev(fmt.Sprint("a", i), fmt.Sprint("s", i/3), fmt.Sprint("p", i%40), t0.Add(time.Duration(i)*20*time.Second))
			}
			for _, e := range events[:4096] {
				p.Decide(st, e)
			}
			i := 4096
			for b.Loop() {
				e := events[i%len(events)]
				e.ID = fmt.Sprint(i) // never a duplicate
				e.Time = t0.Add(time.Duration(i) * 20 * time.Second)
				p.Decide(st, e)
				if i%1000 == 0 {
					for _, d := range p.Due(st, e.Time) {
						p.Done(st, d.ID)
					}
				}
				i++
			}
		})
	}
}

// BenchmarkStateJSON: the round trip of a busy rule's state through the store, per decision when
// the caller commits each one.
func BenchmarkStateJSON(b *testing.B) {
	p, err := New("busy", Options{Mode: ModeDigest, Every: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	st := &State{}
	for i := range 5000 {
		p.Decide(st, ev(fmt.Sprint("a", i), fmt.Sprint("s", i/3), fmt.Sprint("p", i%40), t0.Add(time.Duration(i)*15*time.Second)))
	}
	data, _ := json.Marshal(st)
	for b.Loop() {
		out, err := json.Marshal(st)
		if err != nil {
			b.Fatal(err)
		}
		var back State
		if err := json.Unmarshal(out, &back); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes/state")
}
