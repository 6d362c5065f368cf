package matcher

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// matches compiles one rule and reports whether it matches it.
func matches(t *testing.T, query string, lists map[string][]string, it *Item) bool {
	t.Helper()
	ix, err := Compile([]Rule{{ID: "r", Query: query}}, lists)
	if err != nil {
		t.Fatalf("Compile(%q): %v", query, err)
	}
	got := ix.Match(it)
	// The reusable matcher must agree with the pooled path.
	m := ix.NewMatcher()
	if again := m.Match(it); len(again) != len(got) {
		t.Fatalf("Matcher.Match(%q) = %d matches, Index.Match = %d", query, len(again), len(got))
	}
	return len(got) == 1
}

type matchCase struct {
	name  string
	query string
	item  Item
	want  bool
}

func runMatchCases(t *testing.T, cases []matchCase, lists map[string][]string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matches(t, tc.query, lists, &tc.item); got != tc.want {
				t.Errorf("query %q on %+v: got match=%v, want %v", tc.query, tc.item, got, tc.want)
			}
		})
	}
}

func title(s string) Item   { return Item{Title: s} }
func content(s string) Item { return Item{Content: s} }

// TestSpecTable covers every row of SPEC.md §3, each with positive and negative cases.
func TestSpecTable(t *testing.T) {
	lists := map[string][]string{
		"dprk":   {`"north korea*"`, "dprk", "pyongyang", `"kim jong un"`, "кндр", "북한"},
		"places": {"kursk", "курск"},
	}
	runMatchCases(t, []matchCase{
		// kursk: the whole word
		{"word", "kursk", title("Fighting in Kursk"), true},
		{"word in summary", "kursk", Item{Summary: "near kursk"}, true},
		{"word not a part", "star", title("gstar raw"), false},
		{"word not a prefix", "star", title("starship"), false},
		{"word absent", "kursk", title("Fighting in Kharkiv"), false},
		{"word cyrillic", "курск", title("Бои под Курском и в Курск"), true},
		{"word cyrillic inflected is another word", "курск", title("Бои под Курском"), false},
		{"word greek", "αθήνα", title("ΑΘΗΝΑ: νέα μέτρα"), true},
		{"word hangul", "북한", title("북한 군대가 러시아로"), true},
		{"word hangul not part", "북한", title("북한군 파병"), false},
		{"word han is a phrase", "北朝鮮", title("北朝鮮軍がロシアに"), true},
		{"word han no", "北朝鮮", title("北の朝鮮"), false},
		// troop*
		{"wildcard", "troop*", title("Troops arrive"), true},
		{"wildcard exact stem", "troop*", title("a troop"), true},
		{"wildcard not inside", "troop*", title("paratroops"), false},
		{"wildcard cyrillic", "войск*", title("Российские войска"), true},
		{"wildcard hangul", "파병*", title("북한 파병했다"), true},
		// "north korea"
		{"phrase", `"north korea"`, title("North Korea fires"), true},
		{"phrase with possessive", `"north korea"`, title("North Korea's army"), true},
		{"phrase hyphen", `"north korea"`, title("north-korea ties"), true},
		{"phrase order", `"north korea"`, title("Korea North"), false},
		{"phrase adjacency", `"north korea"`, title("north of korea"), false},
		{"phrase wildcard", `"north korea*"`, title("north-korean troops"), true},
		{"phrase wildcard no", `"north korea*"`, title("north of korean"), false},
		{"phrase inner wildcard", `"kor* troops"`, title("Korean troops"), true},
		{"phrase wildcard cyrillic upper", `"СЕВЕРНАЯ КОР*"`, title("Северной Корее, северная корейская"), true},
		{"phrase wildcard cyrillic upper no", `"СЕВЕРНАЯ КОР*"`, title("Северной Корее"), false},
		{"phrase not across fields", `"north korea"`, Item{Title: "North", Summary: "Korea"}, false},
		{"phrase cyrillic", `"северная корея"`, title("Северная Корея заявила"), true},
		{"phrase kana", `"ミサイル"`, title("北朝鮮がミサイルを発射"), true},
		{"phrase kana no", `"ミサイル"`, title("ミサ イル"), true}, // each Kana character is a word
		{"phrase kana order", `"ミサイル"`, title("ルイサミ"), false},
		// =US
		{"exact", "=US", title("US troops"), true},
		{"exact other case", "=US", title("us troops"), false},
		{"exact mixed", "=US", title("Us and them"), false},
		{"exact cyrillic", "=РФ", title("власти РФ"), true},
		{"exact cyrillic no", "=РФ", title("власти рф"), false},
		// a b, a AND b
		{"juxtaposition", "north korea", title("Korea, north"), true},
		{"juxtaposition one missing", "north korea", title("north dakota"), false},
		{"and", "north AND korea", Item{Title: "north", Content: "korea"}, true},
		{"and missing", "north AND korea", title("north"), false},
		// a OR b
		{"or first", "kursk OR курск", title("kursk"), true},
		{"or second", "kursk OR курск", title("Курск"), true},
		{"or none", "kursk OR курск", title("Kharkiv"), false},
		// NOT a, -a
		{"not absent", "kursk NOT drill", title("Kursk attack"), true},
		{"not present", "kursk NOT drill", title("Kursk drill"), false},
		{"minus absent", "kursk -drill", title("Kursk attack"), true},
		{"minus present", "kursk -drill", Item{Title: "Kursk", Content: "a drill"}, false},
		{"minus phrase", `kursk -"military drill"`, title("Kursk drill for the military"), true},
		{"lower not is a word", "kursk not", title("Kursk is not safe"), true},
		{"lower or is a word", "kursk or moscow", title("kursk moscow"), false},
		{"lower and is a word", "kursk and moscow", title("kursk and moscow"), true},
		{"lower near is a word", "kursk near moscow", title("kursk near moscow"), true},
		// ( … )
		{"group", "(kursk OR belgorod) attack", title("Belgorod attack"), true},
		{"group no", "(kursk OR belgorod) attack", title("Belgorod shelling"), false},
		{"precedence AND over OR", "kursk OR belgorod attack", title("Kursk"), true},
		{"precedence AND over OR no", "kursk OR belgorod attack", title("Belgorod"), false},
		{"precedence NOT over AND", "NOT drill kursk", title("Kursk"), true},
		// NEAR/n
		{"near", "troops NEAR/3 kursk", title("troops moved into Kursk"), true},
		{"near reversed", "troops NEAR/3 kursk", title("Kursk saw troops"), true},
		{"near too far", "troops NEAR/1 kursk", title("troops moved into Kursk"), false},
		{"near exact distance", "troops NEAR/2 kursk", title("troops moved into Kursk"), true},
		{"near not across fields", "troops NEAR/5 kursk", Item{Title: "troops", Summary: "kursk"}, false},
		{"near phrases", `"north korea" NEAR/2 "armed forces"`, title("North Korea sent its armed forces"), true},
		{"near phrases gap counted between", `"north korea" NEAR/1 "armed forces"`, title("North Korea sent its armed forces"), false},
		{"near list and group", `@dprk NEAR/15 (troop* OR soldier* OR "armed forces")`, content("Pyongyang has sent thousands of soldiers"), true},
		{"near list and group far", `@dprk NEAR/2 (troop* OR soldier*)`, content("Pyongyang has sent many thousands of soldiers"), false},
		{"near cyrillic", "войск* NEAR/3 кндр", title("Войска КНДР в Курской области"), true},
		{"near han", "朝 NEAR/2 軍", title("北朝鮮軍"), true},
		// ONEAR/n
		{"onear", "troops ONEAR/3 kursk", title("troops moved into Kursk"), true},
		{"onear wrong order", "troops ONEAR/3 kursk", title("Kursk saw troops"), false},
		// fields
		{"field title", "title:kursk", title("Kursk"), true},
		{"field title no", "title:kursk", content("Kursk"), false},
		{"field group", "title:(kursk OR belgorod)", title("Belgorod"), true},
		{"field summary", "summary:kursk", Item{Summary: "Kursk"}, true},
		{"field content", "content:kursk", Item{Title: "Kursk"}, false},
		{"field author", "author:smith", Item{Authors: []string{"Jane Doe", "John Smith"}}, true},
		{"field author not default", "smith", Item{Authors: []string{"John Smith"}}, false},
		{"field author phrase not across values", `author:"doe john"`, Item{Authors: []string{"Jane Doe", "John Smith"}}, false},
		{"field category", "category:politics", Item{Categories: []string{"World", "Politics"}}, true},
		{"field link", "link:bbc", Item{Link: "https://www.bbc.co.uk/news/1"}, true},
		{"field link no", "bbc", Item{Link: "https://www.bbc.co.uk/news/1"}, false},
		{"feed", "kursk feed:world", Item{FeedID: "world", Title: "Kursk"}, true},
		{"feed no", "kursk feed:world", Item{FeedID: "sport", Title: "Kursk"}, false},
		{"feed alone", "feed:world", Item{FeedID: "world"}, true},
		{"tag", "kursk tag:en", Item{Tags: []string{"world", "en"}, Title: "Kursk"}, true},
		{"tag no", "kursk tag:en", Item{Tags: []string{"ru"}, Title: "Kursk"}, false},
		{"not feed", "kursk -feed:sport", Item{FeedID: "sport", Title: "Kursk"}, false},
		// regex
		{"regex", `/kursk(ий|e)?/`, title("Kurskий"), true},
		{"regex case insensitive", `/kursk(ий|e)?/`, title("KURSKE"), true},
		{"regex not normalised", `/kursk/`, title("Kůrsk"), false},
		{"regex no", `/kursk(ий|e)?/`, title("Kharkiv"), false},
		{"regex field", `title:/^breaking/`, Item{Title: "Breaking: x", Content: "breaking"}, true},
		{"regex field no", `title:/^breaking/`, Item{Content: "breaking"}, false},
		{"regex slash escape", `/a\/b/`, title("a/b"), true},
		{"regex and word", `kursk /\d+ troops/`, title("Kursk: 500 troops"), true},
		// @list
		{"list", "@dprk", title("Pyongyang says"), true},
		{"list phrase wildcard", "@dprk", title("North Korean"), true},
		{"list hangul", "@dprk", title("북한 발표"), true},
		{"list none", "@dprk", title("South Korea"), false},
		{"list in field", "title:@places", title("Курск"), true},
		{"list in field no", "title:@places", content("Курск"), false},
		// multi-word terms
		{"hyphenated term", "north-korea", title("North Korea"), true},
		{"hyphenated term order", "north-korea", title("Korea North"), false},
		{"possessive term", "korea's", title("Korea s"), true},
	}, lists)
}

