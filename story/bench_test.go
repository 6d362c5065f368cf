package story

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The scale benchmark's stream: 500,000 items in a 48-hour window from 100,000 feeds, as the
// goal states it. Items are generated, deterministic (seeded PCG): a title of 6–10 words and a
// summary of 20–35 words drawn by a Zipf law from 40,000 Latin and 10,000 Cyrillic words
// (pronounceable, generated from 80 and 96 syllables, so their first five letters vary as real
// words' do), capitals on names, numbers; a fifth of the items report one of
// many events (an event has five words of its own, three of which each of its items carries),
// the rest are unique.
const (
	benchWindowItems = 500_000
	benchFeeds       = 100_000
	benchPool        = 200_000 // items assigned inside the timed loop
)

var benchCorpus = sync.OnceValue(func() []Item {
	rng := rand.New(rand.NewPCG(17, 42))
	var syll, cyr []string
	for _, c := range "bcdfghklmnprstvz" {
		for _, v := range "aeiou" {
			syll = append(syll, string(c)+string(v))
		}
	}
	for _, c := range "бвгдзклмнпрстфхц" {
		for _, v := range "аеиоуя" {
			cyr = append(cyr, string(c)+string(v))
		}
	}
	word := func(parts []string) string {
		n := 2 + rng.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		return b.String()
	}
	latin := make([]string, 40_000)
	for i := range latin {
		latin[i] = word(syll)
	}
	cyrillic := make([]string, 10_000)
	for i := range cyrillic {
		cyrillic[i] = word(cyr)
	}
	zl := rand.NewZipf(rng, 1.1, 1, uint64(len(latin)-1))
	zc := rand.NewZipf(rng, 1.1, 1, uint64(len(cyrillic)-1))
	type event struct{ words []string }
	var events []event
	total := benchWindowItems + benchPool
	items := make([]Item, total)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 48 * time.Hour / benchWindowItems
	var b strings.Builder
	for i := range items {
		ru := rng.IntN(100) < 15
		vocab, z := latin, zl
		if ru {
			vocab, z = cyrillic, zc
		}
		var ev *event
		if rng.IntN(5) == 0 {
			if len(events) == 0 || rng.IntN(4) == 0 {
				e := event{}
				for range 5 {
					e.words = append(e.words, word(syll))
				}
				events = append(events, e)
			}
			// recent events are the likeliest to get another item
			k := len(events) - 1 - min(rng.IntN(200), len(events)-1)
			ev = &events[k]
		}
		text := func(n int) string {
			b.Reset()
			for j := range n {
				if j > 0 {
					b.WriteByte(' ')
				}
				switch r := rng.IntN(20); {
				case ev != nil && j < 3:
					w := ev.words[rng.IntN(len(ev.words))]
					b.WriteString(strings.ToUpper(w[:1]) + w[1:])
				case r == 0:
					b.WriteString(strconv.Itoa(rng.IntN(5000)))
				case r == 1:
					w := vocab[z.Uint64()]
					b.WriteString(strings.ToUpper(w[:1]) + w[1:])
				default:
					b.WriteString(vocab[z.Uint64()])
				}
			}
			return b.String()
		}
		feed := "feed" + strconv.Itoa(rng.IntN(benchFeeds))
		items[i] = Item{
			FeedID: feed,
			Key:    strconv.Itoa(i),
			Title:  text(6 + rng.IntN(5)),
			Text:   text(20 + rng.IntN(16)),
			Link:   "https://" + feed + ".example/a/" + strconv.Itoa(i),
			Time:   start.Add(time.Duration(i) * step),
		}
	}
	return items
})

// cpuNanos is the CPU time of the process, user and system, all threads (the garbage
// collector's included).
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkAssign measures the CPU of assigning one item with 500,000 items in the window,
// and the heap the Assigner holds per item in the window: the heap after a full window less
// the heap before the Assigner was made, the corpus itself counted in both.
func BenchmarkAssign(b *testing.B) {
	items := benchCorpus()
	before := heapInUse()
	a, err := New(Options{Lists: benchLists})
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchWindowItems {
		a.Assign(items[i])
	}
	after := heapInUse()
	st := a.Stats()
	i := benchWindowItems
	var cpuBefore, cpuAfter int64
	for b.Loop() {
		if cpuBefore == 0 {
			cpuBefore = cpuNanos()
		}
		a.Assign(items[i])
		i++
		if i == len(items) {
			b.StopTimer()
			// Start again with a fresh window far enough ahead that the earlier items left it.
			shift := items[len(items)-1].Time.Sub(items[0].Time) + 2*DefaultWindow
			for j := range items {
				items[j].Time = items[j].Time.Add(shift)
			}
			a, _ = New(Options{Lists: benchLists})
			for j := range benchWindowItems {
				a.Assign(items[j])
			}
			i = benchWindowItems
			b.StartTimer()
		}
	}
	cpuAfter = cpuNanos()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/item")
	b.ReportMetric(float64(after-before)/float64(st.Items), "heap-B/item-in-window")
	b.ReportMetric(float64(st.Items), "items-in-window")
	b.ReportMetric(float64(st.Stories), "stories-in-window")
	b.ReportMetric(float64(st.Postings)/float64(st.Items), "postings/item")
	b.ReportMetric(float64(st.Keys)/float64(st.Items), "keys/item")
	b.ReportMetric(float64(cpuAfter-cpuBefore)/1e3/float64(b.N), "cpu-µs/item")
}

var benchLists = map[string][]string{
	"dprk":   {`"north korea*"`, "dprk", "pyongyang", "кндр"},
	"troops": {"troop*", "soldier*", "военн*", "войск*"},
}
