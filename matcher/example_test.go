package matcher_test

import (
	"fmt"

	"github.com/newswatch/newswatch/matcher"
)

func Example() {
	ix, err := matcher.Compile([]matcher.Rule{
		{ID: "dprk-troops", Query: `@dprk NEAR/15 (troop* OR soldier* OR "armed forces")`},
		{ID: "kursk", Query: "kursk OR курск OR курськ", Feeds: []string{"tag:en"}},
	}, map[string][]string{"dprk": {`"north korea*"`, "dprk", "pyongyang", `"kim jong un"`, "кндр", "북한"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	it := &matcher.Item{
		FeedID:  "world",
		Tags:    []string{"en"},
		Title:   matcher.PlainText("North Korea&#39;s troops <b>in</b> Kursk"),
		Content: matcher.PlainText("<p>Officials said North Korean soldiers had reached the front.</p>"),
	}
	for _, m := range ix.Match(it) {
		h := m.Hits[0]
		fmt.Printf("%s: %d hits; first %s %d-%d %q; snippet %q\n", m.Rule, len(m.Hits), h.Field, h.Start, h.End, h.Text,
			matcher.Snippet(it.Field(h.Field, h.Index), h, 30))
	}
	// Output:
	// dprk-troops: 4 hits; first title 0-11 "North Korea"; snippet "North Korea's troops in Kursk"
	// kursk: 1 hits; first title 24-29 "Kursk"; snippet "North Korea's troops in Kursk"
}

func ExampleCompile_errors() {
	_, err := matcher.Compile([]matcher.Rule{
		{ID: "a", Query: "kursk"},
		{ID: "b", Query: `troops NEAR/0 "north korea`},
		{ID: "c", Query: `@undefined NEAR/200 x AND /(/ AND y*`},
	}, map[string][]string{"dprk": {"k*"}})
	fmt.Println(err)
	// Output:
	// lists.dprk[0]:1:1: a wildcard needs at least two letters or digits before *
	// rules[1].query:1:8: NEAR/n needs a number from 1 to 100
	// rules[1].query:1:15: unclosed quote
	// rules[2].query:1:1: undefined list @undefined
	// rules[2].query:1:12: NEAR/n needs a number from 1 to 100
	// rules[2].query:1:27: invalid regular expression: error parsing regexp: missing closing ): `(`
	// rules[2].query:1:35: a wildcard needs at least two letters or digits before *
}
