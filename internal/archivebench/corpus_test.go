package archivebench

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/newswatch/newswatch/event"
	"github.com/newswatch/newswatch/matcher"
)

// The corpus of the benchmark, made as the matcher's benchmarks make theirs: news-like items of
// about 1 KB in English, Russian, Greek, Korean, Chinese and Japanese, words drawn from
// Zipf-weighted vocabularies of each script, and rules drawn from the same vocabularies.

type language struct {
	name     string
	weight   float64
	stop     []string
	vocab    []string
	cum      []float64
	spaced   bool
	cased    bool
	period   string
	minRunes int
}

func (l *language) word(rng *rand.Rand) string {
	if rng.IntN(100) < 42 {
		return l.stop[rng.IntN(len(l.stop))]
	}
	return l.vocab[sort.SearchFloat64s(l.cum, rng.Float64()*l.cum[len(l.cum)-1])]
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// words makes n distinct pseudo-words of 1 to 3 syllables after the head words.
func words(rng *rand.Rand, n int, onset, nucleus, coda, head []string) []string {
	seen := map[string]bool{}
	out := append([]string(nil), head...)
	for _, h := range head {
		seen[h] = true
	}
	for len(out) < n {
		var b strings.Builder
		for range 1 + rng.IntN(2) + rng.IntN(2)*rng.IntN(2) {
			b.WriteString(pick(rng, onset) + pick(rng, nucleus) + pick(rng, coda))
		}
		if w := b.String(); utf8.RuneCountInString(w) >= 3 && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func runes(from rune, n, step int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(from + rune(i*step))
	}
	return out
}

func languages() []*language {
	rng := rand.New(rand.NewPCG(1, 2))
	f := strings.Fields
	ls := []*language{
		{name: "en", weight: 0.5, spaced: true, cased: true, period: ".",
			stop: f("the of and to in a is that for on with as was said by at from it he be has have are were not this but they his an which its after their who had been will would also more than over into about")},
		{name: "ru", weight: 0.15, spaced: true, cased: true, period: ".", stop: f("и в на с что по не из за о от к для это как его но он она они так уже же бы")},
		{name: "el", weight: 0.05, spaced: true, cased: true, period: ".", stop: f("και το η της του στο με για που ο τα των σε να θα από")},
		{name: "ko", weight: 0.1, spaced: true, period: ".", stop: f("그리고 그 이 및 등 또한 이번 지난")},
		{name: "zh", weight: 0.1, period: "。", stop: f("的 了 在 是 和 与 也 将 对 为")},
		{name: "ja", weight: 0.1, period: "。", stop: f("の に は を が と で も から まで")},
	}
	ls[0].vocab = words(rng, 20000, f("b c d f g h k l m n p r s t v w st tr pr ch sh br gr pl"), f("a e i o u ai ea ou io"),
		[]string{"", "", "n", "r", "s", "t", "l", "nd", "rk", "ng"},
		f("government president minister military troops forces war election police court economy market country north korea russia ukraine china security attack report officials soldiers region border"))
	ls[1].vocab = words(rng, 15000, f("б в г д ж з к л м н п р с т ф х ц ч ш ст пр кр"), f("а е и о у ы я ю ё"),
		[]string{"", "", "н", "р", "с", "т", "й", "к"}, f("россия украина войска кндр армия президент правительство выборы санкции"))
	ls[2].vocab = words(rng, 8000, f("β γ δ κ λ μ ν π ρ σ τ φ χ στ πρ"), f("α ε η ι ο υ ω ά έ ή ί ό ύ ώ"),
		[]string{"", "", "ς", "ν", "ρ"}, f("αθήνα κυβέρνηση εκλογές στρατός οικονομία"))
	ls[3].vocab = words(rng, 8000, runes(0xAC00, 600, 17), []string{""}, []string{"", "", "", "은", "는", "이", "가", "을", "를", "의", "에"},
		f("북한 러시아 군대 파병 대통령 정부 선거 경제"))
	han := runes(0x4E00, 3000, 7)
	ls[4].vocab = words(rng, 5000, han, []string{""}, []string{""}, f("北朝鲜 俄罗斯 军队 总统 政府 选举 经济"))
	kata := runes(0x30A1, 80, 1)
	ls[5].vocab = append(words(rng, 2500, han, []string{""}, []string{""}, f("北朝鮮 政府 首相 選挙")),
		words(rng, 2500, kata, kata, []string{"", "ー", "ン"}, f("ミサイル ロシア ウクライナ"))...)
	for _, l := range ls {
		l.minRunes = map[bool]int{true: 5, false: 2}[l.spaced]
		if l.name == "ko" {
			l.minRunes = 3
		}
		l.cum = make([]float64, len(l.vocab))
		s := 0.0
		for i := range l.cum {
			s += 1 / float64(i+8)
			l.cum[i] = s
		}
	}
	return ls
}

func (l *language) sentence(rng *rand.Rand, b *strings.Builder, n int) {
	for i := range n {
		w := l.word(rng)
		switch x := rng.IntN(100); {
		case l.cased && (i == 0 || x < 8):
			r, size := utf8.DecodeRuneInString(w)
			w = strings.ToUpper(string(r)) + w[size:]
		case x < 11:
			w = fmt.Sprint(rng.IntN(3000))
		}
		if i > 0 && l.spaced {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteString(l.period)
}

func (l *language) text(rng *rand.Rand, bytes int) string {
	var b strings.Builder
	for b.Len() < bytes {
		if b.Len() > 0 && l.spaced {
			b.WriteByte(' ')
		}
		l.sentence(rng, &b, 6+rng.IntN(14))
	}
	return b.String()
}

func (c *corpus) lang(rng *rand.Rand) *language {
	x := rng.Float64()
	for _, l := range c.langs {
		if x < l.weight {
			return l
		}
		x -= l.weight
	}
	return c.langs[0]
}

// kursk is the name of Kursk in each language, which one item in a hundred mentions.
var kursk = map[string]string{"en": "Kursk", "ru": "Курск", "el": "Κουρσκ", "ko": "쿠르스크", "zh": "库尔斯克", "ja": "クルスク"}

// corpus makes the items of the archive, the same for the same index.
type corpus struct {
	langs []*language
	start time.Time
}

func newCorpus(start time.Time) *corpus { return &corpus{langs: languages(), start: start} }

// feeds is how many feeds the items come from.
const feeds = 1000

// item is the i-th item: of feed i%feeds, first seen i ms after the corpus's start.
func (c *corpus) item(i int) event.Archived {
	rng := rand.New(rand.NewPCG(3, uint64(i)))
	l := c.lang(rng)
	var title strings.Builder
	l.sentence(rng, &title, 6+rng.IntN(5))
	if rng.IntN(100) == 0 { // one item in a hundred is about Kursk
		title.WriteString(" " + kursk[l.name])
	}
	feed := fmt.Sprintf("feed%d", i%feeds)
	seen := c.start.Add(time.Duration(i) * time.Millisecond)
	return event.Archived{
		FeedID: feed, FeedURL: "https://news" + feed + ".example/rss.xml", FeedTitle: "News " + feed,
		Tags: []string{"news", l.name},
		Item: event.Item{
			Key:        fmt.Sprintf("https://news%s.example/%d", feed, i),
			GUID:       fmt.Sprintf("https://news%s.example/%d", feed, i),
			Link:       fmt.Sprintf("https://news%s.example/%d", feed, i),
			Title:      title.String(),
			Summary:    l.text(rng, 150),
			Published:  seen.Add(-time.Duration(rng.IntN(3600)) * time.Second).Truncate(time.Second),
			Authors:    []string{"Reporter " + fmt.Sprint(rng.IntN(100))},
			Categories: []string{l.word(rng)},
		},
		Content:   l.text(rng, 300),
		FirstSeen: seen,
	}
}

// ruleWord picks a topical word: from all but the most frequent fifth of the vocabulary.
func ruleWord(rng *rand.Rand, l *language) string {
	n := len(l.vocab) / 5
	for {
		if w := l.vocab[n+rng.IntN(len(l.vocab)-n)]; utf8.RuneCountInString(w) >= l.minRunes {
			return w
		}
	}
}

// rules returns n rules mixing words, OR groups, AND, phrases, wildcards, NEAR and boolean
// groups, as the matcher's benchmarks do.
func (c *corpus) rules(n int) []matcher.Rule {
	rng := rand.New(rand.NewPCG(5, uint64(n)))
	out := make([]matcher.Rule, n)
	for i := range out {
		l := c.lang(rng)
		a, b, cc, d := ruleWord(rng, l), ruleWord(rng, l), ruleWord(rng, l), ruleWord(rng, l)
		var q string
		switch x := rng.IntN(100); {
		case x < 30:
			q = a
		case x < 40:
			q = a + " OR " + b + " OR " + cc
		case x < 55:
			q = a + " " + b
		case x < 70:
			q = `"` + a + " " + b + `"`
		case x < 80 && !l.spaced:
			q = `"` + a + `"`
		case x < 80:
			rs := []rune(a)
			q = string(rs[:max(min(len(rs), 4), len(rs)-1-len(rs)%2)]) + "*"
		case x < 90:
			q = a + " NEAR/5 (" + b + " OR " + cc + ")"
		default:
			q = "(" + a + " OR " + b + ") " + cc + " -" + d
		}
		out[i] = matcher.Rule{ID: fmt.Sprintf("r%d", i), Query: q}
	}
	return out
}
