package matcher

import (
	"slices"
	"strings"
)

// slotOf returns the occurrences of key k in the current item, or nil.
func (m *Matcher) slotOf(k int32) *slot {
	if s := m.present.find(k); s >= 0 {
		return &m.slots[s]
	}
	return nil
}

func (m *Matcher) field(tok int32) uint8 { return m.inst[m.tok.toks[tok].inst].field }

// source returns the text of token tok as the item has it.
func (m *Matcher) source(tok int32) string {
	t := &m.tok.toks[tok]
	return m.inst[t.inst].text[t.start:t.end]
}

// termAt reports whether the word or prefix term (key, prefix, exact) matches token tok.
func (m *Matcher) termAt(tok int32, key int32, prefix bool, exact int32) bool {
	if prefix {
		if !strings.HasPrefix(m.tok.toks[tok].word, m.ix.keyText[key]) {
			return false
		}
	} else if k := m.tokKey[tok]; k != key && (k >= 0 || m.tok.toks[tok].word != m.ix.keyText[key]) {
		return false // words inside pairs of characters are not in the word table: compare them
	}
	if exact != 0 {
		if prefix {
			return strings.HasPrefix(m.source(tok), m.ix.exacts[exact-1])
		}
		return m.source(tok) == m.ix.exacts[exact-1]
	}
	return true
}

// phraseAt reports whether the phrase of node nd starts at token tok.
func (m *Matcher) phraseAt(nd *node, tok int32) bool {
	toks := m.tok.toks
	inst := toks[tok].inst
	for j, e := range m.ix.elems[nd.key : nd.key+nd.a] {
		t := tok + int32(j)
		if int(t) >= len(toks) || toks[t].inst != inst || !m.termAt(t, e.key, e.prefix, e.exact) {
			return false
		}
	}
	return true
}

// phraseStart returns the key whose occurrences are where phrase nd may start: its first word,
// or the pair of characters it starts with.
func (ix *Index) phraseStart(nd *node) int32 {
	if e0 := &ix.elems[nd.key]; e0.bigram >= 0 {
		return e0.bigram
	}
	return ix.elems[nd.key].key
}

