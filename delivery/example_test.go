package delivery_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/newswatch/newswatch/delivery"
)

// A rule delivered as a digest every morning at 8 in Kyiv: alerts are held, and the morning's
// Due hands out one digest listing the night's stories.
func ExamplePolicy_Due() {
	p, err := delivery.New("kursk", delivery.Options{Mode: delivery.ModeDigest, Cron: "0 8 * * *", TimeZone: "Europe/Kyiv"})
	if err != nil {
		panic(err)
	}
	st := &delivery.State{} // the caller loads it from its store, and stores it back
	night := time.Date(2026, 3, 12, 1, 0, 0, 0, time.UTC)
	for i, pub := range []string{"reuters", "bbc", "ukrinform"} {
		d := p.Decide(st, delivery.Event{
			ID: fmt.Sprint("alert-", i), Story: "kursk-offensive", Publisher: pub,
			Title: "Fighting in Kursk region", Link: "https://example.org/" + pub, Time: night.Add(time.Duration(i) * time.Minute),
		})
		fmt.Println(d.Action, d.Period.ID)
	}
	for _, dg := range p.Due(st, time.Date(2026, 3, 12, 6, 0, 0, 0, time.UTC)) { // 08:00 in Kyiv
		for _, s := range dg.Stories {
			fmt.Printf("%s: %q, %d sources, first seen %s\n", dg.ID, s.Title, s.Sources, s.FirstSeen.Format(time.Kitchen))
		}
		p.Done(st, dg.ID) // once published
	}
	b, _ := json.Marshal(st) // what the caller stores, with compare-and-swap
	fmt.Println(len(b) > 0)
	// Output:
	// hold 20260311T060000Z
	// hold 20260311T060000Z
	// hold 20260311T060000Z
	// kursk.20260311T060000Z: "Fighting in Kursk region", 3 sources, first seen 1:00AM
	// true
}
