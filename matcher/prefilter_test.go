package matcher

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// prefilterAgrees matches it against ix through the prefilter and by evaluating every rule, and
// fails the test when the two differ. It returns the matches.
func prefilterAgrees(t *testing.T, ix *Index, it *Item, what string) []Match {
	t.Helper()
	fast, slow := ix.NewMatcher(), ix.NewMatcher()
	slow.everyRule = true
	got, want := fast.Match(it), slow.Match(it)
	if len(got) == 0 && len(want) == 0 {
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: through the prefilter %v, every rule evaluated %v", what, ruleIDs(got), ruleIDs(want))
	}
	return want
}

// foldingCases are texts whose words differ from their bytes in every way the tokenizer folds,
// each with a rule that its folded words match (but the exact-case one).
var foldingCases = []struct{ query, text string }{
	{"kursk*", "Troops near KURSK."},
	{"kursk*", "Ｋｕｒｓｋ ｏｂｌａｓｔ"},                 // full width
	{"kursk", "\u212Aursk"},                    // the Kelvin sign folds to k
	{"kursk", "𝐊𝐮𝐫𝐬𝐤 region"},                  // mathematical bold, beyond the BMP
	{"kursk", "kur\u00adsk"},                   // a soft hyphen inside the word
	{"kursk", "ku\u0301rsk"},                   // a combining accent inside the word
	{"kursk", "\xffkursk\xfe"},                 // invalid bytes around it
	{"finance", "ﬁnance ministers"},            // a ligature at the anchor's start
	{"define*", "to deﬁne it"},                 // a ligature inside the anchor
	{"strasse", "Straße 5"},                    // ß folds to two characters
	{"ssen", "ßen"},                            // the anchor starts in an expansion
	{"4", "¼ of the vote"},                     // the word starts inside an expansion
	{"ecole", "e\u0301cole normale"},           // decomposed
	{"ecole", "École normale"},                 // precomposed
	{"istanbul", "İstanbul"},                   // dotted capital I
	{"οδος", "ΟΔΟΣ"},                           // final sigma
	{"курск*", "КУРСКОЙ области"},              // Cyrillic capitals
	{"ёлка", "ЁЛКА"},                           //
	{`"库尔斯克"`, "在库尔斯克州"},                       // Han pairs
	{`"库尔斯克"`, "库 尔斯克"},                        // a pair across a space
	{`"库尔斯克"`, "库，尔斯克"},                        // across a full-width comma
	{`"库尔斯克"`, "库 尔·斯\u0301 克"},                // every pair across separators or marks
	{"クルスク", "ｸﾙｽｸ"},                           // half-width Katakana
	{"쿠르스크*", "쿠르스크에서"},                        // Hangul
	{"title:kursk", "kursk"},                   // the field is read
	{"kursk NEAR/2 troops", "troops in Kursk"}, //
	{`"north korean" AND kursk*`, "North Korean troops in Kursk"},
	{"=Kursk", "kursk"},            // exact case: no match, and none lost
	{"/k.rsk/ OR moscow", "KURSK"}, // no anchor: every item is evaluated
}

func TestPrefilterFoldings(t *testing.T) {
	for _, c := range foldingCases {
		ix, err := Compile([]Rule{{ID: "r", Query: c.query}}, nil)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.query, err)
		}
		regexp := strings.HasPrefix(c.query, "/")
		if got := ix.pre != nil; got == regexp {
			t.Errorf("%q: prefilter %v, want %v", c.query, got, !regexp)
		}
		matched := false
		for _, it := range []*Item{{Title: c.text}, {Summary: "x " + c.text}, {Content: c.text + " y"}} {
			if len(prefilterAgrees(t, ix, it, fmt.Sprintf("%q over %+v", c.query, *it))) > 0 {
				matched = true
			}
		}
		if exact := strings.HasPrefix(c.query, "="); matched == exact {
			t.Errorf("%q over %q: matched %v, want %v", c.query, c.text, matched, !exact)
		}
	}
}

