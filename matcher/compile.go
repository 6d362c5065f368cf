package matcher

import (
	"errors"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Compile parses every rule and list and builds one index for all rules. The error joins
// every *QueryError found, in rule order after the lists in name order: within one query or
// list term, the errors that do not stop parsing (a NEAR distance out of range, an invalid
// regular expression, an undefined or empty list, a wildcard with too short a prefix, a query
// with no positive part) and at most one syntax error, the first, in the order of their offsets.
func Compile(rules []Rule, lists map[string][]string) (*Index, error) {
	n := len(rules)
	c := &compiler{
		ix: &Index{
			feedKeys: map[string]int32{}, tagKeys: map[string]int32{},
			rules: make([]compiledRule, 0, n), roots: make([]int32, 0, n),
			nodes: make([]node, 0, 4*n), kids: make([]int32, 0, 2*n), elems: make([]elem, 0, n),
		},
		anchors:  make([][2][]int32, 0, n),
		nanchor:  make([]int8, 0, n),
		keys:     map[keyName]int32{},
		needWord: map[int32]bool{},
		listTerm: map[string][]*ast{},
		listNode: map[listUse]int32{},
	}
	var errs []error
	for _, name := range sortedKeys(lists) {
		terms := make([]*ast, len(lists[name]))
		for i, q := range lists[name] {
			a, soft, err := parse(q, true)
			c.errs = soft
			if err == nil {
				if e := checkListTerm(a); e != nil {
					c.errs = append(c.errs, e)
				} else {
					c.node(a, 0) // reports errors of normalisation; the nodes stay unused
				}
			}
			found := c.take(err)
			for _, e := range found {
				errs = append(errs, listError(name, i, q, e))
			}
			if len(found) == 0 {
				terms[i] = a
			}
		}
		c.listTerm[name] = terms
	}
	for i, r := range rules {
		for _, e := range c.rule(r) {
			errs = append(errs, ruleError(i, r, e))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.finish()
	return c.ix, nil
}

// take returns the errors reported since the last take, with the syntax error that stopped
// parsing if any, in the order of their offsets.
func (c *compiler) take(syntax error) []*syntaxError {
	errs := c.errs
	c.errs = nil
	if syntax != nil {
		se, ok := errors.AsType[*syntaxError](syntax)
		if !ok {
			se = &syntaxError{msg: syntax.Error()}
		}
		errs = append(errs, se)
	}
	slices.SortStableFunc(errs, func(a, b *syntaxError) int { return a.off - b.off })
	return errs
}

// fail reports an error that does not stop compiling the query and returns a node in the place
// of the one that could not be built: an index is built only when no error was reported.
func (c *compiler) fail(off int, format string, args ...any) int32 {
	c.errs = append(c.errs, errAt(off, format, args...))
	return c.add(node{kind: nOr, a: int32(len(c.ix.kids)), b: int32(len(c.ix.kids))})
}

func sortedKeys(m map[string][]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func ruleError(i int, r Rule, se *syntaxError) *QueryError {
	e := &QueryError{Rule: i, RuleID: r.ID, Offset: se.off, Msg: se.msg}
	e.Line, e.Column = position(r.Query, e.Offset)
	return e
}

func listError(name string, term int, q string, se *syntaxError) *QueryError {
	e := &QueryError{Rule: -1, List: name, Term: term, Offset: se.off, Msg: se.msg}
	e.Line, e.Column = position(q, e.Offset)
	return e
}

// checkListTerm allows what a list term may be: words, phrases, wildcards and =Words, and
// OR-groups of those, so that every list can be a NEAR operand.
func checkListTerm(a *ast) *syntaxError {
	if !nearOperand(a) {
		return errAt(a.pos, "a list term must be a word, a phrase, a wildcard or an OR-group of those")
	}
	return nil
}

func nearOperand(a *ast) bool {
	switch a.kind {
	case aTerm, aPhrase, aList:
		return true
	case aField:
		return nearOperand(a.kids[0])
	case aOr:
		for _, k := range a.kids {
			if !nearOperand(k) {
				return false
			}
		}
		return true
	}
	return false
}

// positive reports whether a can only match an item that has something: the rule language
// refuses queries that match by absence alone.
func positive(a *ast) bool {
	switch a.kind {
	case aNot:
		return false
	case aField:
		return positive(a.kids[0])
	case aAnd:
		return slices.ContainsFunc(a.kids, positive)
	case aOr:
		for _, k := range a.kids {
			if !positive(k) {
				return false
			}
		}
	}
	return true
}

type listUse struct {
	name   string
	fields uint8
}

type compiler struct {
	ix       *Index
	keys     map[keyName]int32
	costs    []int16        // by key: the anchor cost
	needWord map[int32]bool // word keys that the word table must hold
	listTerm map[string][]*ast
	listNode map[listUse]int32
	tok      tokenizer
	errs     []*syntaxError // of the query being compiled
	anchors  [][2][]int32   // per rule: up to two clauses
	nanchor  []int8         // per rule: number of clauses, -1 for none
}

// rule compiles r into the index and returns its errors; a rule with errors is left out.
func (c *compiler) rule(r Rule) []*syntaxError {
	a, soft, err := parse(r.Query, false)
	c.errs = soft
	if err != nil {
		return c.take(err)
	}
	if !positive(a) {
		c.errs = append(c.errs, errAt(0, "a query needs at least one positive part: NOT and - only exclude"))
	}
	root := c.node(a, 0)
	if errs := c.take(nil); len(errs) > 0 {
		return errs
	}
	cr := compiledRule{id: r.ID, root: root}
	for _, f := range r.Feeds {
		if tag, ok := strings.CutPrefix(f, "tag:"); ok {
			cr.tags = append(cr.tags, tag)
		} else {
			cr.feeds = append(cr.feeds, f)
		}
	}
	if len(r.Feeds) > 0 {
		for len(c.ix.scoped)*64 <= len(c.ix.rules) {
			c.ix.scoped = append(c.ix.scoped, 0)
		}
		c.ix.scoped[len(c.ix.rules)/64] |= 1 << (len(c.ix.rules) % 64)
	}
	if c.bare(root) {
		for len(c.ix.bare)*64 <= len(c.ix.rules) {
			c.ix.bare = append(c.ix.bare, 0)
		}
		c.ix.bare[len(c.ix.rules)/64] |= 1 << (len(c.ix.rules) % 64)
	}
	c.ix.rules = append(c.ix.rules, cr)
	c.ix.roots = append(c.ix.roots, root)
	c.ix.ids = append(c.ix.ids, r.ID)
	cl, ok := c.clauses(root)
	var two [2][]int32
	n := int8(-1)
	if ok {
		n = int8(len(cl))
		for i := range cl {
			two[i] = cl[i].keys
		}
	}
	c.anchors = append(c.anchors, two)
	c.nanchor = append(c.nanchor, n)
	return nil
}

// keyName names a key: kind is 'w' for a word, 'p' a prefix, 'b' a pair of characters, 'f'
// a feed, 't' a tag.
type keyName struct {
	kind byte
	text string
}

// bare reports whether node n is a word, a wildcard, a phrase or an OR of those: it matches
// exactly when collecting its hits finds one, so the matcher need not evaluate it first.
func (c *compiler) bare(n int32) bool {
	nd := &c.ix.nodes[n]
	switch nd.kind {
	case nWord, nPrefix, nPhrase:
		return true
	case nOr:
		for _, k := range c.ix.kids[nd.a:nd.b] {
			if !c.bare(k) {
				return false
			}
		}
		return true
	}
	return false
}

func (c *compiler) key(kind byte, text string) int32 {
	if id, ok := c.keys[keyName{kind, text}]; ok {
		return id
	}
	id := int32(len(c.ix.keyText))
	text = strings.Clone(text) // text may point into the tokenizer's buffer, which the next term reuses
	c.keys[keyName{kind, text}] = id
	c.ix.keyText = append(c.ix.keyText, text)
	cost := costAttr
	switch kind {
	case 'w':
		cost = wordCost(text)
	case 'p':
		cost = wordCost(text) + costPrefix
	case 'b':
		cost = costBigram
	}
	c.costs = append(c.costs, int16(cost))
	switch kind {
	case 'f':
		c.ix.feedKeys[text] = id
	case 't':
		c.ix.tagKeys[text] = id
	}
	return id
}

func (c *compiler) add(n node) int32 {
	c.ix.nodes = append(c.ix.nodes, n)
	return int32(len(c.ix.nodes) - 1)
}

// node compiles a into nodes; fields is the scope given by an enclosing field, 0 for none. An
// error is reported with fail, and compiling goes on to find the others.
func (c *compiler) node(a *ast, fields uint8) int32 {
	switch a.kind {
	case aTerm, aPhrase:
		return c.term(a, fields)
	case aRegex:
		if a.re == nil {
			return c.add(node{kind: nOr}) // reported by the parser
		}
		c.ix.regexps = append(c.ix.regexps, a.re)
		f := orDefault(fields)
		c.ix.fields |= f
		return c.add(node{kind: nRegex, fields: f, key: int32(len(c.ix.regexps) - 1)})
	case aAttr:
		if a.attr == "feed" {
			return c.add(node{kind: nFeed, key: c.key('f', a.text)})
		}
		return c.add(node{kind: nTag, key: c.key('t', a.text)})
	case aField:
		if fields != 0 && fields != a.fields {
			c.fail(a.pos, "%s: inside another field", a.text)
		}
		return c.node(a.kids[0], a.fields)
	case aList:
		return c.list(a, fields)
	case aNot:
		k := c.node(a.kids[0], fields)
		return c.add(node{kind: nNot, a: k})
	case aNear:
		for _, k := range a.kids {
			if !nearOperand(k) {
				c.fail(k.pos, "NEAR operands are words, phrases, wildcards, lists and OR-groups of those")
			}
		}
		x := c.node(a.kids[0], fields)
		y := c.node(a.kids[1], fields)
		return c.add(node{kind: nNear, n: uint8(a.n), ordered: a.ordered, a: x, b: y})
	}
	kind := nAnd
	if a.kind == aOr {
		kind = nOr
	}
	ks := make([]int32, len(a.kids))
	for i, k := range a.kids {
		ks[i] = c.node(k, fields)
	}
	start := int32(len(c.ix.kids))
	c.ix.kids = append(c.ix.kids, ks...)
	return c.add(node{kind: kind, a: start, b: int32(len(c.ix.kids))})
}

func orDefault(f uint8) uint8 {
	if f == 0 {
		return fDefault
	}
	return f
}

func (c *compiler) list(a *ast, fields uint8) int32 {
	terms, ok := c.listTerm[a.text]
	if !ok {
		return c.fail(a.pos, "undefined list @%s", a.text)
	}
	if len(terms) == 0 {
		return c.fail(a.pos, "list @%s is empty", a.text)
	}
	use := listUse{a.text, fields}
	if n, ok := c.listNode[use]; ok {
		return n
	}
	var ks []int32
	for _, t := range terms {
		if t == nil {
			continue // reported with the list
		}
		before := len(c.errs)
		n := c.node(t, fields)
		if len(c.errs) > before {
			// The term's own errors were reported with the list: here, say where the list is used.
			c.errs = append(c.errs[:before], errAt(a.pos, "in list @%s: %s", a.text, c.errs[before].msg))
			return n
		}
		ks = append(ks, n)
	}
	start := int32(len(c.ix.kids))
	c.ix.kids = append(c.ix.kids, ks...)
	n := c.add(node{kind: nOr, a: start, b: int32(len(c.ix.kids))})
	c.listNode[use] = n
	return n
}

// term compiles a bare term or a quoted phrase: its text is normalised into words; one word
// is a word (or a prefix), several are a phrase.
func (c *compiler) term(a *ast, fields uint8) int32 {
	fields = orDefault(fields)
	c.ix.fields |= fields
	parts := []string{a.text}
	offs := []int{0}
	if a.kind == aPhrase {
		parts, offs = fieldsWithOffsets(a.text)
		if len(parts) == 0 {
			return c.fail(a.pos, "empty phrase")
		}
	}
	var els []elem
	var singles []bool
	for i, p := range parts {
		wild := strings.HasSuffix(p, "*")
		base := strings.TrimSuffix(p, "*")
		c.tok.reset()
		c.tok.add(base, 0)
		toks := c.tok.toks
		if len(toks) == 0 {
			return c.fail(a.pos, "%q has no letters or digits", p)
		}
		if wild {
			last := toks[len(toks)-1]
			if int(last.end) != len(base) || utf8.RuneCountInString(last.word) < 2 {
				return c.fail(a.pos+offs[i], "a wildcard needs at least two letters or digits before *")
			}
			if len(last.word) > 62 {
				return c.fail(a.pos+offs[i], "a wildcard prefix can be at most 62 bytes long")
			}
		}
		for j, t := range toks {
			e := elem{bigram: -1}
			if wild && j == len(toks)-1 {
				e.prefix = true
				e.key = c.key('p', t.word)
				c.ix.prefLens[prefSlot(t.word)] |= 1 << len(t.word)
			} else {
				e.key = c.key('w', t.word)
			}
			if a.exact {
				c.ix.exacts = append(c.ix.exacts, base[t.start:t.end])
				e.exact = int32(len(c.ix.exacts))
			}
			if n := len(els); n > 0 && t.single && singles[n-1] && !e.prefix {
				els[n-1].bigram = c.key('b', c.ix.keyText[els[n-1].key]+t.word)
			}
			els = append(els, e)
			singles = append(singles, t.single)
		}
	}
	// Words that a pair of characters covers are found by that pair and checked by string
	// comparison: they stay out of the word table, which keeps the item's Han and Kana
	// characters from being looked up one by one.
	for j, e := range els {
		if e.prefix || e.bigram >= 0 || j > 0 && els[j-1].bigram >= 0 {
			continue
		}
		c.needWord[e.key] = true
	}
	if len(els) == 1 {
		kind := nWord
		if els[0].prefix {
			kind = nPrefix
		}
		return c.add(node{kind: kind, fields: fields, key: els[0].key, exact: els[0].exact})
	}
	start := int32(len(c.ix.elems))
	c.ix.elems = append(c.ix.elems, els...)
	return c.add(node{kind: nPhrase, fields: fields, key: start, a: int32(len(els))})
}

// fieldsWithOffsets splits a phrase at white space.
func fieldsWithOffsets(s string) ([]string, []int) {
	var parts []string
	var offs []int
	i := 0
	for _, f := range strings.Fields(s) {
		k := strings.Index(s[i:], f) + i
		parts = append(parts, f)
		offs = append(offs, k+1) // +1: the opening quote
		i = k + len(f)
	}
	return parts, offs
}

// clause is a set of keys one of which every matching item has.
type clause struct {
	keys []int32
	cost int
}

const (
	costAttr   = 40
	costPrefix = 6
	costBigram = 10
)

// wordCost estimates how common a word is from its length: longer words are rarer.
func wordCost(w string) int {
	return 24 - 2*min(utf8.RuneCountInString(w), 10)
}

func (c *compiler) keyCost(k int32) int { return int(c.costs[k]) }

// clauses returns the conditions on keys that every item matching node n meets (a conjunction
// of clauses, each a disjunction of keys), cheapest first, at most two. ok is false when no
// key anchors n (a regular expression, a negation).
func (c *compiler) clauses(n int32) ([]clause, bool) {
	all, ok := c.anchorsOf(n)
	if !ok {
		return nil, false
	}
	slices.SortStableFunc(all, func(a, b clause) int { return a.cost - b.cost })
	out := all[:1]
	for _, cl := range all[1:] {
		if !slices.Equal(cl.keys, out[0].keys) {
			out = append(out, cl)
			break
		}
	}
	return out, true
}

func (c *compiler) anchorsOf(n int32) ([]clause, bool) {
	nd := &c.ix.nodes[n]
	switch nd.kind {
	case nWord, nPrefix:
		return []clause{{keys: []int32{nd.key}, cost: c.keyCost(nd.key)}}, true
	case nFeed, nTag:
		return []clause{{keys: []int32{nd.key}, cost: costAttr}}, true
	case nPhrase:
		var out []clause
		paired := false // the element is the second of a pair
		for _, e := range c.ix.elems[nd.key : nd.key+nd.a] {
			switch {
			case e.bigram >= 0:
				out = append(out, clause{keys: []int32{e.bigram}, cost: costBigram})
			case !paired:
				out = append(out, clause{keys: []int32{e.key}, cost: c.keyCost(e.key)})
			}
			paired = e.bigram >= 0
		}
		return out, true
	case nNear:
		x, okx := c.anchorsOf(nd.a)
		y, oky := c.anchorsOf(nd.b)
		return append(x, y...), okx && oky
	case nAnd:
		var out []clause
		any := false
		for _, k := range c.ix.kids[nd.a:nd.b] {
			cl, ok := c.anchorsOf(k)
			if ok {
				out = append(out, cl...)
				any = true
			}
		}
		return out, any
	case nOr:
		var u clause
		for _, k := range c.ix.kids[nd.a:nd.b] {
			cl, ok := c.anchorsOf(k)
			if !ok {
				return nil, false
			}
			best := slices.MinFunc(cl, func(a, b clause) int { return a.cost - b.cost })
			u.keys = append(u.keys, best.keys...)
			u.cost = min(u.cost+best.cost, math.MaxInt32)
		}
		slices.Sort(u.keys)
		u.keys = slices.Compact(u.keys)
		return []clause{u}, true
	}
	return nil, false // NOT, regex
}

// finish builds the hash tables and the postings of the presearcher.
func (c *compiler) finish() {
	ix := c.ix
	counts := make([]uint32, len(ix.keyText)+1)
	for r, n := range c.nanchor {
		if n < 0 {
			ix.always = append(ix.always, int32(r))
			continue
		}
		for cl := range int(n) {
			for _, k := range c.anchors[r][cl] {
				counts[k+1]++
			}
		}
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	ix.postStart = counts
	ix.postings = make([]uint32, counts[len(counts)-1])
	fill := slices.Clone(counts[:len(counts)-1])
	for r, n := range c.nanchor {
		two := uint32(0)
		if n == 2 {
			two = 1
		}
		for cl := range max(int(n), 0) {
			for _, k := range c.anchors[r][cl] {
				ix.postings[fill[k]] = uint32(r)<<2 | uint32(cl)<<1 | two
				fill[k]++
			}
		}
	}
	var wt, pt, bt []string
	var wk, pk, bk []int32
	for k, id := range c.keys {
		switch k.kind {
		case 'w':
			if c.needWord[id] {
				wt, wk = append(wt, k.text), append(wk, id)
			}
		case 'p':
			pt, pk = append(pt, k.text), append(pk, id)
		case 'b':
			bt, bk = append(bt, k.text), append(bk, id)
		}
	}
	ix.words = newTable(wt, wk, ix.keyText, ix.postStart)
	ix.prefixes = newTable(pt, pk, ix.keyText, ix.postStart)
	ix.bigrams = newTable(bt, bk, ix.keyText, ix.postStart)
	if len(ix.always) == 0 {
		ix.pre = newPrefilter(c.anchorKeys())
	}
	for len(ix.scoped)*64 < len(ix.rules) {
		ix.scoped = append(ix.scoped, 0)
	}
	for len(ix.bare)*64 < len(ix.rules) {
		ix.bare = append(ix.bare, 0)
	}
}

// anchorKeys returns the kinds and texts of the words, prefixes and pairs that some rule is
// anchored on, for the prefilter; none once there are more than it takes.
func (c *compiler) anchorKeys() (kinds []byte, texts []string) {
	for k, id := range c.keys {
		if k.kind == 'f' || k.kind == 't' || c.ix.postStart[id+1] == c.ix.postStart[id] {
			continue
		}
		if len(texts) == prefilterMax {
			return nil, nil
		}
		kinds, texts = append(kinds, k.kind), append(texts, k.text)
	}
	return kinds, texts
}
