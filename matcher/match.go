package matcher

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unsafe"
)

// fieldNames are the names of the field bits, in bit order.
var fieldNames = [...]string{"title", "summary", "content", "author", "category", "link"}

func fieldName(bit uint8) string {
	for i, n := range fieldNames {
		if bit == 1<<i {
			return n
		}
	}
	return ""
}

// instance is one text of an item: a field, or one value of a multi-valued field.
type instance struct {
	field uint8
	index int
	text  string
}

// slot holds the occurrences in the current item of one key.
type slot struct {
	head, tail int32 // into occ
	fields     uint8
}

type occurrence struct {
	tok, next int32
}

// span is a run of tokens that a term or phrase matched.
type span struct {
	start, end int32 // token indices, inclusive
	inst       int32
}

// Matcher matches items against an Index, reusing its memory from one item to the next: once
// warm, Match does not allocate. A Matcher is not safe for concurrent use; take one per
// goroutine from Index.NewMatcher, or call Index.Match.
type Matcher struct {
	ix   *Index
	it   *Item
	tok  tokenizer
	inst []instance

	tokKey    []int32 // per token: its word key, or -1
	present   keyMap  // keys present in the item -> slots
	slots     []slot
	occ       []occurrence
	posts     []uint32 // postings of the keys present
	postTmp   []uint32 // scratch space for sorting posts
	cands     []int32
	spans     [2][]span
	matches   []Match
	hits      []Hit
	everyRule bool  // evaluate every rule, not only the candidates
	sink      int32 // keeps prefetch's reads from being optimised away
}

// NewMatcher returns a Matcher for ix.
func (ix *Index) NewMatcher() *Matcher {
	return &Matcher{
		ix: ix,
	}
}

// Match returns the rules that match it, in rule order, each with its hits sorted by field,
// value index and offset. It is safe for concurrent use; the result is the caller's.
func (ix *Index) Match(it *Item) []Match {
	m, _ := ix.pool.Get().(*Matcher)
	if m == nil {
		m = ix.NewMatcher()
	}
	defer ix.pool.Put(m)
	got := m.Match(it)
	if len(got) == 0 {
		return nil
	}
	out := make([]Match, len(got))
	n := 0
	for _, g := range got {
		n += len(g.Hits)
	}
	hits := make([]Hit, 0, n)
	for i, g := range got {
		start := len(hits)
		hits = append(hits, g.Hits...)
		out[i] = Match{Rule: g.Rule, Hits: hits[start:len(hits):len(hits)]}
	}
	return out
}

// Match returns the rules that match it, as Index.Match does. The result and its hits are
// valid until the next call of Match.
func (m *Matcher) Match(it *Item) []Match {
	m.matches = m.matches[:0]
	if m.ix.pre != nil && !m.everyRule && !m.mayMatch(it) {
		m.cands = m.cands[:0]
		return m.matches
	}
	m.begin(it)
	m.scan()
	m.attributes()
	m.candidates()
	if m.everyRule { // tests: the presearcher must not change the result
		m.cands = m.cands[:0]
		for r := range m.ix.rules {
			m.cands = append(m.cands, int32(r))
		}
	}
	m.hits = m.hits[:0]
	ix := m.ix
	m.prefetch()
	for _, r := range m.cands {
		if ix.scoped[r/64]>>(r%64)&1 != 0 && !m.inScope(&ix.rules[r]) {
			continue
		}
		from := len(m.hits)
		if ix.bare[r/64]>>(r%64)&1 != 0 {
			if m.collect(ix.roots[r]); len(m.hits) == from {
				continue
			}
		} else {
			if !m.eval(ix.roots[r]) {
				continue
			}
			m.collect(ix.roots[r])
		}
		m.hits = sortHits(m.hits, from)
		m.matches = append(m.matches, Match{Rule: ix.ids[r], Hits: m.hits[from:len(m.hits):len(m.hits)]})
	}
	m.it = nil
	return m.matches
}

// prefetch reads the first nodes of every candidate before any is evaluated. These reads do not
// depend on each other, so the processor overlaps their cache misses, where evaluation would
// wait for each in turn: with 100,000 rules the nodes are far out of cache.
func (m *Matcher) prefetch() {
	ix := m.ix
	var sink int32
	for _, r := range m.cands {
		nd := &ix.nodes[ix.roots[r]]
		sink += nd.key + int32(len(ix.ids[r]))
		switch nd.kind {
		case nAnd, nOr:
			sink += ix.nodes[ix.kids[nd.a]].key
		case nNear:
			sink += ix.nodes[nd.a].key + ix.nodes[nd.b].key
		}
	}
	m.sink = sink
}