// TestPrefilterCases: anchors that share a first character, the fields the corpus leaves empty
// (authors, categories, link), a tag that is not the item's first, and pairs beyond the BMP or
// inside an expansion. Each case is prefiltered and matches.
func TestPrefilterCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules []string
		item  Item
	}{
		{"shared Cyrillic start, the second", []string{"курск*", "крым*"}, Item{Title: "в Крыму"}},
		{"shared Cyrillic start, the first", []string{"крым*", "курск*"}, Item{Title: "в Курске", Content: "x"}},
		{"pairs sharing a character, the second", []string{`"库尔斯克"`, `"库存"`}, Item{Title: "库存"}},
		{"pairs sharing a character, the first", []string{`"库存"`, `"库尔斯克"`}, Item{Title: "在库尔斯克"}},
		{"second author", []string{"author:smith"}, Item{Title: "x", Authors: []string{"Jones", "Smith"}}},
		{"second category", []string{"category:war"}, Item{Title: "x", Categories: []string{"a", "WAR"}}},
		{"link", []string{"link:kursk"}, Item{Title: "x", Link: "https://example.org/kursk-2024"}},
		{"second tag", []string{"kursk OR tag:war"}, Item{Title: "x", Tags: []string{"peace", "war"}}},
		{"prefix from ß", []string{"strasse*"}, Item{Title: "Straße 5"}},
		{"Hangul prefix", []string{"쿠르스크*"}, Item{Title: "쿠르스크에서"}},
		{"pair beyond the BMP", []string{`"𠀀𠀁"`}, Item{Title: "x 𠀀 𠀁"}},
		{"pair inside an expansion", []string{`"株式"`}, Item{Title: "㍿"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rs []Rule
			for i, q := range c.rules {
				rs = append(rs, Rule{ID: fmt.Sprint("r", i), Query: q})
			}
			ix, err := Compile(rs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ix.pre == nil {
				t.Fatalf("%q: no prefilter", c.rules)
			}
			if got := prefilterAgrees(t, ix, &c.item, fmt.Sprintf("%q over %+v", c.rules, c.item)); len(got) == 0 {
				t.Errorf("%q over %+v: no match", c.rules, c.item)
			}
		})
	}
}

// TestPrefilterFindsEveryWord: in texts of every character that folds to something else, expands
// or is dropped (and of a sample of the rest), in several contexts, a prefilter of one anchor finds
// every word the tokenizer makes, every prefix of it and every pair of characters.
func TestPrefilterFindsEveryWord(t *testing.T) {
	sample := rune(97)
	if raceEnabled {
		sample = 997
	}
	tried := 0
	for r := range rune(utf8.MaxRune + 1) {
		e := foldEntry(r)
		if 0xd800 <= r && r <= 0xdfff || !(e&4 != 0 || e>>8 != 0 || e&3 == clsDrop || r < 0x300 || r%sample == 0) {
			continue
		}
		c := string(r)
		for _, s := range []string{c, "ab" + c, c + "ab", c + "中", "中" + c, "中 " + c + " 文", "x" + c + "x" + c} {
			var tk tokenizer
			tk.add(s, 0)
			for i, tok := range tk.toks {
				anchors := map[string]byte{tok.word: 'w'}
				if w := []rune(tok.word); len(w) > 2 {
					anchors[string(w[:2])] = 'p'
				}
				if i > 0 && tok.single && tk.toks[i-1].single {
					anchors[tk.toks[i-1].word+tok.word] = 'b'
				}
				for text, kind := range anchors {
					p := newPrefilter([]byte{kind}, []string{text})
					if p == nil {
						continue
					}
					tried++
					if !p.mayHold(s) {
						t.Fatalf("text %+q: anchor %c %+q not found", s, kind, text)
					}
				}
			}
		}
	}
	if tried < 10000 {
		t.Errorf("%d anchors tried, want at least 10,000", tried)
	}
}