// TestNormalisation covers the normalisation rules of SPEC.md §3 in several scripts.
func TestNormalisation(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"case latin", "kursk", title("KURSK"), true},
		{"sharp s", "strasse", title("Straße"), true},
		{"sharp s in query", "straße", title("STRASSE"), true},
		{"final sigma", "οδός", title("ΟΔΟΣ"), true},
		{"final sigma in text", "οδοσ", title("οδός"), true},
		{"accent", "ecole", title("École"), true},
		{"accent in query", "école", title("ECOLE"), true},
		{"combining accent", "ecole", title("E\u0301cole"), true},
		{"yo", "елка", title("Ёлка"), true},
		{"greek tonos", "αθηνα", title("Αθήνα"), true},
		{"full-width", "usa", title("ＵＳＡ"), true},
		{"full-width digits", "g7", title("Ｇ７ summit"), true},
		{"ligature", "finance", title("ﬁnance"), true},
		{"ligature in query", "ﬁnance", title("FINANCE"), true},
		{"half-width katakana", "ミサイル", title("ﾐｻｲﾙ"), true},
		{"hangul compatibility", "북한", title("북한"), true},
		{"hangul no", "북한", title("남한"), false},
		{"han single characters", "鮮", title("北朝鮮"), true},
		{"hiragana single", "の", title("日本の首相"), true},
		{"possessive", "korea", title("Korea's army"), true},
		{"possessive s is a word", "s", title("Korea's army"), true},
		{"hyphen splits", "korean", title("north-korean"), true},
		{"hyphen phrase", `"north korean"`, title("north-korean"), true},
		{"apostrophe does not join", "koreas", title("Korea's"), false},
		{"digits", "2024", title("in 2024, troops"), true},
		{"letters and digits one word", "g7", title("G7 summit"), true},
		{"letters and digits no split", "g", title("G7 summit"), false},
		{"cyrillic case", "курск", title("КУРСК"), true},
		{"greek negative", "αθηνα", title("Αθήναι"), false},
		{"turkish dotted capital", "istanbul", title("İstanbul"), true},
		{"no match across punctuation", "northkorea", title("north-korea"), false},
		{"superscript", "km2", title("km²"), true},
		{"circled", "1", title("①"), true},
		{"soft hyphen", "newspaper", title("news\u00adpaper"), true},
		{"zero width space separates", "news", title("news\u200bpaper"), true},
		{"html already reduced", "korea", title(PlainText("<b>Kor</b>ea&#39;s")), true},
		{"html entities", "kim", title(PlainText("Kim &amp; Moon")), true},
	}, nil)
}