// Candidates returns how many rules the last Match evaluated.
func (m *Matcher) Candidates() int { return len(m.cands) }

func (m *Matcher) begin(it *Item) {
	m.it = it
	m.present.reset()
	m.tok.reset()
	m.inst = m.inst[:0]
	m.slots = m.slots[:0]
	m.occ = m.occ[:0]
	m.cands = m.cands[:0]
	m.posts = m.posts[:0]
	m.ix.texts(it, func(field uint8, index int, text string) bool {
		m.tok.add(text, int32(len(m.inst)))
		m.inst = append(m.inst, instance{field: field, index: index, text: text})
		return true
	})
}

// texts calls fn with each text of it that some rule reads, field by field, until fn returns
// false, and reports whether it went through them all.
func (ix *Index) texts(it *Item, fn func(field uint8, index int, text string) bool) bool {
	use := func(field uint8, index int, text string) bool {
		return ix.fields&field == 0 || text == "" || fn(field, index, text)
	}
	if !use(fTitle, 0, it.Title) || !use(fSummary, 0, it.Summary) || !use(fContent, 0, it.Content) {
		return false
	}
	if ix.fields&fAuthor != 0 {
		for i, a := range it.Authors {
			if !use(fAuthor, i, a) {
				return false
			}
		}
	}
	if ix.fields&fCategory != 0 {
		for i, c := range it.Categories {
			if !use(fCategory, i, c) {
				return false
			}
		}
	}
	return use(fLink, 0, it.Link)
}

// mayMatch reports whether it may match a rule, by the prefilter: false when none of the words,
// prefixes and pairs that rules are anchored on can be in its text, and it has none of the feeds
// and tags that rules name.
func (m *Matcher) mayMatch(it *Item) bool {
	ix := m.ix
	if len(ix.feedKeys) > 0 {
		if _, ok := ix.feedKeys[it.FeedID]; ok {
			return true
		}
	}
	if len(ix.tagKeys) > 0 {
		for _, t := range it.Tags {
			if _, ok := ix.tagKeys[t]; ok {
				return true
			}
		}
	}
	return !ix.texts(it, func(_ uint8, _ int, text string) bool { return !ix.pre.mayHold(text) })
}

// scan looks every word of the item up in the index, records the occurrences of the words and
// prefixes that rules need, and collects the candidate rules of each key the first time the
// item shows it.
func (m *Matcher) scan() {
	ix := m.ix
	toks := m.tok.toks
	m.tokKey = slices.Grow(m.tokKey[:0], len(toks))[:len(toks)]
	bigrams := ix.bigrams.n > 0
	for i := range toks {
		w := toks[i].word
		field := m.inst[toks[i].inst].field
		if bigrams && toks[i].single && i > 0 && toks[i-1].single && toks[i-1].inst == toks[i].inst {
			m.bigram(i, field)
		}
		var h uint64
		plens := uint64(0)
		if len(w) >= 2 {
			plens = ix.prefLens[prefSlot(w)]
		}
		if len(w) <= 8 {
			var v uint64
			if toks[i].wide {
				v = wideLoad(w) & lowMask[len(w)]
			} else {
				v = load8(w)
			}
			h = hashShort(v, len(w))
			for plens := plens & (1<<(len(w)+1) - 1); plens != 0; plens &= plens - 1 {
				n := bits.TrailingZeros64(plens)
				if ph := hashShort(v&lowMask[n], n); ix.prefixes.mayHave(ph) {
					if sl := ix.prefixes.find(ph, w[:n]); sl != nil {
						m.occur(sl, int32(i), field)
					}
				}
			}
		} else {
			h = hashString(w)
			for plens := plens & (1<<(min(len(w), 62)+1) - 1); plens != 0; plens &= plens - 1 {
				n := bits.TrailingZeros64(plens)
				if ph := hashString(w[:n]); ix.prefixes.mayHave(ph) {
					if sl := ix.prefixes.find(ph, w[:n]); sl != nil {
						m.occur(sl, int32(i), field)
					}
				}
			}
		}
		m.tokKey[i] = -1
		if ix.words.mayHave(h) {
			if sl := ix.words.find(h, w); sl != nil {
				m.tokKey[i] = sl.key
				m.occur(sl, int32(i), field)
			}
		}
	}
}