// eval reports whether node n matches the current item.
func (m *Matcher) eval(n int32) bool {
	ix := m.ix
	nd := &ix.nodes[n]
	switch nd.kind {
	case nWord, nPrefix:
		s := m.slotOf(nd.key)
		if s == nil || s.fields&nd.fields == 0 {
			return false
		}
		if nd.exact == 0 {
			return true // s.fields has the field of some occurrence
		}
		for o := s.head; o >= 0; o = m.occ[o].next {
			t := m.occ[o].tok
			if m.field(t)&nd.fields != 0 && (nd.exact == 0 || m.termAt(t, nd.key, nd.kind == nPrefix, nd.exact)) {
				return true
			}
		}
		return false
	case nPhrase:
		s := m.slotOf(ix.phraseStart(nd))
		if s == nil || s.fields&nd.fields == 0 {
			return false
		}
		for o := s.head; o >= 0; o = m.occ[o].next {
			t := m.occ[o].tok
			if m.field(t)&nd.fields != 0 && m.phraseAt(nd, t) {
				return true
			}
		}
		return false
	case nAnd:
		for _, k := range ix.kids[nd.a:nd.b] {
			if !m.eval(k) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range ix.kids[nd.a:nd.b] {
			if m.eval(k) {
				return true
			}
		}
		return false
	case nNot:
		return !m.eval(nd.a)
	case nNear:
		return m.near(nd, false)
	case nRegex:
		re := ix.regexps[nd.key]
		for _, in := range m.inst {
			if in.field&nd.fields != 0 && re.MatchString(in.text) {
				return true
			}
		}
		return false
	case nFeed, nTag:
		return m.slotOf(nd.key) != nil
	}
	return false
}

// spansOf appends the spans that a NEAR operand matches, sorted by start.
func (m *Matcher) spansOf(n int32, dst []span) []span {
	ix := m.ix
	nd := &ix.nodes[n]
	switch nd.kind {
	case nWord, nPrefix:
		s := m.slotOf(nd.key)
		if s == nil || s.fields&nd.fields == 0 {
			return dst
		}
		for o := s.head; o >= 0; o = m.occ[o].next {
			t := m.occ[o].tok
			if m.field(t)&nd.fields != 0 && (nd.exact == 0 || m.termAt(t, nd.key, nd.kind == nPrefix, nd.exact)) {
				dst = append(dst, span{start: t, end: t, inst: m.tok.toks[t].inst})
			}
		}
	case nPhrase:
		s := m.slotOf(ix.phraseStart(nd))
		if s == nil || s.fields&nd.fields == 0 {
			return dst
		}
		for o := s.head; o >= 0; o = m.occ[o].next {
			t := m.occ[o].tok
			if m.field(t)&nd.fields != 0 && m.phraseAt(nd, t) {
				dst = append(dst, span{start: t, end: t + nd.a - 1, inst: m.tok.toks[t].inst})
			}
		}
	case nOr:
		from := len(dst)
		for _, k := range ix.kids[nd.a:nd.b] {
			dst = m.spansOf(k, dst)
		}
		slices.SortFunc(dst[from:], func(a, b span) int { return int(a.start - b.start) })
	}
	return dst
}

// near evaluates a NEAR node; with hits it also records every pair within the distance.
func (m *Matcher) near(nd *node, hits bool) bool {
	a := m.spansOf(nd.a, m.spans[0][:0])
	b := m.spansOf(nd.b, m.spans[1][:0])
	m.spans[0], m.spans[1] = a, b
	n := int32(nd.n)
	found := false
	for _, x := range a {
		for _, y := range b {
			if x.inst != y.inst {
				continue
			}
			ok := y.start > x.end && y.start-x.end-1 <= n ||
				!nd.ordered && x.start > y.end && x.start-y.end-1 <= n
			if !ok {
				continue
			}
			if !hits {
				return true
			}
			found = true
			m.hit(x)
			m.hit(y)
		}
	}
	return found
}

func (m *Matcher) hit(s span) {
	toks := m.tok.toks
	in := &m.inst[s.inst]
	start, end := toks[s.start].start, toks[s.end].end
	m.hits = append(m.hits, Hit{
		Field: fieldName(in.field),
		Index: in.index,
		Start: int(start),
		End:   int(end),
		Text:  in.text[start:end],
	})
}

// collect appends the hits of node n, which matches.
func (m *Matcher) collect(n int32) {
	ix := m.ix
	nd := &ix.nodes[n]
	switch nd.kind {
	case nWord, nPrefix, nPhrase:
		from := len(m.spans[0])
		m.spans[0] = m.spansOf(n, m.spans[0])
		for _, s := range m.spans[0][from:] {
			m.hit(s)
		}
		m.spans[0] = m.spans[0][:from]
	case nAnd:
		for _, k := range ix.kids[nd.a:nd.b] {
			m.collect(k)
		}
	case nOr:
		for _, k := range ix.kids[nd.a:nd.b] {
			if m.eval(k) {
				m.collect(k)
			}
		}
	case nNear:
		m.near(nd, true)
	case nRegex:
		re := ix.regexps[nd.key]
		for _, in := range m.inst {
			if in.field&nd.fields == 0 {
				continue
			}
			for _, loc := range re.FindAllStringIndex(in.text, -1) {
				if loc[0] == loc[1] {
					continue
				}
				m.hits = append(m.hits, Hit{Field: fieldName(in.field), Index: in.index,
					Start: loc[0], End: loc[1], Text: in.text[loc[0]:loc[1]]})
			}
		}
	}
}

func fieldOrder(name string) int {
	switch name {
	case "title":
		return 0
	case "summary":
		return 1
	case "content":
		return 2
	case "author":
		return 3
	case "category":
		return 4
	}
	return 5
}

func compareHits(a, b Hit) int {
	if a.Field != b.Field {
		return fieldOrder(a.Field) - fieldOrder(b.Field)
	}
	if a.Index != b.Index {
		return a.Index - b.Index
	}
	if a.Start != b.Start {
		return a.Start - b.Start
	}
	return a.End - b.End
}

// sortHits sorts hits[from:] and removes duplicates.
func sortHits(hits []Hit, from int) []Hit {
	h := hits[from:]
	slices.SortFunc(h, compareHits)
	h = slices.CompactFunc(h, func(a, b Hit) bool { return compareHits(a, b) == 0 })
	return hits[:from+len(h)]
}
