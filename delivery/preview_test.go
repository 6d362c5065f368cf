package delivery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/newswatch/newswatch/delivery"
)

// TestReplay replays 25 alerts of distinct stories over two hours through each previewed
// setting: immediate sends each; a digest an hour sends two, a digest a day one; a budget of 10
// an hour sends 10 at once in each hour, and a notice and a digest of the first hour's other five.
func TestReplay(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var evs []delivery.Event
	for i := range 25 {
		// 15 in the first hour, 10 in the second.
		at := start.Add(time.Duration(i) * 4 * time.Minute)
		evs = append(evs, delivery.Event{ID: fmt.Sprint(i), Story: fmt.Sprint("s", i), Publisher: fmt.Sprint("p", i%3), Time: at})
	}
	// Given out of order: a replay sorts them by time.
	evs[3], evs[20] = evs[20], evs[3]
	tests := []struct {
		name string
		o    delivery.Options
		want delivery.Sent
	}{
		{"immediate", delivery.Options{}, delivery.Sent{Alerts: 25}},
		{"digest 1h", delivery.Options{Mode: delivery.ModeDigest, Every: time.Hour}, delivery.Sent{Digests: 2}},
		{"digest 24h", delivery.Options{Mode: delivery.ModeDigest, Every: 24 * time.Hour}, delivery.Sent{Digests: 1}},
		{"budget 10", delivery.Options{Mode: delivery.ModeBudget, Max: 10}, delivery.Sent{Alerts: 20, Digests: 1, Notices: 1}},
		{"budget 20", delivery.Options{Mode: delivery.ModeBudget, Max: 20}, delivery.Sent{Alerts: 25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Spike.Off = true
			got, err := delivery.Replay("kursk", tt.o, evs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := delivery.Replay("kursk", delivery.Options{Mode: delivery.ModeBudget}, evs); err == nil {
		t.Error("a budget of 0 replays, want its option error")
	}
}

// TestReplaySpike: six new stories from three publishers within an hour, after a quiet week of
// one story a day at that hour, spike once (the defaults: 5 stories from 3 publishers in 2h, 3×
// the baseline); each setting counts the same spike.
func TestReplaySpike(t *testing.T) {
	start := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	var evs []delivery.Event
	for d := 7; d >= 1; d-- {
		evs = append(evs, delivery.Event{ID: fmt.Sprint("q", d), Publisher: "quiet.example", Time: start.AddDate(0, 0, -d)})
	}
	for i := range 6 {
		evs = append(evs, delivery.Event{ID: fmt.Sprint("s", i), Publisher: fmt.Sprintf("p%d.example", i%3), Time: start.Add(time.Duration(i) * 5 * time.Minute)})
	}
	for _, s := range delivery.PreviewSettings(nil) {
		got, err := delivery.Replay("kursk", s.Options, evs)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spikes != 1 {
			t.Errorf("%s: %d spikes, want 1", s.Name, got.Spikes)
		}
	}
}

func TestPreviewSettings(t *testing.T) {
	own := delivery.Options{Mode: delivery.ModeDigest, Every: 90 * time.Minute, Spike: delivery.SpikeOptions{Off: true}}
	var names []string
	for _, s := range delivery.PreviewSettings(&own) {
		names = append(names, s.Name)
		if !s.Options.Spike.Off {
			t.Errorf("%s: spikes on, want the rule's (off)", s.Name)
		}
		if s.Configured != (s.Options.Every == 90*time.Minute) {
			t.Errorf("%s: configured %v", s.Name, s.Configured)
		}
	}
	want := "[configured (digest every 90m) immediate digest every 1h digest every 24h budget 10 an hour]"
	if got := fmt.Sprint(names); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := len(delivery.PreviewSettings(nil)); got != 4 {
		t.Errorf("without a rule of its own: %d settings, want 4", got)
	}
	budget := delivery.Options{Mode: delivery.ModeBudget, Max: 5}
	if got := delivery.PreviewSettings(&budget)[0].Name; got != "configured (budget 5 per 1h)" {
		t.Errorf("a budget's name reads %q", got)
	}
}

func TestPublisher(t *testing.T) {
	tests := []struct{ link, feed, want string }{
		{"https://www.Example.com/a", "f", "example.com"},
		{"https://news.example/a", "f", "news.example"},
		{"", "f", "f"},
		{"not a url", "f", "f"},
	}
	for _, tt := range tests {
		if got := delivery.Publisher(tt.link, tt.feed); got != tt.want {
			t.Errorf("Publisher(%q, %q) = %q, want %q", tt.link, tt.feed, got, tt.want)
		}
	}
}
