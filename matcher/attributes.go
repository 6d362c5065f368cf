package matcher

// Attribute is a feed:ID or tag:NAME test in a query.
type Attribute struct {
	Name   string // "feed" or "tag"
	Value  string
	Offset int // byte offset of the test in the query
}

// Attributes returns the feed: and tag: tests of a query, in query order, so that a caller that
// knows the feeds can refuse a test that can never hold. A query that does not parse has none;
// one with errors that do not stop parsing (a NEAR distance out of range) has its tests.
func Attributes(query string) []Attribute {
	a, _, err := parse(query, false)
	if err != nil {
		return nil
	}
	var out []Attribute
	var walk func(*ast)
	walk = func(a *ast) {
		if a.kind == aAttr {
			out = append(out, Attribute{Name: a.attr, Value: a.text, Offset: a.pos})
		}
		for _, k := range a.kids {
			walk(k)
		}
	}
	walk(a)
	return out
}
