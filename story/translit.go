package story

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// latinOf holds, for every letter of the Latin, Greek and Cyrillic blocks that folds to
// something else, its lower-case Latin form without marks: "É" → "e", "ß" → "ss", "Щ" → "shch",
// "Ά" → "a". It is built once from golang.org/x/text (NFD, marks dropped) and the
// transliteration tables below, so a name spelled in Cyrillic or Greek and its Latin spelling
// meet on one key (Курск and Kursk, Зеленский and Zelensky by their first letters).
var latinOf = buildLatin()

// cyrillic is a plain romanisation, close to the BGN/PCGN and the Ukrainian national systems,
// chosen so that the first five letters of common names agree with their English spelling.
var cyrillic = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z",
	'и': "i", 'й': "i", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh",
	'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "iu", 'я': "ia",
	'і': "i", 'ї': "i", 'є': "ie", 'ґ': "g", 'ў': "u", 'ј': "j", 'љ': "lj", 'њ': "nj", 'ћ': "c",
	'ђ': "dj", 'џ': "dz", 'ѓ': "g", 'ќ': "k", 'ѕ': "dz",
}

var greek = map[rune]string{
	'α': "a", 'β': "v", 'γ': "g", 'δ': "d", 'ε': "e", 'ζ': "z", 'η': "i", 'θ': "th", 'ι': "i",
	'κ': "k", 'λ': "l", 'μ': "m", 'ν': "n", 'ξ': "x", 'ο': "o", 'π': "p", 'ρ': "r", 'σ': "s",
	'ς': "s", 'τ': "t", 'υ': "y", 'φ': "f", 'χ': "ch", 'ψ': "ps", 'ω': "o",
}

func buildLatin() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'œ': "oe", 'Œ': "oe",
		'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'þ': "th", 'Þ': "th", 'ı': "i"}
	add := func(r rune) {
		if _, ok := m[r]; ok {
			return
		}
		var b strings.Builder
		for _, d := range norm.NFD.String(string(r)) {
			if unicode.Is(unicode.Mn, d) {
				continue
			}
			d = unicode.ToLower(d)
			if s, ok := cyrillic[d]; ok {
				b.WriteString(s)
			} else if s, ok := greek[d]; ok {
				b.WriteString(s)
			} else {
				b.WriteRune(d)
			}
		}
		if s := b.String(); s != string(r) {
			m[r] = s
		}
	}
	for r := rune(0xC0); r <= 0x24F; r++ {
		add(r)
	}
	for r := rune(0x370); r <= 0x3FF; r++ {
		add(r)
	}
	for r := rune(0x400); r <= 0x4FF; r++ {
		add(r)
	}
	for r := rune(0x1E00); r <= 0x1FFF; r++ {
		add(r)
	}
	return m
}

// months maps the first letters of month names in the languages we guess (en, de, fr, es, it,
// ru, uk, after folding and transliteration) to the month's number, so "10 March", "10. März" and
// "10 марта" share a date key. Keys are the first four letters (five for "listo", whose four
// would be the English "list"), or the whole word when shorter; a month counts only next to a
// day number, which keeps "sent" and "mars" from making dates.
var months = map[string]int{
	"janu": 1, "janv": 1, "ener": 1, "genn": 1, "ianv": 1, "sich": 1,
	"febr": 2, "fevr": 2, "febb": 2, "liut": 2,
	"marc": 3, "marz": 3, "mars": 3, "mart": 3, "bere": 3,
	"apri": 4, "avri": 4, "abri": 4, "apre": 4, "kvit": 4,
	"mai": 5, "mayo": 5, "magg": 5, "maia": 5, "trav": 5,
	"june": 6, "juni": 6, "juin": 6, "giug": 6, "iiun": 6, "cher": 6,
	"july": 7, "juli": 7, "juil": 7, "lugl": 7, "iiul": 7, "lipn": 7,
	"augu": 8, "aout": 8, "agos": 8, "avgu": 8, "serp": 8,
	"sept": 9, "sett": 9, "sent": 9, "vere": 9,
	"octo": 10, "okto": 10, "octu": 10, "otto": 10, "okti": 10, "zhov": 10,
	"nove": 11, "novi": 11, "noia": 11, "listo": 11,
	"dece": 12, "deze": 12, "dici": 12, "deka": 12, "grud": 12,
}

// stop words of the languages most feeds are in, after folding and transliteration; the
// document frequency of the window discounts the rest.
var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
a an the of in on at to for from by with and or but not no is are was were be been has have had
it its this that these those as after before over under into about than then his her their our
we you they he she i will would can could may might new says said say who what when where how why
up out more most all also just one two first last year years amid via vs off down back get gets got
set make makes made top big here there now still like so if do does did than very much many any
some such only own same other others another again against while during each few both through
until why off being because should off its what which whom whose yours your my me him them us
week day today tomorrow yesterday monday tuesday wednesday thursday friday saturday sunday
update watch video videos photo photos pics live breaking exclusive report reports review news
der die das den dem des ein eine einer eines und oder nicht ist sind war im in am zu zur zum von
mit fur auf aus bei nach uber unter vor wie als auch noch nur sich es er sie wir
le la les un une des du de et ou en au aux pour par sur dans avec sans est sont a ete qui que ce
ces son sa ses leur plus ne pas se il elle apres selon
el los las una unos y o del al con por para sin es son fue que se lo su sus mas segun tras
il lo gli i di da con per tra fra che non e sono
i v vo na s so k ko o ob ot do po za iz u ne ni a no da ili eto kak chto chtoby pri dlia
bez nad pod mezhdu kotoryi posle pered zhe li by uzhe tak takzhe
ta z zi vid dlia pro pislia iak shcho tse do na u v i ne
`) {
		m[w] = true
	}
	return m
}()

// lexicon holds the words of voteWords and stop, so that a word is looked up once: its vote
// (the index in voteLang plus one, 0 for none) in the bits of lexVote, and lexStop.
var lexicon, maxStop = func() (map[string]uint8, int) {
	m := map[string]uint8{}
	n := 0
	for w, v := range voteWords {
		m[w] |= uint8(v + 1)
	}
	for w := range stop {
		m[w] |= lexStop
		n = max(n, len(w))
	}
	for w := range m {
		lexPrefilter[lexBit(w)/64] |= 1 << (lexBit(w) % 64)
	}
	return m, n
}()

// lexPrefilter marks the length, first and last letters of the words of lexicon (lexBit), so
// that most other words skip the lookup.
var lexPrefilter [16 * 32 * 32 / 64]uint64

func lexBit[T string | []byte](w T) int {
	return (len(w)&15)<<10 | int(w[0]&31)<<5 | int(w[len(w)-1]&31)
}

// lexOf returns lexicon's answer for w.
func lexOf(w []byte) uint8 {
	if b := lexBit(w); lexPrefilter[b/64]&(1<<(b%64)) == 0 {
		return 0
	}
	return lexicon[string(w)]
}

const (
	lexVote = 7
	lexStop = 8
)

// monthPairs marks the first two letters of the keys of months, so that most words skip the
// lookup.
var monthPairs = func() (p [26 * 26]bool) {
	for k := range months {
		p[int(k[0]-'a')*26+int(k[1]-'a')] = true
	}
	return p
}()

// mayBeMonth reports whether the folded word w, of three letters or more, may start with a key
// of months.
func mayBeMonth(w []byte) bool {
	a, b := w[0]-'a', w[1]-'a'
	return a >= 26 || b >= 26 || monthPairs[int(a)*26+int(b)]
}
