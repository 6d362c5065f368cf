package matcher

import (
	"reflect"
	"slices"
	"testing"
)

// TestPresearcherLosesNothing matches the benchmark corpus against generated rules twice: through
// the presearcher, and evaluating every rule. The results must be identical.
func TestPresearcherLosesNothing(t *testing.T) {
	ls := languages()
	cs := corpus(300, ls)
	gs := rules(20000, ls)
	rs := genRules(gs)
	// Rules of every kind the generator does not make, over the corpus vocabulary.
	for i, g := range gs[:200] {
		w := Words(g.query)
		if len(w) < 2 {
			continue
		}
		extra := []string{
			w[0] + " ONEAR/3 " + w[1],
			`title:"` + w[0] + `" OR summary:` + w[1],
			"=" + w[0] + " OR " + w[1],
			w[0] + " -" + w[1],
			"/" + w[0] + "/ OR " + w[1],
		}
		rs = append(rs, Rule{ID: "x" + string(rune('a'+i%26)), Query: extra[i%len(extra)]})
	}
	ix, err := Compile(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	fast, slow := ix.NewMatcher(), ix.NewMatcher()
	slow.everyRule = true
	total := 0
	for i := range cs {
		it := &cs[i].item
		got, want := fast.Match(it), slow.Match(it)
		total += len(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("item %d (%s): presearcher got %d matches %v, every rule %d %v", i, cs[i].lang, len(got), ruleIDs(got), len(want), ruleIDs(want))
		}
	}
	if total < 100 {
		t.Errorf("got %d matches over the corpus, want at least 100 for the test to mean something", total)
	}
}

func TestSortPostings(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 500, 5000} {
		xs := make([]uint32, n)
		seed := uint32(n) + 1
		for i := range xs {
			seed = seed*1664525 + 1013904223
			xs[i] = seed >> 13 // 19 bits
		}
		want := slices.Clone(xs)
		slices.Sort(want)
		got, _ := sortPostings(xs, nil, 19)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: got unsorted or changed postings", n)
		}
	}
}
