package matcher

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// The benchmark corpus: deterministic, realistic-looking news items in several scripts, and
// rule sets drawn from the same vocabularies.

type language struct {
	name     string
	weight   float64 // share of items
	stop     []string
	vocab    []string  // topical words, by frequency rank
	cum      []float64 // Zipf cumulative weights over vocab
	spaced   bool      // words separated by spaces
	cased    bool      // has upper case
	period   string
	comma    string
	regexpW  bool // \b works for this script in the regexp baseline
	minRunes int  // of a rule word
}

func (l *language) word(rng *rand.Rand) string {
	if rng.IntN(100) < 42 {
		return l.stop[rng.IntN(len(l.stop))]
	}
	return l.vocab[sort.SearchFloat64s(l.cum, rng.Float64()*l.cum[len(l.cum)-1])]
}

func zipf(n int) []float64 {
	cum := make([]float64, n)
	s := 0.0
	for i := range cum {
		s += 1 / float64(i+8)
		cum[i] = s
	}
	return cum
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// syllableWords makes n distinct pseudo-words of 1 to 4 syllables.
// Stop words are left out.
func syllableWords(rng *rand.Rand, n int, onset, nucleus, coda, head, stop []string) []string {
	seen := map[string]bool{}
	for _, s := range stop {
		seen[s] = true
	}
	out := make([]string, 0, n)
	for _, h := range head {
		seen[h] = true
		out = append(out, h)
	}
	for len(out) < n {
		var b strings.Builder
		for range 1 + rng.IntN(2) + rng.IntN(2)*rng.IntN(2) {
			b.WriteString(pick(rng, onset))
			b.WriteString(pick(rng, nucleus))
			b.WriteString(pick(rng, coda))
		}
		w := b.String()
		if utf8.RuneCountInString(w) < 3 || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	// Shuffle the generated part so that frequency does not follow length.
	tail := out[len(head):]
	rng.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	return out
}

func runeRange(from rune, n, step int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(from + rune(i*step))
	}
	return out
}

func languages() []*language {
	rng := rand.New(rand.NewPCG(1, 2))
	en := &language{name: "en", weight: 0.5, spaced: true, cased: true, period: ". ", comma: ", ", regexpW: true,
		stop: strings.Fields("the of and to in a is that for on with as was said by at from it he be has have are " +
			"were not this but they his an which its after their who had been will would also more than over " +
			"into about or up new one two we when there all her she us can last could"),
	}
	en.vocab = syllableWords(rng, 20000,
		strings.Fields("b c d f g h k l m n p r s t v w st tr pr ch sh br gr pl"),
		strings.Fields("a e i o u ai ea ou io"),
		[]string{"", "", "n", "r", "s", "t", "l", "nd", "rk", "ng"},
		strings.Fields("government president minister military troops forces war election police court "+
			"economy market country north korea russia ukraine kursk china united states security attack "+
			"report officials soldiers region border missile sanctions talks peace deal prices inflation "+
			"bank energy oil gas climate storm flood earthquake vaccine hospital school parliament vote"), en.stop)
	ru := &language{name: "ru", weight: 0.15, spaced: true, cased: true, period: ". ", comma: ", ",
		stop: strings.Fields("и в на с что по не из за о от к для это как его но он она они так уже же бы"),
	}
	ru.vocab = syllableWords(rng, 15000,
		strings.Fields("б в г д ж з к л м н п р с т ф х ц ч ш ст пр кр"),
		strings.Fields("а е и о у ы я ю ё"),
		[]string{"", "", "н", "р", "с", "т", "й", "к"},
		strings.Fields("курск россия украина войска кндр армия президент правительство выборы санкции"), ru.stop)
	el := &language{name: "el", weight: 0.05, spaced: true, cased: true, period: ". ", comma: ", ",
		stop: strings.Fields("και το η της του στο με για που ο τα των σε να θα από"),
	}
	el.vocab = syllableWords(rng, 8000,
		strings.Fields("β γ δ κ λ μ ν π ρ σ τ φ χ στ πρ"),
		strings.Fields("α ε η ι ο υ ω ά έ ή ί ό ύ ώ"),
		[]string{"", "", "ς", "ν", "ρ"},
		strings.Fields("αθήνα κυβέρνηση εκλογές στρατός οικονομία"), el.stop)
	hangul := runeRange(0xAC00, 600, 17)
	ko := &language{name: "ko", weight: 0.1, spaced: true, period: ". ", comma: ", ",
		stop: strings.Fields("그리고 그 이 및 등 또한 이번 지난"),
	}
	ko.vocab = syllableWords(rng, 8000, hangul, []string{""}, []string{"", "", "", "은", "는", "이", "가", "을", "를", "의", "에"},
		strings.Fields("북한 러시아 군대 파병 대통령 정부 선거 경제"), ko.stop)
	han := runeRange(0x4E00, 3000, 7)
	zh := &language{name: "zh", weight: 0.1, period: "。", comma: "，",
		stop: strings.Fields("的 了 在 是 和 与 也 将 对 为"),
	}
	zh.vocab = syllableWords(rng, 5000, han, []string{""}, []string{""}, strings.Fields("北朝鲜 俄罗斯 军队 总统 政府 选举 经济"), zh.stop)
	kata := runeRange(0x30A1, 80, 1)
	ja := &language{name: "ja", weight: 0.1, period: "。", comma: "、",
		stop: strings.Fields("の に は を が と で も から まで"),
	}
	ja.vocab = append(syllableWords(rng, 2500, han, []string{""}, []string{""}, strings.Fields("北朝鮮 政府 首相 選挙"), ja.stop),
		syllableWords(rng, 2500, kata, kata, []string{"", "ー", "ン"}, strings.Fields("ミサイル ロシア ウクライナ"), ja.stop)...)
	rng.Shuffle(len(ja.vocab)-4, func(i, j int) { ja.vocab[i+4], ja.vocab[j+4] = ja.vocab[j+4], ja.vocab[i+4] })
	all := []*language{en, ru, el, ko, zh, ja}
	for _, l := range all {
		l.minRunes = 5
		if !l.spaced {
			l.minRunes = 2
		}
		if l.name == "ko" {
			l.minRunes = 3
		}
		l.cum = zipf(len(l.vocab))
	}
	return all
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// sentence writes about n words of l.
func (l *language) sentence(rng *rand.Rand, b *strings.Builder, n int) {
	for i := range n {
		w := l.word(rng)
		switch x := rng.IntN(100); {
		case l.cased && (i == 0 || x < 8):
			w = capitalize(w)
		case x < 11:
			w = fmt.Sprint(rng.IntN(3000))
		case l.name == "en" && x < 14:
			w += "'s"
		case l.spaced && x < 16:
			w += "-" + l.word(rng)
		}
		if i > 0 && l.spaced {
			if rng.IntN(12) == 0 {
				b.WriteString(strings.TrimSpace(l.comma))
			}
			b.WriteByte(' ')
		} else if i > 0 && rng.IntN(10) == 0 {
			b.WriteString(l.comma)
		}
		b.WriteString(w)
	}
	b.WriteString(strings.TrimSpace(l.period))
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

// corpusItem is an item and its language.
type corpusItem struct {
	lang string
	item Item
}

// corpus returns n items of about 1 KB each (title, summary, content).
func corpus(n int, langs []*language) []corpusItem {
	rng := rand.New(rand.NewPCG(3, 4))
	var total float64
	for _, l := range langs {
		total += l.weight
	}
	out := make([]corpusItem, n)
	for i := range out {
		x := rng.Float64() * total
		l := langs[0]
		for _, c := range langs {
			if x < c.weight {
				l = c
				break
			}
			x -= c.weight
		}
		var tb strings.Builder
		l.sentence(rng, &tb, 6+rng.IntN(5))
		out[i] = corpusItem{lang: l.name, item: Item{
			FeedID:  fmt.Sprintf("feed%d", rng.IntN(50)),
			Title:   tb.String(),
			Summary: l.text(rng, 200),
			Content: l.text(rng, 700),
		}}
	}
	return out
}

// genRule is a generated rule: its query and the regular expression a user would write for it
// today (the baseline).
type genRule struct {
	query, pattern string
}

// ruleWord picks a topical word for a rule: users watch for specific things (names, places,
// topics), not for the most common words, so rule words come from all but the most frequent
// fifth of the vocabulary.
// Rule words are at least minRunes long, as names and topics are.
func ruleWord(rng *rand.Rand, l *language) string {
	n := len(l.vocab) / 5
	for {
		w := l.vocab[n+rng.IntN(len(l.vocab)-n)]
		if utf8.RuneCountInString(w) >= l.minRunes {
			return w
		}
	}
}

func reWord(l *language, w string) string {
	if l.regexpW {
		return `\b` + w + `\b`
	}
	return w
}

// rules returns n rules mixing words, OR groups, AND, phrases, wildcards, NEAR and boolean
// groups, in the languages of the corpus.
func rules(n int, langs []*language) []genRule {
	rng := rand.New(rand.NewPCG(5, uint64(n)))
	out := make([]genRule, n)
	for i := range out {
		var l *language
		for x := rng.Float64(); l == nil; {
			for _, c := range langs {
				if x < c.weight {
					l = c
					break
				}
				x -= c.weight
			}
			x = rng.Float64()
		}
		a, b, c, d := ruleWord(rng, l), ruleWord(rng, l), ruleWord(rng, l), ruleWord(rng, l)
		var r genRule
		switch x := rng.IntN(100); {
		case x < 30:
			r = genRule{a, reWord(l, a)}
		case x < 40:
			r = genRule{a + " OR " + b + " OR " + c, reWord(l, "(?:"+a+"|"+b+"|"+c+")")}
		case x < 55:
			r = genRule{a + " " + b, reWord(l, a) + `.*` + reWord(l, b) + "|" + reWord(l, b) + `.*` + reWord(l, a)}
		case x < 70:
			r = genRule{`"` + a + " " + b + `"`, reWord(l, a+`\W+`+b)}
		case x < 80 && !l.spaced: // Han and Kana characters are words by themselves: no wildcards
			r = genRule{`"` + a + `"`, a}
		case x < 80:
			p := prefix(a)
			r = genRule{p + "*", reWord(l, p+`\w*`)}
		case x < 90:
			r = genRule{a + " NEAR/5 (" + b + " OR " + c + ")", reWord(l, a) + `(?:\W+\w+){0,5}\W+` + reWord(l, "(?:"+b+"|"+c+")")}
		default:
			r = genRule{"(" + a + " OR " + b + ") " + c + " -" + d, reWord(l, "(?:"+a+"|"+b+")")}
		}
		out[i] = r
	}
	return out
}

// prefix returns the stem a user would put before * to catch the forms of w (troop* for
// troops): w without its last character or two, at least four characters.
func prefix(w string) string {
	rs := []rune(w)
	return string(rs[:max(min(len(rs), 4), len(rs)-1-len(rs)%2)])
}

// genRules turns generated rules into matcher rules.
func genRules(gs []genRule) []Rule {
	rs := make([]Rule, len(gs))
	for i, g := range gs {
		rs[i] = Rule{ID: fmt.Sprintf("r%d", i), Query: g.query}
	}
	return rs
}

func itemsOf(cs []corpusItem, lang string) []*Item {
	var out []*Item
	for i := range cs {
		if lang == "" || cs[i].lang == lang {
			out = append(out, &cs[i].item)
		}
	}
	return slices.Clip(out)
}