// wideLoad reads the eight bytes from the start of w, which must lie in memory that w's
// allocation holds (token.wide), little-endian.
func wideLoad(w string) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(w), 8))
}

// bigram looks up the pair of tokens i-1 and i, two Han or Kana characters.
func (m *Matcher) bigram(i int, field uint8) {
	toks := m.tok.toks
	a, b := toks[i-1].word, toks[i].word
	var h uint64
	if len(a)+len(b) <= 8 {
		h = hashShort(load8(a)|load8(b)<<(8*len(a)), len(a)+len(b))
	} else {
		var buf [16]byte
		if len(a)+len(b) > len(buf) {
			return // no bigram key is that long: compile makes them of two characters
		}
		n := copy(buf[:], a)
		n += copy(buf[n:], b)
		h = hashString(unsafe.String(&buf[0], n))
	}
	if !m.ix.bigrams.mayHave(h) {
		return
	}
	if sl := m.ix.bigrams.find2(h, a, b); sl != nil {
		m.occur(sl, int32(i-1), field)
	}
}

// occur records that the key of table slot sl occurs at token tok.
func (m *Matcher) occur(sl *tslot, tok int32, field uint8) {
	o := int32(len(m.occ))
	m.occ = append(m.occ, occurrence{tok: tok, next: -1})
	si := m.present.findOrAdd(sl.key, int32(len(m.slots)))
	if si < 0 {
		m.slots = append(m.slots, slot{head: o, tail: o, fields: field})
		if sl.cnt == manyPostings {
			m.visit(sl.key)
		} else {
			m.posts = append(m.posts, m.ix.postings[sl.off:sl.off+uint32(sl.cnt)]...)
		}
		return
	}
	s := &m.slots[si]
	m.occ[s.tail].next = o
	s.tail = o
	s.fields |= field
}

// mark marks an attribute key (feed or tag) as present, without occurrences.
func (m *Matcher) mark(k int32) {
	if m.present.findOrAdd(k, int32(len(m.slots))) < 0 {
		m.slots = append(m.slots, slot{head: -1, tail: -1})
		m.visit(k)
	}
}

// visit notes the postings of key k, present in the item. The rules they name become
// candidates in candidates(), which sorts them: sorting a few hundred postings costs less than
// looking up per-rule state scattered over a large index.
func (m *Matcher) visit(k int32) {
	ix := m.ix
	m.posts = append(m.posts, ix.postings[ix.postStart[k]:ix.postStart[k+1]]...)
}

// candidates turns the postings seen into the sorted candidate rules: a rule with one clause
// is a candidate as soon as one of its keys is present, a rule with two when both clauses
// have a key present.
func (m *Matcher) candidates() {
	m.posts, m.postTmp = sortPostings(m.posts, m.postTmp, postingBits(len(m.ix.rules)))
	m.cands = m.cands[:0]
	var clauses uint32
	for i, p := range m.posts {
		r := p >> 2
		if p&1 == 0 {
			clauses = 3
		} else {
			clauses |= 1 << (p >> 1 & 1)
		}
		if i+1 == len(m.posts) || m.posts[i+1]>>2 != r {
			if clauses == 3 {
				m.cands = append(m.cands, int32(r))
			}
			clauses = 0
		}
	}
	if len(m.ix.always) > 0 {
		m.cands = append(m.cands, m.ix.always...)
		slices.Sort(m.cands)
	}
}

func (m *Matcher) attributes() {
	ix := m.ix
	if len(ix.feedKeys) > 0 {
		if k, ok := ix.feedKeys[m.it.FeedID]; ok {
			m.mark(k)
		}
	}
	if len(ix.tagKeys) > 0 {
		for _, t := range m.it.Tags {
			if k, ok := ix.tagKeys[t]; ok {
				m.mark(k)
			}
		}
	}
}

func (m *Matcher) inScope(r *compiledRule) bool {
	if len(r.feeds) == 0 && len(r.tags) == 0 {
		return true
	}
	if slices.Contains(r.feeds, m.it.FeedID) {
		return true
	}
	for _, t := range r.tags {
		if slices.Contains(m.it.Tags, t) {
			return true
		}
	}
	return false
}