// TestPrefilterAttributes: an item whose text holds no anchor still matches by its feed or tag.
func TestPrefilterAttributes(t *testing.T) {
	ix, err := Compile([]Rule{{ID: "r", Query: "kursk OR feed:f1 OR tag:war"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ix.pre == nil {
		t.Fatal("no prefilter for a rule of one word and two attributes")
	}
	for _, it := range []*Item{{FeedID: "f1", Title: "x"}, {FeedID: "f2", Tags: []string{"war"}, Title: "x"}} {
		if len(prefilterAgrees(t, ix, it, fmt.Sprintf("%+v", *it))) != 1 {
			t.Errorf("%+v: no match", *it)
		}
	}
}

// TestPrefilterLosesNothing matches the benchmark corpus, and the folding cases, against many
// small rule sets through the prefilter and by evaluating every rule. The prefilter must skip
// most items, and the results must be identical.
func TestPrefilterLosesNothing(t *testing.T) {
	ls := languages()
	docs, sets := 300, 150
	if raceEnabled {
		docs, sets = 100, 60
	}
	cs := corpus(docs, ls)
	items := make([]*Item, 0, len(cs)+len(foldingCases))
	for i := range cs {
		items = append(items, &cs[i].item)
	}
	for _, c := range foldingCases {
		items = append(items, &Item{Title: c.text, Content: cs[len(items)%len(cs)].item.Content})
	}
	gs := rules(sets*3, ls)
	rng := rand.New(rand.NewPCG(7, 8))
	var matched, skipped, tried, prefiltered int
	for s := range sets {
		var rs []Rule
		for i := range 1 + rng.IntN(4) {
			q := gs[(s*3+i)%len(gs)].query
			if rng.IntN(4) == 0 {
				q = foldingCases[rng.IntN(len(foldingCases))].query
			}
			rs = append(rs, Rule{ID: fmt.Sprintf("r%d", i), Query: q})
		}
		ix, err := Compile(rs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ix.pre != nil {
			prefiltered++
		}
		m := ix.NewMatcher()
		for i, it := range items {
			matched += len(prefilterAgrees(t, ix, it, fmt.Sprintf("rules %v, item %d", rs, i)))
			if m.Match(it); m.Candidates() == 0 && ix.pre != nil && !m.mayMatch(it) {
				skipped++
			}
			tried++
		}
	}
	t.Logf("%d of %d rule sets with a prefilter; %d matches; %d of %d items skipped untokenized", prefiltered, sets, matched, skipped, tried)
	if prefiltered < sets*9/10 || matched < 100 || skipped < tried/2 {
		t.Errorf("the test means little: want most rule sets prefiltered, 100 matches and most items skipped")
	}
}

// TestPrefilterLimits: no prefilter for an index with a rule every item must be evaluated
// against, nor for one of more anchors than prefilterMax, or of more than prefilterSameStart
// that start with one character.
func TestPrefilterLimits(t *testing.T) {
	ix, err := Compile([]Rule{{ID: "a", Query: "kursk"}, {ID: "b", Query: "/k.rsk/"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ix.pre != nil {
		t.Error("a prefilter beside a rule of no anchor")
	}
	var spread, same []string
	for i := range prefilterMax + 1 {
		spread = append(spread, fmt.Sprintf("%c%dx", 'a'+i%26, i))
		same = append(same, fmt.Sprintf("k%dx", i))
	}
	for _, c := range []struct {
		words []string
		want  bool
	}{
		{spread[:prefilterMax], true},
		{spread, false},
		{same[:prefilterSameStart], true},
		{same[:prefilterSameStart+1], false},
	} {
		ix, err := Compile([]Rule{{ID: "r", Query: strings.Join(c.words, " OR ")}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := ix.pre != nil; got != c.want {
			t.Errorf("anchors %v: prefilter %v, want %v", c.words, got, c.want)
		}
	}
}

// FuzzPrefilter: over arbitrary text, rules of the text's own words (some in one field), their
// prefixes and pairs, and an arbitrary query, match alike through the prefilter and by evaluating
// every rule, the text in every field.
func FuzzPrefilter(f *testing.F) {
	for _, c := range foldingCases {
		f.Add(c.text, c.query, uint8(1))
	}
	f.Add("a½b ① ｸﾙｽｸ \xff", "b*", uint8(3))
	f.Fuzz(func(t *testing.T, text, query string, pick uint8) {
		if _, err := Compile([]Rule{{ID: "q", Query: query}}, nil); err != nil {
			return
		}
		rules := []Rule{{ID: "q", Query: query}}
		add := func(id, q string) {
			if _, err := Compile([]Rule{{ID: id, Query: q}}, nil); err == nil {
				rules = append(rules, Rule{ID: id, Query: q})
			}
		}
		fields := []string{"", "title:", "author:", "category:", "link:"}
		words := Words(text)
		for i, w := range words {
			if uint8(i)%4 != pick%4 {
				continue
			}
			add(fmt.Sprintf("w%d", i), fields[(i+int(pick))%len(fields)]+`"`+w+`"`)
			if r := []rune(w); len(r) > 2 {
				add(fmt.Sprintf("p%d", i), string(r[:2+int(pick)%(len(r)-2)])+"*")
			}
			if i+1 < len(words) {
				add(fmt.Sprintf("f%d", i), `"`+w+" "+words[i+1]+`"`)
			}
		}
		ix, err := Compile(rules, nil)
		if err != nil {
			t.Fatalf("Compile(%q): %v", rules, err)
		}
		half := len(text) / 2
		for _, it := range []*Item{
			{Title: text},
			{Summary: text[:half], Content: text[half:], Link: text},
			{Title: "x", Authors: []string{"a", text}, Categories: []string{text[:half], text[half:]}},
		} {
			prefilterAgrees(t, ix, it, fmt.Sprintf("rules %q over %+v", rules, *it))
		}
	})
}
