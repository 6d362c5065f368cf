// Package matcher implements the newswatch rule language: normalisation, tokenizing, parsing,
// compiling many rules into one index, and evaluating items against it with explanations.
//
// It is pure: no I/O, no logger, no clock, no globals that change, no retries. An *Index is
// immutable after Compile and safe for concurrent use by any number of goroutines; a *Matcher
// (Index.NewMatcher) is one goroutine's reusable scratch space, which matches without
// allocating.
//
// How an item is matched: its fields are normalised and split into words once (the fold table
// of fold_table.go, generated from golang.org/x/text, with an ASCII fast path); every word, and
// every prefix length some wildcard uses, is looked up in one hash table of all the words the
// rules need. Each rule is anchored on one or two clauses of keys (words, prefixes, pairs of
// Han or Kana characters, feeds, tags) that every matching item must have, as Lucene Monitor's
// presearcher does; only the rules whose clauses the item meets are evaluated, with word
// positions. Rules that no key anchors (a regular expression alone) are evaluated for every
// item; Index.Stats counts them.
package matcher

// Rule is one watch rule as the configuration gives it.
type Rule struct {
	ID    string
	Query string
	// Feeds limits the rule to items of these feed ids, or of feeds with a tag when an entry is
	// "tag:NAME". Empty means every feed.
	Feeds []string
}

// Item is one feed item as the matcher sees it. Text fields are plain text (see PlainText); the
// byte offsets of hits refer to them as given.
type Item struct {
	FeedID     string
	Tags       []string
	Title      string
	Summary    string
	Content    string
	Link       string
	Authors    []string
	Categories []string
}

// Hit is one span of an item's field that made a rule match.
type Hit struct {
	Field string `json:"field"`           // title, summary, content, author, category, link
	Index int    `json:"index,omitempty"` // which value of a multi-valued field (author, category); 0 otherwise
	Start int    `json:"start"`           // byte offset into the field's UTF-8 text
	End   int    `json:"end"`
	Text  string `json:"text"`
	// The offsets in UTF-16 code units and in code points, set by Units; Match leaves them 0.
	Start16 int `json:"start_utf16"`
	End16   int `json:"end_utf16"`
	StartCP int `json:"start_codepoint"`
	EndCP   int `json:"end_codepoint"`
}

// Match is one rule that matched an item, with the spans that made it match.
type Match struct {
	Rule string // Rule.ID
	Hits []Hit
}

// QueryError is a rule that does not compile. The position is within Rule's query, or within
// the list term when List is set. Compile reports every rule's first error, each a *QueryError.
type QueryError struct {
	Rule   int // index into the rules given to Compile; -1 for an error in a list term
	RuleID string
	List   string // set when the error is inside a term of this list
	Term   int    // index of that term in the list
	Line   int    // 1-based line within the query or list term
	Column int    // 1-based byte column within that line
	Offset int    // 0-based byte offset within the query or list term
	Msg    string
}