func TestHits(t *testing.T) {
	ix, err := Compile([]Rule{
		{ID: "near", Query: `@dprk NEAR/15 (troop* OR soldier* OR "armed forces")`},
		{ID: "or", Query: "kursk OR курск OR курськ"},
		{ID: "none", Query: "belgorod"},
		{ID: "scoped", Query: "kursk", Feeds: []string{"world", "tag:en"}},
	}, map[string][]string{"dprk": {`"north korea*"`, "dprk", "pyongyang"}})
	if err != nil {
		t.Fatal(err)
	}
	it := &Item{
		FeedID:  "ru",
		Title:   "North Korea's troops in Kursk",
		Content: "Курск region: Pyongyang sent soldiers. Kursk again.",
	}
	got := ix.Match(it)
	want := []Match{
		{Rule: "near", Hits: []Hit{
			{Field: "title", Start: 0, End: 11, Text: "North Korea"},
			{Field: "title", Start: 14, End: 20, Text: "troops"},
			{Field: "content", Start: 19, End: 28, Text: "Pyongyang"},
			{Field: "content", Start: 34, End: 42, Text: "soldiers"},
		}},
		{Rule: "or", Hits: []Hit{
			{Field: "title", Start: 24, End: 29, Text: "Kursk"},
			{Field: "content", Start: 0, End: 10, Text: "Курск"},
			{Field: "content", Start: 44, End: 49, Text: "Kursk"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v,\nwant %+v", got, want)
	}
	it.Tags = []string{"en"}
	got = ix.Match(it)
	if ids := ruleIDs(got); !slices.Equal(ids, []string{"near", "or", "scoped"}) {
		t.Errorf("with tag en: got rules %v, want [near or scoped]", ids)
	}
	it.Tags, it.FeedID = nil, "world"
	if ids := ruleIDs(ix.Match(it)); !slices.Equal(ids, []string{"near", "or", "scoped"}) {
		t.Errorf("with feed world: got rules %v, want [near or scoped]", ids)
	}
}

func ruleIDs(ms []Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Rule)
	}
	return ids
}

func TestMatchRuleOrderAndReuse(t *testing.T) {
	rules := []Rule{
		{ID: "z", Query: "gamma"},
		{ID: "y", Query: "alpha beta"},
		{ID: "x", Query: "/alp/"},
		{ID: "w", Query: "alpha"},
	}
	ix, err := Compile(rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := ix.NewMatcher()
	for i, tc := range []struct {
		text string
		want []string
	}{
		{"alpha beta gamma", []string{"z", "y", "x", "w"}},
		{"beta", nil},
		{"Alpha", []string{"x", "w"}},
		{"gamma alpha", []string{"z", "x", "w"}},
	} {
		got := ruleIDs(m.Match(&Item{Title: tc.text}))
		if !slices.Equal(got, tc.want) {
			t.Errorf("item %d %q: got %v, want %v", i, tc.text, got, tc.want)
		}
	}
	if s := ix.Stats(); s.Always != 1 || s.Rules != 4 {
		t.Errorf("stats: got %+v, want 4 rules, 1 always evaluated", s)
	}
}

// TestManyKeysInOneItem makes the matcher's map of present keys grow within one item.
func TestManyKeysInOneItem(t *testing.T) {
	var rules []Rule
	var text []string
	for i := range 3000 {
		w := fmt.Sprintf("w%d", i)
		rules = append(rules, Rule{ID: w, Query: w + " OR zz" + w})
		text = append(text, w)
	}
	ix, err := Compile(rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := ix.NewMatcher()
	for round := range 2 {
		got := m.Match(&Item{Content: strings.Join(text, " ")})
		if len(got) != len(rules) {
			t.Fatalf("round %d: got %d matches, want %d", round, len(got), len(rules))
		}
		for i, g := range got {
			if g.Rule != rules[i].ID || len(g.Hits) != 1 || g.Hits[0].Text != rules[i].ID {
				t.Fatalf("round %d: match %d: got %+v, want rule %s with one hit", round, i, g, rules[i].ID)
			}
		}
		if got := m.Match(&Item{Content: "w7 nothing"}); len(got) != 1 || got[0].Rule != "w7" {
			t.Fatalf("round %d: after a large item got %v, want [w7]", round, ruleIDs(got))
		}
	}
}

func TestEmptyIndex(t *testing.T) {
	ix, err := Compile(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Match(&Item{Title: "anything"}); len(got) != 0 {
		t.Errorf("got %v, want no matches", got)
	}
}

func TestMatchConcurrent(t *testing.T) {
	ix, err := Compile([]Rule{{ID: "a", Query: "kursk NEAR/2 troops"}, {ID: "b", Query: "北朝鮮"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	items := []*Item{{Title: "troops near Kursk"}, {Title: "北朝鮮のミサイル"}, {Title: "nothing"}}
	want := []int{1, 1, 0}
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				k := (g + i) % len(items)
				if got := len(ix.Match(items[k])); got != want[k] {
					done <- fmt.Errorf("item %d: got %d matches, want %d", k, got, want[k])
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("timed out waiting for the matching goroutines")
		}
	}
}

func TestCompileErrors(t *testing.T) {
	lists := map[string][]string{"ok": {"a", "b"}, "empty": {}}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{`"north korea`, "rules[0].query:1:1: unclosed quote"},
		{`kursk "north korea`, "rules[0].query:1:7: unclosed quote"},
		{`(kursk OR moscow`, "rules[0].query:1:1: unclosed parenthesis"},
		{`kursk)`, "rules[0].query:1:6: unexpected ): no ( to close"},
		{`()`, "rules[0].query:1:1: empty parentheses"},
		{`kursk AND`, "rules[0].query:1:7: dangling operator AND: it needs a term after it"},
		{`OR kursk`, "rules[0].query:1:1: dangling operator OR: it needs a term before it"},
		{`kursk OR`, "rules[0].query:1:7: dangling operator OR: it needs a term after it"},
		{`kursk NOT`, "rules[0].query:1:7: dangling operator NOT: it needs a term after it"},
		{`kursk - moscow`, "rules[0].query:1:7: dangling operator -: put it right before a term, as in -word"},
		{`kursk NEAR/5`, "rules[0].query:1:7: dangling operator NEAR: it needs a term after it"},
		{`NEAR/5 kursk`, "rules[0].query:1:1: dangling operator NEAR: it needs a term before it"},
		{`troops NEAR/0 kursk`, "rules[0].query:1:8: NEAR/n needs a number from 1 to 100"},
		{`troops NEAR/101 kursk`, "rules[0].query:1:8: NEAR/n needs a number from 1 to 100"},
		{`troops NEAR kursk`, "rules[0].query:1:8: NEAR/n needs a number from 1 to 100"},
		{`troops ONEAR/x kursk`, "rules[0].query:1:8: ONEAR/n needs a number from 1 to 100"},
		{`a NEAR/5 (b AND c)`, "rules[0].query:1:11: NEAR operands are words, phrases, wildcards, lists and OR-groups of those"},
		{`a NEAR/5 -b`, "rules[0].query:1:10: NEAR operands are words, phrases, wildcards, lists and OR-groups of those"},
		{`t*`, "rules[0].query:1:1: a wildcard needs at least two letters or digits before *"},
		{`kursk 北*`, "rules[0].query:1:7: a wildcard needs at least two letters or digits before *"},
		{`"north k*"`, "rules[0].query:1:8: a wildcard needs at least two letters or digits before *"},
		{`tr*op`, "rules[0].query:1:3: * may only end a word"},
		{`/a(/`, "rules[0].query:1:1: invalid regular expression: error parsing regexp: missing closing ): `a(`"},
		{`/abc`, "rules[0].query:1:1: unclosed regular expression: end it with /"},
		{`@nope`, "rules[0].query:1:1: undefined list @nope"},
		{`x @empty`, "rules[0].query:1:3: list @empty is empty"},
		{`-kursk`, "rules[0].query:1:1: a query needs at least one positive part: NOT and - only exclude"},
		{`NOT a NOT b`, "rules[0].query:1:1: a query needs at least one positive part: NOT and - only exclude"},
		{`a OR -b`, "rules[0].query:1:1: a query needs at least one positive part: NOT and - only exclude"},
		{``, "rules[0].query:1:1: empty query"},
		{`&`, `rules[0].query:1:1: "&" has no letters or digits`},
		{`titel:kursk`, `rules[0].query:1:1: unknown field "titel": fields are title, summary, content, author, category, link, feed and tag`},
		{`title:`, "rules[0].query:1:1: title: needs a term after it"},
		{`title:(content:a)`, "rules[0].query:1:8: content: inside another field"},
		{`feed: x`, "rules[0].query:1:1: feed: needs a value right after it, as in feed:world"},
		{"kursk\n  AND", "rules[0].query:2:3: dangling operator AND: it needs a term after it"},
		{`=`, "rules[0].query:1:1: = needs a word right after it, as in =US"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, err := Compile([]Rule{{ID: "r", Query: tc.query}}, lists)
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("got %T, want a *QueryError", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompileErrorsAll(t *testing.T) {
	long := "/" + string(make([]byte, maxRegexp+1)) + "/"
	_, err := Compile([]Rule{
		{ID: "a", Query: "ok"},
		{ID: "b", Query: "x NEAR/0 y"},
		{ID: "c", Query: "fine"},
		{ID: "d", Query: long},
	}, map[string][]string{"dprk": {"dprk", "k*", `"kim`}})
	if err == nil {
		t.Fatal("got no error")
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var qe *QueryError
		if !errors.As(e, &qe) {
			t.Fatalf("got %T, want *QueryError", e)
		}
		got = append(got, qe.Error())
	}
	want := []string{
		"lists.dprk[1]:1:1: a wildcard needs at least two letters or digits before *",
		"lists.dprk[2]:1:1: unclosed quote",
		"rules[1].query:1:3: NEAR/n needs a number from 1 to 100",
		"rules[3].query:1:1: regular expression too long: 1001 bytes, at most 1000",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q,\nwant %q", got, want)
	}
	var qe *QueryError
	errors.As(err, &qe)
	if qe.List != "dprk" || qe.Term != 1 || qe.Rule != -1 {
		t.Errorf("first error: got %+v, want list dprk term 1", qe)
	}
}
