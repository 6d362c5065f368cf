package matcher

import (
	"fmt"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The benchmarks of BENCHMARKS.md. One op is one item in BenchmarkMatch, BenchmarkRegexpBaseline,
// BenchmarkTokenize and BenchmarkTokenizeASCIIBaseline, so their ns/op compare directly.

var ruleCounts = []int{1000, 10000, 100000}

var benchData = sync.OnceValues(func() ([]*language, []corpusItem) {
	ls := languages()
	return ls, corpus(2000, ls)
})

func benchRules(n int) []genRule {
	ls, _ := benchData()
	return rules(n, ls)
}

func BenchmarkMatch(b *testing.B) {
	_, cs := benchData()
	items := itemsOf(cs, "")
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			ix, err := Compile(genRules(benchRules(n)), nil)
			if err != nil {
				b.Fatal(err)
			}
			m := ix.NewMatcher()
			for _, it := range items { // warm the matcher's buffers
				m.Match(it)
			}
			cands, matches, i := 0, 0, 0
			b.ReportAllocs()
			for b.Loop() {
				matches += len(m.Match(items[i%len(items)]))
				cands += m.Candidates()
				i++
			}
			b.ReportMetric(float64(cands)/float64(i), "candidates/item")
			b.ReportMetric(float64(matches)/float64(i), "matches/item")
			b.ReportMetric(float64(ix.Stats().Always), "always-evaluated")
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkRegexpBaseline is what users do today: one precompiled case-insensitive regular
// expression per rule over the item's text, as miniflux does for its block and keep rules.
func BenchmarkRegexpBaseline(b *testing.B) {
	_, cs := benchData()
	items := itemsOf(cs, "")
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			gs := benchRules(n)
			res := make([]*regexp.Regexp, len(gs))
			for i, g := range gs {
				res[i] = regexp.MustCompile("(?i)" + g.pattern)
			}
			matches, i := 0, 0
			for b.Loop() {
				it := items[i%len(items)]
				text := it.Title + "\n" + it.Summary + "\n" + it.Content
				for _, re := range res {
					if re.MatchString(text) {
						matches++
					}
				}
				i++
			}
			b.ReportMetric(float64(matches)/float64(i), "matches/item")
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

var langCases = []string{"en", "ru", "el", "ko", "zh", "ja", ""}

func langName(l string) string {
	if l == "" {
		return "all"
	}
	return l
}

// BenchmarkTokenize is the matcher's own normalise-and-tokenize pass over the fields it reads
// by default: the floor of BenchmarkMatch.
func BenchmarkTokenize(b *testing.B) {
	_, cs := benchData()
	for _, lang := range langCases {
		items := itemsOf(cs, lang)
		b.Run("lang="+langName(lang), func(b *testing.B) {
			var tk tokenizer
			words, i := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				it := items[i%len(items)]
				tk.reset()
				tk.add(it.Title, 0)
				tk.add(it.Summary, 1)
				tk.add(it.Content, 2)
				words += len(tk.toks)
				i++
			}
			b.ReportMetric(float64(words)/float64(i), "words/item")
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkTokenizeASCIIBaseline is a plain ASCII lower-case-and-split pass over the same
// fields, which keeps the floor honest.
func BenchmarkTokenizeASCIIBaseline(b *testing.B) {
	_, cs := benchData()
	for _, lang := range langCases {
		items := itemsOf(cs, lang)
		b.Run("lang="+langName(lang), func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			spans := make([][2]int32, 0, 512)
			words, i := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				it := items[i%len(items)]
				buf, spans = buf[:0], spans[:0]
				for _, s := range [...]string{it.Title, it.Summary, it.Content} {
					buf, spans = asciiSplit(s, buf, spans)
				}
				words += len(spans)
				i++
			}
			b.ReportMetric(float64(words)/float64(i), "words/item")
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

var asciiLower = func() (t [256]byte) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			t[c] = byte(c)
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// asciiSplit lower-cases s into buf and appends the spans of its runs of ASCII letters and
// digits (every other byte separates words), through one table lookup a byte.
func asciiSplit(s string, buf []byte, spans [][2]int32) ([]byte, [][2]int32) {
	start := -1
	for i := 0; i < len(s); i++ {
		c := asciiLower[s[i]]
		if c != 0 {
			if start < 0 {
				start = len(buf)
			}
			buf = append(buf, c)
		} else if start >= 0 {
			spans = append(spans, [2]int32{int32(start), int32(len(buf))})
			start = -1
		}
	}
	if start >= 0 {
		spans = append(spans, [2]int32{int32(start), int32(len(buf))})
	}
	return buf, spans
}

// BenchmarkCompile compiles the rule sets; it reports the heap the index holds.
func BenchmarkCompile(b *testing.B) {
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rs := genRules(benchRules(n))
			var ix *Index
			var heap uint64
			var build time.Duration
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				start := time.Now()
				var err error
				ix, err = Compile(rs, nil)
				if err != nil {
					b.Fatal(err)
				}
				build += time.Since(start)
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
			}
			runtime.KeepAlive(ix)
			b.ReportMetric(build.Seconds()/float64(b.N), "build-s")
			b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
			s := ix.Stats()
			b.ReportMetric(float64(s.Keys), "keys")
			b.ReportMetric(float64(s.Postings), "postings")
		})
	}
}

// BenchmarkPrefilter matches the corpus against small rule sets, as a backtest or a playground
// query does: through the prefilter, and with it off (every item tokenized), in the same run.
func BenchmarkPrefilter(b *testing.B) {
	_, cs := benchData()
	items := itemsOf(cs, "")
	sets := map[string][]Rule{"kursk": {{ID: "kursk", Query: "kursk* OR курск* OR Κουρσκ OR 쿠르스크 OR 库尔斯克 OR クルスク"}}}
	for _, n := range []int{1, 3, 10} {
		sets[fmt.Sprintf("%d", n)] = genRules(benchRules(n))
	}
	for _, name := range []string{"kursk", "1", "3", "10"} {
		for _, pre := range []bool{true, false} {
			b.Run(fmt.Sprintf("rules=%s/prefilter=%v", name, pre), func(b *testing.B) {
				ix, err := Compile(sets[name], nil)
				if err != nil {
					b.Fatal(err)
				}
				if ix.pre == nil {
					b.Fatalf("no prefilter for these %d rules: too many anchors, or too many of one first character", len(sets[name]))
				}
				if !pre {
					ix.pre = nil
				}
				m := ix.NewMatcher()
				for _, it := range items {
					m.Match(it)
				}
				matches, i := 0, 0
				for b.Loop() {
					matches += len(m.Match(items[i%len(items)]))
					i++
				}
				b.ReportMetric(float64(matches)/float64(i), "matches/item")
			})
		}
	}
}
